"""Seeding the benchmark database directly: bulk inserts through the app's models.

Accounts share ONE precomputed password hash (Argon2id is slow by design: hashing per account
would take minutes). Banks, contests and rounds go through the services, so the rounds are the
ones an organizer could have made; attempts for load phases are drawn with the platform's own
``draw_paper`` and inserted in bulk. Sessions for load phases are minted with the run's secret key
exactly as a login would leave them (Flask-Login's user id and session identifier, a CSRF token).
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import Flask, g, session
from flask_login import login_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import insert, select

from contest.extensions import db
from contest.models import (
    Attempt,
    AttemptItem,
    AttemptStatus,
    ContestStatus,
    Organization,
    OrganizationKind,
    Registration,
    Role,
    Round,
    User,
)
from contest.services import bank as bank_service
from contest.services import blueprints
from contest.services import contests as contest_service
from contest.services.timing import deadline_for
from question_bank.domain import QuestionData, QuestionType
from question_bank.models import QuestionStatus, QuestionVersion
from question_bank.papers import draw_paper

PASSWORD = "bench-password-1"  # noqa: S105 - the seeded accounts' shared password
USER_AGENT = "contest-bench/1"  # the same User-Agent on every client: Flask-Login hashes it
TYPES = ("single", "multiple", "true_false", "fill_blank", "ordering")
POINTS = {"single": 2, "multiple": 4, "true_false": 2, "fill_blank": 4, "ordering": 4}


def now() -> datetime:
    return datetime.now(UTC)


def seed_bank(per_type: int = 12) -> int:
    """A bank of ``per_type`` published questions of each type (5 types), in 基础知识."""
    bank = bank_service.create_bank(f"压测题库{now().timestamp()}")
    items: list[QuestionData] = []
    for n in range(per_type):
        items += [
            QuestionData(
                QuestionType.SINGLE,
                f"单选题{n}",
                n % 4,
                ("甲", "乙", "丙", "丁"),
                category="基础知识",
            ),
            QuestionData(
                QuestionType.MULTIPLE,
                f"多选题{n}",
                (0, 2),
                ("甲", "乙", "丙", "丁"),
                category="基础知识",
            ),
            QuestionData(QuestionType.TRUE_FALSE, f"判断题{n}", n % 2 == 0, category="基础知识"),
            QuestionData(
                QuestionType.FILL_BLANK,
                f"填空题{n}：____ 与 ____",
                (("六", "6"), ("七", "7")),
                category="基础知识",
            ),
            QuestionData(
                QuestionType.ORDERING,
                f"排序题{n}",
                (2, 0, 1, 3),
                ("一", "二", "三", "四"),
                category="基础知识",
            ),
        ]
    for data in items:
        bank_service.check_question(data)
    bank_service.add_questions_bulk(
        bank.id, items, actor_id=None, now=now(), status=QuestionStatus.PUBLISHED
    )
    db.session.commit()
    return bank.id


def blueprint(questions: int) -> list[dict[str, Any]]:
    """``questions`` questions spread evenly over the five types."""
    per, extra = divmod(questions, len(TYPES))
    return [
        {
            "category": "基础知识",
            "type": kind,
            "difficulty": None,
            "count": per + (1 if i < extra else 0),
            "points": POINTS[kind],
        }
        for i, kind in enumerate(TYPES)
        if per + (1 if i < extra else 0)
    ]


def seed_organizations(count: int) -> list[int]:
    rows = [
        {"name": f"压测区{i:02d}", "kind": OrganizationKind.DISTRICT, "created_at": now()}
        for i in range(1, count + 1)
    ]
    return list(
        db.session.scalars(
            insert(Organization).returning(Organization.id, sort_by_parameter_order=True), rows
        )
    )


def seed_users(count: int, organization_ids: Sequence[int], password_hash: str) -> list[int]:
    """``count`` contestants ``bench00001``… sharing one password hash; returns their ids."""
    at = now()
    rows = [
        {
            "username": f"bench{i:05d}",
            "display_name": f"选手{i:05d}",
            "password_hash": password_hash,
            "role": Role.CONTESTANT,
            "organization_id": organization_ids[i % len(organization_ids)],
            "active": True,
            "created_at": at,
        }
        for i in range(1, count + 1)
    ]
    ids: list[int] = []
    for start in range(0, len(rows), 5000):
        ids += db.session.scalars(
            insert(User).returning(User.id, sort_by_parameter_order=True),
            rows[start : start + 5000],
        )
    db.session.commit()
    return ids


def create_round(
    title: str,
    bank_id: int,
    questions: int,
    *,
    duration_s: int,
    grace_s: int = 10,
    closes_in: timedelta = timedelta(days=1),
) -> tuple[int, int]:
    """A contest (open registration, public board) with one open paper round; (contest, round)."""
    contest = contest_service.create_contest(title, status=ContestStatus.PUBLISHED)
    round_ = contest_service.save_round(
        contest.id,
        title="初赛",
        bank_id=bank_id,
        duration_s=duration_s,
        grace_s=grace_s,
        attempts_allowed=1,
        blueprint=blueprint(questions),
        opens_at=now() - timedelta(minutes=5),
        closes_at=now() + closes_in,
        review_policy="after_close",
    )
    db.session.commit()
    return contest.id, round_.id


def register_all(contest_id: int, user_ids: Sequence[int]) -> None:
    at = now()
    rows = [
        {"contest_id": contest_id, "user_id": uid, "source": "roster", "registered_at": at}
        for uid in user_ids
    ]
    for start in range(0, len(rows), 5000):
        db.session.execute(insert(Registration), rows[start : start + 5000])
    db.session.commit()


def seed_scored_attempts(round_id: int, user_ids: Sequence[int], rng: random.Random) -> None:
    """One scored attempt per user, with spread-out scores and times (board phases)."""
    round_ = db.session.get(Round, round_id)
    assert round_ is not None
    max_score = sum(int(r["count"]) * int(r["points"]) for r in round_.blueprint)
    at = now()
    rows = []
    for uid in user_ids:
        started = at - timedelta(seconds=rng.randint(600, 3000))
        used = rng.randint(60, 600)
        submitted = started + timedelta(seconds=used)
        rows.append(
            {
                "round_id": round_id,
                "user_id": uid,
                "number": 1,
                "seed": rng.getrandbits(62),
                "status": AttemptStatus.SCORED,
                "started_at": started,
                "deadline_at": started + timedelta(seconds=round_.duration_s),
                "submitted_at": submitted,
                "submitted_by": "contestant",
                "focus_losses": 0,
                "flagged": False,
                "score": Decimal(rng.randint(0, max_score)),
                "max_score": Decimal(max_score),
                "time_used_s": used,
                "scored_at": submitted + timedelta(seconds=1),
            }
        )
    for start in range(0, len(rows), 5000):
        db.session.execute(insert(Attempt), rows[start : start + 5000])
    db.session.commit()


@dataclass
class Item:
    position: int
    type: str
    option_ids: list[str]
    blanks: int


@dataclass
class OpenAttempt:
    """An attempt in progress, as the contestant's phone knows it."""

    attempt_id: int
    user_id: int
    items: list[Item] = field(default_factory=list)


def seed_open_attempts(
    round_id: int, user_ids: Sequence[int], device_prefix: str = "dev"
) -> list[OpenAttempt]:
    """An in-progress attempt per user, drawn with the platform's ``draw_paper``."""
    round_ = db.session.get(Round, round_id)
    assert round_ is not None
    rows = blueprints.blueprint_rows(round_.blueprint)
    pools = [blueprints.candidates(round_.bank_id, row) for row in rows]
    versions = {
        v.id: v
        for v in db.session.scalars(
            select(QuestionVersion).where(
                QuestionVersion.id.in_([c.version_id for pool in pools for c in pool])
            )
        )
    }
    at = now()
    deadline = deadline_for(round_, at)
    papers = []
    attempt_rows: list[dict[str, Any]] = []
    for uid in user_ids:
        seed = secrets.randbits(62)
        paper = draw_paper(
            rows,
            pools,
            seed,
            shuffle_questions=round_.shuffle_questions,
            shuffle_options=round_.shuffle_options,
        )
        papers.append(paper)
        attempt_rows.append(
            {
                "round_id": round_id,
                "user_id": uid,
                "number": 1,
                "seed": seed,
                "status": AttemptStatus.IN_PROGRESS,
                "started_at": at,
                "deadline_at": deadline,
                "device_id": f"{device_prefix}-{uid}",
                "focus_losses": 0,
                "flagged": False,
                "max_score": Decimal(sum(item.points for item in paper)),
            }
        )
    result: list[OpenAttempt] = []
    for start in range(0, len(attempt_rows), 2000):
        chunk = attempt_rows[start : start + 2000]
        ids = list(
            db.session.scalars(
                insert(Attempt).returning(Attempt.id, sort_by_parameter_order=True), chunk
            )
        )
        item_rows = []
        for attempt_id, row, paper in zip(ids, chunk, papers[start : start + 2000], strict=True):
            opened = OpenAttempt(attempt_id, int(row["user_id"]))
            for item in paper:
                version = versions[item.version_id]
                blanks = len(version.answer) if version.type is QuestionType.FILL_BLANK else 0
                opened.items.append(
                    Item(item.position, version.type.value, list(item.option_ids), blanks)
                )
                item_rows.append(
                    {
                        "attempt_id": attempt_id,
                        "position": item.position,
                        "question_version_id": item.version_id,
                        "points": item.points,
                        "option_order": list(item.option_order),
                        "option_ids": list(item.option_ids),
                        "answer": None,
                        "seq": 0,
                        "flagged": False,
                    }
                )
            result.append(opened)
        db.session.execute(insert(AttemptItem), item_rows)
    db.session.commit()
    return result


def random_answer(kind: str, option_ids: Sequence[str], blanks: int, rng: random.Random) -> Any:
    """A valid answer in the API's encoding, right or wrong at random."""
    if kind == "single":
        return rng.choice(list(option_ids))
    if kind == "multiple":
        return rng.sample(list(option_ids), rng.randint(1, len(option_ids)))
    if kind == "true_false":
        return rng.random() < 0.5
    if kind == "fill_blank":
        return [rng.choice(["六", "6", "七", "7", "不知道"]) for _ in range(max(blanks, 1))]
    if kind == "ordering":
        order = list(option_ids)
        rng.shuffle(order)
        return order
    raise ValueError(kind)


def mint_sessions(app: Flask, user_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """A session cookie and CSRF token per user, as a login from the bench clients leaves them.

    Flask-Login's session protection ("basic") hashes the client address and User-Agent into
    ``_id``: the request context here uses the address and User-Agent every bench client sends.
    """
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    assert serializer is not None
    minted: dict[int, tuple[str, str]] = {}
    environ = {"REMOTE_ADDR": "127.0.0.1"}
    for uid in user_ids:
        with app.test_request_context(
            "/api/v1/session", environ_base=environ, headers={"User-Agent": USER_AGENT}
        ):
            login_user(User(id=uid, active=True, session_generation=0))
            # Flask-WTF caches the token in ``g``, which lives as long as the app context: an
            # outer context would hand every user the first user's token.
            g.pop("csrf_token", None)
            token = generate_csrf()
            minted[uid] = (serializer.dumps(dict(session)), token)
    return minted
