"""Grading is pure: properties per question type (hypothesis), and the grading rules."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from question_bank.domain import QuestionData, QuestionType
from question_bank.grading import MultipleRule, grade

texts = st.text(alphabet="abc网络安全法 ", min_size=1, max_size=8).map(str.strip).filter(bool)


@st.composite
def choice_question(draw: st.DrawFn, kind: QuestionType) -> QuestionData:
    n = draw(st.integers(2, 8))
    options = tuple(f"选项{i}" for i in range(n))
    if kind is QuestionType.SINGLE:
        answer: object = draw(st.integers(0, n - 1))
    elif kind is QuestionType.MULTIPLE:
        answer = tuple(sorted(draw(st.sets(st.integers(0, n - 1), min_size=2))))
    else:
        answer = tuple(draw(st.permutations(range(n))))
    return QuestionData(kind, "题干", answer, options)  # type: ignore[arg-type]


points = st.integers(1, 10)


@given(choice_question(QuestionType.SINGLE), points, st.integers(-2, 9))
def test_single_choice_scores_full_or_nothing(q: QuestionData, p: int, response: int) -> None:
    result = grade(q, response, p)
    assert result.points == (p if response == q.answer else 0)
    assert result.correct == (response == q.answer)


@given(
    choice_question(QuestionType.MULTIPLE),
    points,
    st.sets(st.integers(0, 7)),
    st.sampled_from(list(MultipleRule)),
)
def test_multiple_choice_rules(
    q: QuestionData, p: int, chosen: set[int], rule: MultipleRule
) -> None:
    key = set(q.answer)  # type: ignore[arg-type]
    result = grade(q, sorted(chosen), p, rule)
    assert 0 <= result.points <= p
    if chosen == key:
        assert result.points == p and result.correct
    elif not chosen or not chosen <= key or rule is MultipleRule.ALL_OR_NOTHING:  # 错选不得分
        assert result.points == 0
    elif rule is MultipleRule.HALF_FOR_SUBSET:
        assert result.points == Fraction(p, 2)
    else:
        assert result.points == Fraction(p * len(chosen), len(key))


@given(choice_question(QuestionType.MULTIPLE), st.permutations(range(8)))
def test_multiple_choice_ignores_the_order_of_the_response(
    q: QuestionData, order: list[int]
) -> None:
    key = list(q.answer)  # type: ignore[arg-type]
    shuffled = sorted(key, key=order.index)
    assert grade(q, shuffled).correct


@given(choice_question(QuestionType.ORDERING), st.data())
def test_ordering_is_all_or_nothing(q: QuestionData, data: st.DataObject) -> None:
    response = list(data.draw(st.permutations(range(len(q.options)))))
    result = grade(q, response, 5)
    assert result.points == (5 if tuple(response) == q.answer else 0)


@given(st.booleans(), st.one_of(st.booleans(), st.none(), st.integers(0, 1), st.text()))
def test_true_false_needs_the_right_boolean(key: bool, response: object) -> None:
    q = QuestionData(QuestionType.TRUE_FALSE, "判断", key)
    assert grade(q, response).correct == (response is key)


@given(st.lists(st.lists(texts, min_size=1, max_size=3), min_size=1, max_size=4), st.data())
def test_fill_blank_is_proportional_per_blank(blanks: list[list[str]], data: st.DataObject) -> None:
    key = tuple(tuple(b) for b in blanks)
    q = QuestionData(QuestionType.FILL_BLANK, "____", key)
    right = [data.draw(st.booleans()) for _ in key]
    response = [
        data.draw(st.sampled_from(alternatives)) if ok else "错误答案"
        for alternatives, ok in zip(key, right, strict=True)
    ]
    result = grade(q, response, 4)
    assert result.points == Fraction(4 * sum(right), len(key))


def test_fill_blank_normalises_width_case_and_spaces() -> None:
    q = QuestionData(QuestionType.FILL_BLANK, "____；____", (("72小时", "七十二小时"), ("ABC",)))
    assert grade(q, ["７２小时 ", " abc"]).correct
    assert grade(q, ["七十二小时", "a b c"]).points == Fraction(1, 2)


@settings(max_examples=300)
@given(
    st.sampled_from(list(QuestionType)),
    st.from_type(object)
    | st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner),
        max_leaves=10,
    ),
)
def test_malformed_responses_score_zero_and_never_raise(
    kind: QuestionType, response: object
) -> None:
    q = {
        QuestionType.SINGLE: QuestionData(kind, "x", 1, ("a", "b")),
        QuestionType.MULTIPLE: QuestionData(kind, "x", (0, 1), ("a", "b", "c")),
        QuestionType.TRUE_FALSE: QuestionData(kind, "x", True),
        QuestionType.FILL_BLANK: QuestionData(kind, "x", (("a",),)),
        QuestionType.ORDERING: QuestionData(kind, "x", (1, 0), ("a", "b")),
    }[kind]
    result = grade(q, response, 3)
    assert 0 <= result.points <= 3


def test_unanswered_scores_zero() -> None:
    q = QuestionData(QuestionType.TRUE_FALSE, "x", False)
    assert grade(q, None).points == 0 and not grade(q, None).correct
