"""A finished live round's result as attempts, so that the contest's boards, awards and exports
count the final like any round: each member of a team gets one scored attempt holding the team's
score (an individual final: each contestant their own)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete

from contest.after_commit import after_commit
from contest.extensions import db, redis_hub
from contest.models import Attempt, AttemptStatus
from contest.services import leaderboards

SUBMITTED_BY = "live"


def record(round_id: int, state: dict[str, Any], *, started: datetime, at: datetime) -> None:
    """Write the result attempts of the finished round (not committed); the boards follow after
    the commit. A round finished again (never today: finishing is final) replaces them."""
    db.session.execute(delete(Attempt).where(Attempt.round_id == round_id))
    best = max((int(score) for score in state["scores"].values()), default=0)
    contestants = []
    for team in state["teams"]:
        score = Decimal(state["scores"][str(team["id"])])
        for member in team["members"]:
            db.session.add(
                Attempt(
                    round_id=round_id,
                    user_id=member["user_id"],
                    number=1,
                    seed=0,
                    status=AttemptStatus.SCORED,
                    started_at=started,
                    deadline_at=at,
                    submitted_at=at,
                    submitted_by=SUBMITTED_BY,
                    score=score,
                    max_score=Decimal(max(best, 0)),
                    time_used_s=0,
                    scored_at=at,
                )
            )
            contestants.append((round_id, member["user_id"]))
    after_commit(_set_entries, *contestants)


def _set_entries(contestants: Sequence[tuple[int, int]]) -> None:
    leaderboards.record_attempts(redis_hub.client, contestants)
