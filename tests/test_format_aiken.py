"""Aiken: round trip, a file with a broken question, Chinese conventions, fuzz, odd encodings."""

from __future__ import annotations

import time

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from question_bank.domain import QuestionData, QuestionType, normalize_text, validate
from question_bank.formats import ParseReport
from question_bank.formats.aiken import answer_value, export, option_marker, parse
from question_bank.markdown import from_plain

# One line of text: no line break (\r, \n), no surrogate, no BOM (a leading U+FEFF would read as
# the file's byte order mark); stripped and non-empty, as the parser strips lines.
_CHARS = st.characters(codec="utf-8", exclude_characters="\r\n\ufeff")
_PIECES = st.sampled_from(["网络安全法", "数据", "：", "A. ", "ANSWER: B", "答案：", "（ ）", " "])


def one_line() -> st.SearchStrategy[str]:
    chunk = st.one_of(st.text(_CHARS, max_size=8), _PIECES)
    return st.lists(chunk, min_size=1, max_size=5).map("".join).map(str.strip).filter(bool)


@st.composite
def single_choice(draw: st.DrawFn) -> QuestionData:
    """A question as an Aiken import stores it (plain text, see ``markdown.from_plain``)."""
    stem = draw(one_line())
    # Aiken cannot tell a stem that starts like "B. …" or "ANSWER: …" from structure.
    assume(option_marker(stem) is None and answer_value(stem) is None)
    options = draw(st.lists(one_line(), min_size=2, max_size=8, unique_by=normalize_text))
    question = QuestionData(
        type=QuestionType.SINGLE,
        stem=from_plain(stem, blanks=True),
        options=tuple(from_plain(option) for option in options),
        answer=draw(st.integers(0, len(options) - 1)),
    )
    assume(not validate(question))
    return question


@settings(max_examples=200, deadline=None)
@given(st.lists(single_choice(), min_size=1, max_size=5))
def test_round_trip(originals: list[QuestionData]) -> None:
    report = parse(export(originals))
    assert report.problems == []
    assert [p.question for p in report.questions] == originals


def test_round_trip_of_chinese_questions() -> None:
    originals = [
        QuestionData(
            type=QuestionType.SINGLE,
            stem="《中华人民共和国网络安全法》自何时起施行？",
            options=("2016年11月7日", "2017年6月1日", "2021年9月1日"),
            answer=1,
        ),
        QuestionData(
            type=QuestionType.SINGLE,
            stem="网络运营者应当按照网络安全等级保护制度的要求履行安全保护义务，这一规定出自？",
            options=("第二十一条", "第三十一条"),
            answer=0,
        ),
    ]
    content = export(originals)
    assert content.decode() == (
        "《中华人民共和国网络安全法》自何时起施行？\n"
        "A. 2016年11月7日\nB. 2017年6月1日\nC. 2021年9月1日\nANSWER: B\n"
        "\n"
        "网络运营者应当按照网络安全等级保护制度的要求履行安全保护义务，这一规定出自？\n"
        "A. 第二十一条\nB. 第三十一条\nANSWER: A\n"
    )
    assert [p.question for p in parse(content).questions] == originals


def test_export_leaves_out_other_types_and_flattens_lines() -> None:
    questions = [
        QuestionData(type=QuestionType.TRUE_FALSE, stem="对吗？", answer=True),
        QuestionData(
            type=QuestionType.SINGLE,
            stem="第一行\n第二行",
            options=("甲\r\n乙", "丙"),
            answer=1,
        ),
        QuestionData(
            type=QuestionType.MULTIPLE, stem="多选", options=("a", "b", "c"), answer=(0, 1)
        ),
    ]
    assert export(questions).decode() == "第一行 第二行\nA. 甲 乙\nB. 丙\nANSWER: B\n"
    assert export([]) == b""


SAMPLE = """\
Which law took effect on 1 June 2017?
A. Cybersecurity Law
B) Data Security Law
C. Personal Information Protection Law
ANSWER: A

Which of these is a symmetric cipher?
A. RSA
C. AES
D. ECDSA
ANSWER: E

What does HTTPS add to HTTP?
A) Compression
B) Transport Layer Security
ANSWER: B
"""


def test_sample_with_a_broken_question() -> None:
    report = parse(SAMPLE.encode())
    assert [(p.line, p.question.stem, p.question.answer) for p in report.questions] == [
        (1, "Which law took effect on 1 June 2017?", 0),
        (13, "What does HTTPS add to HTTP?", 1),
    ]
    assert report.questions[0].question.options == (
        "Cybersecurity Law",
        "Data Security Law",
        "Personal Information Protection Law",
    )
    assert [(p.line, p.message, p.params) for p in report.problems] == [
        (
            9,
            "Option %(letter)s is out of order; expected %(expected)s.",
            {"letter": "C", "expected": "B"},
        ),
        (
            10,
            "Option %(letter)s is out of order; expected %(expected)s.",
            {"letter": "D", "expected": "C"},
        ),
        (11, "The answer letter %(letter)s is not among the options.", {"letter": "E"}),
    ]
    assert report.skipped == []


def test_every_kind_of_problem_with_its_line() -> None:
    text = "\n".join(
        [
            "A. option before any question",  # 1
            "B. second",  # 2
            "ANSWER: A",  # 3
            "",  # 4
            "No answer line",  # 5
            "A. x",  # 6
            "B. y",  # 7
            "",  # 8
            "Only one option",  # 9
            "A. x",  # 10
            "ANSWER: A",  # 11
            "",  # 12
            "Two letters",  # 13
            "A. x",  # 14
            "B. y",  # 15
            "ANSWER: AB",  # 16
            "",  # 17
            "ANSWER: A",  # 18
            "Duplicate options",  # 19
            "A. same",  # 20
            "B. same",  # 21
            "ANSWER: A",  # 22
            "Good one",  # 23
            "A. x",  # 24
            "B. y",  # 25
            "ANSWER: b",  # 26
            "Trailing question without answer",  # 27
        ]
    )
    report = parse(text.encode())
    assert [(p.line, p.message) for p in report.problems] == [
        (1, "An option line without a question before it."),
        (1, "The stem is empty."),
        (5, "The question has no ANSWER line."),
        (9, "A choice question has 2 to %(max)d options."),
        (16, 'The ANSWER line must name one option letter, not "%(value)s".'),
        (18, "An ANSWER line without a question before it."),
        (19, "Two options have the same text."),
        (27, "The question has no ANSWER line."),
    ]
    assert [(p.line, p.question.answer) for p in report.questions] == [(23, 1)]


def test_chinese_markers_and_answer_alias() -> None:
    text = (
        "以下哪项正确？\nＡ．甲\nB、乙\nＣ）丙\nD.丁\n答案：Ｄ\n\n第二题\nA. 是\nB. 否\n答案: A\n"
    )
    report = parse(text.encode())
    assert report.problems == []
    first, second = (p.question for p in report.questions)
    assert first.options == ("甲", "乙", "丙", "丁") and first.answer == 3
    assert second.answer == 0


def test_multi_line_stem_and_blank_lines_before_answer() -> None:
    report = parse(b"Line one\nline two\n\nA. x\nB. y\n\nANSWER: B\n")
    assert report.problems == []
    assert report.questions[0].question.stem == "Line one\\\nline two"  # a hard line break


def test_text_that_only_looks_like_an_option_is_text() -> None:
    report = parse(b"A.5 GB is how much?\nA. 5 GB\nB. 5 GiB\nANSWER: A\n")
    assert report.problems == []
    assert report.questions[0].question.stem == "A.5 GB is how much?"


def test_options_without_a_space_after_the_mark() -> None:
    # as Moodle reads them: "A)text" and "A.text" are options after the stem
    report = parse(b"Which port?\nA)80\nB.443\nC) 8080\nANSWER: B\n")
    assert report.problems == []
    [parsed] = report.questions
    assert (parsed.question.options, parsed.question.answer) == (("80", "443", "8080"), 1)


def test_bom_gbk_and_crlf() -> None:
    text = "以下哪项是对称密码？\r\nA. AES\r\nB. RSA\r\n答案：A\r\n"
    for content in (b"\xef\xbb\xbf" + text.encode(), text.encode("gbk")):
        report = parse(content)
        assert report.problems == []
        assert [p.question.options for p in report.questions] == [("AES", "RSA")]


def test_empty_and_undecodable_files() -> None:
    for content in (b"", b"\xef\xbb\xbf", b"\n  \n"):
        report = parse(content)
        assert [(p.line, p.message) for p in report.problems] == [(0, "The file is empty.")]
    report = parse(b"Q\xff\xfe\xfa?\nA. x\n")
    assert [p.line for p in report.problems] == [0]


def test_huge_stem() -> None:
    stem = "网络安全" * 300_000  # 1.2 M characters, 3.6 MB of UTF-8
    question = QuestionData(type=QuestionType.SINGLE, stem=stem, options=("是", "否"), answer=0)
    started = time.monotonic()
    report = parse(export([question]))
    assert time.monotonic() - started < 5
    assert [p.question for p in report.questions] == [question]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_fuzz_bytes_never_raise(content: bytes) -> None:
    assert isinstance(parse(content), ParseReport)


LINES = st.one_of(
    st.sampled_from(
        [
            "",
            "Question?",
            "A. a",
            "B) b",
            "C、c",
            "Ｄ．d",
            "I. i",
            "ANSWER: A",
            "ANSWER: Z",
            "ANSWER:",
            "答案：B",
            "answer : c",
            "A.",
            "A)",
            "  ",
            "\t",
        ]
    ),
    st.text(max_size=10),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(LINES, max_size=30), st.sampled_from(["\n", "\r\n", "\r"]))
def test_fuzz_lines_never_raise(lines: list[str], newline: str) -> None:
    content = newline.join(lines).encode("utf-8", "surrogatepass")
    report = parse(content)
    assert isinstance(report, ParseReport)
    for parsed in report.questions:
        assert validate(parsed.question) == []
        assert parsed.question.type is QuestionType.SINGLE
