"""What one submission costs the server: the submitAttempt request from the API to the commit.

Seeds a round of 30 single-choice questions and N contestants, logs each in and starts their
attempt through the API, saves one answer, then times each submission through Flask's test client
(server time, no network): first submissions (the one-read path of ``submit_attempt``) and, after
them, each attempt submitted a second time (refused by the rules, so it takes the general path
that explains the outcome). Scoring is queued to Redis after each commit as in production (no
worker runs, so no scoring competes). Prints a line per kind and one JSON line of figures.

    .venv/bin/python bench/submit_cost.py [--contestants 200] [--database URL]
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from argon2 import PasswordHasher  # noqa: E402
from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from seed import seed_bank  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from contest import create_app  # noqa: E402
from contest.extensions import db, redis_hub  # noqa: E402
from contest.models import ContestStatus, RegistrationMode, Role, User  # noqa: E402
from contest.services import contests as contest_service  # noqa: E402

QUESTIONS = 30
PASSWORD = "bench-password"  # noqa: S105 (the seeded accounts' password)


def seed(contestants: int, password_hash: str) -> int:
    """A bank, a contest with one open round and N contestants (app context); the round's id."""
    now = datetime.now(UTC)
    bank_id = seed_bank(per_type=QUESTIONS)
    contest = contest_service.create_contest(
        "提交基准竞赛", status=ContestStatus.PUBLISHED, registration_mode=RegistrationMode.OPEN
    )
    round_ = contest_service.save_round(
        contest.id,
        title="初赛",
        bank_id=bank_id,
        duration_s=1800,
        blueprint=[{"category": "基础知识", "type": "single", "count": QUESTIONS, "points": 1}],
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(hours=5),
    )
    db.session.execute(
        insert(User),
        [
            {
                "username": f"user{n:05d}",
                "display_name": f"选手{n:04d}",
                "password_hash": password_hash,
                "role": Role.CONTESTANT,
            }
            for n in range(contestants)
        ],
    )
    db.session.commit()
    return round_.id


Player = tuple[FlaskClient, dict[str, str], int]  # signed-in client, its headers, attempt id


def started(app: Flask, username: str, round_id: int) -> Player:
    """A contestant signed in with a started attempt and one saved answer."""
    client = app.test_client()
    token = client.get("/api/v1/session").get_json()["csrf_token"]
    response = client.post(
        "/api/v1/session",
        json={"username": username, "password": PASSWORD},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200, response.get_json()
    token = client.get("/api/v1/session").get_json()["csrf_token"]
    headers = {"X-CSRFToken": token, "X-Device-Id": f"device-{username}"}
    attempt = client.post(f"/api/v1/rounds/{round_id}/attempts", headers=headers)
    assert attempt.status_code == 201, attempt.get_json()
    attempt_id = attempt.get_json()["id"]
    saved = client.put(
        f"/api/v1/attempts/{attempt_id}/items/1",
        json={"answer": attempt.get_json()["items"][0]["options"][0]["id"], "seq": 1},
        headers=headers,
    )
    assert saved.status_code == 200, saved.get_json()
    return client, headers, attempt_id


def timed(players: list[Player]) -> list[float]:
    """Submit every attempt once; each request's server time in milliseconds."""
    took = []
    for client, headers, attempt_id in players:
        began = time.perf_counter()
        response = client.post(f"/api/v1/attempts/{attempt_id}/submission", headers=headers)
        took.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, response.get_json()
    return took


def summary(took: list[float]) -> dict[str, float]:
    ordered = sorted(took)
    return {
        "mean_ms": round(statistics.fmean(ordered), 2),
        "p50_ms": round(ordered[len(ordered) // 2], 2),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contestants", type=int, default=200)
    parser.add_argument("--database", default=None, help="SQLAlchemy URL (default: temp SQLite)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-submit-"))
    app = create_app(
        {
            "INSTANCE_PATH": str(workdir),
            "SECRET_KEY": "bench",
            "DATABASE_URL": args.database or f"sqlite:///{workdir / 'bench.db'}",
            "RATELIMIT_ENABLED": False,
        }
    )
    password_hash = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1).hash(PASSWORD)
    with app.app_context():
        db.drop_all()
        db.create_all()
        redis_hub.client.flushdb()
        round_id = seed(args.contestants, password_hash)
        database = db.engine.dialect.name
    players = [started(app, f"user{n:05d}", round_id) for n in range(args.contestants)]
    first = summary(timed(players))
    again = summary(timed(players))
    figures = {
        "bench": "submit_cost",
        "database": database,
        "contestants": args.contestants,
        "first_submission": first,
        "second_submission": again,
    }
    print(f"first submission: {first['mean_ms']} ms mean, p95 {first['p95_ms']} ms")
    print(f"second submission: {again['mean_ms']} ms mean, p95 {again['p95_ms']} ms")
    print(json.dumps(figures, ensure_ascii=False))
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


if __name__ == "__main__":
    main()
