"""Our JSON format: every type and field round-trips; bad input is reported, never raised."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from question_bank.domain import (
    Citation,
    Difficulty,
    QuestionData,
    QuestionType,
    normalize_text,
    validate,
)
from question_bank.formats.json_format import export, parse

text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=30
).filter(lambda t: t.strip())


@st.composite
def questions(draw: st.DrawFn) -> QuestionData:
    kind = draw(st.sampled_from(list(QuestionType)))
    options: tuple[str, ...] = ()
    if kind in (QuestionType.SINGLE, QuestionType.MULTIPLE, QuestionType.ORDERING):
        options = tuple(
            draw(st.lists(text, min_size=2, max_size=8, unique_by=lambda o: normalize_text(o)))
        )
    n = len(options)
    answer: object
    if kind is QuestionType.SINGLE:
        answer = draw(st.integers(0, n - 1))
    elif kind is QuestionType.MULTIPLE:
        answer = tuple(sorted(draw(st.sets(st.integers(0, n - 1), min_size=2))))
    elif kind is QuestionType.ORDERING:
        answer = tuple(draw(st.permutations(range(n))))
    elif kind is QuestionType.TRUE_FALSE:
        answer = draw(st.booleans())
    else:
        answer = tuple(
            tuple(draw(st.lists(text, min_size=1, max_size=3)))
            for _ in range(draw(st.integers(1, 3)))
        )
    citation = draw(
        st.none()
        | st.builds(
            Citation,
            law=text,
            article=st.integers(1, 300),
            version=st.none() | st.just("2016-11-07"),
            quote=st.none() | text,
        )
    )
    question = QuestionData(
        type=kind,
        stem=draw(text),
        options=options,
        answer=answer,  # type: ignore[arg-type]
        explanation=draw(st.text(max_size=40)),
        difficulty=draw(st.sampled_from(list(Difficulty))),
        category=draw(st.sampled_from(["", "法律法规/网络安全法", "基础知识"])),
        tags=tuple(draw(st.lists(text, max_size=3))),
        citation=citation,
    )
    return question


@settings(max_examples=300, deadline=None)
@given(st.lists(questions(), min_size=1, max_size=5))
def test_export_then_parse_gives_back_every_field(items: list[QuestionData]) -> None:
    items = [q for q in items if not validate(q)]
    report = parse(export(items))
    assert report.ok, report.problems
    assert [p.question for p in report.questions] == items
    assert [p.line for p in report.questions] == list(range(1, len(items) + 1))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_raise(content: bytes) -> None:
    report = parse(content)
    assert report.problems or report.questions or content.strip() in (b"[]", b"")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "type",
                    "stem",
                    "options",
                    "answer",
                    "citation",
                    "tags",
                    "law",
                    "article",
                    "difficulty",
                    "x",
                ]
            ),
            inner,
            max_size=6,
        )
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(json_values, max_size=4))
def test_random_json_documents_are_reported(items: list[object]) -> None:
    report = parse(json.dumps({"questions": items}).encode())
    # Every item is accounted for: imported, or named by at least one problem.
    named = {p.line for p in report.problems}
    assert len(report.questions) + len(named) == len(items)
    for problem in report.problems:
        assert 1 <= problem.line <= len(items)
        assert problem.render()


def test_problems_name_the_question_number() -> None:
    good = json.loads(export([QuestionData(QuestionType.TRUE_FALSE, "x", True)]))["questions"][0]
    document = {
        "questions": [
            good,
            {"type": "single", "stem": "y", "options": ["a"], "answer": 3},
            good | {"difficulty": "extreme"},
        ]
    }
    report = parse(json.dumps(document).encode())
    assert sorted({p.line for p in report.problems}) == [2, 3]


def test_deeply_nested_and_non_utf8_input() -> None:
    assert not parse(b"[" * 100_000).ok
    assert not parse('{"questions": 1}'.encode("utf-16")).ok
    assert not parse(b"{not json").ok
