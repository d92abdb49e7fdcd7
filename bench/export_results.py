"""Measure a results export (target: 50,000 contestants in under 30 s).

Seeds a contest of two rounds with N contestants in 200 units, each with a scored attempt in
both rounds (bulk inserts, a few seconds), then starts a results export of the contest total as
an organizer would (start_export) and runs it on a real RQ worker of the ``default`` queue.
Prints one JSON line: seconds from the start to the file (the worker's whole job), the build
alone, the file's size and the process's peak memory; exit 1 unless the file has N rows ranked
as the board ranks them.

    .venv/bin/python bench/export_results.py [--contestants 50000] [--format xlsx|csv]
        [--database URL] [--split-units]

The database defaults to a fresh SQLite file; pass a PostgreSQL URL to measure production.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402

from contest import create_app  # noqa: E402
from contest.extensions import db, redis_hub  # noqa: E402
from contest.models import (  # noqa: E402
    Attempt,
    AttemptStatus,
    ExportJob,
    Organization,
    Role,
    Round,
    User,
)
from contest.services import bank as bank_service  # noqa: E402
from contest.services import contests as contest_service  # noqa: E402
from contest.services import exports, leaderboards  # noqa: E402
from workers import queues  # noqa: E402
from workers.runner import make_worker  # noqa: E402

UNITS = 200
BATCH = 5000
T0 = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)


def seed(contestants: int) -> tuple[int, list[int], User]:
    """A contest of two rounds, ``contestants`` in :data:`UNITS` units, a scored attempt each
    per round (ties included: scores are whole points out of 100). Returns the contest id, the
    round ids and an organizer."""
    bank = bank_service.create_bank("基准题库")
    contest = contest_service.create_contest("成绩导出基准")
    rounds = [
        Round(
            contest_id=contest.id,
            position=position,
            title=title,
            bank_id=bank.id,
            duration_s=1800,
            blueprint=[],
        )
        for position, title in ((1, "初赛"), (2, "复赛"))
    ]
    db.session.add_all(rounds)
    organizer = User(
        username="bench-organizer",
        display_name="组织者",
        password_hash="!",  # noqa: S106 (no password: the bench never signs in)
        role=Role.ADMIN,
    )
    db.session.add(organizer)
    db.session.flush()
    db.session.execute(insert(Organization), [{"name": f"单位{n:03d}"} for n in range(UNITS)])
    units = list(db.session.scalars(select(Organization.id).order_by(Organization.id)))
    randomness = random.Random(7)  # noqa: S311 (seeded test data)
    for start in range(0, contestants, BATCH):
        count = min(BATCH, contestants - start)
        db.session.execute(
            insert(User),
            [
                {
                    "username": f"c{start + n:06d}",
                    "display_name": f"选手{start + n}",
                    "password_hash": "x",
                    "role": Role.CONTESTANT,
                    "organization_id": units[(start + n) % UNITS],
                    "active": True,
                    "session_generation": 0,
                }
                for n in range(count)
            ],
        )
    user_ids = list(
        db.session.scalars(select(User.id).where(User.role == Role.CONTESTANT).order_by(User.id))
    )
    for round_ in rounds:
        for start in range(0, len(user_ids), BATCH):
            rows = []
            for user_id in user_ids[start : start + BATCH]:
                used = randomness.randint(300, 1800)
                submitted = T0 + timedelta(seconds=used)
                rows.append(
                    {
                        "round_id": round_.id,
                        "user_id": user_id,
                        "number": 1,
                        "seed": user_id,
                        "status": AttemptStatus.SCORED,
                        "started_at": T0,
                        "deadline_at": T0 + timedelta(seconds=1800),
                        "submitted_at": submitted,
                        "submitted_by": randomness.choice(("contestant", "deadline")),
                        "focus_losses": randomness.randint(0, 3),
                        "flagged": randomness.random() < 0.01,
                        "score": Decimal(randomness.randint(0, 100)),
                        "max_score": Decimal(100),
                        "time_used_s": used // 60 * 60,  # whole minutes: more ties
                        "scored_at": submitted,
                        "extended_s": 0,
                    }
                )
            db.session.execute(insert(Attempt), rows)
    db.session.commit()
    return contest.id, [r.id for r in rounds], organizer


def rows_of(content: bytes, fmt: str) -> list[list[object]]:
    if fmt == "csv":
        return [list(r) for r in csv.reader(io.StringIO(content.decode("utf-8-sig")))]
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(content), read_only=True)
    return [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contestants", type=int, default=50_000)
    parser.add_argument("--format", choices=("xlsx", "csv"), default="xlsx")
    parser.add_argument("--database", default=None)
    parser.add_argument("--split-units", action="store_true", help="XLSX: a sheet per unit too")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-export-"))
    database = args.database or f"sqlite:///{workdir / 'bench.db'}"
    app = create_app(
        {
            "INSTANCE_PATH": str(workdir / "instance"),
            "DATABASE_URL": database,
            "SECRET_KEY": "bench",
        }
    )
    figures: dict[str, object] = {
        "contestants": args.contestants,
        "format": args.format,
        "database": database.split(":")[0],
    }
    with app.app_context():
        db.drop_all()
        db.create_all()
        redis_hub.client.flushdb()
        started = time.perf_counter()
        contest_id, round_ids, organizer = seed(args.contestants)
        figures["seed_s"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        job = exports.start_export(
            "results",
            contest_id,
            {"scope": "contest", "format": args.format, "split_units": args.split_units},
            organizer,
        )
        job_id = job.id
        db.session.commit()  # the worker writes from its own session
        make_worker(app, [queues.DEFAULT]).work(burst=True)
        figures["export_s"] = round(time.perf_counter() - started, 2)
        db.session.expire_all()
        found = db.session.get(ExportJob, job_id)
        assert found is not None
        job = found
        figures["status"] = job.status
        if job.finished_at is not None:
            figures["job_s"] = round((job.finished_at - job.created_at).total_seconds(), 2)
        content = job.content or b""
        figures["file_mb"] = round(len(content) / 2**20, 2)
        figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        rows = rows_of(content, args.format)[1:] if content else []
        figures["rows"] = len(rows)
        contest = leaderboards.contest_standings(
            [list(leaderboards.counting_entries(r).values()) for r in _rounds(round_ids)]
        )
        board_ranks = [rank for rank, _ in leaderboards.ranked(contest)]
        exported = [int(str(r[0])) for r in rows]
        ok = job.status == exports.DONE and exported == board_ranks
        figures["ranks_match_board"] = exported == board_ranks
        db.session.remove()
        db.drop_all()
        redis_hub.close(app)
        db.engine.dispose()
    print(json.dumps(figures, ensure_ascii=False))
    sys.exit(0 if ok else 1)


def _rounds(round_ids: list[int]) -> list[Round]:
    return [r for r in (db.session.get(Round, i) for i in round_ids) if r is not None]


if __name__ == "__main__":
    main()
