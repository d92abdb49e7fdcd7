"""Board documents: every public board of a contest, as it is stored, from its raw entries.

:func:`load_contest_data` reads once what a render needs beyond the raw entries (who started,
who is enrolled per unit); :func:`documents` computes the boards from it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import case, func, select, true

from contest.extensions import db
from contest.models import (
    Attempt,
    BoardVisibility,
    Contest,
    ContestStatus,
    Organization,
    Registration,
    RegistrationMode,
    Role,
    Round,
    User,
)
from contest.services.leaderboards.entries import RawEntry
from contest.services.leaderboards.freeze import freeze_active, public_entries, revealed
from contest.services.leaderboards.keys import contest_board, organization_board, round_board
from contest.services.leaderboards.standings import (
    UnitCounts,
    _number,
    contest_standings,
    entry_rows,
    organization_rows,
    ranked,
)


@dataclass
class BoardDocument:
    """A board as stored: its head fields and all its rows, paged on write."""

    board: str
    head: dict[str, Any]  # round_id / contest_id, frozen, stats …
    rows: list[dict[str, Any]]
    paged: bool = True  # the organization board is one page, whatever its length

    def body(self, version: int, offset: int, limit: int) -> dict[str, Any]:
        if not self.paged:
            return {**self.head, "version": version, "organizations": self.rows}
        return {
            **self.head,
            "version": version,
            "total": len(self.rows),
            "offset": offset,
            "limit": limit,
            "entries": self.rows[offset : offset + limit],
        }


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def dumps(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def _stats(entries: Sequence[RawEntry], started: int) -> dict[str, Any]:
    scores = [e.score for e in entries]
    average = sum(scores, Decimal(0)) / len(scores) if scores else None
    return {
        "contestants": started,
        "submissions": len(entries),
        "average_score": _number(average.quantize(Decimal("0.01")))
        if average is not None
        else None,
    }


@dataclass
class ContestData:
    """What rendering a contest's boards needs, loaded once per render."""

    contest: Contest
    rounds: list[Round]
    entries: dict[int, list[RawEntry]]  # round id → counting entries (all of them)
    started: dict[int, int]  # round id → contestants who started
    started_before_freeze: dict[int, int]  # frozen round id → who started before its freeze
    units: UnitCounts  # per unit: enrolled and started
    # The same as of the earliest freeze not yet revealed: what the organization board shows
    # while a round is frozen (an open contest registers its contestants as they start, so the
    # full count would show who came after the freeze).
    units_before_freeze: UnitCounts
    organization_names: dict[int, str]
    salt: bytes = b""  # keys the entries' opaque ids (see row_id)


def load_contest_data(contest_id: int, entries: dict[int, list[RawEntry]]) -> ContestData | None:
    contest = db.session.get(Contest, contest_id)
    if contest is None:
        return None
    rounds = list(contest.rounds)
    started = dict(
        db.session.execute(
            select(Attempt.round_id, func.count(func.distinct(Attempt.user_id)))
            .join(Round, Round.id == Attempt.round_id)
            .where(Round.contest_id == contest_id)
            .group_by(Attempt.round_id)
        ).all()
    )
    cutoff = min(
        (r.freeze_at for r in rounds if r.freeze_at is not None and not revealed(r)), default=None
    )
    units, units_before_freeze = unit_counts(contest, cutoff)
    before_freeze: dict[int, int] = {}
    if any(r.freeze_at is not None for r in rounds):
        before_freeze = dict(
            db.session.execute(
                select(Attempt.round_id, func.count(func.distinct(Attempt.user_id)))
                .join(Round, Round.id == Attempt.round_id)
                .where(Round.contest_id == contest_id, Attempt.started_at < Round.freeze_at)
                .group_by(Attempt.round_id)
            ).all()
        )
    names = dict(db.session.execute(select(Organization.id, Organization.name)).all())
    salt = hashlib.sha256(_bytes(current_app.secret_key) + b":board:%d" % contest_id).digest()
    return ContestData(
        contest,
        rounds,
        {r.id: entries.get(r.id, []) for r in rounds},
        started,
        before_freeze,
        units,
        units_before_freeze,
        names,
        salt,
    )


def unit_counts(contest: Contest, cutoff: datetime | None) -> tuple[UnitCounts, UnitCounts]:
    """Enrolled and started per unit (see :class:`UnitCounts`), now and as of ``cutoff`` (the
    earliest unrevealed freeze; None: the same counts). A few grouped queries, whatever the
    number of units."""
    listed = frozenset(o.id for o in contest.organizations)
    with_members = bool(listed) and contest.registration_mode is not RegistrationMode.ROSTER
    enrolled, enrolled_before = _enrolled(contest.id, listed if with_members else (), cutoff)
    started, started_before = _started(contest.id, cutoff)
    return (
        UnitCounts(enrolled, started, listed),
        UnitCounts(enrolled_before, started_before, listed),
    )


def _enrolled(
    contest_id: int, member_units: Collection[int], cutoff: datetime | None
) -> tuple[dict[int, int], dict[int, int]]:
    """Per unit, now and as of ``cutoff``: the contest's registrations, plus the active
    contestant members of ``member_units`` not registered (yet)."""
    unit, active = User.organization_id, User.active.is_(True)
    registered_at = Registration.registered_at
    # Per unit: registrations, and of them the active members (who are counted again below).
    registrations = db.session.execute(
        select(
            unit,
            func.count(),
            _count_if(registered_at, cutoff),
            func.count(case((active, 1))),
            _count_if(registered_at, cutoff, active & _before(User.created_at, cutoff)),
        )
        .join(Registration, Registration.user_id == User.id)
        .where(Registration.contest_id == contest_id, unit.is_not(None))
        .group_by(unit)
    ).all()
    now = {row[0]: row[1] for row in registrations}
    before = {row[0]: row[2] for row in registrations}
    if member_units:
        members = db.session.execute(
            select(unit, func.count(), _count_if(User.created_at, cutoff))
            .where(unit.in_(member_units), User.role == Role.CONTESTANT, active)
            .group_by(unit)
        ).all()
        again = {row[0]: (row[3], row[4]) for row in registrations}
        for org_id, count, count_before in members:
            registered, registered_before = again.get(org_id, (0, 0))
            now[org_id] = now.get(org_id, 0) + count - registered
            before[org_id] = before.get(org_id, 0) + count_before - registered_before
    return _nonzero(now), _nonzero(before)


def _started(contest_id: int, cutoff: datetime | None) -> tuple[dict[int, int], dict[int, int]]:
    """Per unit, now and as of ``cutoff``: contestants with an attempt in the contest."""
    everyone = func.count(func.distinct(Attempt.user_id))
    early = case((_before(Attempt.started_at, cutoff), Attempt.user_id))
    rows = db.session.execute(
        select(User.organization_id, everyone, func.count(func.distinct(early)))
        .join(User, User.id == Attempt.user_id)
        .join(Round, Round.id == Attempt.round_id)
        .where(Round.contest_id == contest_id, User.organization_id.is_not(None))
        .group_by(User.organization_id)
    ).all()
    return _nonzero({r[0]: r[1] for r in rows}), _nonzero({r[0]: r[2] for r in rows})


def _before(moment: Any, cutoff: datetime | None) -> Any:
    """``moment`` before ``cutoff``; always true without a cutoff."""
    return true() if cutoff is None else moment < cutoff


def _count_if(moment: Any, cutoff: datetime | None, also: Any = None) -> Any:
    """Count the rows whose ``moment`` is before ``cutoff`` (every row without one) and that
    meet ``also``."""
    condition = _before(moment, cutoff) if also is None else _before(moment, cutoff) & also
    return func.count(case((condition, 1)))


def _nonzero(counts: Mapping[Any, int]) -> dict[int, int]:
    return {int(unit): count for unit, count in counts.items() if unit is not None and count > 0}


def documents(data: ContestData, now: datetime) -> list[BoardDocument]:
    """Every public board of a contest, computed from its counting entries."""
    masked = data.contest.mask_names
    per_round = []
    docs = []
    any_frozen = False
    for round_ in data.rounds:
        entries = public_entries(round_, data.entries[round_.id], now)
        frozen = freeze_active(round_, now)
        any_frozen |= frozen
        per_round.append(entries)
        ranking = ranked(entries)
        started = (data.started_before_freeze if frozen else data.started).get(round_.id, 0)
        docs.append(
            BoardDocument(
                round_board(round_.id),
                {"round_id": round_.id, "frozen": frozen, "stats": _stats(entries, started)},
                entry_rows(ranking, masked, data.salt),
            )
        )
    standings = contest_standings(per_round)
    contest_id = data.contest.id
    docs.append(
        BoardDocument(
            contest_board(contest_id),
            {"contest_id": contest_id, "frozen": any_frozen},
            # One round: the contest's ranking is that round's (same standings, same rule).
            docs[0].rows
            if len(per_round) == 1
            else entry_rows(ranked(standings), masked, data.salt),
        )
    )
    docs.append(
        BoardDocument(
            organization_board(contest_id),
            {"contest_id": contest_id, "frozen": any_frozen},
            organization_rows(
                standings,
                data.units_before_freeze if any_frozen else data.units,
                data.organization_names,
            ),
            paged=False,
        )
    )
    return docs


def boards_public(contest: Contest) -> bool:
    """Whether the contest's boards are for everyone: public ones, once it is no draft."""
    return (
        contest.board_visibility is BoardVisibility.PUBLIC
        and contest.status is not ContestStatus.DRAFT
    )
