"""Grading: pure functions from (question, response) to points.

Responses here use option *indexes* into ``QuestionData.options`` (the paper layer maps a
contestant's opaque option ids to indexes before grading):

* single: an index; multiple: a list of indexes; true/false: a bool;
* fill-in-the-blank: a list of strings, one per blank; ordering: the list of indexes in order;
* ``None``: unanswered (always 0 points).

Rules: multiple choice is all-or-nothing by default, or half points for a correct
proper subset (少选得半分), or proportional credit for a correct subset — any wrong option gives 0
under every rule. Fill-in-the-blank earns points in proportion to correct blanks. Ordering is
all-or-nothing. Malformed responses earn 0, never raise.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from question_bank.domain import QuestionData, QuestionType, normalize_blank


class MultipleRule(enum.StrEnum):
    ALL_OR_NOTHING = "all_or_nothing"
    HALF_FOR_SUBSET = "half_for_subset"
    PROPORTIONAL = "proportional"


@dataclass(frozen=True)
class Grade:
    """Points earned (a fraction of ``max_points``) and whether the answer was fully correct."""

    points: Fraction
    max_points: Fraction
    correct: bool

    @property
    def partial(self) -> bool:
        return 0 < self.points < self.max_points


def grade(
    question: QuestionData,
    response: Any,
    points: Fraction | int = 1,
    rule: MultipleRule = MultipleRule.ALL_OR_NOTHING,
) -> Grade:
    """Grade ``response`` to ``question`` worth ``points``; see the module docstring."""
    full = Fraction(points)
    share = _share(question, response, rule) if response is not None else Fraction(0)
    return Grade(points=full * share, max_points=full, correct=share == 1)


def _share(question: QuestionData, response: Any, rule: MultipleRule) -> Fraction:
    kind, key = question.type, question.answer
    if kind is QuestionType.SINGLE:
        return Fraction(_is_index(response) and response == key)
    if kind is QuestionType.TRUE_FALSE:
        return Fraction(isinstance(response, bool) and response is key)
    if kind is QuestionType.MULTIPLE:
        return _multiple_share(key, response, rule)  # type: ignore[arg-type]
    if kind is QuestionType.ORDERING:
        return Fraction(_is_index_list(response) and tuple(response) == key)
    if kind is QuestionType.FILL_BLANK:
        return _fill_share(key, response)  # type: ignore[arg-type]
    return Fraction(0)


def _is_index(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_index_list(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(_is_index(v) for v in value)


def _multiple_share(key: tuple[int, ...], response: Any, rule: MultipleRule) -> Fraction:
    if not _is_index_list(response) or not response:
        return Fraction(0)
    chosen, correct = set(response), set(key)
    if chosen == correct:
        return Fraction(1)
    if not chosen <= correct:  # 错选不得分
        return Fraction(0)
    if rule is MultipleRule.HALF_FOR_SUBSET:
        return Fraction(1, 2)
    if rule is MultipleRule.PROPORTIONAL:
        return Fraction(len(chosen), len(correct))
    return Fraction(0)


def _fill_share(key: tuple[tuple[str, ...], ...], response: Any) -> Fraction:
    if not isinstance(response, list | tuple) or not key:
        return Fraction(0)
    right = 0
    for accepted, given in zip(key, response, strict=False):
        if isinstance(given, str) and normalize_blank(given) in {
            normalize_blank(a) for a in accepted
        }:
            right += 1
    return Fraction(right, len(key))
