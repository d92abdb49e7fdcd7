"""Standings and board rows, computed from raw entries: no database, no Redis.

Ranking follows the single rule of :mod:`question_bank.ranking`; public boards mask names
(张*三) and identify a contestant's row by an opaque id only.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from contest.services.leaderboards.entries import RawEntry
from question_bank.ranking import Entry, rank


@functools.lru_cache(maxsize=65536)
def mask_name(name: str) -> str:
    """张三丰 → 张*丰, 张三 → 张*, Alice → A***e: the first and last character stay."""
    name = name.strip()
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


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
