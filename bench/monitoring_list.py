"""Measure the organizers' list of a round's attempts with 10,000 attempts (30 questions each).

Seeds a round with N attempts in several states (answering with some answers saved, submitted,
auto-submitted, voided, flagged; some with a device change) spread over 20 units, logs in as an
organizer and times each list URL five times through the test client (server time, no network),
counting the SQL statements of each request. Prints a line per URL and one JSON line of figures.

    .venv/bin/python bench/monitoring_list.py [--attempts 10000] [--database URL]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, insert, select  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from contest import create_app  # noqa: E402
from contest.extensions import db  # noqa: E402
from contest.models import (  # noqa: E402
    Attempt,
    AttemptItem,
    AttemptStatus,
    ContestStatus,
    IntegrityEvent,
    Organization,
    Role,
    User,
)
from contest.services import bank as bank_service  # noqa: E402
from contest.services import contests as contest_service  # noqa: E402
from question_bank.domain import QuestionData, QuestionType  # noqa: E402
from question_bank.models import QuestionStatus, QuestionVersion  # noqa: E402

QUESTIONS = 30
UNITS = 20
TARGET_MS = 200
URLS = [
    "/admin/rounds/{round}/attempts",
    "/admin/rounds/{round}/attempts/rows",
    "/api/v1/rounds/{round}/attempts",
    "/admin/rounds/{round}/attempts?status=answering",
    "/admin/rounds/{round}/attempts?organization={unit}",
    "/admin/rounds/{round}/attempts?q=选手0999",
    "/admin/rounds/{round}/attempts?page=150",
    "/api/v1/rounds/{round}/attempts?status=flagged&per_page=500",
]


def seed(attempts: int) -> tuple[int, int]:
    """A bank, a contest with one round, N contestants with one attempt each (app context);
    returns the round's id and a unit's id."""
    now = datetime.now(UTC)
    bank = bank_service.create_bank("基准题库")
    for n in range(QUESTIONS):
        bank_service.add_question(
            bank.id,
            QuestionData(
                QuestionType.SINGLE, f"单选{n}", 1, ("甲", "乙", "丙", "丁"), category="基础知识"
            ),
            actor_id=None,
            now=now,
            status=QuestionStatus.PUBLISHED,
        )
    contest = contest_service.create_contest("基准竞赛", status=ContestStatus.PUBLISHED)
    round_ = contest_service.save_round(
        contest.id,
        title="初赛",
        bank_id=bank.id,
        duration_s=1800,
        blueprint=[{"category": "基础知识", "type": "single", "count": QUESTIONS, "points": 2}],
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(hours=5),
    )
    units = [Organization(name=f"单位{n:02d}") for n in range(UNITS)]
    db.session.add_all(units)
    db.session.add(
        User(
            username="org",
            display_name="org",
            role=Role.ORGANIZER,
            password_hash=generate_password_hash("p", method="scrypt:1024:8:1"),
        )
    )
    db.session.commit()
    versions = db.session.scalars(select(QuestionVersion.id).order_by(QuestionVersion.id)).all()
    db.session.execute(
        insert(User),
        [
            {
                "username": f"user{n:05d}",
                "display_name": f"选手{n:04d}",
                "password_hash": "-",
                "role": Role.CONTESTANT,
                "organization_id": units[n % UNITS].id,
            }
            for n in range(attempts)
        ],
    )
    users = db.session.scalars(
        select(User.id).where(User.role == Role.CONTESTANT).order_by(User.id)
    ).all()
    db.session.execute(
        insert(Attempt), [_attempt(round_.id, u, n, now) for n, u in enumerate(users)]
    )
    ids = db.session.scalars(select(Attempt.id).order_by(Attempt.id)).all()
    for start in range(0, len(ids), 1000):
        db.session.execute(
            insert(AttemptItem),
            [
                _item(attempt_id, position, versions[position - 1], now)
                for attempt_id in ids[start : start + 1000]
                for position in range(1, QUESTIONS + 1)
            ],
        )
    db.session.execute(
        insert(IntegrityEvent),
        [{"attempt_id": i, "kind": "device_changed", "occurred_at": now} for i in ids[::37]],
    )
    db.session.commit()
    return round_.id, units[3].id


def _attempt(round_id: int, user_id: int, n: int, now: datetime) -> dict[str, Any]:
    status = [
        AttemptStatus.IN_PROGRESS,
        AttemptStatus.IN_PROGRESS,
        AttemptStatus.SCORED,
        AttemptStatus.SUBMITTED,
        AttemptStatus.VOID,
    ][n % 5]
    done = status is not AttemptStatus.IN_PROGRESS
    return {
        "round_id": round_id,
        "user_id": user_id,
        "number": 1,
        "seed": n,
        "status": status,
        "started_at": now - timedelta(minutes=10),
        "deadline_at": now + timedelta(minutes=20),
        "submitted_at": now if done else None,
        "submitted_by": ("contestant" if n % 3 else "deadline") if done else None,
        "focus_losses": n % 4,
        "flagged": n % 50 == 0,
        "max_score": 60,
        "score": 40 if status is AttemptStatus.SCORED else None,
    }


def _item(attempt_id: int, position: int, version_id: int, now: datetime) -> dict[str, Any]:
    answered = (attempt_id + position) % 3 != 0
    return {
        "attempt_id": attempt_id,
        "position": position,
        "question_version_id": version_id,
        "points": 2,
        "option_order": [0, 1, 2, 3],
        "option_ids": ["a", "b", "c", "d"],
        "answer": "b" if answered else None,
        "seq": position if answered else 0,
        "saved_at": now - timedelta(seconds=position) if answered else None,
        "flagged": False,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=10_000)
    parser.add_argument("--database", default=None, help="SQLAlchemy URL (default: temp SQLite)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-monitoring-"))
    app = create_app(
        {
            "INSTANCE_PATH": str(workdir),
            "SECRET_KEY": "bench",
            "DATABASE_URL": args.database or f"sqlite:///{workdir / 'bench.db'}",
        }
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
        started = time.perf_counter()
        round_id, unit_id = seed(args.attempts)
        seeded_s = time.perf_counter() - started
        engine = db.engine
    client = app.test_client()
    token = client.get("/api/v1/session").get_json()["csrf_token"]
    client.post(
        "/api/v1/session", json={"username": "org", "password": "p"}, headers={"X-CSRFToken": token}
    )
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    figures = []
    for template in URLS:
        url = template.format(round=round_id, unit=unit_id)
        client.get(url)  # warm: templates compiled, statements cached
        times = []
        for _ in range(5):
            statements.clear()
            begin = time.perf_counter()
            status = client.get(url).status_code
            times.append((time.perf_counter() - begin) * 1000)
        median = statistics.median(times)
        figures.append(
            {
                "url": template,
                "status": status,
                "ms": round(median, 1),
                "statements": len(statements),
            }
        )
        print(f"{template:60s} {status} {median:6.1f} ms {len(statements)} statements")
    first = figures[0]
    print(
        json.dumps(
            {
                "bench": "monitoring_list",
                "database": engine.dialect.name,
                "attempts": args.attempts,
                "questions_per_attempt": QUESTIONS,
                "seed_s": round(seeded_s, 1),
                "first_page_ms": first["ms"],
                "first_page_statements": first["statements"],
                "target_ms": TARGET_MS,
                "within_target": first["ms"] < TARGET_MS,
                "urls": figures,
            },
            ensure_ascii=False,
        )
    )
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


if __name__ == "__main__":
    main()
