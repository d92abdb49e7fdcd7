"""The Chinese spreadsheet template, XLSX and CSV: exact parsing, problems by row, round trips,
hostile input and the downloadable template."""

from __future__ import annotations

import csv
import datetime
import io
import zipfile
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from question_bank.domain import (
    Citation,
    Difficulty,
    QuestionData,
    QuestionType,
    normalize_text,
    validate,
)
from question_bank.formats import ParseReport, formats
from question_bank.formats.notation import parse_citation
from question_bank.formats.spreadsheet import HEADER, export_csv, export_xlsx, parse_csv, parse_xlsx
from question_bank.formats.spreadsheet_template import template

Parser = Callable[[bytes], ParseReport]
Exporter = Callable[[Sequence[QuestionData]], bytes]
KINDS = ["xlsx", "csv"]


def xlsx_file(rows: Sequence[Sequence[Any]]) -> bytes:
    """A workbook as Excel would save it (openpyxl's normal mode: shared strings, dimension)."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_file(rows: Sequence[Sequence[Any]], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(
        ["" if cell is None else str(cell) for cell in row] for row in rows
    )
    return buffer.getvalue().encode(encoding)


def write(kind: str, rows: Sequence[Sequence[Any]]) -> bytes:
    return xlsx_file(rows) if kind == "xlsx" else csv_file(rows)


def parse(kind: str, content: bytes) -> ParseReport:
    return parse_xlsx(content) if kind == "xlsx" else parse_csv(content)


def export(kind: str, questions: Sequence[QuestionData]) -> bytes:
    return export_xlsx(questions) if kind == "xlsx" else export_csv(questions)


def problems_by_row(report: ParseReport) -> dict[int, list[str]]:
    rows: dict[int, list[str]] = {}
    for problem in report.problems:
        rows.setdefault(problem.line, []).append(problem.render())
    return rows


# --- (1) a hand-written file covering every type -------------------------------------------------

# Columns out of the template's order, an unknown column (序号) and an empty row (row 5).
SAMPLE_HEADER = [
    "序号",
    "题型",
    "题干",
    "答案",
    "选项A",
    "选项B",
    "选项C",
    "选项D",
    "难度",
    "分类",
    "标签",
    "法条",
    "解析",
]
SAMPLE_ROWS = [
    SAMPLE_HEADER,
    [
        "1",
        "单选题",
        "网络运营者应当按照（ ）制度的要求，履行安全保护义务。",
        "a",
        "网络安全等级保护",
        "数据出境安全评估",
        "网络产品强制认证",
        "保密审查",
        "易",
        " 法律法规／网络安全法 ",
        "网络安全法，等级保护",
        "网络安全法(2016-11-07) 第二十一条：国家实行网络安全等级保护制度。",
        "等级保护是网络安全的基本制度。",
    ],
    [
        "2",
        "多选",
        "以下哪些属于恶意代码？",
        "A、C、d",
        "木马",
        "防火墙",
        "蠕虫",
        "勒索软件",
        "中",
        "技术/恶意代码",
        "恶意代码, 病毒 、木马,,",
        "",
        "",
    ],
    [
        "3",
        "判断题",
        "使用弱口令是常见的安全隐患。",
        "√",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "网络安全法 第二十四条",
        "",
    ],
    ["", "", "", "", "", "", "", "", "", "", "", "", ""],
    [
        "4",
        "填空",
        "网络运营者应当留存相关的网络日志不少于____个月。",
        " 六 | 6 ",
        "",
        "",
        "",
        "",
        "难",
        "法律法规/网络安全法",
        "日志",
        "《网络安全法》（2016-11-07）第21条",
        "",
    ],
    [
        "5",
        "排序",
        "请按 TCP 三次握手的顺序排列报文：",
        "B, C, A",
        "ACK",
        "SYN",
        "SYN-ACK",
        "",
        "中",
        "技术/网络协议",
        "TCP",
        "",
        "先 SYN，再 SYN-ACK，最后 ACK。",
    ],
    [
        "6",
        "填空题",
        "发生网络安全事件，应当立即启动____，并按照规定向（ ）报告。",
        "网络安全事件应急预案|应急预案；有关主管部门｜主管部门",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ],
]
SAMPLE_QUESTIONS = [
    (
        2,
        QuestionData(
            type=QuestionType.SINGLE,
            stem="网络运营者应当按照（ ）制度的要求，履行安全保护义务。",
            options=("网络安全等级保护", "数据出境安全评估", "网络产品强制认证", "保密审查"),
            answer=0,
            explanation="等级保护是网络安全的基本制度。",
            difficulty=Difficulty.EASY,
            category="法律法规/网络安全法",
            tags=("网络安全法", "等级保护"),
            citation=Citation(
                law="网络安全法",
                article=21,
                version="2016-11-07",
                quote="国家实行网络安全等级保护制度。",
            ),
        ),
    ),
    (
        3,
        QuestionData(
            type=QuestionType.MULTIPLE,
            stem="以下哪些属于恶意代码？",
            options=("木马", "防火墙", "蠕虫", "勒索软件"),
            answer=(0, 2, 3),
            difficulty=Difficulty.MEDIUM,
            category="技术/恶意代码",
            tags=("恶意代码", "病毒", "木马"),
        ),
    ),
    (
        4,
        QuestionData(
            type=QuestionType.TRUE_FALSE,
            stem="使用弱口令是常见的安全隐患。",
            answer=True,
            citation=Citation(law="网络安全法", article=24),
        ),
    ),
    (
        6,
        QuestionData(
            type=QuestionType.FILL_BLANK,
            stem="网络运营者应当留存相关的网络日志不少于____个月。",
            answer=(("六", "6"),),
            difficulty=Difficulty.HARD,
            category="法律法规/网络安全法",
            tags=("日志",),
            citation=Citation(law="《网络安全法》", article=21, version="2016-11-07"),
        ),
    ),
    (
        7,
        QuestionData(
            type=QuestionType.ORDERING,
            stem="请按 TCP 三次握手的顺序排列报文：",
            options=("ACK", "SYN", "SYN-ACK"),
            answer=(1, 2, 0),
            explanation="先 SYN，再 SYN-ACK，最后 ACK。",
            category="技术/网络协议",
            tags=("TCP",),
        ),
    ),
    (
        8,
        QuestionData(
            type=QuestionType.FILL_BLANK,
            stem="发生网络安全事件，应当立即启动____，并按照规定向（ ）报告。",
            answer=(("网络安全事件应急预案", "应急预案"), ("有关主管部门", "主管部门")),
        ),
    ),
]


@pytest.mark.parametrize("kind", KINDS)
def test_sample_file_parses_to_exact_questions(kind: str) -> None:
    report = parse(kind, write(kind, SAMPLE_ROWS))
    assert report.problems == []
    assert [(q.line, q.question) for q in report.questions] == SAMPLE_QUESTIONS


def test_xlsx_cells_holding_numbers_dates_and_booleans_read_as_their_text() -> None:
    rows = [
        ["题型", "题干", "选项A", "选项B", "选项C", "答案", "法条"],
        [
            "单选",
            "《网络安全法》于哪一年通过？",
            2016,
            2017.0,
            datetime.datetime(2016, 11, 7),
            "A",
            "网络安全法(2016-11-07) 第1条",
        ],
        ["填空", "等级保护测评发现的高危问题应在____小时内报告。", None, None, None, 72, None],
        ["填空", "0.1 + 0.4 = ____", None, None, None, 0.5, None],
        ["判断", "HTTPS 能加密传输内容。", None, None, None, True, None],
        ["判断", "MD5 仍适合存储口令。", None, None, None, False, None],
    ]
    report = parse_xlsx(xlsx_file(rows))
    assert report.problems == []
    questions = [q.question for q in report.questions]
    assert questions[0].options == ("2016", "2017", "2016-11-07")
    assert questions[0].citation == Citation(law="网络安全法", article=1, version="2016-11-07")
    assert questions[1].answer == (("72",),)
    assert questions[2].answer == (("0.5",),)
    assert [questions[3].answer, questions[4].answer] == [True, False]


@pytest.mark.parametrize(
    ("kind", "answer", "expected"),
    [
        ("多选", "ABD", (0, 1, 3)),
        ("多选", "A,B,D", (0, 1, 3)),
        ("多选", "A，B，D", (0, 1, 3)),
        ("多选", "A、B、D", (0, 1, 3)),
        ("多选", "dba", (0, 1, 3)),
        ("多选", "ＡＢＤ", (0, 1, 3)),
        ("单选", "ｃ", 2),
        ("排序", "D C B A", (3, 2, 1, 0)),
        ("判断", "对", True),
        ("判断", "正确", True),
        ("判断", "√", True),
        ("判断", "T", True),
        ("判断", "t", True),
        ("判断", "TRUE", True),
        ("判断", "错", False),
        ("判断", "错误", False),
        ("判断", "×", False),
        ("判断", "f", False),
        ("判断", "False", False),
    ],
)
def test_answer_notations(kind: str, answer: str, expected: Any) -> None:
    options = ["甲", "乙", "丙", "丁"] if kind != "判断" else ["", "", "", ""]
    rows = [
        ["题型", "题干", "选项A", "选项B", "选项C", "选项D", "答案"],
        [kind, "题干", *options, answer],
    ]
    report = parse_csv(csv_file(rows))
    assert report.problems == []
    assert report.questions[0].question.answer == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("网络安全法(2016-11-07) 第二十一条", Citation("网络安全法", 21, "2016-11-07")),
        (
            "网络安全法（2016-11-07）第二十一条：网络运营者应当按照网络安全等级保护制度的要求…",
            Citation(
                "网络安全法", 21, "2016-11-07", "网络运营者应当按照网络安全等级保护制度的要求…"
            ),
        ),
        (
            "网络安全法(2016年11月7日)第一百零二条: 引文",
            Citation("网络安全法", 102, "2016-11-07", "引文"),
        ),
        ("数据安全法(２０２１.６.１０) 第10条", Citation("数据安全法", 10, "2021-06-10")),
        ("网络安全法第十条", Citation("网络安全法", 10)),
        (
            "网络安全法 第二十一条 国家实行网络安全等级保护制度。",
            Citation("网络安全法", 21, None, "国家实行网络安全等级保护制度。"),
        ),
        ("刑法(修正案九) 第二百八十五条", Citation("刑法(修正案九)", 285)),
        (
            "网络安全法 第一百一十条：第一行\n第二行",
            Citation("网络安全法", 110, None, "第一行\n第二行"),
        ),
    ],
)
def test_citation_forms(text: str, expected: Citation) -> None:
    assert parse_citation(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "网络安全法",
        "网络安全法 二十一",
        "第二十一条",
        "网络安全法(2016-13-01) 第二十一条",
        "网络安全法(2016) 第二十一条",
        "网络安全法 第二十一条之一",
        "网络安全法 第一百二条",
        "(2016-11-07) 第三条",
    ],
)
def test_malformed_citations_are_problems(text: str) -> None:
    problem = parse_citation(text)
    assert not isinstance(problem, Citation)
    assert problem.line == 0
    assert "2016-11-07" in problem.message or "二十一" in problem.message


# --- (2) problems, each at its row --------------------------------------------------------------

BAD_ROWS = [
    ["题型", "题干", "选项A", "选项B", "选项C", "选项D", "选项I", "答案", "难度", "法条"],
    ["单选", "好的单选题", "甲", "乙", "丙", "丁", "", "B", "", ""],  # 2
    ["单选", "答案越界", "甲", "乙", "丙", "丁", "", "E", "", ""],  # 3
    ["判断", "好的判断题", "", "", "", "", "", "错", "难", ""],  # 4
    ["问答", "未知题型", "", "", "", "", "", "随便", "", ""],  # 5
    ["多选", "选项有空缺", "甲", "乙", "", "丁", "", "ABD", "超难", ""],  # 6
    ["单选", "法条格式错误", "甲", "乙", "", "", "", "A", "", "网络安全法 二十一"],  # 7
    ["填空", "两个空____和____", "", "", "", "", "", "只有一个空", "", ""],  # 8
    ["判断", "判断题答案写成是", "", "", "", "", "", "是", "", ""],  # 9
    [],  # 10
    ["填空", "好的填空题____", "", "", "", "", "", "答案", "", ""],  # 11
    ["多选", "", "甲", "甲", "", "", "戊", "", "", ""],  # 12
    ["单选", "答案不是字母", "甲", "乙", "", "", "", "1", "", ""],  # 13
]


@pytest.mark.parametrize("kind", KINDS)
def test_every_bad_row_is_reported_at_its_row(kind: str) -> None:
    report = parse(kind, write(kind, BAD_ROWS))
    rows = problems_by_row(report)
    assert not report.ok
    assert sorted(rows) == [3, 5, 6, 7, 8, 9, 12, 13]
    assert rows[3] == ["The answer names option E, but 选项E is empty."]
    assert rows[5] == ['Unknown question type "问答"; use 单选, 多选, 判断, 填空 or 排序.']
    assert rows[6] == [
        "选项C is empty but a later option is filled; fill the options from 选项A on without gaps.",
        'Unknown difficulty "超难"; use 易, 中 or 难 (empty means 中).',
    ]
    assert len(rows[7]) == 1 and "网络安全法 二十一" in rows[7][0]
    assert rows[8] == ["The stem has 2 blanks but the answer has 1."]
    assert rows[9] == ['The answer "是" must be 对 or 错 (also 正确/错误, √/×, T/F).']
    assert set(rows[12]) == {
        "This row fills 选项I; at most 8 options (选项A to 选项H) are allowed.",
        "The answer (答案) is empty.",
        "The stem is empty.",
        "Two options have the same text.",
    }
    assert rows[13] == ['The answer "1" must be one option letter, A to H.']
    # The good rows are still parsed; the caller decides what to do with them.
    assert [q.line for q in report.questions] == [2, 4, 11]
    assert [q.question.stem for q in report.questions] == [
        "好的单选题",
        "好的判断题",
        "好的填空题____",
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_header_problems(kind: str) -> None:
    missing = parse(kind, write(kind, [["题型", "题目", "选项A"], ["单选", "x", "y"]]))
    assert [(p.line, p.params["columns"]) for p in missing.problems] == [(1, "题干、答案")]
    assert missing.questions == []
    twice = parse(kind, write(kind, [["题型", "题干", "答案", "题干"]]))
    assert [(p.line, p.params) for p in twice.problems] == [(1, {"column": "题干"})]
    empty = parse(kind, write(kind, [[], ["", ""]]))
    assert [p.line for p in empty.problems] == [0]


@pytest.mark.parametrize("kind", KINDS)
def test_header_is_the_first_non_empty_row_and_tolerates_decoration(kind: str) -> None:
    rows = [
        [],
        ["* 题型", "题干*", "选项 a", "选项Ｂ", "答案", "备注"],
        ["单选", "题", "是", "否", "b", "x"],
    ]
    report = parse(kind, write(kind, rows))
    assert report.problems == []
    assert [(q.line, q.question.options, q.question.answer) for q in report.questions] == [
        (3, ("是", "否"), 1)
    ]


def test_old_xls_and_non_workbooks_are_refused_at_row_0() -> None:
    for content in (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100,
        b"",
        b"PK\x03\x04junk",
        csv_file(SAMPLE_ROWS),
    ):
        report = parse_xlsx(content)
        assert [p.line for p in report.problems] == [0]
        assert report.questions == []


def test_a_zip_that_is_not_a_workbook_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    report = parse_xlsx(buffer.getvalue())
    assert [p.line for p in report.problems] == [0]


def test_tab_separated_csv() -> None:
    content = "题型\t题干\t答案\n判断\t扫描他人网络需要授权。\t对\n".encode()
    report = parse_csv(content)
    assert report.problems == []
    assert report.questions[0].question.answer is True


# --- (3) round trips --------------------------------------------------------------------------

CHINESE = "网络安全法数据个人信息保护密码漏洞攻击防火墙木马"
PUNCTUATION = "，。；：、“”‘’\"',;:!?=+-@#*/\\|()（）《》 　\t\n"


def texts(min_size: int = 1, exclude: str = "", max_size: int = 20) -> st.SearchStrategy[str]:
    """Stripped text with Chinese, punctuation, quotes, newlines, Excel's ``_x000D_`` escapes and
    any character but a carriage return (the parsers read line breaks as ``\n``)."""
    chars = st.one_of(
        st.sampled_from([c for c in CHINESE if c not in exclude]),
        st.sampled_from([c for c in PUNCTUATION if c not in exclude]),
        st.characters(
            codec="utf-8", exclude_categories=("Cs", "Cn"), exclude_characters=exclude + "\r"
        ),
    )
    if "_" not in exclude:
        chars |= st.sampled_from(["_x000D_", "_x005F_", "_x0041_", "_xD800_"])
    return (
        st.lists(chars, min_size=min_size, max_size=max_size)
        .map("".join)
        .map(str.strip)
        .filter(lambda t: len(t) >= min_size)
    )


def option_lists(min_size: int = 2) -> st.SearchStrategy[list[str]]:
    return st.lists(texts(), min_size=min_size, max_size=8, unique_by=normalize_text)


@st.composite
def questions(draw: st.DrawFn) -> QuestionData:
    kind = draw(st.sampled_from(QuestionType))
    options: tuple[str, ...] = ()
    answer: Any
    stem = draw(texts())
    if kind is QuestionType.TRUE_FALSE:
        answer = draw(st.booleans())
    elif kind is QuestionType.FILL_BLANK:
        alternative = texts(exclude="|;；｜")
        answer = tuple(
            tuple(blank)
            for blank in draw(
                st.lists(st.lists(alternative, min_size=1, max_size=3), min_size=1, max_size=4)
            )
        )
        if draw(st.booleans()):  # blanks marked in the stem, one mark per blank
            parts = draw(
                st.lists(
                    texts(0, exclude="_()（）"), min_size=len(answer) + 1, max_size=len(answer) + 1
                )
            )
            stem = ("____" if draw(st.booleans()) else "（ ）").join(parts).strip()
    else:
        options = tuple(draw(option_lists()))
        indexes = range(len(options))
        if kind is QuestionType.SINGLE:
            answer = draw(st.sampled_from(indexes))
        elif kind is QuestionType.MULTIPLE:
            answer = tuple(
                sorted(
                    draw(
                        st.lists(
                            st.sampled_from(indexes), min_size=2, max_size=len(options), unique=True
                        )
                    )
                )
            )
        else:
            answer = tuple(draw(st.permutations(indexes)))
    citation = draw(
        st.none()
        | st.builds(
            Citation,
            law=texts(exclude="()（）:：第条\n"),
            article=st.integers(min_value=1, max_value=99_999_999),
            version=st.none() | st.dates().map(lambda d: d.isoformat()),
            quote=st.none() | texts(exclude="\n"),
        )
    )
    question = QuestionData(
        type=kind,
        stem=stem,
        options=options,
        answer=answer,
        explanation=draw(texts(0)),
        difficulty=draw(st.sampled_from(Difficulty)),
        category=draw(texts(0, exclude="／")),
        tags=tuple(draw(st.lists(texts(exclude=",，、"), max_size=4, unique=True))),
        citation=citation,
    )
    if validate(question):  # e.g. a random "()" in a fill-in stem adds a blank
        return draw(st.nothing())
    return question


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(questions(), min_size=1, max_size=5))
def test_parse_of_export_gives_the_questions_back(kind: str, qs: list[QuestionData]) -> None:
    report = parse(kind, export(kind, qs))
    assert report.problems == []
    assert [q.question for q in report.questions] == qs
    assert [q.line for q in report.questions] == list(range(2, len(qs) + 2))


def test_csv_export_is_utf8_with_bom_and_crlf_and_defuses_formulas() -> None:
    question = QuestionData(
        type=QuestionType.SINGLE,
        stem='=HYPERLINK("http://x","点我")',
        options=("-1", "+1", "@SUM(A1)", "'=已转义"),
        answer=0,
    )
    content = export_csv([question])
    assert content.startswith(b"\xef\xbb\xbf")
    text = content.decode("utf-8-sig")
    assert text.endswith("\r\n") and text.count("\r\n") == 2
    row = next(iter(csv.reader(io.StringIO(text.split("\r\n", 1)[1]))))
    assert row[1:6] == ['\'=HYPERLINK("http://x","点我")', "'-1", "'+1", "'@SUM(A1)", "''=已转义"]
    assert parse_csv(content).questions[0].question == question


def test_xlsx_export_writes_formula_like_text_as_text() -> None:
    question = QuestionData(type=QuestionType.TRUE_FALSE, stem="=1+1 的结果是 2", answer=True)
    content = export_xlsx([question])
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    assert sheet["B2"].data_type == "s" and sheet["B2"].value == "=1+1 的结果是 2"
    assert parse_xlsx(content).questions[0].question == question


def test_registered_formats() -> None:
    registry = formats()
    assert registry["xlsx"].extensions == (".xlsx",)
    assert registry["xlsx"].media_type == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert registry["csv"].extensions == (".csv",)
    assert registry["csv"].media_type == "text/csv; charset=utf-8"
    assert registry["csv"].types == frozenset(QuestionType)


# --- (4) hostile input never raises -----------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=4096))
def test_random_bytes_never_raise(content: bytes) -> None:
    for parser in (parse_xlsx, parse_csv):
        assert isinstance(parser(content), ParseReport)


@settings(max_examples=200, deadline=None)
@given(st.text(st.sampled_from('题型题干答案选项A单选判断对,"\n\r\t|;'), max_size=300))
def test_random_csv_text_never_raises(text: str) -> None:
    assert isinstance(parse_csv(("题型,题干,答案\n" + text).encode()), ParseReport)


@pytest.fixture(scope="module")
def real_workbook() -> bytes:
    return export_xlsx([q for _, q in SAMPLE_QUESTIONS] * 20)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_truncated_or_damaged_workbooks_never_raise(
    real_workbook: bytes, data: st.DataObject
) -> None:
    cut = data.draw(st.integers(min_value=0, max_value=len(real_workbook) - 1))
    report = parse_xlsx(real_workbook[:cut])
    assert [p.line for p in report.problems] == [0]
    position = data.draw(st.integers(min_value=0, max_value=len(real_workbook) - 1))
    noise = data.draw(st.binary(min_size=1, max_size=64))
    damaged = real_workbook[:position] + noise + real_workbook[position + len(noise) :]
    assert isinstance(parse_xlsx(damaged), ParseReport)


def test_gbk_and_bom_csv_read_the_same_as_utf8() -> None:
    expected = [(q.line, q.question) for q in parse_csv(csv_file(SAMPLE_ROWS)).questions]
    assert expected == SAMPLE_QUESTIONS
    for encoding in ("gbk", "utf-8-sig"):
        report = parse_csv(csv_file(SAMPLE_ROWS, encoding))
        assert report.problems == []
        assert [(q.line, q.question) for q in report.questions] == expected


def test_text_in_no_known_encoding_is_one_problem() -> None:
    report = parse_csv("题型,题干,答案\n".encode("utf-16"))
    assert [p.line for p in report.problems] == [0]


def with_huge_cell(content: bytes, placeholder: str, text: str) -> bytes:
    """``content`` with ``placeholder`` replaced in every part: openpyxl itself writes at most
    Excel's 32,767 characters to a cell, other producers write more."""
    source, target = zipfile.ZipFile(io.BytesIO(content)), io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            data = source.read(info).replace(placeholder.encode(), text.encode())
            archive.writestr(info, data)
    return target.getvalue()


@pytest.mark.parametrize("kind", KINDS)
def test_a_one_megabyte_cell_is_read(kind: str) -> None:
    stem = "网" * (1024 * 1024)
    if kind == "xlsx":
        content = with_huge_cell(
            xlsx_file([["题型", "题干", "答案"], ["判断", "HUGE", "对"]]), "HUGE", stem
        )
    else:
        content = csv_file([["题型", "题干", "答案"], ["判断", stem, "对"]])
    report = parse(kind, content)
    assert report.problems == []
    assert report.questions[0].question.stem == stem


# --- (5) the downloadable template ------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_template_parses_into_one_valid_question_per_type(kind: str) -> None:
    report = parse(kind, template(kind))
    assert report.problems == []
    assert [q.line for q in report.questions] == [2, 3, 4, 5, 6]
    assert [q.question.type for q in report.questions] == list(QuestionType)
    assert all(validate(q.question) == [] for q in report.questions)


def test_template_header_and_unknown_kind() -> None:
    first_line = template("csv").decode("utf-8-sig").split("\r\n", 1)[0]
    assert first_line.split(",") == list(HEADER)
    with pytest.raises(ValueError, match="xlsx"):
        template("xls")
