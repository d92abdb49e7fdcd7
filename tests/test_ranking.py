"""The ranking rule and qualification at a cutoff (ties included)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from question_bank.ranking import Entry, qualifiers, rank, top_n

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def entry(user: int, score: int, used: int, submitted: int = 0, org: int | None = None) -> Entry:
    return Entry(user, Decimal(score), used, T0 + timedelta(seconds=submitted), org)


def test_score_then_time_then_submission_then_id() -> None:
    entries = [
        entry(1, 90, 600),
        entry(2, 95, 900),
        entry(3, 90, 500),
        entry(4, 90, 500, -5),
        entry(5, 90, 500, -5),
    ]
    ranked = rank(entries)
    assert [r.entry.user_id for r in ranked] == [2, 4, 5, 3, 1]
    assert [r.rank for r in ranked] == [1, 2, 2, 2, 5]


def test_cutoff_includes_everyone_tied_with_the_last_qualifier() -> None:
    entries = [entry(1, 100, 10), entry(2, 90, 20), entry(3, 90, 20), entry(4, 80, 5)]
    assert top_n(entries, 2) == {1, 2, 3}
    assert top_n(entries, 1) == {1}
    assert qualifiers(entries, {"kind": "min_score", "value": 90}) == {1, 2, 3}
    per_org = [entry(1, 50, 1, org=1), entry(2, 40, 1, org=1), entry(3, 10, 1, org=2)]
    assert qualifiers(per_org, {"kind": "top_n_per_organization", "value": 1}) == {1, 3}
    assert qualifiers(entries, None) is None


@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=30
    ),
    st.integers(1, 10),
)
def test_ranks_are_consistent(rows: list[tuple[int, int, int]], n: int) -> None:
    entries = [entry(i, s, u, t) for i, (s, u, t) in enumerate(rows)]
    ranked = rank(entries)
    for before, after in pairwise(ranked):
        assert (-before.entry.score, before.entry.time_used_s) <= (
            -after.entry.score,
            after.entry.time_used_s,
        )
        assert before.rank <= after.rank
    chosen = top_n(entries, n)
    assert len(chosen) >= min(n, len(entries))
    worst = max(r.rank for r in ranked if r.entry.user_id in chosen)
    assert all(r.entry.user_id in chosen for r in ranked if r.rank <= worst)
