"""A finished contest with scored contestants, ready for award rules."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from contest.extensions import db
from contest.models import Attempt, AttemptStatus, Contest, ContestStatus, Registration, Role, User
from tests.conftest import add_user
from tests.support.contests import paper_round, published_bank

NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def scored(round_id: int, user_id: int, score: float, time_used_s: int = 300) -> Attempt:
    """A scored attempt (app context; not committed)."""
    attempt = Attempt(
        round_id=round_id,
        user_id=user_id,
        number=1,
        seed=1,
        status=AttemptStatus.SCORED,
        started_at=NOW,
        deadline_at=NOW + timedelta(hours=1),
        submitted_at=NOW + timedelta(seconds=time_used_s),
        submitted_by="contestant",
        score=Decimal(str(score)),
        max_score=Decimal(100),
        time_used_s=time_used_s,
        scored_at=NOW + timedelta(seconds=time_used_s),
    )
    db.session.add(attempt)
    return attempt


def contest_with(
    people: Sequence[tuple[Any, ...]],
    *,
    status: ContestStatus = ContestStatus.FINISHED,
) -> tuple[int, dict[str, int]]:
    """A contest with one round and a scored attempt per (username, full name, score[, unit
    id]); returns (contest id, username → user id). App context; committed."""
    round_ = paper_round(published_bank())
    db.session.get_one(Contest, round_.contest_id).status = status
    ids: dict[str, int] = {}
    for person in people:
        username, name, score = person[0], person[1], person[2]
        org_id = person[3] if len(person) > 3 else None
        user = add_user(username, Role.CONTESTANT, org_id)
        user = db.session.get_one(User, user.id)
        user.display_name = name
        ids[username] = user.id
        scored(round_.id, user.id, score)
        db.session.add(
            Registration(
                contest_id=round_.contest_id, user_id=user.id, source="open", registered_at=NOW
            )
        )
    db.session.commit()
    return round_.contest_id, ids
