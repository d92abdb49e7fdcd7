"""Leaderboards: views derived from the database and kept in Redis.

Three boards per contest, each rendered from the contestants' *counting* attempts (the best or the
last scored attempt of a round, per the round's policy):

- per round (``r<id>``): ranked entries with the round's live figures;
- per contest (``c<id>``): the sum over its rounds;
- per organization (``o<id>``): per unit, members enrolled, started and submitted, the
  participation rate (submitted of enrolled), mean and top score.

How the data moves:

1. After scoring commits, :func:`record_attempts` *sets* the contestants' entries in the round's raw
   hash (``lb:raw:<round>``, user id → entry) from the database and marks the contest dirty. Setting
   from the database, never incrementing, makes a job that runs twice change nothing.
2. A renderer (:mod:`workers.boards`, inside every ``contest worker``) calls :func:`render_contest`
   for dirty contests, at most a few times a second: it ranks the raw entries with the single
   ranking rule (:mod:`question_bank.ranking`), writes every page of every public board as ready
   JSON bytes into one hash per board (``lb:board:<board>``) under a new version, and publishes the
   change on ``lb:events``.
3. Public reads (:func:`read_board`) take one page from that hash: no database query, no ranking.

封榜: once a round's ``freeze_at`` has passed (and until the organizers reveal it), its public
board and the contest's public boards count only attempts submitted before the freeze; organizers
see live standings (:func:`live_round_body`, computed on request). Public boards mask names
(张*三) unless the contest shows full names; phone numbers and e-mails are never part of an entry.

Redis only holds derived views: :func:`rebuild_contest` recomputes everything from the database,
and :func:`check_contest` compares what Redis holds with a recomputation.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import hmac
import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import redis
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import case, event, func, select, true
from sqlalchemy.orm import Session

from contest.errors import Conflict, NotFound
from contest.extensions import db, redis_hub
from contest.models import (
    Attempt,
    AttemptStatus,
    BoardVisibility,
    Contest,
    ContestStatus,
    Organization,
    Registration,
    RegistrationMode,
    Role,
    Round,
    ScorePolicy,
    User,
)
from question_bank.ranking import Entry, rank, sort_key

PAGE = 50  # entries per stored page; reads of other slices combine pages
MAX_LIMIT = 100
EVENTS = "lb:events"  # pub/sub channel: "<board> <version>"
DIRTY = "lb:dirty"  # contest ids whose boards need rendering
WAKE = "lb:wake"  # a list the renderer blocks on
FREEZES = "lb:freezes"  # contest id scored by the next freeze time (epoch seconds)
EPOCH = "lb:epoch"  # absent after Redis lost its data: the reconciler rebuilds everything
# "round:user" entries a scoring job is about to set after its commit, scored by when it began:
# a job killed between its commit and :func:`record_attempts` leaves them for the reconciler.
RECORDING = "lb:recording"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _us(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


def _from_us(value: int | str) -> datetime:
    return _EPOCH + int(value) * _MICROSECOND


# Callbacks run when this process changes a board (the web process's BoardHub caches pages and
# would otherwise learn of its own change only when the pub/sub message comes back).
local_listeners: list[Callable[[], None]] = []


def _changed_locally() -> None:
    for listener in list(local_listeners):
        listener()


def delete_boards(client: redis.Redis, boards: Sequence[str]) -> None:
    """Remove stored boards and announce it (readers answer 404 from now on)."""
    pipe = client.pipeline()
    pipe.delete(*[board_key(b) for b in boards])
    for board in boards:
        pipe.publish(EVENTS, f"{board} 0")
    pipe.execute()
    _changed_locally()


def raw_key(round_id: int) -> str:
    return f"lb:raw:{round_id}"


def board_key(board: str) -> str:
    return f"lb:board:{board}"


def round_board(round_id: int) -> str:
    return f"r{round_id}"


def contest_board(contest_id: int) -> str:
    return f"c{contest_id}"


def organization_board(contest_id: int) -> str:
    return f"o{contest_id}"


@functools.lru_cache(maxsize=65536)
def mask_name(name: str) -> str:
    """张三丰 → 张*丰, 张三 → 张*, Alice → A***e: the first and last character stay."""
    name = name.strip()
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


# Entries ---------------------------------------------------------------------------------------


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


def revealed(round_: Round) -> bool:
    """True once the organizers revealed the round's current freeze (a reveal counts for the
    freeze it ended: a freeze time set later than the reveal freezes the board again)."""
    return (
        round_.freeze_at is not None
        and round_.revealed_at is not None
        and round_.revealed_at >= round_.freeze_at
    )


def freeze_active(round_: Round, now: datetime) -> bool:
    """True while the public sees the round frozen (after freeze_at, before the reveal)."""
    return round_.freeze_at is not None and now >= round_.freeze_at and not revealed(round_)


def public_entries(round_: Round, entries: Iterable[RawEntry], now: datetime) -> list[RawEntry]:
    """What the public may count: while frozen, each contestant's counting attempt among those
    submitted before the freeze (the entries must be chosen for this freeze time)."""
    if not freeze_active(round_, now):
        return list(entries)
    return [shown for e in entries if (shown := e.as_of_freeze()) is not None]


@dataclass(slots=True)
class Standing:
    """A contestant's line on a board: a round's entry or a contest's sum over rounds."""

    user_id: int
    name: str
    organization_id: int | None
    organization: str
    score: Decimal
    time_used_s: int
    submitted_at: datetime


def ranked(standings: Iterable[Standing | RawEntry]) -> list[tuple[int, Standing | RawEntry]]:
    """(rank, standing) in ranking order: the rule of :mod:`question_bank.ranking`."""
    by_user = {s.user_id: s for s in standings}
    entries = [
        Entry(s.user_id, s.score, s.time_used_s, s.submitted_at, s.organization_id)
        for s in by_user.values()
    ]
    return [(r.rank, by_user[r.entry.user_id]) for r in rank(entries)]


def _standing(entry: RawEntry) -> Standing:
    return Standing(
        entry.user_id,
        entry.name,
        entry.organization_id,
        entry.organization,
        entry.score,
        entry.time_used_s,
        entry.submitted_at,
    )


def contest_standings(per_round: Sequence[Sequence[RawEntry]]) -> list[Standing | RawEntry]:
    """Each contestant's sum over the rounds: scores and times added, the last submission."""
    if len(per_round) == 1:
        return list(per_round[0])
    totals: dict[int, Standing | RawEntry] = {}
    for entries in per_round:
        for e in entries:
            s = totals.get(e.user_id)
            if s is None:
                totals[e.user_id] = _standing(e)
            else:
                totals[e.user_id] = Standing(
                    s.user_id,
                    s.name,
                    s.organization_id,
                    s.organization,
                    s.score + e.score,
                    s.time_used_s + e.time_used_s,
                    max(s.submitted_at, e.submitted_at),
                )
    return list(totals.values())


def _number(value: Decimal) -> int | float:
    """Scores as JSON numbers: 12 rather than 12.00, 12.5 stays 12.5."""
    return int(value) if value == value.to_integral_value() else float(value)


@functools.lru_cache(maxsize=200_000)
def row_id(salt: bytes, user_id: int) -> str:
    """An opaque id that follows a contestant between snapshots of a contest's boards (for the
    pages' animations) and reveals nothing: a keyed hash of the user id, different per contest."""
    return hmac.new(salt, str(user_id).encode(), hashlib.sha256).hexdigest()[:12]


def entry_rows(
    ranking: Sequence[tuple[int, Standing | RawEntry]], masked: bool, salt: bytes = b""
) -> list[dict[str, Any]]:
    return [
        {
            "id": row_id(salt, s.user_id),
            "rank": position,
            "name": mask_name(s.name) if masked else s.name,
            "organization": s.organization or None,
            "score": _number(s.score),
            "time_used_s": s.time_used_s,
        }
        for position, s in ranking
    ]


@dataclass(frozen=True)
class UnitCounts:
    """Per unit (organization id): who is enrolled in the contest and who started it.

    Enrolled: the contest's registrations in the unit (roster enrolment, open or invite
    registration, sign-up into the unit chosen) and, unless the contest takes its roster alone,
    the active contestant members of the organizations taking part. ``listed`` are the
    organizations taking part: on the board even with nobody enrolled.
    """

    enrolled: Mapping[int, int]
    started: Mapping[int, int]
    listed: frozenset[int] = frozenset()


def organization_rows(
    standings: Sequence[Standing | RawEntry], units: UnitCounts, names: Mapping[int, str]
) -> list[dict[str, Any]]:
    """Per unit: members enrolled, started and submitted (ranked on the board), participation
    rate (submitted of enrolled), mean and top score; units where nobody took part yet are
    listed too (0 of N). ``participants`` and ``registered`` repeat ``submitted`` and
    ``enrolled`` under their older names.

    The counts come from separate reads (a board entry keeps the unit its contestant had when
    scored), so a unit never shows more submitted than enrolled or started.

    Ordered by mean score (higher first), then participation rate, then name; equal mean scores
    share a rank.
    """
    groups: dict[int, list[Standing | RawEntry]] = defaultdict(list)
    for s in standings:
        if s.organization_id is not None:
            groups[s.organization_id].append(s)
    keyed: list[tuple[Decimal, dict[str, Any]]] = []
    for org_id in set(units.enrolled) | set(units.listed) | set(groups):
        members = groups.get(org_id, [])
        scores = [m.score for m in members]
        submitted = len(members)
        enrolled = max(units.enrolled.get(org_id, 0), submitted)
        mean = (sum(scores, Decimal(0)) / len(scores)).quantize(Decimal("0.01")) if scores else None
        rate = round(submitted / enrolled, 4) if enrolled else None
        row = {
            "name": names.get(org_id, ""),
            "enrolled": enrolled,
            "started": max(units.started.get(org_id, 0), submitted),
            "submitted": submitted,
            "participants": submitted,
            "registered": enrolled,
            "participation_rate": rate,
            "mean_score": _number(mean) if mean is not None else None,
            "top_score": _number(max(scores)) if scores else None,
        }
        keyed.append((mean if mean is not None else Decimal(-1), row))
    keyed.sort(key=lambda k: (-k[0], -(k[1]["participation_rate"] or 0), k[1]["name"]))
    rows: list[dict[str, Any]] = []
    for index, (mean, row) in enumerate(keyed):
        shared = index and keyed[index - 1][0] == mean
        rows.append({"rank": rows[-1]["rank"] if shared else index + 1, **row})
    return rows


# Board documents ---------------------------------------------------------------------------------


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


# Redis: raw entries, rendering, reading ----------------------------------------------------------

# Replace a board's hash only with a newer version whose content differs, then announce it.
# KEYS[1] the board hash, KEYS[2] the channel; ARGV[1] the version, ARGV[2] the board name,
# ARGV[3] the content's digest, ARGV[4…] field/value pairs. Returns 0 (written), -1 (the same
# content is stored: nothing changes, not even the version) or the newer stored version.
_WRITE_BOARD = """
local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
local version = tonumber(ARGV[1])
if version <= current then return current end
if redis.call('HGET', KEYS[1], 'digest') == ARGV[3] then return -1 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'digest', ARGV[3], unpack(ARGV, 4))
redis.call('PUBLISH', KEYS[2], ARGV[2] .. ' ' .. ARGV[1])
return 0
"""


def boards_public(contest: Contest) -> bool:
    """Whether the contest's boards are for everyone: public ones, once it is no draft."""
    return (
        contest.board_visibility is BoardVisibility.PUBLIC
        and contest.status is not ContestStatus.DRAFT
    )


def boards_of(contest: Contest) -> list[str]:
    """Every board a contest has: one per round, the contest's and the organizations'."""
    return [round_board(r.id) for r in contest.rounds] + [
        contest_board(contest.id),
        organization_board(contest.id),
    ]


def settings_changed(contest_id: int, *, hide: Sequence[str] = ()) -> None:
    """Render the contest's boards once the session commits (its settings or rounds changed);
    ``hide`` names boards removed at the commit (they became organizer-only), without waiting
    for a renderer."""
    render_after_commit(contest_id)
    db.session.info.setdefault("boards_hidden", set()).update(hide)


def render_after_commit(contest_id: int) -> None:
    """Render the contest's boards once the session commits (what they show changed: a round's
    settings, or who started, which the boards count)."""
    db.session.info.setdefault("contests_changed", set()).add(contest_id)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    changed = session.info.pop("contests_changed", None)
    hidden = session.info.pop("boards_hidden", None)
    if changed:
        client = redis_hub.client_for_app(current_app._get_current_object())  # type: ignore[attr-defined]
        if hidden:
            delete_boards(client, sorted(hidden))
        mark_dirty(client, *changed)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop("contests_changed", None)
    session.info.pop("boards_hidden", None)


def reveal(round_id: int, now: datetime) -> Round:
    """End a round's freeze for the public (committed); the boards re-render."""
    round_ = db.session.get(Round, round_id)
    if round_ is None:
        raise NotFound(_("No round %(id)s.", id=round_id))
    if round_.freeze_at is None:
        raise Conflict(_("This round has no freeze to reveal."), code="not_frozen")
    if now < round_.freeze_at:
        raise Conflict(
            _("The board is not frozen yet: it can be revealed once the freeze time has come."),
            code="not_frozen",
        )
    if not revealed(round_):
        round_.revealed_at = now
        settings_changed(round_.contest_id)
    db.session.commit()
    return round_


def mark_dirty(client: redis.Redis, *contest_ids: int) -> None:
    """Ask the renderer to render these contests' boards soon."""
    pipe = client.pipeline()
    _mark_dirty(pipe, contest_ids)
    pipe.execute()


def _mark_dirty(pipe: Any, contest_ids: Collection[int]) -> None:
    pipe.sadd(DIRTY, *contest_ids)
    pipe.lpush(WAKE, 1)
    pipe.ltrim(WAKE, 0, 0)


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


def record_attempts(
    client: redis.Redis,
    contestants: Iterable[tuple[int, int]],
    rounds: Mapping[int, RoundRef] | None = None,
) -> None:
    """Set these (round id, user id) entries from the database, one query per round and one
    Redis transaction for all, and mark their contests dirty. ``rounds`` spares loading the
    rounds a caller has read already."""
    by_round: dict[int, set[int]] = defaultdict(set)
    for round_id, user_id in contestants:
        by_round[round_id].add(user_id)
    if not by_round:
        return
    pipe = client.pipeline()
    contests = set()
    for round_id, user_ids in by_round.items():
        round_ = (rounds or {}).get(round_id) or RoundRef.of(db.session.get_one(Round, round_id))
        entries = counting_entries(round_, user_ids=user_ids)
        if entries:
            pipe.hset(raw_key(round_id), mapping={u: e.to_json() for u, e in entries.items()})
        if gone := user_ids - entries.keys():
            pipe.hdel(raw_key(round_id), *gone)
        contests.add(round_.contest_id)
    _mark_dirty(pipe, contests)
    pipe.execute()


def begin_recording(client: redis.Redis, contestants: Iterable[tuple[int, int]]) -> None:
    """Note, before a scoring commit, the entries it will set (:data:`RECORDING`)."""
    members = {f"{round_id}:{user_id}": time.time() for round_id, user_id in contestants}
    if members:
        client.zadd(RECORDING, members)


def end_recording(client: redis.Redis, contestants: Iterable[tuple[int, int]]) -> None:
    """The entries of :func:`begin_recording` are set: forget them."""
    members = [f"{round_id}:{user_id}" for round_id, user_id in contestants]
    if members:
        client.zrem(RECORDING, *members)


def record_unfinished(client: redis.Redis, begun_before: float) -> int:
    """Set the entries that a scoring job noted before ``begun_before`` (epoch seconds) and
    never set — it died between its commit and :func:`record_attempts` — from the database, as
    that function does (idempotent); how many."""
    raw = client.zrangebyscore(RECORDING, "-inf", begun_before)
    if not raw:
        return 0
    members = [m.decode() if isinstance(m, bytes) else str(m) for m in raw]
    contestants = [(int(r), int(u)) for r, _, u in (m.partition(":") for m in members)]
    record_attempts(client, contestants)
    client.zrem(RECORDING, *members)
    return len(members)


# Parsed raw entries of the rounds this process rendered last, by their stored bytes: a render
# parses only the entries that changed since the previous one.
_parsed: dict[int, dict[bytes, RawEntry]] = {}


def read_raw(client: redis.Redis, round_ids: Sequence[int]) -> dict[int, list[RawEntry]]:
    pipe = client.pipeline(transaction=False)
    for round_id in round_ids:
        pipe.hvals(raw_key(round_id))
    result = {}
    for round_id, values in zip(round_ids, pipe.execute(), strict=True):
        known = _parsed.get(round_id, {})
        fresh = {v: known.get(v) or RawEntry.from_json(v) for v in values}
        if len(_parsed) > 64 and round_id not in _parsed:
            _parsed.clear()
        _parsed[round_id] = fresh
        result[round_id] = list(fresh.values())
    return result


def _version(client: redis.Redis, board: str) -> int:
    """A version above the stored one; milliseconds, so it keeps rising across Redis restarts."""
    stored = int(_bytes(client.hget(board_key(board), "version") or 0))
    return max(int(time.time() * 1000), stored + 1)


_NO_VERSION = b'"version":0,'


def _pages(doc: BoardDocument) -> list[bytes]:
    """The document's stored pages with the version left at 0 (see :func:`_fields`)."""
    if not doc.paged:
        return [dumps(doc.body(0, 0, 0))]
    pages = max(1, -(-len(doc.rows) // PAGE))
    return [dumps(doc.body(0, page * PAGE, PAGE)) for page in range(pages)]


def _fields(pages: Sequence[bytes], version: int) -> list[Any]:
    """Field/value pairs of a board's hash. A page is rendered once, without its version, for
    the content's digest; the version goes in by replacing the first ``"version":0,``, which is
    the body's own key: it comes after the head's numbers and flags and before any text, and a
    name holding those characters is escaped (``\\"version\\":0,``), so it cannot match."""
    stamped = b'"version":%d,' % version
    fields: list[Any] = ["version", version]
    for index, page in enumerate(pages):
        fields += [f"p{index}", page.replace(_NO_VERSION, stamped, 1)]
    return fields


def write_documents(client: redis.Redis, docs: Sequence[BoardDocument]) -> list[str]:
    """Store each document whose content changed under a new version and publish it; returns
    boards refused as stale (a newer version is stored).

    A render that changes nothing a reader sees (the same entries, a frozen board while
    submissions pour in) writes nothing: the version, the ETag and the streams stay still.
    """
    script = client.register_script(_WRITE_BOARD)
    refused = []
    for doc in docs:
        pages = _pages(doc)
        digest = hashlib.blake2b(b"\0".join(pages), digest_size=16).hexdigest()
        version = _version(client, doc.board)
        written = script(
            keys=[board_key(doc.board), EVENTS],
            args=[version, doc.board, digest, *_fields(pages, version)],
        )
        if int(written) > 0:
            refused.append(doc.board)
    return refused


def render_contest(client: redis.Redis, contest_id: int, now: datetime | None = None) -> bool:
    """Render a contest's public boards from the raw entries in Redis. False: nothing to render.

    The cyclic garbage collector is paused meanwhile: a render allocates tens of thousands of
    short-lived objects (freed by reference counting), which would otherwise trigger full
    collections over the whole worker heap in the middle of it.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _render_contest(client, contest_id, now)
    finally:
        if enabled:
            gc.enable()


def _render_contest(client: redis.Redis, contest_id: int, now: datetime | None) -> bool:
    now = now or datetime.now(UTC)
    contest = db.session.get(Contest, contest_id)
    if contest is None:
        return False
    round_ids = [r.id for r in contest.rounds]
    raw = read_raw(client, round_ids)
    for _try in range(_RECOMPUTE_TRIES):
        stale = [r for r in contest.rounds if _chosen_otherwise(r, raw[r.id])]
        if not stale:
            break
        for round_ in stale:
            store_round_entries(client, round_)
        raw = read_raw(client, round_ids)
    else:
        # A scoring job that read the round before its freeze time (or policy) changed keeps
        # writing entries chosen for the old one: publishing them could show a score from after
        # the freeze.
        # Render nothing now; the job's own mark brings the contest back.
        mark_dirty(client, contest_id)
        return False
    data = load_contest_data(contest_id, raw)
    if data is None:
        return False
    if not boards_public(contest):
        delete_boards(client, boards_of(contest))
        return True
    if write_documents(client, documents(data, now)):
        mark_dirty(client, contest_id)  # another renderer wrote meanwhile: render once more
    upcoming = [
        r.freeze_at.timestamp()
        for r in data.rounds
        if r.freeze_at is not None and r.freeze_at > now
    ]
    if upcoming:
        client.zadd(FREEZES, {str(contest_id): min(upcoming)})
    return True


def due_freezes(client: redis.Redis, now: datetime) -> list[int]:
    """Contests whose freeze time has come since their last render (removed from the schedule)."""
    members: list[bytes] = client.zrangebyscore(FREEZES, "-inf", now.timestamp())  # type: ignore[assignment]
    due = [int(m) for m in members]
    if due:
        client.zrem(FREEZES, *due)
    return due


@dataclass(frozen=True)
class Snapshot:
    version: int
    body: bytes


def read_board(
    client: redis.Redis, board: str, offset: int = 0, limit: int = PAGE
) -> Snapshot | None:
    """A page of a stored board as JSON bytes, or None when the board is not stored."""
    key = board_key(board)
    if offset % PAGE == 0 and limit == PAGE:
        version, body = client.hmget(key, ["version", f"p{offset // PAGE}"])
        if version is None:
            return None
        if body is None:  # past the end: the first page tells the head and the total
            first = client.hget(key, "p0")
            if first is None:
                return None
            return Snapshot(int(version), _reslice(json.loads(first), [], offset, limit))
        return Snapshot(int(version), _bytes(body))
    first_page, last_page = offset // PAGE, (offset + max(limit, 1) - 1) // PAGE
    fields = ["version"] + [f"p{p}" for p in range(first_page, last_page + 1)] + ["p0"]
    values = client.hmget(key, fields)
    if values[0] is None or values[-1] is None:
        return None
    head = json.loads(values[-1])
    if "entries" not in head:  # an unpaged board
        return Snapshot(int(values[0]), _bytes(values[-1]))
    rows: list[dict[str, Any]] = []
    for page_body in values[1:-1]:
        if page_body is not None:
            rows += json.loads(page_body)["entries"]
    skip = offset - first_page * PAGE
    return Snapshot(int(values[0]), _reslice(head, rows[skip : skip + limit], offset, limit))


def _reslice(head: dict[str, Any], rows: list[dict[str, Any]], offset: int, limit: int) -> bytes:
    return dumps({**head, "offset": offset, "limit": limit, "entries": rows})


def board_version(client: redis.Redis, board: str) -> int | None:
    value = client.hget(board_key(board), "version")
    return int(_bytes(value)) if value is not None else None


# Rebuild, check, live views ----------------------------------------------------------------------


def rebuild_contest(client: redis.Redis, contest_id: int, now: datetime | None = None) -> int:
    """Recompute a contest's raw entries from the database and render its boards; returns the
    number of ranked entries over its rounds."""
    contest = db.session.get(Contest, contest_id)
    if contest is None:
        return 0
    count = sum(store_round_entries(client, round_) for round_ in contest.rounds)
    render_contest(client, contest_id, now)
    return count


def store_round_entries(client: redis.Redis, round_: Round | RoundRef) -> int:
    """Replace a round's raw entries with a recomputation from the database; returns how many.

    The hash is watched from before the database is read: scoring commits an attempt and then
    sets its entry, so an entry set after the read (from an attempt the read may have missed)
    makes the replacement fail and start over, instead of being overwritten. (Each query sees
    what was committed before it: PostgreSQL's READ COMMITTED, SQLite outside a write.)
    """
    key = raw_key(round_.id)

    stored: list[int] = []

    def replace(pipe: redis.client.Pipeline) -> None:  # run again when the watch fails
        entries = counting_entries(round_)
        pipe.multi()  # readers see the old hash or the new one
        pipe.delete(key)
        if entries:
            pipe.hset(key, mapping={str(u): e.to_json() for u, e in entries.items()})
        stored[:] = [len(entries)]

    client.transaction(replace, key)
    return stored[0]


# Renders in a row that find entries chosen for another freeze time before giving up for now.
_RECOMPUTE_TRIES = 3
# One render of a missing board at a time per contest in this process (see render_if_missing).
_missing_locks: defaultdict[int, threading.Lock] = defaultdict(threading.Lock)


def render_if_missing(
    client: redis.Redis, contest_id: int, board: str, offset: int, limit: int
) -> Snapshot | None:
    """The page of a board that was never rendered (or was lost with Redis's data), rendering
    the contest first. One reader of this process renders while the others wait and read:
    otherwise every reader of a popular board would render the same contest at once."""
    with _missing_locks[contest_id]:
        snapshot = read_board(client, board, offset, limit)
        if snapshot is None:
            render_contest(client, contest_id)
            snapshot = read_board(client, board, offset, limit)
    return snapshot


def _chosen_otherwise(round_: Round, entries: Iterable[RawEntry]) -> bool:
    """True when stored entries were chosen for another freeze time than the round's (it was
    set or moved since) or under another best/last policy (it was changed): the render
    recomputes the round's entries first."""
    stamp = freeze_stamp(round_)
    last = round_.score_policy is ScorePolicy.LAST
    return any(e.freeze_us != stamp or e.last != last for e in entries)


def contest_ids() -> list[int]:
    return list(db.session.scalars(select(Contest.id).order_by(Contest.id)))


def rebuild_all(client: redis.Redis, now: datetime | None = None) -> dict[int, int]:
    result = {cid: rebuild_contest(client, cid, now) for cid in contest_ids()}
    client.set(EPOCH, int(time.time()))
    return result


def _stored_body(client: redis.Redis, board: str) -> dict[str, Any] | None:
    """A stored board as one document (all pages joined), without its version."""
    values: dict[bytes, bytes] = client.hgetall(board_key(board))  # type: ignore[assignment]
    if not values:
        return None
    pages = sorted((int(k[1:]), json.loads(v)) for k, v in values.items() if k.startswith(b"p"))
    document = dict(pages[0][1])
    if "entries" in document:
        document["entries"] = [row for _, page in pages for row in page["entries"]]
        document["offset"], document["limit"] = 0, len(document["entries"])
    document.pop("version", None)
    return document


def check_contest(client: redis.Redis, contest_id: int, now: datetime | None = None) -> list[str]:
    """Differences between Redis and a recomputation from the database (empty: all equal)."""
    now = now or datetime.now(UTC)
    contest = db.session.get(Contest, contest_id)
    if contest is None:
        return [f"contest {contest_id}: not found"]
    problems = []
    expected_raw = {r.id: counting_entries(r) for r in contest.rounds}
    stored_raw = read_raw(client, list(expected_raw))
    for round_id, entries in expected_raw.items():
        stored = {e.user_id: e for e in stored_raw[round_id]}
        if stored != entries:
            missing = sorted(set(entries) - set(stored))
            extra = sorted(set(stored) - set(entries))
            changed = sorted(u for u in set(entries) & set(stored) if entries[u] != stored[u])
            problems.append(
                f"round {round_id} raw entries differ: missing {missing[:10]}, "
                f"extra {extra[:10]}, changed {changed[:10]}"
            )
    data = load_contest_data(contest_id, {k: list(v.values()) for k, v in expected_raw.items()})
    assert data is not None
    if not boards_public(contest):
        return problems
    for doc in documents(data, now):
        expected = doc.body(0, 0, len(doc.rows))
        expected.pop("version")
        stored_doc = _stored_body(client, doc.board)
        if stored_doc is None:
            problems.append(f"board {doc.board}: not stored")
        elif stored_doc != json.loads(dumps(expected)):
            problems.append(f"board {doc.board}: differs from a recomputation")
    return problems


def live_round_body(client: redis.Redis, round_: Round, offset: int, limit: int) -> dict[str, Any]:
    """The round's live standings for organizers (full names, nothing frozen), from Redis."""
    entries = read_raw(client, [round_.id])[round_.id]
    ranking = ranked(entries)
    rows = entry_rows(ranking, masked=False)
    return {
        "round_id": round_.id,
        "version": board_version(client, round_board(round_.id)) or 0,
        "frozen": False,
        "total": len(rows),
        "offset": offset,
        "limit": limit,
        "stats": _stats(entries, 0) | {"contestants": None},
        "entries": rows[offset : offset + limit],
    }
