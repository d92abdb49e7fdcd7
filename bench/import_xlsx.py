"""Measure importing a large XLSX question file (target: 10,000 questions in under 30 s).

Generates N questions of all five types, exports them with the project's own XLSX exporter,
then runs the import exactly as the RQ job does (parse, validate, check duplicates, write in one
transaction) and reports wall time per phase and the process's peak memory as JSON.

    .venv/bin/python bench/import_xlsx.py [--questions 10000] [--database URL]
        [--explanation-chars N]

The database defaults to a fresh SQLite file; pass a PostgreSQL URL to measure production.
``--questions 19999 --explanation-chars 1000`` gives the largest sheet the import's bounds
accept: 20,000 rows (the header included) unpacking to close to the 64 MB limit.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import resource
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from contest import create_app  # noqa: E402
from contest.extensions import db, redis_hub  # noqa: E402
from contest.services import bank as bank_service  # noqa: E402
from contest.services.imports import create_import, run_import  # noqa: E402
from question_bank.domain import Citation, Difficulty, QuestionData, QuestionType  # noqa: E402
from question_bank.formats import get_format  # noqa: E402
from question_bank.models import ImportStatus  # noqa: E402


def make_questions(count: int, explanation_chars: int = 0) -> list[QuestionData]:
    """``count`` distinct questions cycling through the five types and three difficulties; each
    explanation padded to ``explanation_chars`` characters when that is longer."""
    levels = list(Difficulty)
    questions = []
    for n in range(count):
        level, area = levels[n % 3], ("法律法规", "基础知识", "事件处置")[n % 3]
        explanation = f"第{n}题的解析。"
        explanation += "解" * max(0, explanation_chars - len(explanation))
        common = {
            "explanation": explanation,
            "difficulty": level,
            "category": f"{area}/分类{n % 7}",
            "tags": (f"标签{n % 11}", "批量"),
        }
        kind = n % 5
        if kind == 0:
            q = QuestionData(
                QuestionType.SINGLE,
                f"第{n}题：下列哪项做法正确？",
                n % 4,
                tuple(f"做法{n}-{i}" for i in range(4)),
                **common,
                citation=Citation("网络安全法", 21, "2016-11-07", None),
            )
        elif kind == 1:
            q = QuestionData(
                QuestionType.MULTIPLE,
                f"第{n}题：下列哪些属于安全措施？",
                (0, 2),
                tuple(f"措施{n}-{i}" for i in range(5)),
                **common,
            )
        elif kind == 2:
            q = QuestionData(QuestionType.TRUE_FALSE, f"第{n}题：弱口令是安全的。", False, **common)
        elif kind == 3:
            q = QuestionData(
                QuestionType.FILL_BLANK,
                f"第{n}题：日志至少留存____个月。",
                (("六", "6"),),
                **common,
            )
        else:
            q = QuestionData(
                QuestionType.ORDERING,
                f"第{n}题：排列处置步骤。",
                (2, 0, 1, 3),
                tuple(f"步骤{n}-{i}" for i in range(4)),
                **common,
            )
        questions.append(q)
    return questions


def export_file(count: int, explanation_chars: int, path: Path) -> None:
    path.write_bytes(get_format("xlsx").export(make_questions(count, explanation_chars)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument("--database", default=None, help="SQLAlchemy URL (default: temp SQLite)")
    parser.add_argument("--explanation-chars", type=int, default=0, help="pad explanations")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-import-"))
    database = args.database or f"sqlite:///{workdir / 'bench.db'}"
    app = create_app(
        {
            "INSTANCE_PATH": str(workdir / "instance"),
            "DATABASE_URL": database,
            "SECRET_KEY": "bench",
        }
    )
    figures: dict[str, object] = {"questions": args.questions, "database": database.split(":")[0]}
    with app.app_context():
        db.drop_all()
        db.create_all()
        started = time.perf_counter()
        # Exported in a child process, so that the peak memory below is the import's own.
        path = workdir / "bench.xlsx"
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
            pool.submit(export_file, args.questions, args.explanation_chars, path).result()
        figures["export_s"] = round(time.perf_counter() - started, 2)
        content = path.read_bytes()
        figures["file_mb"] = round(len(content) / 2**20, 2)
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        figures["unpacked_mb"] = round(unpacked / 2**20, 1)
        bank = bank_service.create_bank("基准题库")
        db.session.commit()
        now = datetime.now(UTC)
        job = create_import(bank.id, "bench.xlsx", content, actor_id=None, now=now)
        del content
        started = time.perf_counter()
        ticks: list[float] = []  # progress comes after each committed batch
        job = run_import(
            job.id, now=lambda: now, progress=lambda *_: ticks.append(time.perf_counter())
        )
        figures["import_s"] = round(time.perf_counter() - started, 2)
        if ticks:
            figures["parse_and_check_s"] = round(ticks[0] - started, 2)  # and the first batch
            batches = [b - a for a, b in pairwise(ticks)]
            figures["longest_batch_s"] = round(max(batches, default=0.0), 3)
        figures["status"] = job.status.value
        figures["created"] = job.report.get("created")
        figures["problems"] = job.report.get("problem_count", 0)
        figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        ok = job.status is ImportStatus.SUCCEEDED and job.report["created"] == args.questions
        db.session.remove()  # its open transaction would block DROP TABLE on PostgreSQL
        db.drop_all()
        redis_hub.close(app)
        db.engine.dispose()
    print(json.dumps(figures, ensure_ascii=False))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
