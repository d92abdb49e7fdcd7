"""A live final to test with: a published contest, teams of contestants and a run sheet with
every kind of segment, over a bank whose keys are known (single choice: option 1, 乙; true/false:
true)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from contest.extensions import db
from contest.live_final import setup
from contest.models import ContestStatus, LiveSegment, LiveTeam, Organization, Role
from contest.services import contests as contest_service
from tests.conftest import add_user
from tests.support.contests import published_bank

SINGLE_KEY = 1  # 乙, the key of every single-choice question of published_bank
WRONG = 0

RUN_SHEET: list[dict[str, Any]] = [
    {"kind": "required", "title": "必答题", "points": 10, "pool": {"type": "single", "count": 3}},
    {"kind": "choice", "title": "选答题", "points": 10, "pool": {"type": "single", "count": 4}},
    {
        "kind": "buzz",
        "title": "抢答题",
        "points": 10,
        "deduction": 5,
        "pass_on_wrong": True,
        "pool": {"type": "single", "count": 3},
    },
    {
        "kind": "risk",
        "title": "风险题",
        "tiers": [10, 20, 30],
        "pool": {"type": "true_false", "count": 3},
    },
    {
        "kind": "all",
        "title": "全员答题",
        "points": 10,
        "speed_points": 5,
        "pool": {"type": "single", "count": 2},
    },
    {
        "kind": "tiebreak",
        "title": "加赛题",
        "points": 10,
        "pool": {"type": "true_false", "count": 1},
    },
]


@dataclass
class LiveFinal:
    contest_id: int
    round_id: int
    segments: list[int]  # segment ids in run-sheet order
    teams: list[int]  # team ids in turn order
    usernames: list[list[str]]  # each team's members' usernames, captain first
    organizer: str = "host"
    extra: dict[str, Any] = field(default_factory=dict)


def live_final(
    teams: int = 3,
    members: int = 1,
    *,
    devices: str = "team",
    run_sheet: list[dict[str, Any]] | None = None,
    contest_status: ContestStatus = ContestStatus.PUBLISHED,
    prefix: str = "t",
    bank_id: int | None = None,
    compensation_ms: int = 0,
) -> LiveFinal:
    """Build it (app context; committed). Usernames are ``<prefix><team><member>``; a second
    final in the same test names its own prefix and reuses the first one's bank and host."""
    if bank_id is None:
        bank_id = published_bank(per_type=12)
        add_user("host", Role.ORGANIZER)
    contest = contest_service.create_contest("网络安全知识竞赛决赛", status=contest_status)
    db.session.commit()
    specs = []
    names = []
    for number in range(1, teams + 1):
        unit = Organization(name=f"第{number}区" if prefix == "t" else f"{prefix}第{number}区")
        db.session.add(unit)
        db.session.commit()
        usernames = [f"{prefix}{number}{member}" for member in range(1, members + 1)]
        users = [add_user(name, Role.CONTESTANT, unit.id) for name in usernames]
        names.append(usernames)
        specs.append(
            {
                "name": f"{number}号队",
                "organization_id": unit.id,
                "members": [{"user_id": user.id} for user in users],
            }
        )
    round_ = setup.create_live_round(
        contest.id,
        title="现场决赛",
        bank_id=bank_id,
        segments=run_sheet or RUN_SHEET,
        teams=specs,
        devices=devices,
        compensation_ms=compensation_ms,
        seed=7,
    )
    segment_ids = db.session.scalars(
        select(LiveSegment.id)
        .where(LiveSegment.round_id == round_.id)
        .order_by(LiveSegment.position)
    ).all()
    team_ids = db.session.scalars(
        select(LiveTeam.id).where(LiveTeam.round_id == round_.id).order_by(LiveTeam.position)
    ).all()
    return LiveFinal(
        contest.id, round_.id, list(segment_ids), list(team_ids), names, extra={"bank": bank_id}
    )
