"""GIFT import/export: the conformance files, round trips, fuzzing, encodings."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from question_bank.domain import (
    Citation,
    Difficulty,
    QuestionData,
    QuestionType,
    count_blanks,
    normalize_text,
    validate,
)
from question_bank.formats import ParseReport, formats
from question_bank.formats.gift import export, parse
from question_bank.markdown import render
from tests.conftest import SHARED, needs_shared

CONFORMANCE = SHARED / "formats" / "gift-conformance"

# file → (imported, skipped, problems), from reading each file. A file whose questions are all
# skipped (unsupported types) has one problem, at line 0, saying there is nothing to import.
EXPECTED: dict[str, tuple[int, int, int]] = {
    # three true/false questions with one or two per-answer feedbacks
    "TFTwoFeedback.gift": (3, 0, 0),
    # only a $CATEGORY line
    "category1.gift": (0, 0, 0),
    # only a $CATEGORY line whose name contains an unescaped ':'
    "categorySpecialCharacter.gift": (0, 0, 0),
    # titled description (no answer block) + a true/false
    "description1.gift": (1, 1, 0),
    # same, the title ends with an escaped colon
    "descriptionTitleEscapedColon.gift": (1, 1, 0),
    # same, with an [id:] comment on the description
    "descriptionWithID.gift": (1, 1, 0),
    # single choice whose options are the escaped control characters; the answer is "\"
    "escapeAll.gift": (1, 0, 0),
    # escaped colon in the stem; four '=' answers and one '~' → multiple (see the report)
    "escapeColon.gift": (1, 0, 0),
    # comment + single choice with escaped '=' in the options
    "escapeEquals.gift": (1, 0, 0),
    # essay {}
    "essay1.gift": (0, 1, 1),
    # [html] stem, HTML options with feedback → single
    "formatExamples.gift": (1, 0, 0),
    # Moodle's examples: 2 single, tf, short answer, numerical, matching, embedded single,
    # single with partial credit, embedded short answer with partial answers, numerical
    "giftFormatPhpExamples.gift": (7, 3, 0),
    # four [markdown] texts without answer block: descriptions
    "markdown.gift": (0, 4, 1),
    # two matching questions
    "matching1.gift": (0, 2, 1),
    # one single choice
    "mc1.gift": (1, 0, 0),
    # single choice embedded in the middle of the text (missing word)
    "mc2.gift": (1, 0, 0),
    # comments around a single choice
    "mc4.gift": (1, 0, 0),
    # four single choices, two embedded, multi-line blocks
    "mc5.gift": (4, 0, 0),
    # title + [html] stem, [moodle] options, long HTML general feedback
    "mcHTMLComment.gift": (1, 0, 0),
    # single with multi-line feedback and general feedback; single with HTML and \n escapes
    "multiLineFeedback1.gift": (2, 0, 0),
    # multiple response with 33.33333% and -100% weights
    "multipleAnswersFloat.gift": (1, 0, 0),
    # [html] essay with \n and \\ escapes
    "newlineAndLaTeX.gift": (0, 1, 1),
    # ten numerical questions (values, tolerances, ranges, multi-answer)
    "numerical1.gift": (0, 10, 1),
    # the Moodle documentation tour: 1 numerical, 3 short answers + 1 with partial credit,
    # 5 single (one embedded, two with partial credit), tf, 2 multiple, escapes
    "options1.gift": (13, 1, 0),
    # two short answers (one embedded in the middle)
    "shortAnswer1.gift": (2, 0, 0),
    # short answer + a one-answer short answer without '='
    "shortAnswer2.gift": (2, 0, 0),
    # '->' inside options of blocks that have '~' → single choice, not matching
    "shortAnswerNotMatching.gift": (2, 0, 0),
    # short answer block at the start of the text → ____ blank
    "shortFirstEmbedded.gift": (2, 0, 0),
    # short answer at the end, the stem already has a _____ blank; %100% weight
    "shortFirstEmbeddedUnderline.gift": (2, 0, 0),
    # same with [html]
    "shortFirstEmbeddedUnderlineHTML.gift": (2, 0, 0),
    # true/false whose stem has every symbol, escaped where needed
    "symbolsAll.gift": (1, 0, 0),
    # essay with an [id:] comment
    "tag_id.gift": (0, 1, 1),
    # essay with [id:] and two [tag:] comments
    "tag_id_and_two_tags.gift": (0, 1, 1),
    # essay with two [tag:] comments
    "tag_two_tags.gift": (0, 1, 1),
    # {FALSE}
    "tf1.gift": (1, 0, 0),
    # [html] {FALSE}
    "tf1_html.gift": (1, 0, 0),
    # [markdown] {FALSE}
    "tf1_markdown.gift": (1, 0, 0),
    # {F} and {T}
    "tf2.gift": (2, 0, 0),
    # essay with escaped backslashes
    "totara_moodle_backslash.gift": (0, 1, 1),
    # essay
    "totara_moodle_essay.gift": (0, 1, 1),
    # matching with format prefixes
    "totara_moodle_match.gift": (0, 1, 1),
    # single choice with feedback and [plain]
    "totara_moodle_multichoice.gift": (1, 0, 0),
    # multiple response 50/-100 weights
    "totara_moodle_multichoice_multi.gift": (1, 0, 0),
    # numerical (with a '~' wrong answer); the test-suite variant is commented out
    "totara_moodle_numerical.gift": (0, 1, 1),
    # [html] essay with escaped braces in <pre>
    "totara_moodle_pre_content.gift": (0, 1, 1),
    # short answer with 50% and 0% '*' answers
    "totara_moodle_shortanswer.gift": (1, 0, 0),
    # same with [html] general feedback
    "totara_moodle_shortanswer_general_feedback.gift": (1, 0, 0),
    # true/false with two feedbacks on a new line
    "totara_moodle_truefalse.gift": (1, 0, 0),
    # {T}
    "totara_moodle_truefalse_true_answer1.gift": (1, 0, 0),
    # {TRUE}
    "totara_moodle_truefalse_true_answer2.gift": (1, 0, 0),
    # multi-line [markdown] short answer with two multi-line answers
    "type_inferred_multiline_markdown.gift": (1, 0, 0),
}


def read(name: str) -> ParseReport:
    return parse((CONFORMANCE / name).read_bytes())


def questions(report: ParseReport) -> list[QuestionData]:
    return [p.question for p in report.questions]


# --- conformance ---------------------------------------------------------------------------


@needs_shared
def test_every_conformance_file_is_in_the_table() -> None:
    assert sorted(p.name for p in CONFORMANCE.glob("*.gift")) == sorted(EXPECTED)


@needs_shared
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_conformance_counts(name: str) -> None:
    report = read(name)
    counts = (len(report.questions), len(report.skipped), len(report.problems))
    assert counts == EXPECTED[name], (report.skipped, report.problems)
    for item in report.skipped + report.problems:
        assert item.line >= 1 or (item in report.problems and not report.questions)
    for parsed in report.questions:
        assert parsed.line >= 1
        assert validate(parsed.question) == []


@needs_shared
def test_true_false() -> None:
    [q] = questions(read("tf1.gift"))
    assert q == QuestionData(QuestionType.TRUE_FALSE, "Grant is buried in Grant's tomb.", False)
    assert [(q.stem, q.answer) for q in questions(read("tf2.gift"))] == [
        ("Grant is buried in Grant's tomb.", False),
        ("The sun rises in the east.", True),
    ]
    assert [q.answer for q in questions(read("TFTwoFeedback.gift"))] == [False, True, True]
    [q] = questions(read("tf1_html.gift"))
    assert q.stem == "<p>Grant is buried in Grant's tomb.</p>"


@needs_shared
def test_single_choice() -> None:
    [parsed] = read("mc1.gift").questions
    assert parsed.line == 1
    assert parsed.question == QuestionData(
        QuestionType.SINGLE,
        "Who's buried in Grant's tomb?",
        2,
        options=("Grant", "Jefferson", "no one"),
    )
    [q] = questions(read("mc2.gift"))
    assert (q.type, q.stem, q.answer) == (QuestionType.SINGLE, "Grant is ____ in Grant's tomb.", 1)
    # partial credit: the 100% answer is the answer, the 50% one is a wrong option
    q = questions(read("giftFormatPhpExamples.gift"))[5]
    assert (q.stem, q.options, q.answer) == (
        "Difficult multiple choice question.",
        ("wrong answer", "half credit answer", "full credit answer"),
        2,
    )


@needs_shared
def test_escapes() -> None:
    [q] = questions(read("escapeAll.gift"))
    assert q.options == ("~", "=", "#", "{", "}", ":", "\\")
    assert q.answer == 6
    [q] = questions(read("escapeEquals.gift"))
    assert (q.options, q.answer) == (("= 2 + 2", "= 2 + 3", "= 2 + 4"), 1)
    [q] = questions(read("symbolsAll.gift"))
    # unmarked text is Moodle's auto-format: HTML (so "<>" is escaped) with its line breaks kept
    assert q.stem == (
        "Here's a question that has symbols inside, <br>\n"
        "such as `-=[];',./~!@#$%^&amp;*()_+{}|:\"&lt;&gt;?"
    )
    assert render(q.stem) == f"<p>{q.stem}</p>\n"


@needs_shared
def test_multiple_choice_with_weights() -> None:
    [q] = questions(read("multipleAnswersFloat.gift"))
    assert q == QuestionData(
        QuestionType.MULTIPLE,
        "Select all of the options below which name a continent:",
        (0, 1, 3),
        options=("Africa", "Asia", "China", "Antarctica", "America"),
    )
    [q] = questions(read("totara_moodle_multichoice_multi.gift"))
    assert (q.options, q.answer) == (("yellow", "red", "off-beige", "blue"), (0, 2))


@needs_shared
def test_short_answer() -> None:
    first, second = questions(read("shortAnswer1.gift"))
    assert first == QuestionData(
        QuestionType.FILL_BLANK, "Who's buried in Grant's tomb?", (("no one", "nobody"),)
    )
    assert (second.stem, second.answer) == ("Two plus two equals ____.", (("four", "4"),))
    assert questions(read("shortAnswer2.gift"))[1].answer == (("One",),)
    # only the 100% answers are accepted
    [q] = questions(read("totara_moodle_shortanswer_general_feedback.gift"))
    assert (q.answer, q.explanation) == ((("Frog",),), "Here is some general feedback!")


@needs_shared
def test_embedded_short_answer() -> None:
    for q in questions(read("shortFirstEmbedded.gift")):
        assert q.type is QuestionType.FILL_BLANK
        assert q.stem == "____ is the largest continent in the world."
        assert q.answer == (("Asia",),)
        assert count_blanks(q.stem) == 1


@needs_shared
def test_explanation_and_feedback() -> None:
    q = questions(read("multiLineFeedback1.gift"))[0]
    assert q.options == ("wrong answer", "another wrong answer", "right answer")
    assert q.explanation == "Global feedback split<br>\non multiple lines"


@needs_shared
def test_category() -> None:
    question = b"\n\nQ?{T}\n"
    for name, category in [
        ("category1.gift", "Default for LING-373-2194-B"),
        ("categorySpecialCharacter.gift", "Default for Unit 1: Topic"),
    ]:
        [q] = questions(parse((CONFORMANCE / name).read_bytes() + question))
        assert q.category == category
    for line, category in [
        ("$CATEGORY: $system$/top/法律法规/网络安全法", "法律法规/网络安全法"),
        ("$CATEGORY: top/A", "A"),
        ("$CATEGORY: A/B", "A/B"),
        ("$CATEGORY: $course$/top", ""),
        ("$CATEGORY: $course$/B", "B"),
    ]:
        [q] = questions(parse(line.encode() + question))
        assert q.category == category, line


@needs_shared
def test_tags() -> None:
    # the conformance questions are essays (skipped), so give them an answer block
    for name in ("tag_two_tags.gift", "tag_id_and_two_tags.gift"):
        content = (CONFORMANCE / name).read_bytes().replace(b"{}", b"{T}")
        [q] = questions(parse(content))
        assert q.tags == ("fred", "barney-wilma")


@needs_shared
def test_skipped_are_reported_with_line_and_kind() -> None:
    report = read("giftFormatPhpExamples.gift")
    assert [(p.line, p.params["kind"]) for p in report.skipped] == [
        (13, "numerical"),
        (15, "matching"),
        (40, "numerical"),
    ]
    assert report.skipped[0].render() == (
        "Question skipped: GIFT numerical questions are not supported."
    )
    assert [p.params["kind"] for p in read("essay1.gift").skipped] == ["essay"]
    assert [p.params["kind"] for p in read("description1.gift").skipped] == ["description"]


@needs_shared
def test_problems_have_lines() -> None:
    content = "\n".join(
        [
            "// fine",
            "Q1 {=a ~b}",
            "",
            "Q2 {=a ~b",
            "",
            "Q3 } x",
            "",
            "Q4 {=a ~b} and {=c ~d}",
            "",
            "Q5 {~a ~b}",
            "",
            "Q6 {=%50%a =%50%b}",
            "",
            "Q7 {~%150%a ~b}",
            "",
            "Q8 {=a ~a}",
            "",
            "{=a ~b}",
            "",
        ]
    ).encode()
    report = parse(content)
    assert [p.line for p in report.questions] == [2]
    assert [p.line for p in report.problems] == [4, 6, 10, 12, 14, 16, 18]
    assert report.problems[-1].message == "The stem is empty."
    assert report.problems[4].params == {"weight": "150"}
    # two answer blocks: Moodle's embedded answers (Cloze), an unsupported type
    assert [(p.line, p.params) for p in report.skipped] == [
        (8, {"kind": "embedded-answers (Cloze)"})
    ]


def test_registered() -> None:
    fmt = formats()["gift"]
    assert fmt.extensions == (".gift",)
    assert fmt.media_type == "text/plain; charset=utf-8"
    assert fmt.types == {
        QuestionType.SINGLE,
        QuestionType.MULTIPLE,
        QuestionType.TRUE_FALSE,
        QuestionType.FILL_BLANK,
    }
    assert fmt.fields == {"options", "explanation", "category", "tags"}


# --- export --------------------------------------------------------------------------------


def test_export_layout() -> None:
    qs = [
        QuestionData(
            QuestionType.SINGLE,
            "《网络安全法》何时施行?",
            1,
            options=("2016年", "2017年6月1日"),
            explanation="见第79条",
            category="法律法规/网络安全法",
            tags=("网安法", "基础"),
        ),
        QuestionData(QuestionType.MULTIPLE, "Pick {two}", (0, 2), options=("a", "b", "c")),
        QuestionData(QuestionType.TRUE_FALSE, "a: b", True, category="法律法规/网络安全法"),
        QuestionData(QuestionType.FILL_BLANK, "2+2 = ____", (("4", "four"),)),
    ]
    assert export(qs).decode() == (
        "$CATEGORY: $course$/top/法律法规/网络安全法\n\n"
        "// [tag:网安法] [tag:基础]\n"
        "[markdown]《网络安全法》何时施行?{\n\t~2016年\n\t=2017年6月1日\n\t####见第79条\n}\n\n"
        "$CATEGORY: $course$/top\n\n"
        "[markdown]Pick \\{two\\}{\n\t~%50%a\n\t~%-100%b\n\t~%50%c\n}\n\n"
        "$CATEGORY: $course$/top/法律法规/网络安全法\n\n"
        "[markdown]a\\: b{TRUE}\n\n"
        "$CATEGORY: $course$/top\n\n"
        "[markdown]2+2 \\= ____{=4 =four}\n\n"
    )
    assert questions(parse(export(qs))) == qs


def test_export_leaves_out_what_gift_cannot_express() -> None:
    kept = QuestionData(QuestionType.TRUE_FALSE, "kept", True)
    left_out = [
        QuestionData(QuestionType.ORDERING, "order", (1, 0), options=("a", "b")),
        QuestionData(QuestionType.FILL_BLANK, "____ and ____", (("a",), ("b",))),
        QuestionData(QuestionType.FILL_BLANK, "arrow ____", (("a -> b",),)),
        QuestionData(QuestionType.SINGLE, "invalid", 5, options=("a", "b")),
    ]
    assert export([*left_out, kept]) == export([kept])
    assert questions(parse(export([*left_out, kept]))) == [kept]


def test_export_protects_text_that_looks_like_syntax() -> None:
    q = QuestionData(
        QuestionType.SINGLE,
        "// not a comment",
        0,
        options=("%50%x", "[html]y", "::z::"),
        explanation="[plain]e #1",
    )
    text = export([q]).decode()
    assert text.startswith("[markdown]// not a comment{")
    assert "\t=%100%%50%x\n\t~[markdown][html]y\n\t~\\:\\:z\\:\\:\n" in text
    assert questions(parse(text.encode())) == [q]


# --- round trip ----------------------------------------------------------------------------

TOKENS = [
    "~",
    "=",
    "#",
    "{",
    "}",
    ":",
    "\\",
    "\\n",
    "\n",
    " ",
    "  ",
    "\t",
    "//",
    "::",
    "[html]",
    "[markdown]",
    "%",
    "%50%",
    "%-100%",
    "->",
    "$CATEGORY:",
    "$course$/top",
    "####",
    "**粗体**",
    "`code`",
    "- ",
    "网络安全",
    "法",
    "个人信息保护",
    "《",
    "》",
    "：",
    "TRUE",
    "T",
    "F",
    "a",
    "B",
    "7",
    "[tag:x]",
    "\\{",
    "\ufeff",
    "____",
    "()",
    "*",
]
CHINESE = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
ANY_CHAR = st.characters(codec="utf-8", exclude_characters="\r")
TEXT = (
    st.lists(st.one_of(st.sampled_from(TOKENS), CHINESE, ANY_CHAR), min_size=1, max_size=8)
    .map("".join)
    .map(str.strip)
    .filter(bool)
)
SEGMENT = (
    st.text(st.one_of(CHINESE, st.sampled_from("abcXYZ09 :#$-_.\\~{}")), min_size=1, max_size=6)
    .map(str.strip)
    .filter(bool)
)
CATEGORY = st.one_of(st.just(""), st.lists(SEGMENT, min_size=1, max_size=3).map("/".join))
TAG = st.text(
    st.one_of(CHINESE, st.sampled_from("abc-_09]\\[:#{}~=/")), min_size=1, max_size=8
).filter(lambda t: not any(c.isspace() or c == "," for c in t))


@st.composite
def gift_questions(draw: st.DrawFn) -> QuestionData:
    kind = draw(
        st.sampled_from(
            [
                QuestionType.SINGLE,
                QuestionType.MULTIPLE,
                QuestionType.TRUE_FALSE,
                QuestionType.FILL_BLANK,
            ]
        )
    )
    options: tuple[str, ...] = ()
    if kind is QuestionType.SINGLE:
        options = tuple(draw(st.lists(TEXT, min_size=2, max_size=8, unique_by=normalize_text)))
        answer: object = draw(st.integers(0, len(options) - 1))
    elif kind is QuestionType.MULTIPLE:
        options = tuple(draw(st.lists(TEXT, min_size=2, max_size=8, unique_by=normalize_text)))
        indexes = st.sets(st.integers(0, len(options) - 1), min_size=2)
        answer = tuple(sorted(draw(indexes)))
    elif kind is QuestionType.TRUE_FALSE:
        answer = draw(st.booleans())
    else:
        alternative = TEXT.filter(lambda t: "->" not in t)
        answer = (tuple(draw(st.lists(alternative, min_size=1, max_size=3))),)
    question = QuestionData(
        type=kind,
        stem=draw(TEXT),
        options=options,
        answer=answer,  # type: ignore[arg-type]
        explanation=draw(st.one_of(st.just(""), TEXT)),
        difficulty=draw(st.sampled_from(Difficulty)),
        category=draw(CATEGORY),
        tags=tuple(draw(st.lists(TAG, max_size=3, unique=True))),
        citation=draw(st.one_of(st.none(), st.just(Citation("网络安全法", 21, "2016-11-07")))),
    )
    assume(not validate(question))
    return question


def carried(question: QuestionData) -> QuestionData:
    """What GIFT gives back: difficulty and citation at their defaults."""
    return replace(question, difficulty=Difficulty.MEDIUM, citation=None)


@settings(max_examples=200, deadline=None)
@given(gift_questions())
def test_round_trip(question: QuestionData) -> None:
    report = parse(export([question]))
    assert report.problems == [] and report.skipped == []
    assert report.questions[0].question == carried(question)


@settings(max_examples=50, deadline=None)
@given(st.lists(gift_questions(), min_size=1, max_size=4))
def test_round_trip_several(qs: list[QuestionData]) -> None:
    report = parse(export(qs))
    assert report.ok and not report.skipped
    assert questions(report) == [carried(q) for q in qs]


# --- fuzzing -------------------------------------------------------------------------------

SYNTAX = [
    *"{}=~#:$%\\/ \n\tabcTF[]->_019中",
    "::",
    "//",
    "####",
    "$CATEGORY:",
    "[tag:",
    "[html]",
    "\\n",
    "\r\n",
    "TRUE",
    "%50%",
    "%-100%",
    "\n\n",
]


def check_report(report: ParseReport, content: bytes) -> None:
    assert isinstance(report, ParseReport)
    lines = content.count(b"\n") + content.count(b"\r") + 1
    for parsed in report.questions:
        assert 1 <= parsed.line <= lines
        assert validate(parsed.question) == []
    for item in report.problems + report.skipped:
        assert 0 <= item.line <= lines
        item.render()
    # what was read is written back and read again unchanged (unless GIFT cannot write it)
    writable = [
        q
        for q in questions(report)
        if not (q.type is QuestionType.FILL_BLANK and "->" in str(q.answer))
    ]
    assert questions(parse(export(writable))) == writable


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=500))
def test_fuzz_bytes(content: bytes) -> None:
    check_report(parse(content), content)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(SYNTAX), max_size=60).map("".join))
def test_fuzz_syntax(text: str) -> None:
    content = text.encode()
    check_report(parse(content), content)


# --- encodings -----------------------------------------------------------------------------


def test_gbk_file() -> None:
    content = (
        "// [tag:网安]\n《网络安全法》自哪一年起施行？{=2017 =2017年}\n\n"
        "关键信息基础设施的运营者应当履行安全保护义务。{T####见第34条}\n"
    ).encode("gbk")
    first, second = questions(parse(content))
    assert first == QuestionData(
        QuestionType.FILL_BLANK,
        "《网络安全法》自哪一年起施行？",
        (("2017", "2017年"),),
        tags=("网安",),
    )
    assert (second.answer, second.explanation) == (True, "见第34条")


def test_utf8_bom_and_crlf() -> None:
    [parsed] = parse("\ufeff// c\r\n题干？{\r\n=甲\r\n~乙\r\n}\r\n".encode()).questions
    assert (parsed.line, parsed.question.options, parsed.question.answer) == (2, ("甲", "乙"), 0)


def test_undecodable_bytes() -> None:
    report = parse(b"Q?{T}\n\xff\xfe\xff")
    assert not report.ok and report.questions == []
    assert [p.line for p in report.problems] == [0]


def test_a_comment_of_unclosed_tags_is_read_in_linear_time() -> None:
    """``[tag:`` repeated without ``]`` once made the tag pattern quadratic (minutes here)."""
    report = parse(("// " + "[tag:" * 50_000 + "\n::q::stem{T}\n").encode())
    assert [q.question.tags for q in report.questions] == [()]
    tagged = parse(b"// [tag:a\\[1\\]] [tag:b]\n::q::stem{T}\n")
    assert [q.question.tags for q in tagged.questions] == [("a[1]", "b")]
