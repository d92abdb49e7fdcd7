"""How long an accepted appeal takes to regrade every attempt holding the item.

Seeds a round of N submitted attempts of 30 single-choice questions each (bulk inserts; every
attempt holds question 1), scores them with a real RQ worker, files an appeal of question 1 as one
contestant and accepts another answer as an organizer through the API (decideAppeal), then runs a
real RQ worker in burst mode on the scoring queue and times from the decision to the last
attempt's new score (``regrade_s``; ``with_worker_exit_s`` adds the burst worker's way out, up to
a second for its command channel's thread). Afterwards checks that every board equals a
recomputation (``check_contest``) and that the scores equal a regrade with the ruling
(``score_differences``). Prints one JSON line; exits 1 when a check fails.

    .venv/bin/python bench/appeal_rescore.py [--attempts 1000] [--database URL]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from argon2 import PasswordHasher  # noqa: E402
from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from contest import create_app  # noqa: E402
from contest.extensions import db, redis_hub  # noqa: E402
from contest.models import (  # noqa: E402
    Attempt,
    AttemptItem,
    AttemptStatus,
    ContestStatus,
    Role,
    User,
)
from contest.services import appeals, leaderboards  # noqa: E402
from contest.services import bank as bank_service  # noqa: E402
from contest.services import contests as contest_service  # noqa: E402
from contest.services.scoring import request_scoring  # noqa: E402
from question_bank.domain import QuestionData, QuestionType  # noqa: E402
from question_bank.models import QuestionStatus, QuestionVersion  # noqa: E402
from workers import queues  # noqa: E402
from workers.runner import make_worker  # noqa: E402

QUESTIONS = 30
POINTS = 2
PASSWORD = "bench-password"  # noqa: S105 (the seeded accounts' password)


def seed(attempts: int, password_hash: str) -> tuple[int, int, int, str]:
    """The round, N contestants with one submitted attempt each (app context); returns the
    round's id, the contest's id, an attempt answering 丙 to question 1 and its username."""
    now = datetime.now(UTC)
    bank = bank_service.create_bank("申诉基准题库")
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
    contest = contest_service.create_contest("申诉基准竞赛", status=ContestStatus.PUBLISHED)
    round_ = contest_service.save_round(
        contest.id,
        title="初赛",
        bank_id=bank.id,
        duration_s=1800,
        blueprint=[
            {"category": "基础知识", "type": "single", "count": QUESTIONS, "points": POINTS}
        ],
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(hours=5),
        review_policy="after_submit",
        shuffle_questions=False,
    )
    db.session.add(
        User(username="org", display_name="org", role=Role.ORGANIZER, password_hash=password_hash)
    )
    db.session.commit()
    versions = db.session.scalars(select(QuestionVersion.id).order_by(QuestionVersion.id)).all()
    db.session.execute(
        insert(User),
        [
            {
                "username": f"user{n:05d}",
                "display_name": f"选手{n:04d}",
                "password_hash": password_hash,
                "role": Role.CONTESTANT,
            }
            for n in range(attempts)
        ],
    )
    users = db.session.scalars(
        select(User.id).where(User.role == Role.CONTESTANT).order_by(User.id)
    ).all()
    db.session.execute(
        insert(Attempt),
        [
            {
                "round_id": round_.id,
                "user_id": user_id,
                "number": 1,
                "seed": n,
                "status": AttemptStatus.SUBMITTED,
                "started_at": now - timedelta(minutes=30),
                "deadline_at": now,
                "submitted_at": now - timedelta(seconds=n % 900),
                "submitted_by": "contestant",
                "time_used_s": 900 + n % 900,
                "max_score": QUESTIONS * POINTS,
                "extended_s": 0,
                "focus_losses": 0,
                "flagged": False,
            }
            for n, user_id in enumerate(users)
        ],
    )
    ids = db.session.scalars(select(Attempt.id).order_by(Attempt.id)).all()
    rng = random.Random(11)  # noqa: S311 (answers, not secrets)
    first_choice: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        rows = []
        for attempt_id in ids[start : start + 500]:
            for position, version in enumerate(versions, start=1):
                answer = f"o{rng.choice([0, 1, 1, 2])}"
                if position == 1:
                    first_choice[attempt_id] = answer
                rows.append(
                    {
                        "attempt_id": attempt_id,
                        "position": position,
                        "question_version_id": version,
                        "points": POINTS,
                        "option_order": [0, 1, 2, 3],
                        "option_ids": ["o0", "o1", "o2", "o3"],
                        "answer": answer,
                        "seq": 1,
                        "flagged": False,
                    }
                )
        db.session.execute(insert(AttemptItem), rows)
    db.session.commit()
    appellant = next(a for a, answer in first_choice.items() if answer == "o2")
    user_id = db.session.get_one(Attempt, appellant).user_id
    return round_.id, contest.id, appellant, db.session.get_one(User, user_id).username


def login(app: Flask, username: str) -> tuple[FlaskClient, str]:
    client = app.test_client()
    token = client.get("/api/v1/session").get_json()["csrf_token"]
    response = client.post(
        "/api/v1/session",
        json={"username": username, "password": PASSWORD},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200, response.get_json()
    return client, client.get("/api/v1/session").get_json()["csrf_token"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=1000)
    parser.add_argument("--database", default=None, help="SQLAlchemy URL (default: temp SQLite)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-appeal-"))
    app = create_app(
        {
            "INSTANCE_PATH": str(workdir),
            "SECRET_KEY": "bench",
            "DATABASE_URL": args.database or f"sqlite:///{workdir / 'bench.db'}",
        }
    )
    password_hash = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1).hash(PASSWORD)
    with app.app_context():
        db.drop_all()
        db.create_all()
        redis_hub.client.flushdb()
        started = time.perf_counter()
        round_id, contest_id, attempt_id, username = seed(args.attempts, password_hash)
        request_scoring(list(db.session.scalars(select(Attempt.id))))
        seeded_s = time.perf_counter() - started
    started = time.perf_counter()
    make_worker(app, [queues.SCORING]).work(burst=True)
    first_scoring_s = time.perf_counter() - started
    contestant, token = login(app, username)
    filed = contestant.post(
        f"/api/v1/attempts/{attempt_id}/appeals",
        json={"position": 1, "reason": "丙也符合规定"},
        headers={"X-CSRFToken": token},
    )
    assert filed.status_code == 201, filed.get_json()
    organizer, token = login(app, "org")
    began = time.perf_counter()
    began_at = datetime.now(UTC)
    decided = organizer.post(
        f"/api/v1/appeals/{filed.get_json()['id']}/decision",
        json={"decision": "accept_answer", "reply": "丙亦正确"},
        headers={"X-CSRFToken": token},
    )
    assert decided.status_code == 200, decided.get_json()
    decision_s = time.perf_counter() - began
    make_worker(app, [queues.SCORING]).work(burst=True)
    with_exit_s = time.perf_counter() - began
    with app.app_context():
        last = db.session.scalar(select(func.max(Attempt.scored_at)))
        assert last is not None
        regrade_s = (last - began_at).total_seconds()
        client = redis_hub.client
        leaderboards.render_contest(client, contest_id)
        board_problems = leaderboards.check_contest(client, contest_id)
        score_problems = appeals.score_differences(round_id)
        unscored = db.session.scalar(
            select(func.count()).where(Attempt.status != AttemptStatus.SCORED)
        )
        database = db.engine.dialect.name
    figures = {
        "bench": "appeal_rescore",
        "database": database,
        "attempts": args.attempts,
        "questions_per_attempt": QUESTIONS,
        "seed_s": round(seeded_s, 1),
        "first_scoring_s": round(first_scoring_s, 2),
        "decision_request_s": round(decision_s, 3),
        "regrade_s": round(regrade_s, 2),
        "with_worker_exit_s": round(with_exit_s, 2),
        "attempts_regraded": decided.get_json()["attempts_regraded"],
        "boards_equal_rebuild": not board_problems,
        "scores_equal_regrade": not score_problems,
        "unscored": unscored,
    }
    print(f"regrade of {args.attempts} attempts after an accepted appeal: {regrade_s:.2f} s")
    print(json.dumps(figures, ensure_ascii=False))
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
    if board_problems or score_problems or unscored:
        sys.exit(1)


if __name__ == "__main__":
    main()
