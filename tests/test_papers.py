"""Paper drawing is pure and reproducible, and never hands out an ordering question solved."""

from __future__ import annotations

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


@given(st.integers(0, 2**62), st.permutations(range(4)))
def test_ordering_options_are_never_shown_in_the_right_order(seed: int, key: list[int]) -> None:
    for shuffle in (True, False):
        paper = draw_paper(ROWS, pools(tuple(key)), seed, shuffle_options=shuffle)
        for item in paper:
            if item.question_id < 10:
                assert item.option_order != tuple(key)


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
