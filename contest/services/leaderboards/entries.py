"""Raw entries: each contestant's counting attempt of a round, read from the database.

An entry is what the round's raw hash (``lb:raw:<round>``) stores for one contestant: the best or
the last scored attempt (per the round's policy) and, for a round with a freeze time, the one
among those submitted before it.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from contest.extensions import db
from contest.models import Attempt, AttemptStatus, Organization, Round, ScorePolicy, User
from question_bank.ranking import Entry, sort_key

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _us(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


def _from_us(value: int | str) -> datetime:
    return _EPOCH + int(value) * _MICROSECOND


@dataclass(slots=True)
class RawEntry:
    """One contestant's counting attempt in a round, as the raw hash stores it."""

    user_id: int
    name: str
    organization_id: int | None
    organization: str
    score: Decimal
    time_used_s: int
    submitted_at: datetime
    attempt_id: int
    # For a round with a freeze time: the freeze time this entry was chosen for (microseconds
    # since the epoch) and the counting attempt among those submitted before it, as
    # (score, time used, submitted at, attempt id); None when there is none. The public board
    # of a frozen round shows that one, so an attempt after the freeze shows nowhere — neither
    # as a new score nor as a contestant dropping off the board.
    freeze_us: int | None = None
    before_freeze: tuple[Decimal, int, datetime, int] | None = None
    # The policy this entry was chosen under: True for "last", False for "best". A render that
    # finds entries chosen under another policy (the organizers changed it) recomputes the round.
    last: bool = False

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "user_id": self.user_id,
            "name": self.name,
            "organization_id": self.organization_id,
            "organization": self.organization,
            "score": str(self.score),
            "time_used_s": self.time_used_s,
            "submitted_us": _us(self.submitted_at),
            "attempt_id": self.attempt_id,
        }
        if self.last:
            data["last"] = 1
        if self.freeze_us is not None:
            data["freeze_us"] = self.freeze_us
            before = self.before_freeze
            data["before"] = (
                None if before is None else [str(before[0]), before[1], _us(before[2]), before[3]]
            )
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> RawEntry:
        data = json.loads(text)
        before = data.get("before")
        return cls(
            user_id=int(data["user_id"]),
            name=str(data["name"]),
            organization_id=data["organization_id"],
            organization=str(data["organization"]),
            score=Decimal(data["score"]),
            time_used_s=int(data["time_used_s"]),
            submitted_at=_from_us(data["submitted_us"]),
            attempt_id=int(data["attempt_id"]),
            freeze_us=data.get("freeze_us"),
            last=bool(data.get("last")),
            before_freeze=None
            if before is None
            else (Decimal(before[0]), int(before[1]), _from_us(before[2]), int(before[3])),
        )

    def as_of_freeze(self) -> RawEntry | None:
        """This contestant's entry as the public sees it during the freeze (None: not on it)."""
        if self.before_freeze is None:
            return None
        score, time_used_s, submitted_at, attempt_id = self.before_freeze
        return RawEntry(
            self.user_id,
            self.name,
            self.organization_id,
            self.organization,
            score,
            time_used_s,
            submitted_at,
            attempt_id,
        )

    def ranking_entry(self) -> Entry:
        return Entry(
            self.user_id, self.score, self.time_used_s, self.submitted_at, self.organization_id
        )


def counting_entries(
    round_: Round | RoundRef, *, user_ids: Collection[int] | None = None
) -> dict[int, RawEntry]:
    """Each contestant's counting attempt of ``round_`` (best or last scored), from the database;
    for a round with a freeze time, also the counting attempt among those submitted before it
    (:attr:`RawEntry.before_freeze`).

    Voided and unscored attempts never count. ``user_ids`` limits the query to those contestants.
    """
    # Columns, not Attempt objects: a rebuild reads thousands of rows, scoring a few at a time.
    query = (
        select(
            Attempt.id,
            Attempt.user_id,
            Attempt.score,
            Attempt.time_used_s,
            Attempt.submitted_at,
            Attempt.started_at,
            User.display_name,
            User.organization_id,
            Organization.name,
        )
        .join(User, User.id == Attempt.user_id)
        .outerjoin(Organization, Organization.id == User.organization_id)
        .where(Attempt.round_id == round_.id, Attempt.status == AttemptStatus.SCORED)
        .order_by(Attempt.number)
    )
    if user_ids is not None:
        query = query.where(Attempt.user_id.in_(list(user_ids)))
    chosen: dict[int, RawEntry] = {}
    before: dict[int, RawEntry] = {}
    last = round_.score_policy is ScorePolicy.LAST
    freeze_at = round_.freeze_at
    for row in db.session.execute(query):
        entry = RawEntry(
            user_id=row.user_id,
            name=row.display_name,
            organization_id=row.organization_id,
            organization=row.name or "",
            score=Decimal(row.score or 0),
            time_used_s=row.time_used_s or 0,
            submitted_at=row.submitted_at or row.started_at,
            attempt_id=row.id,
            last=last,
        )
        _choose(chosen, entry, last)
        if freeze_at is not None and entry.submitted_at < freeze_at:
            _choose(before, entry, last)
    if freeze_at is not None:
        for user_id, entry in chosen.items():
            earlier = before.get(user_id)
            entry.freeze_us = freeze_stamp(round_)
            if earlier is not None:
                entry.before_freeze = (
                    earlier.score,
                    earlier.time_used_s,
                    earlier.submitted_at,
                    earlier.attempt_id,
                )
    return chosen


def _choose(chosen: dict[int, RawEntry], entry: RawEntry, last: bool) -> None:
    """Keep ``entry`` as its contestant's counting attempt if it is the last (attempts come in
    order) or, under the best policy, better than the one kept."""
    current = chosen.get(entry.user_id)
    if (
        current is None
        or last
        or sort_key(entry.ranking_entry()) < sort_key(current.ranking_entry())
    ):
        chosen[entry.user_id] = entry


def freeze_stamp(round_: Round | RoundRef) -> int | None:
    """The freeze time entries of this round are chosen for (see :attr:`RawEntry.freeze_us`)."""
    return _us(round_.freeze_at) if round_.freeze_at is not None else None


@dataclass(frozen=True, slots=True)
class RoundRef:
    """What setting a round's entries needs of it, kept past the commit that expires a Round."""

    id: int
    contest_id: int
    score_policy: ScorePolicy
    freeze_at: datetime | None

    @classmethod
    def of(cls, round_: Round) -> RoundRef:
        return cls(round_.id, round_.contest_id, round_.score_policy, round_.freeze_at)
