"""Question files read as Moodle reads them: GIFT's empty answers, multiple response and Cloze,
Aiken's tight option marks, and each text format shown as Moodle would show it (plain text
verbatim, HTML and auto-format sanitized, Markdown only where the file says so); exports that
read back into the same stored questions."""

from __future__ import annotations

import html
import io
import re

from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from contest.extensions import db
from contest.services import bank as bank_service
from question_bank.domain import QuestionData, QuestionType, count_blanks
from question_bank.formats import ParseReport, aiken, formats, gift, moodle_xml
from question_bank.markdown import (
    from_html,
    from_moodle_auto,
    from_plain,
    render,
    render_inline,
    to_plain,
)
from question_bank.models import Question
from tests.conftest import csrf_token
from workers import queues
from workers.runner import make_worker

TRICKY = [
    '<html class="cool">',
    "a & b",
    "C:\\Windows\\",
    "2*3*4",
    "# not a heading",
    "first line\nsecond line\n\nafter an empty line",
    "- not a list\n1. not a list either\n> not a quote",
    "__init__ and `x` and [a](b) and ~~c~~ and a | b",
]


def shown(rendered: str) -> str:
    """The text a page shows for rendered HTML (line breaks as ``\\n``)."""
    text = re.sub(r"<br>\n?", "\n", rendered.strip())
    text = re.sub(r"</?p>", "", text)
    assert "<" not in text, rendered  # no markup survives from a plain text
    return html.unescape(text).replace("\xa0", " ")


def questions(report: ParseReport) -> list[QuestionData]:
    assert report.problems == []
    return [p.question for p in report.questions]


# --- plain text is shown as written --------------------------------------------------------


def test_an_aiken_stem_about_html_shows_verbatim() -> None:
    content = b'What does <html class="cool"> set?\nA. a & b\nB. 2*3*4\nANSWER: A\n'
    [question] = questions(aiken.parse(content))
    assert shown(render(question.stem)) == 'What does <html class="cool"> set?'
    assert [shown(render_inline(o)) for o in question.options] == ["a & b", "2*3*4"]


def test_plain_texts_of_every_format_show_verbatim() -> None:
    for text in TRICKY:
        one_line = text.replace("\n", " ")
        gift_file = "[plain]" + gift._escape(text) + "{=" + gift._escape(one_line) + " ~other}"
        xml_file = (
            '<quiz><question type="multichoice"><questiontext format="plain_text"><text>'
            + html.escape(text)
            + '</text></questiontext><answer fraction="100"><text>'
            + html.escape(one_line)
            + '</text></answer><answer fraction="0"><text>other</text></answer>'
            + "</question></quiz>"
        )
        for fmt, content in (("gift", gift_file), ("moodle-xml", xml_file)):
            parse = gift.parse if fmt == "gift" else moodle_xml.parse
            [question] = questions(parse(content.encode()))
            assert shown(render(question.stem)) == text, fmt
            assert shown(render_inline(question.options[0])) == one_line, fmt


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.characters(codec="utf-8", exclude_characters="\r\x00"),
            st.sampled_from([*"\\`*_[]<>&|~#+-=!()\n ", "1.", "&amp;", "____", "  ", "\t"]),
        ),
        max_size=40,
    ).map("".join),
    st.booleans(),
)
def test_any_plain_text_shows_as_written_and_reads_back(text: str, blanks: bool) -> None:
    text = "\n".join(line.strip() for line in text.strip().split("\n"))
    source = from_plain(text, blanks=blanks)
    expected = " ".join(text.split())  # the browser collapses runs of white space
    assert " ".join(shown(render(source)).split()) == expected
    assert to_plain(source) == text


def test_a_blank_stays_a_blank_in_a_plain_stem() -> None:
    xml = (
        '<quiz><question type="shortanswer"><questiontext format="plain_text">'
        "<text>HTTPS uses port ____ (not 8*10).</text></questiontext>"
        '<answer fraction="100"><text>443</text></answer></question></quiz>'
    )
    [question] = questions(moodle_xml.parse(xml.encode()))
    assert count_blanks(question.stem) == 1
    assert shown(render(question.stem)) == "HTTPS uses port ____ (not 8*10)."
    # where runs of underscores would read as emphasis they are escaped instead
    assert shown(render(from_plain("__init__ is __main__", blanks=True))) == (
        "__init__ is __main__"
    )


# --- HTML and auto-format: sanitized HTML ------------------------------------------------


def test_html_is_sanitized_and_markdown_in_it_is_not_read() -> None:
    source = from_html('<p onclick="x()">2*3*4 <b>bold</b></p><script>alert(1)</script>')
    assert render(source).strip() == "<p>2*3*4 <b>bold</b></p>"
    assert render(from_html("# not a heading")).strip() == "<p># not a heading</p>"
    assert render(from_html("<pre>a\n\nb</pre>\n- c")).strip() == "<pre>a\n\nb</pre>\n- c"
    assert render_inline(from_html("2*3*4 <i>x</i>", inline=True)) == "2*3*4 <i>x</i>"
    # HTML keeps its line breaks as HTML does (white space); a blank stays a blank
    assert from_html("line\none") == "line\none"
    assert count_blanks(from_html("<p>port ____</p><p>*x*</p>")) == 1


def test_auto_format_keeps_line_breaks_as_moodle_does() -> None:
    assert render(from_moodle_auto("one\ntwo")).strip() == "<p>one<br>\ntwo</p>"
    # a line break next to a tag is a space, white space between tags is dropped
    assert render(from_moodle_auto("<b>a</b>\n<i>b</i>")).strip() == "<p><b>a</b><i>b</i></p>"
    assert render(from_moodle_auto("a <img src=x onerror=alert(1)>")).strip() == (
        '<p>a <img src="x"></p>'
    )


def test_markdown_only_where_the_file_says_markdown() -> None:
    file = b"**not bold**{T}\n\n[markdown]**bold**{T}\n\n[html]**not bold**{T}\n"
    auto, declared, html_text = questions(gift.parse(file))
    assert "<strong>" not in render(auto.stem) and "<strong>" not in render(html_text.stem)
    assert render(declared.stem).strip() == "<p><strong>bold</strong></p>"
    xml = (
        '<quiz><question type="truefalse"><questiontext format="markdown"><text>**b**</text>'
        '</questiontext><answer fraction="100"><text>true</text></answer>'
        '<answer fraction="0"><text>false</text></answer></question></quiz>'
    )
    [question] = questions(moodle_xml.parse(xml.encode()))
    assert question.stem == "**b**"


def test_gift_answers_and_feedback_take_the_stems_format() -> None:
    [question] = questions(gift.parse(b"[plain]Q <1>{=<a> ~[html]<b>b</b> ####<c>}"))
    assert question.options == ("\\<a\\>", "<b>b</b>")
    assert question.explanation == "\\<c\\>"


def test_json_and_spreadsheet_texts_stay_markdown() -> None:
    question = QuestionData(
        QuestionType.SINGLE, "a *b* <i>c</i>\n# d", 0, options=("**x**", "y & z")
    )
    for fmt in (formats()["json"], formats()["csv"], formats()["xlsx"]):
        [parsed] = questions(fmt.read(fmt.export([question])))
        assert parsed == question, fmt.name


# --- GIFT as Moodle reads it -----------------------------------------------------------


def test_an_empty_wrong_answer_before_the_right_one_is_left_out_with_a_note() -> None:
    report = gift.parse(b"Q1 {~a ~=c}\n")
    [question] = questions(report)
    assert (question.type, question.options, question.answer) == (
        QuestionType.SINGLE,
        ("a", "c"),
        1,
    )
    assert [(p.line, p.message) for p in report.skipped] == [
        (1, "An empty answer (a ~ or = with no text) was left out, as Moodle does.")
    ]


def test_weighted_answers_without_equals_are_multiple_response() -> None:
    report = gift.parse(b"Q {~%100%a ~%50%b ~%-50%c}\n\nR {~%100%a ~%-50%b ~%-50%c}\n")
    multiple, single = questions(report)
    assert (multiple.type, multiple.answer) == (QuestionType.MULTIPLE, (0, 1))
    # our multiple choice needs two right options: one is single choice, with a note
    assert (single.type, single.answer) == (QuestionType.SINGLE, 0)
    assert [p.line for p in report.skipped] == [3]
    # with an "=" it is single choice, partial credit being a wrong option
    [question] = questions(gift.parse(b"Q {=a ~%50%b ~c}"))
    assert (question.type, question.answer) == (QuestionType.SINGLE, 0)


def test_cloze_questions_are_skipped_and_the_rest_imports() -> None:
    content = (
        b"Q1 {=a ~b}\n\n"
        b"Cloze {1:MC:=a~b} and {1:SA:=c}\n\n"
        b"One block {1:MULTICHOICE:=x~y}\n\n"
        b"Q4 {T}\n"
    )
    report = gift.parse(content)
    assert [p.line for p in report.questions] == [1, 7]
    assert [(p.line, p.params) for p in report.skipped] == [
        (3, {"kind": "embedded-answers (Cloze)"}),
        (5, {"kind": "embedded-answers (Cloze)"}),
    ]
    assert report.ok


def test_a_file_of_unsupported_questions_says_so() -> None:
    report = gift.parse(b"Essay {}\n\nCloze {1:MC:=a~b} {1:SA:=c}\n\nDescription only\n")
    assert report.questions == [] and len(report.skipped) == 3
    [problem] = report.problems
    assert (problem.line, problem.params) == (0, {"count": 3})
    assert "nothing to import" in problem.render()
    assert gift.parse(b"// nothing but a comment\n").problems == []


# --- Aiken as Moodle reads it ----------------------------------------------------------


def test_aiken_options_need_no_space_after_the_mark() -> None:
    [question] = questions(aiken.parse(b"Q?\nA)one\nB.two\nC) three\nANSWER: C\n"))
    assert (question.options, question.answer) == (("one", "two", "three"), 2)


# --- round trips: import, export, import gives the same stored questions --------------------


def gift_file() -> bytes:
    chunks = []
    for n, text in enumerate(TRICKY):
        one_line = text.replace("\n", " ")
        escaped, as_html = gift._escape(text), gift._escape(html.escape(text))
        chunks += [
            f"[plain]{escaped}{{={gift._escape(one_line)} ~other}}",
            f"{as_html} {n}{{~{gift._escape(html.escape(one_line))} =other####{as_html}}}",
            f"[html]<p>{as_html}</p> {n}{{TRUE}}",
            f"[markdown]{escaped} {n}{{=x ~y}}",
        ]
    return "\n\n".join(chunks).encode()


def xml_file() -> bytes:
    parts = ["<quiz>"]
    for n, text in enumerate(TRICKY):
        for fmt in ("plain_text", "moodle_auto_format", "html", "markdown"):
            # in the HTML formats the text is written as HTML that shows it
            written = html.escape(html.escape(text) if "html" in fmt or "auto" in fmt else text)
            parts.append(
                f'<question type="multichoice"><questiontext format="{fmt}"><text>'
                f"{written} {n}</text></questiontext>"
                f"<generalfeedback><text>{written}</text></generalfeedback>"
                f'<answer fraction="100"><text>{written}</text></answer>'
                '<answer fraction="0"><text>other</text></answer></question>'
            )
    return "\n".join([*parts, "</quiz>"]).encode()


def aiken_file() -> bytes:
    blocks = []
    for text in TRICKY:
        lines = [line for line in text.split("\n") if line]
        one_line = " ".join(lines)
        blocks.append("\n".join([*lines, f"A. {one_line}", "B. other", "ANSWER: A"]))
    return "\n\n".join(blocks).encode()


def test_round_trips_give_the_same_stored_questions() -> None:
    for fmt, content in (
        (gift, gift_file()),
        (moodle_xml, xml_file()),
        (aiken, aiken_file()),
    ):
        first = questions(fmt.parse(content))
        assert len(first) == len(TRICKY) * (1 if fmt is aiken else 4), fmt
        again = questions(fmt.parse(fmt.export(first)))
        assert again == first, fmt
        # so a re-import of the export finds the same questions as duplicates
        keys = [bank_service.duplicate_hash(q) for q in first]
        assert [bank_service.duplicate_hash(q) for q in again] == keys
        assert questions(fmt.parse(content)) == first  # reading is deterministic


def test_aiken_export_leaves_out_what_plain_text_cannot_show() -> None:
    markdown_text = QuestionData(QuestionType.SINGLE, "**bold**", 0, options=("a", "b"))
    soft_break = QuestionData(QuestionType.SINGLE, "one\ntwo", 0, options=("a", "b"))
    assert aiken.export([markdown_text]) == b""
    assert aiken.export([soft_break]).decode().startswith("one two\n")


def test_gift_and_xml_exports_say_markdown() -> None:
    question = QuestionData(QuestionType.TRUE_FALSE, "2*3*4 <b>x</b>", True)
    assert gift.export([question]).decode() == "[markdown]2*3*4 <b>x</b>{TRUE}\n\n"
    assert '<questiontext format="markdown">' in moodle_xml.export([question]).decode()


# --- on the page -------------------------------------------------------------------------


def test_an_imported_plain_stem_shows_verbatim_on_the_question_page(
    app: Flask, organizer_client: FlaskClient
) -> None:
    with app.app_context():
        bank_id = bank_service.create_bank("Moodle").id
        db.session.commit()
    response = organizer_client.post(
        f"/api/v1/banks/{bank_id}/imports",
        data={
            "file": (
                io.BytesIO(b'Is <html class="cool"> ok?\nA. yes\nB. no\nANSWER: A\n'),
                "q.txt",
            ),
            "format": "aiken",
        },
        headers={"X-CSRFToken": csrf_token(organizer_client)},
        content_type="multipart/form-data",
    )
    assert response.status_code in (200, 201, 202), response.get_json()
    make_worker(app, [queues.IMPORTS]).work(burst=True)
    job = organizer_client.get(f"/api/v1/imports/{response.get_json()['id']}").get_json()
    assert job["report"]["created"] == 1, job
    with app.app_context():
        [question_id] = db.session.scalars(select(Question.id).where(Question.bank_id == bank_id))
    page = organizer_client.get(f"/admin/questions/{question_id}").get_data(as_text=True)
    assert "Is &lt;html class=&#34;cool&#34;&gt; ok?" in page or (
        'Is &lt;html class="cool"&gt; ok?' in page
    )
    assert '<html class="cool">' not in page


def test_a_moodle_xml_file_of_unsupported_questions_says_so_on_import(
    app: Flask, organizer_client: FlaskClient
) -> None:
    xml = (
        b'<?xml version="1.0" encoding="UTF-8"?><quiz>'
        b'<question type="essay"><name><text>E</text></name>'
        b"<questiontext><text>Write</text></questiontext></question>"
        b'<question type="matching"><name><text>M</text></name>'
        b"<questiontext><text>Match</text></questiontext></question></quiz>"
    )
    with app.app_context():
        bank_id = bank_service.create_bank("Moodle").id
        db.session.commit()
    response = organizer_client.post(
        f"/api/v1/banks/{bank_id}/imports",
        data={"file": (io.BytesIO(xml), "q.xml"), "format": "moodle-xml"},
        headers={"X-CSRFToken": csrf_token(organizer_client)},
        content_type="multipart/form-data",
    )
    assert response.status_code in (200, 201, 202), response.get_json()
    make_worker(app, [queues.IMPORTS]).work(burst=True)
    job = organizer_client.get(f"/api/v1/imports/{response.get_json()['id']}").get_json()
    assert job["report"]["skipped_count"] == 2, job
    [problem] = job["report"]["problems"]
    assert problem["message"] == (
        "文件中的 2 道题都是不支持导入的题型（见已跳过的题目）：没有可导入的内容。"
    )
