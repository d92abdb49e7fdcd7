"""Moodle XML: round trip, a realistic sample, hostile input (entity bombs, fuzz), odd encodings."""

from __future__ import annotations

import dataclasses
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from question_bank.domain import (
    Citation,
    Difficulty,
    QuestionData,
    QuestionType,
    normalize_text,
    validate,
)
from question_bank.formats import ParseReport
from question_bank.formats.moodle_xml import (
    category_from_path,
    export,
    normalize_ordering,
    parse,
)

# --- strategies ---------------------------------------------------------------------------------

# Characters XML 1.0 can carry, minus \r (XML reads \r\n and \r as \n) and "/" (the category
# separator, only used where it means that); plus the troublemakers, explicitly.
_CHARS = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Cn"), exclude_characters="/")
_PIECES = st.sampled_from(
    ["<", ">", "&", "]]>", "<![CDATA[", "&amp;", '"', "'", "\n", "\t", "/", "<p>", "网络安全法"]
)


def _text(pieces: st.SearchStrategy[str] = _PIECES) -> st.SearchStrategy[str]:
    """Non-empty text without surrounding whitespace (import strips it)."""
    chunk = st.one_of(st.text(_CHARS, max_size=6), pieces)
    return st.lists(chunk, min_size=1, max_size=5).map("".join).map(str.strip).filter(bool)


TEXT = _text()
SEGMENT = _text(st.sampled_from(["<", "&", "]]>", '"', "法律法规", "网络安全法"])).filter(
    lambda s: "/" not in s and "\n" not in s
)
CATEGORY = st.one_of(
    st.just(""),
    st.sampled_from(["法律法规/网络安全法", "法律法规/数据安全法", "技术/密码学"]),
    st.lists(SEGMENT, min_size=1, max_size=3).map("/".join),
)
OPTIONS = st.lists(TEXT, min_size=2, max_size=8, unique_by=lambda o: normalize_text(o))


@st.composite
def questions(draw: st.DrawFn) -> QuestionData:
    kind = draw(
        st.sampled_from(
            [
                QuestionType.SINGLE,
                QuestionType.MULTIPLE,
                QuestionType.TRUE_FALSE,
                QuestionType.FILL_BLANK,
                QuestionType.ORDERING,
            ]
        )
    )
    options: tuple[str, ...] = ()
    answer: object
    if kind is QuestionType.SINGLE:
        options = tuple(draw(OPTIONS))
        answer = draw(st.integers(0, len(options) - 1))
    elif kind is QuestionType.MULTIPLE:
        options = tuple(draw(OPTIONS))
        chosen = draw(st.sets(st.integers(0, len(options) - 1), min_size=2))
        answer = tuple(sorted(chosen))
    elif kind is QuestionType.TRUE_FALSE:
        answer = draw(st.booleans())
    elif kind is QuestionType.FILL_BLANK:
        answer = (tuple(draw(st.lists(TEXT, min_size=1, max_size=3))),)
    else:
        options = tuple(draw(OPTIONS))
        answer = tuple(draw(st.permutations(range(len(options)))))
    question = QuestionData(
        type=kind,
        stem=draw(TEXT),
        options=options,
        answer=answer,
        explanation=draw(st.one_of(st.just(""), TEXT)),
        category=draw(CATEGORY),
        tags=tuple(draw(st.lists(SEGMENT, max_size=3))),
        # not carried by Moodle XML: drawn to show they are dropped, not garbled
        difficulty=draw(st.sampled_from(Difficulty)),
        citation=draw(st.one_of(st.none(), st.just(Citation("网络安全法", 21, "2016-11-07")))),
    )
    # e.g. a fill-in-the-blank stem that happens to contain two "__" or "()" blanks
    if validate(question):
        return draw(st.nothing())
    return question


def carried(question: QuestionData) -> QuestionData:
    """What Moodle XML carries of a question: no difficulty, no citation; ordering normalised."""
    return dataclasses.replace(
        normalize_ordering(question), difficulty=Difficulty.MEDIUM, citation=None
    )


# --- round trip ---------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(questions(), min_size=1, max_size=5))
def test_round_trip(originals: list[QuestionData]) -> None:
    report = parse(export(originals))
    assert report.problems == []
    assert report.skipped == []
    assert [p.question for p in report.questions] == [carried(q) for q in originals]


def test_round_trip_of_nothing_is_an_empty_quiz() -> None:
    report = parse(export([]))
    assert report.ok and report.questions == []


def test_ordering_is_written_in_answer_order() -> None:
    question = QuestionData(
        type=QuestionType.ORDERING, stem="排序", options=("b", "c", "a"), answer=(2, 0, 1)
    )
    (parsed,) = parse(export([question])).questions
    assert parsed.question.options == ("a", "b", "c")
    assert parsed.question.answer == (0, 1, 2)


def test_multi_blank_fill_in_is_left_out_of_the_export() -> None:
    two = QuestionData(type=QuestionType.FILL_BLANK, stem="____ 和 ____", answer=(("a",), ("b",)))
    one = QuestionData(type=QuestionType.FILL_BLANK, stem="____", answer=(("a",),))
    assert [p.question for p in parse(export([two, one])).questions] == [one]


def test_export_uses_moodle_conventions() -> None:
    question = QuestionData(
        type=QuestionType.MULTIPLE, stem="s", options=("a", "b", "c", "d"), answer=(0, 1, 3)
    )
    xml = export([question]).decode()
    assert xml.count('fraction="33.33333"') == 3
    assert xml.count('fraction="-100"') == 1
    assert "<single>false</single>" in xml
    assert "<shuffleanswers>1</shuffleanswers>" in xml
    assert "<answernumbering>ABCD</answernumbering>" in xml


def test_export_drops_characters_xml_cannot_carry() -> None:
    question = QuestionData(type=QuestionType.TRUE_FALSE, stem="a\x00b\x1bc\ufffe", answer=True)
    (parsed,) = parse(export([question])).questions
    assert parsed.question.stem == "abc"


def test_category_paths() -> None:
    assert category_from_path("$course$/top/法律法规/网络安全法") == "法律法规/网络安全法"
    assert category_from_path("$system$/top/A") == "A"
    assert category_from_path("$module$/A/B") == "A/B"
    assert category_from_path("$course$/top") == ""
    assert category_from_path("top/A") == "A"
    assert category_from_path("A/B") == "A/B"


# --- a realistic file ---------------------------------------------------------------------------

SAMPLE = """\
<?xml version="1.0" encoding="UTF-8"?>
<quiz>
<!-- question: 0  -->
  <question type="category">
    <category>
      <text>$course$/top/法律法规/网络安全法</text>
    </category>
    <info format="moodle_auto_format">
      <text>网络安全法相关题目</text>
    </info>
  </question>

<!-- question: 101  -->
  <question type="multichoice">
    <name>
      <text>网络运营者义务</text>
    </name>
    <questiontext format="html">
      <text><![CDATA[<p>《网络安全法》自何时起施行？</p>]]></text>
    </questiontext>
    <generalfeedback format="html">
      <text><![CDATA[<p>第七十九条：本法自2017年6月1日起施行。</p>]]></text>
    </generalfeedback>
    <defaultgrade>1.0000000</defaultgrade>
    <penalty>0.3333333</penalty>
    <hidden>0</hidden>
    <idnumber></idnumber>
    <single>true</single>
    <shuffleanswers>true</shuffleanswers>
    <answernumbering>abc</answernumbering>
    <showstandardinstruction>0</showstandardinstruction>
    <answer fraction="0" format="html">
      <text>2016年11月7日</text>
      <feedback format="html"><text>这是通过日期。</text></feedback>
    </answer>
    <answer fraction="100" format="html">
      <text>2017年6月1日</text>
      <feedback format="html"><text></text></feedback>
    </answer>
    <answer fraction="0" format="html">
      <text>2021年9月1日</text>
    </answer>
    <tags>
      <tag><text>施行日期</text></tag>
      <tag><text>基础</text></tag>
    </tags>
  </question>

<!-- question: 102  -->
  <question type="multichoice">
    <name><text>关键信息基础设施</text></name>
    <questiontext format="moodle_auto_format">
      <text>以下哪些属于关键信息基础设施的重要行业和领域？</text>
    </questiontext>
    <generalfeedback format="html"><text></text></generalfeedback>
    <single>false</single>
    <answer fraction="50"><text>公共通信和信息服务</text></answer>
    <answer fraction="50"><text>能源</text></answer>
    <answer fraction="-100"><text>餐饮</text></answer>
  </question>

<!-- question: 103  -->
  <question type="truefalse">
    <name><text>实名制</text></name>
    <questiontext format="html">
      <text>网络运营者为用户办理网络接入服务，应当要求用户提供真实身份信息。</text>
    </questiontext>
    <answer fraction="100" format="moodle_auto_format">
      <text>true</text>
    </answer>
    <answer fraction="0" format="moodle_auto_format">
      <text>false</text>
    </answer>
  </question>

<!-- question: 104  -->
  <question type="essay">
    <name><text>论述</text></name>
    <questiontext format="html"><text>论述等级保护制度。</text></questiontext>
    <responseformat>editor</responseformat>
  </question>

<!-- question: 0  -->
  <question type="category">
    <category>
      <text>$course$/top/技术</text>
    </category>
  </question>

<!-- question: 105  -->
  <question type="shortanswer">
    <name><text>端口</text></name>
    <questiontext format="plain_text">
      <text>HTTPS 默认使用的端口是 ____。</text>
    </questiontext>
    <usecase>0</usecase>
    <answer fraction="100"><text>443</text></answer>
    <answer fraction="100"><text>TCP 443</text></answer>
    <answer fraction="50"><text>8443</text></answer>
  </question>

<!-- question: 106  -->
  <question type="numerical">
    <name><text>位数</text></name>
    <questiontext format="html"><text>AES-256 的密钥长度是多少位？</text></questiontext>
    <answer fraction="100"><text>256</text><tolerance>0</tolerance></answer>
  </question>

<!-- question: 107  -->
  <question type="ordering">
    <name><text>应急响应</text></name>
    <questiontext format="html"><text>将应急响应步骤按顺序排列。</text></questiontext>
    <layouttype>VERTICAL</layouttype>
    <selecttype>ALL</selecttype>
    <selectcount>0</selectcount>
    <gradingtype>ABSOLUTE_POSITION</gradingtype>
    <showgrading>SHOW</showgrading>
    <answer fraction="1" format="html"><text>准备</text></answer>
    <answer fraction="2" format="html"><text>检测</text></answer>
    <answer fraction="3" format="html"><text>遏制</text></answer>
    <answer fraction="4" format="html"><text>根除</text></answer>
  </question>
</quiz>
"""


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def test_sample_file() -> None:
    report = parse(SAMPLE.encode("utf-8"))
    assert report.problems == []
    by_line = {p.line: p.question for p in report.questions}
    assert sorted(by_line) == [p.line for p in report.questions]

    single = by_line[line_of(SAMPLE, '<question type="multichoice">')]
    assert single.type is QuestionType.SINGLE
    assert single.stem == "<p>《网络安全法》自何时起施行？</p>"
    assert single.options == ("2016年11月7日", "2017年6月1日", "2021年9月1日")
    assert single.answer == 1
    assert single.explanation == "<p>第七十九条：本法自2017年6月1日起施行。</p>"
    assert single.category == "法律法规/网络安全法"
    assert single.tags == ("施行日期", "基础")
    assert single.difficulty is Difficulty.MEDIUM and single.citation is None

    multiple = by_line[line_of(SAMPLE, "<!-- question: 102") + 1]
    assert multiple.type is QuestionType.MULTIPLE
    assert multiple.answer == (0, 1)

    true_false = by_line[line_of(SAMPLE, '<question type="truefalse">')]
    assert true_false.type is QuestionType.TRUE_FALSE and true_false.answer is True
    assert true_false.category == "法律法规/网络安全法"

    blank = by_line[line_of(SAMPLE, '<question type="shortanswer">')]
    assert blank.type is QuestionType.FILL_BLANK
    assert blank.answer == (("443", "TCP 443"),)
    assert blank.category == "技术"

    ordering = by_line[line_of(SAMPLE, '<question type="ordering">')]
    assert ordering.type is QuestionType.ORDERING
    assert ordering.options == ("准备", "检测", "遏制", "根除")
    assert ordering.answer == (0, 1, 2, 3)

    assert len(report.questions) == 5
    assert [(s.line, s.params) for s in report.skipped] == [
        (line_of(SAMPLE, '<question type="essay">'), {"kind": "essay"}),
        (line_of(SAMPLE, '<question type="numerical">'), {"kind": "numerical"}),
    ]
    assert all(
        s.message == "Question type %(kind)s is not supported; skipped." for s in report.skipped
    )


def test_sample_in_gbk_and_with_a_bom() -> None:
    gbk = SAMPLE.replace('encoding="UTF-8"', 'encoding="GBK"').encode("gbk")
    for content in (gbk, b"\xef\xbb\xbf" + SAMPLE.encode("utf-8")):
        report = parse(content)
        assert report.ok
        assert len(report.questions) == 5
        assert report.questions[0].question.category == "法律法规/网络安全法"


def test_problems_carry_lines_and_good_questions_still_parse() -> None:
    xml = """<quiz>
  <question type="multichoice">
    <questiontext><text>两个满分</text></questiontext>
    <answer fraction="100"><text>a</text></answer>
    <answer fraction="100"><text>b</text></answer>
  </question>
  <question type="multichoice">
    <single>false</single>
    <questiontext><text>多选只有一个正确</text></questiontext>
    <answer fraction="100"><text>a</text></answer>
    <answer fraction="-100"><text>b</text></answer>
  </question>
  <question type="truefalse">
    <questiontext><text>ok</text></questiontext>
    <answer fraction="100"><text>false</text></answer>
    <answer fraction="0"><text>true</text></answer>
  </question>
  <question type="shortanswer">
    <questiontext><text>分数</text></questiontext>
    <answer fraction="lots"><text>a</text></answer>
  </question>
  <question>
    <questiontext><text>no type</text></questiontext>
  </question>
  <question type="truefalse">
    <questiontext><text>都对</text></questiontext>
    <answer fraction="100"><text>true</text></answer>
    <answer fraction="100"><text>false</text></answer>
  </question>
</quiz>"""
    report = parse(xml.encode())
    assert [(p.line, p.message) for p in report.problems] == [
        (2, "A single-choice question needs exactly one answer with fraction 100."),
        (7, "A multiple-choice answer names at least two options."),
        (20, "The fraction %(value)s is not a number."),
        (22, "The question has no type attribute."),
        (25, "A true/false question needs exactly one of true and false with fraction 100."),
    ]
    assert report.problems[2].params == {"value": "lots"}
    assert [(p.line, p.question.answer) for p in report.questions] == [(13, False)]


def test_not_xml_reports_the_line() -> None:
    report = parse(b"<quiz>\n<question type='truefalse'>\n</quiz>\n")
    assert not report.ok and report.questions == []
    assert report.problems[0].message == "Not valid XML: %(error)s"
    assert report.problems[0].line == 3


def test_wrong_root() -> None:
    report = parse(b"<?xml version='1.0'?>\n<questions/>")
    assert [(p.line, p.params) for p in report.problems] == [(2, {"tag": "questions"})]


def test_empty_and_blank_files() -> None:
    for content in (b"", b"\xef\xbb\xbf", b"  \n\n "):
        report = parse(content)
        assert [(p.line, p.message) for p in report.problems] == [(0, "The file is empty.")]


def test_undecodable_file() -> None:
    report = parse(b"<quiz>\xff\xfe\xfa</quiz>")
    assert [p.line for p in report.problems] == [0]


# --- hostile input ------------------------------------------------------------------------------

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE quiz [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<quiz><question type="truefalse"><questiontext><text>&lol9;</text></questiontext>
<answer fraction="100"><text>true</text></answer><answer fraction="0"><text>false</text></answer>
</question></quiz>
"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE quiz [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<quiz><question type="truefalse"><questiontext><text>&secret;</text></questiontext>
</question></quiz>
"""

EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE quiz SYSTEM "http://127.0.0.1:9/quiz.dtd">
<quiz/>
"""


def test_entity_bombs_and_external_entities_are_refused() -> None:
    for document in (BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD):
        started = time.monotonic()
        report = parse(document.encode())
        assert time.monotonic() - started < 2
        assert report.questions == []
        assert [p.line for p in report.problems] == [0]


def test_huge_stem() -> None:
    stem = "网络安全<&>" * 150_000  # ~1.2 MB of UTF-8
    question = QuestionData(type=QuestionType.TRUE_FALSE, stem=stem, answer=True)
    content = export([question])
    assert len(content) > 1_000_000
    started = time.monotonic()
    report = parse(content)
    assert time.monotonic() - started < 5
    assert [p.question.stem for p in report.questions] == [stem]


def test_deep_nesting_does_not_crash() -> None:
    document = "<quiz>" + "<a>" * 50_000 + "</a>" * 50_000 + "</quiz>"
    assert parse(document.encode()).ok


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_fuzz_bytes_never_raise(content: bytes) -> None:
    assert isinstance(parse(content), ParseReport)


XML_TOKENS = st.sampled_from(
    [
        "<quiz>",
        "</quiz>",
        '<question type="multichoice">',
        '<question type="truefalse">',
        '<question type="shortanswer">',
        '<question type="ordering">',
        '<question type="category">',
        '<question type="essay">',
        "<question>",
        "</question>",
        "<questiontext>",
        "</questiontext>",
        "<category>",
        "</category>",
        "<text>",
        "</text>",
        "<single>false</single>",
        "<single>true</single>",
        '<answer fraction="100">',
        '<answer fraction="-50">',
        '<answer fraction="nan">',
        '<answer fraction="1e999">',
        '<answer fraction="">',
        "</answer>",
        "<tags><tag><text>t</text></tag></tags>",
        "<![CDATA[",
        "]]>",
        "&amp;",
        "&#0;",
        "&#x10FFFF;",
        "&unknown;",
        "<!DOCTYPE quiz>",
        '<!ENTITY a "b">',
        "<?xml version='1.0'?>",
        "<!-- c -->",
        "true",
        "false",
        "$course$/top/",
        "\n",
        "网络安全",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(XML_TOKENS, st.text(max_size=5)), max_size=40))
def test_fuzz_xmlish_text_never_raises(tokens: list[str]) -> None:
    document = "".join(tokens)
    for content in (document, "<quiz>" + document + "</quiz>"):
        report = parse(content.encode("utf-8", "surrogatepass"))
        assert isinstance(report, ParseReport)
        for parsed in report.questions:
            assert validate(parsed.question) == []


@settings(max_examples=200, deadline=None)
@given(st.lists(questions(), min_size=1, max_size=3), st.data())
def test_fuzz_damaged_exports_never_raise(
    originals: list[QuestionData], data: st.DataObject
) -> None:
    content = export(originals)
    start = data.draw(st.integers(0, len(content)))
    end = data.draw(st.integers(start, min(len(content), start + 200)))
    filler = data.draw(st.binary(max_size=20))
    assert isinstance(parse(content[:start] + filler + content[end:]), ParseReport)
