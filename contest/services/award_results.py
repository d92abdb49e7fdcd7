"""The locked awards as the rest of the product reads them: the awardees certificates are
issued to (:mod:`contest.services.certificates`) and the public winners list (公示).

:mod:`contest.services.awards` computes, adjusts and locks the awards; what locking stored
(``AwardPlan.snapshot``) is read here, so a reader needs nothing of the organizers' actions.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from contest.extensions import db
from contest.models import AwardPlan, Contest, ContestStatus
from contest.services import leaderboards


@dataclass(frozen=True)
class Awardee:
    """A contestant's award in the locked result."""

    user_id: int
    full_name: str  # User.display_name
    username: str
    organization: str
    tier_key: str  # "first", "second", "third", "merit" or an organizer's own key
    tier_label: str  # 一等奖 …
    rank: int
    score: Decimal


@dataclass(frozen=True)
class UnitAwardee:
    """A unit's award (优秀组织奖): ``value`` is its participation rate (0–1) or mean score."""

    organization_id: int
    organization: str
    label: str
    value: Decimal


@dataclass(frozen=True)
class WinnerRow:
    name: str  # masked unless the contest shows full names
    organization: str


@dataclass(frozen=True)
class WinnerTier:
    key: str
    label: str
    winners: list[WinnerRow]


@dataclass(frozen=True)
class WinnersList:
    """The public winners list (公示): no scores, no ids, names masked per Contest.mask_names."""

    contest_id: int
    title: str
    masked: bool
    tiers: list[WinnerTier]
    units: list[dict[str, str]]  # {"organization", "label"}
    publish_from: date | None
    publish_until: date | None
    objection_contact: str
    published_at: datetime
    locked_at: datetime


# Reading the locked result ---------------------------------------------------------------------


def awardees(contest_id: int) -> list[Awardee]:
    """The locked result's contestants in rank order; [] while the awards are not locked."""
    plan = db.session.get(AwardPlan, contest_id)
    if plan is None or plan.locked_at is None or plan.snapshot is None:
        return []
    return [
        Awardee(
            user_id=int(a["user_id"]),
            full_name=str(a["full_name"]),
            username=str(a["username"]),
            organization=str(a["organization"]),
            tier_key=str(a["tier_key"]),
            tier_label=str(a["tier_label"]),
            rank=int(a["rank"]),
            score=Decimal(a["score"]),
        )
        for a in plan.snapshot.get("awardees", [])
    ]


def unit_awardees(contest_id: int) -> list[UnitAwardee]:
    """The locked result's units; [] while the awards are not locked."""
    plan = db.session.get(AwardPlan, contest_id)
    if plan is None or plan.locked_at is None or plan.snapshot is None:
        return []
    return [unit_from_json(u) for u in plan.snapshot.get("units", [])]


def is_locked(contest_id: int) -> bool:
    return locked_at(contest_id) is not None


def locked_at(contest_id: int) -> datetime | None:
    plan = db.session.get(AwardPlan, contest_id)
    return plan.locked_at if plan is not None else None


def winners_list(contest_id: int) -> WinnersList | None:
    """The published winners list, or None (a draft contest, awards not locked or the list not
    published). Names are masked unless the contest shows full names."""
    contest = db.session.get(Contest, contest_id)
    plan = db.session.get(AwardPlan, contest_id)
    if (
        contest is None
        or contest.status is ContestStatus.DRAFT
        or plan is None
        or plan.locked_at is None
        or plan.published_at is None
        or plan.snapshot is None
    ):
        return None
    masked = contest.mask_names
    grouped: dict[str, list[WinnerRow]] = defaultdict(list)
    labels: dict[str, str] = {}
    for a in awardees(contest_id):
        name = leaderboards.mask_name(a.full_name) if masked else a.full_name
        grouped[a.tier_key].append(WinnerRow(name, a.organization))
        labels.setdefault(a.tier_key, a.tier_label)
    order = [str(t.get("key")) for t in plan.snapshot.get("tiers", [])]
    keys = [k for k in order if k in grouped] + [k for k in grouped if k not in order]
    return WinnersList(
        contest_id=contest.id,
        title=contest.title,
        masked=masked,
        tiers=[WinnerTier(k, labels[k], grouped[k]) for k in keys],
        units=[
            {"organization": u.organization, "label": u.label} for u in unit_awardees(contest_id)
        ],
        publish_from=plan.publish_from,
        publish_until=plan.publish_until,
        objection_contact=plan.objection_contact,
        published_at=plan.published_at,
        locked_at=plan.locked_at,
    )


def unit_from_json(u: dict[str, Any]) -> UnitAwardee:
    return UnitAwardee(
        int(u["organization_id"]), str(u["organization"]), str(u["label"]), Decimal(u["value"])
    )
