"""The ranking rule, written once.

Contestants are ordered by score (higher first), then time used (less first, as the server
measured it), then submission time (earlier first), then a stable id (lower first). Entries equal
in score and time used share a rank (1, 2, 2, 4 …): the later tie-breaks only order the listing.
Qualification at a cutoff includes everyone tied with the last qualifier.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class Entry:
    user_id: int
    score: Decimal
    time_used_s: int
    submitted_at: datetime
    organization_id: int | None = None


@dataclass(frozen=True)
class Ranked:
    rank: int
    entry: Entry


def sort_key(entry: Entry) -> tuple[Decimal, int, datetime, int]:
    """The ranking rule, the one place it is written: score descending, then time used
    ascending (server-measured), then earlier submission, then the stable user id (lower first).

    Every ranking — boards, qualification, best-attempt choice — sorts with this key; entries
    equal in score and time used share a rank (:func:`rank`)."""
    return (-entry.score, entry.time_used_s, entry.submitted_at, entry.user_id)


def rank(entries: Iterable[Entry]) -> list[Ranked]:
    """Entries in ranking order with their (shared) ranks."""
    ordered = sorted(entries, key=sort_key)
    ranked: list[Ranked] = []
    for index, entry in enumerate(ordered):
        previous = ranked[-1] if ranked else None
        if previous and (previous.entry.score, previous.entry.time_used_s) == (
            entry.score,
            entry.time_used_s,
        ):
            ranked.append(Ranked(previous.rank, entry))
        else:
            ranked.append(Ranked(index + 1, entry))
    return ranked


def top_n(entries: Sequence[Entry], n: int) -> set[int]:
    """User ids ranked n-th or better (ties with the n-th included)."""
    ranked = rank(entries)
    if n < 1 or not ranked:
        return set()
    cutoff = ranked[min(n, len(ranked)) - 1].rank
    return {r.entry.user_id for r in ranked if r.rank <= cutoff}


def top_n_per_organization(entries: Sequence[Entry], n: int) -> set[int]:
    """The top n of every organization (contestants without one form their own group)."""
    groups: dict[int | None, list[Entry]] = {}
    for entry in entries:
        groups.setdefault(entry.organization_id, []).append(entry)
    qualified: set[int] = set()
    for group in groups.values():
        qualified |= top_n(group, n)
    return qualified


def at_least(entries: Sequence[Entry], minimum: Decimal) -> set[int]:
    return {e.user_id for e in entries if e.score >= minimum}


def qualifiers(entries: Sequence[Entry], rule: dict[str, object] | None) -> set[int] | None:
    """Who a qualification rule admits; None when the rule admits everyone (no rule)."""
    if not rule or not rule.get("kind"):
        return None
    value = rule.get("value") or 0
    kind = rule["kind"]
    if kind == "top_n":
        return top_n(entries, int(str(value)))
    if kind == "top_n_per_organization":
        return top_n_per_organization(entries, int(str(value)))
    if kind == "min_score":
        return at_least(entries, Decimal(str(value)))
    raise ValueError(f"unknown qualification rule {kind!r}")
