"""Measure the organizer's question list over a large bank (paging for 10,000+ questions).

Imports N questions (bench/import_xlsx.py's generator), logs in as an organizer and times the
list page with several filters, five requests each, through the test client.

    .venv/bin/python bench/bank_list_pages.py [--questions 12000] [--database URL]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from import_xlsx import make_questions  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from contest import create_app  # noqa: E402
from contest.extensions import db  # noqa: E402
from contest.models import Role, User  # noqa: E402
from contest.services import bank as bank_service  # noqa: E402
from contest.services.imports import create_import, run_import  # noqa: E402
from question_bank.formats import get_format  # noqa: E402

FILTERS = [
    "",
    "?page=200",
    "?q=第1199",
    "?type=multiple&difficulty=hard",
    "?category=法律法规",
    "?tag=标签3",
    "?law=网络安全法&status=draft",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=12_000)
    parser.add_argument("--database", default=None, help="SQLAlchemy URL (default: temp SQLite)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-list-"))
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
        bank = bank_service.create_bank("基准题库")
        db.session.commit()
        now = datetime.now(UTC)
        content = get_format("xlsx").export(make_questions(args.questions))
        run_import(
            create_import(bank.id, "b.xlsx", content, actor_id=None, now=now).id, now=lambda: now
        )
        db.session.add(
            User(
                username="org",
                display_name="org",
                role=Role.ORGANIZER,
                password_hash=generate_password_hash("p", method="scrypt:1024:8:1"),
            )
        )
        db.session.commit()
        bank_id = bank.id
    client = app.test_client()
    token = client.get("/api/v1/session").get_json()["csrf_token"]
    client.post(
        "/api/v1/session", json={"username": "org", "password": "p"}, headers={"X-CSRFToken": token}
    )
    for query in FILTERS:
        started = time.perf_counter()
        for _ in range(5):
            status = client.get(f"/admin/banks/{bank_id}{query}").status_code
        elapsed_ms = (time.perf_counter() - started) / 5 * 1000
        print(f"{query or '(no filter)':40s} {status} {elapsed_ms:.0f} ms")
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


if __name__ == "__main__":
    main()
