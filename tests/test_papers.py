"""Paper drawing is pure and reproducible, and shows ordering questions in any order alike."""

from __future__ import annotations

from collections import Counter
from itertools import permutations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from question_bank.domain import QuestionType
from question_bank.papers import BlueprintRow, Candidate, draw_paper, overlap_shortfalls

ROWS = [
    BlueprintRow("基础知识", QuestionType.ORDERING, 3, 2),
    BlueprintRow("基础知识", QuestionType.SINGLE, 2, 1),
]


def pools(key: tuple[int, ...]) -> list[list[Candidate]]:
    return [
        [Candidate(i, 100 + i, len(key), key) for i in range(5)],
        [Candidate(10 + i, 200 + i, 4) for i in range(4)],
    ]


@pytest.mark.parametrize("key", [(1, 0), (2, 0, 1)])
def test_ordering_options_are_shuffled_uniformly_the_right_order_included(
    key: tuple[int, ...],
) -> None:
    """Leaving the right order out would be a hint: with two options, the shown order would
    always be the wrong one. Every order comes up about equally often, whatever the setting."""
    rows = [BlueprintRow("基础知识", QuestionType.ORDERING, 1, 2)]
    orders = permutations(range(len(key)))
    shown: Counter[tuple[int, ...]] = Counter()
    draws = 300 * len(key) * (len(key) - 1)
    for seed in range(draws):
        pool = [[Candidate(1, 101, len(key), key)]]
        shown[draw_paper(rows, pool, seed, shuffle_options=seed % 2 == 0)[0].option_order] += 1
    expected = draws / len(list(permutations(key)))
    assert set(shown) == set(orders)
    assert all(0.7 * expected < count < 1.3 * expected for count in shown.values()), shown


@given(st.integers(0, 2**62))
def test_the_same_seed_gives_the_same_paper(seed: int) -> None:
    first = draw_paper(ROWS, pools((1, 0, 3, 2)), seed)
    again = draw_paper(ROWS, [list(reversed(p)) for p in pools((1, 0, 3, 2))], seed)
    assert first == again
    assert len({item.question_id for item in first}) == 5


def test_overlapping_rows_are_counted_together() -> None:
    shared = [Candidate(i, i, 4) for i in range(4)]
    rows = [
        BlueprintRow("法律法规", QuestionType.SINGLE, 3, 2),
        BlueprintRow("", QuestionType.SINGLE, 2, 2),
    ]
    problems = overlap_shortfalls(rows, [shared, shared])
    assert [p.params["need"] for p in problems] == [5]
    assert overlap_shortfalls(rows, [shared[:2], shared[2:]]) == []
