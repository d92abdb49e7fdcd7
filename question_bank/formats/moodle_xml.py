"""Moodle XML (the question bank's "Moodle XML format"), import and export.

What maps to what:

=================================================  ==============================================
Moodle XML                                         QuestionData
=================================================  ==============================================
``<question type="category">`` ``<category>``      ``category`` of the questions that follow:
                                                   ``$course$/top/A/B`` → ``"A/B"`` (the
                                                   ``$…$`` context and ``top`` are dropped)
``multichoice`` with ``<single>true``              ``single``; answer = the option with fraction 100
``multichoice`` with ``<single>false``             ``multiple``; answer = the options with a
                                                   positive fraction
``truefalse``                                      ``true_false``; answer = whichever of the
                                                   ``true``/``false`` answers has fraction 100
``shortanswer``                                    ``fill_blank`` with one blank; accepted
                                                   alternatives = the answers with fraction 100
``ordering`` (qtype_ordering)                      ``ordering``; the ``<answer>`` items are listed
                                                   in the correct order
``<questiontext><text>``                           ``stem``, read in its ``format`` (below; CDATA
                                                   is transparent)
``<generalfeedback><text>``                        ``explanation``
``<tags><tag><text>``                              ``tags``
``<answer><text>``                                 ``options`` (choice and ordering types)
any other type (essay, numerical, matching,        reported in ``report.skipped`` with the line of
cloze/multianswer, description, calculated, …)     its ``<question`` tag
=================================================  ==============================================

Not carried: ``difficulty`` (always ``medium`` on import), ``citation``, per-answer feedback,
partial credit (a single-choice option with a fraction below 100 is simply wrong; a short answer
with a fraction below 100 is not accepted), ``<usecase>``, hints and names. Embedded images
(``<file>`` and the old ``<image_base64>``) come in and go out with their texts; other embedded
files are listed in the report (:mod:`question_bank.formats.embedded`).
Texts are stripped of surrounding whitespace on import, and XML reads ``\\r\\n`` and ``\\r`` as
``\\n``.

Text formats, as Moodle shows them (the stem's ``format`` attribute, ``html`` when missing; the
options and the explanation take the stem's format unless they name their own): ``markdown`` is
kept as written; ``plain_text`` is stored so that it shows exactly as written, line breaks
included (:func:`question_bank.markdown.from_plain`); ``html`` is sanitized HTML
(:func:`~question_bank.markdown.from_html`); ``moodle_auto_format`` (and any other format) is
sanitized HTML whose line breaks are kept (:func:`~question_bank.markdown.from_moodle_auto`).
Fill-in-the-blank answers, tags and categories are taken as written.

Line numbers come from the XML parser itself: each element records the line of its start tag
(expat's ``CurrentLineNumber`` at the start-tag event), so a question's problems and a skipped
question carry the line of its ``<question`` tag, and a bad fraction the line of its ``<answer``.
Document type declarations (and so entity bombs and external entities) are refused with a problem
at line 0: Moodle never writes them.

Export writes one ``<quiz>``: a category question whenever the category changes (none before
questions without a category), then the questions. Rich texts are written with
``format="markdown"`` (our stems are Markdown), inside CDATA when they contain ``<``, ``>`` or
``&`` (a ``]]>`` inside is split across two CDATA sections). Characters XML 1.0 cannot carry at all
(most control characters) are dropped. Multiple choice: each of the k correct options has fraction
``100/k`` (Moodle's 33.33333 etc.), each wrong one ``-100`` so that any wrong tick scores 0.
Ordering: the items are written in the correct order, so an ordering question's options come back
in answer order with the identity answer (same question, options normalised; see
:func:`normalize_ordering`). Fill-in-the-blank questions with more than one blank cannot be
written as ``shortanswer`` and are left out of the export.
"""

from __future__ import annotations

import dataclasses
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any, cast

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from question_bank import markdown
from question_bank.domain import (
    N_,
    Answer,
    Problem,
    QuestionData,
    QuestionType,
    count_blanks,
    validate,
)
from question_bank.formats import embedded
from question_bank.formats.base import ParsedQuestion, ParseReport
from question_bank.formats.registry import Format, register
from question_bank.formats.text import decode

FULL_CREDIT = 99.9  # a fraction at or above this counts as 100 (Moodle writes 100 or 100.0000000)

# XML 1.0 Char production: anything else cannot appear in a document, even as &#…;.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_NEEDS_CDATA = re.compile("[<>&]")


class _Element(ET.Element):
    """An element that knows the line of its start tag."""

    sourceline: int = 0


class _LineTreeBuilder(ET.TreeBuilder):
    """A tree builder that stamps each element with the parser's current line."""

    def __init__(self) -> None:
        super().__init__(element_factory=_Element)
        self.expat: Any = None

    def start(self, tag: Any, attrs: Any) -> Any:
        element = cast(_Element, super().start(tag, attrs))
        element.sourceline = self.expat.CurrentLineNumber if self.expat is not None else 0
        return element


def _line(element: ET.Element | None) -> int:
    return int(getattr(element, "sourceline", 0))


def _indexes(answer: Answer) -> list[int]:
    """The option indexes an answer names (single, multiple, ordering)."""
    if isinstance(answer, bool):
        return []
    if isinstance(answer, int):
        return [answer]
    return [a for a in answer if isinstance(a, int) and not isinstance(a, bool)]


def normalize_ordering(question: QuestionData) -> QuestionData:
    """An ordering question with its options in the correct order and the identity answer.

    This is what an ordering question becomes after an export and import through Moodle XML.
    Other questions are returned unchanged.
    """
    if question.type is not QuestionType.ORDERING or not isinstance(question.answer, tuple):
        return question
    options = tuple(question.options[i] for i in _indexes(question.answer))
    return dataclasses.replace(question, options=options, answer=tuple(range(len(options))))


# --- import -------------------------------------------------------------------------------------


def parse(content: bytes) -> ParseReport:
    report = ParseReport()
    text, problem = decode(content)
    if problem:
        report.problems.append(problem)
        return report
    if not (text or "").strip():
        report.problems.append(Problem(0, N_("The file is empty.")))
        return report
    root = _parse_xml(text or "", report)
    if root is None:
        return report
    if root.tag != "quiz":
        report.problems.append(
            Problem(
                _line(root),
                N_("The root element must be <quiz>, not <%(tag)s>."),
                {"tag": str(root.tag)},
            )
        )
        return report
    category = ""
    for element in root.findall("question"):
        category = _read_question(element, category, report)
    return report


def _parse_xml(text: str, report: ParseReport) -> ET.Element | None:
    builder = _LineTreeBuilder()
    parser = DefusedXMLParser(target=builder, forbid_dtd=True)
    builder.expat = parser.parser
    try:
        parser.feed(text)
        root: ET.Element = parser.close()
    except DefusedXmlException:
        report.problems.append(
            Problem(
                0,
                N_(
                    "The file declares a document type or entities, which Moodle XML never"
                    " needs; refused for safety."
                ),
            )
        )
        return None
    except ET.ParseError as exc:
        position = getattr(exc, "position", None) or (0, 0)
        report.problems.append(
            Problem(int(position[0]), N_("Not valid XML: %(error)s"), {"error": str(exc)})
        )
        return None
    return root


def _text(element: ET.Element | None) -> str:
    """The stripped text of ``element``'s ``<text>`` child ("" when missing)."""
    if element is None:
        return ""
    node = element.find("text")
    if node is None:
        return ""
    return "".join(node.itertext()).strip()


def _format(element: ET.Element | None, default: str) -> str:
    """A text's ``format`` attribute, as Moodle reads it (missing: ``default``)."""
    fmt = (element.get("format") if element is not None else None) or default
    return fmt.strip()


def _rich(
    element: ET.Element | None, default: str, *, inline: bool = False, blanks: bool = False
) -> str:
    """A stem, option or explanation as stored Markdown, read in its format (see the docstring)."""
    text, fmt = _text(element), _format(element, default)
    if fmt == "markdown":
        return text
    if fmt == "plain_text":
        return markdown.from_plain(text, blanks=blanks and not inline)
    if fmt == "html":
        return markdown.from_html(text, inline=inline)
    return markdown.from_moodle_auto(text, inline=inline)  # also Moodle's fallback


def category_from_path(path: str) -> str:
    """``$course$/top/A/B`` → ``A/B``: drop the ``$context$`` part, ``top`` and empty segments."""
    parts = [p.strip() for p in path.strip().split("/")]
    if parts and len(parts[0]) > 1 and parts[0].startswith("$") and parts[0].endswith("$"):
        parts = parts[1:]
    if parts and parts[0] == "top":
        parts = parts[1:]
    return "/".join(p for p in parts if p)


def _read_question(element: ET.Element, category: str, report: ParseReport) -> str:
    """Add ``element``'s question (or its problems) to ``report``; return the current category."""
    line = _line(element)
    kind = element.get("type")
    if kind is None or not kind.strip():
        report.problems.append(Problem(line, N_("The question has no type attribute.")))
        return category
    if kind == "category":
        return category_from_path(_text(element.find("category")))
    reader = _READERS.get(kind)
    if reader is None:
        report.skipped.append(
            Problem(line, N_("Question type %(kind)s is not supported; skipped."), {"kind": kind})
        )
        return category
    problems: list[Problem] = []
    fields = reader(element, problems)
    if fields is None or problems:
        report.problems += problems
        return category
    stem_format = _format(element.find("questiontext"), "html")  # the other texts' default
    if "options" in fields:  # one option per <answer>, in order (choice and ordering types)
        answers = element.findall("answer")
        fields["options"] = tuple(_rich(a, stem_format, inline=True) for a in answers)
    question = QuestionData(
        stem=_rich(element.find("questiontext"), stem_format, blanks=True),
        explanation=_rich(element.find("generalfeedback"), stem_format),
        category=category,
        tags=tuple(t for t in (_text(tag) for tag in element.findall("tags/tag")) if t),
        **fields,
    )
    question = embedded.bring_in(element, question, line, report)
    found = validate(question)
    report.problems += [Problem(line, p.message, p.params) for p in found]
    if not found:
        report.questions.append(ParsedQuestion(line, question))
    return category


def _answers(element: ET.Element, problems: list[Problem]) -> list[tuple[str, float]]:
    """Each ``<answer>``'s text and fraction (in percent); bad fractions become problems."""
    answers = []
    for answer in element.findall("answer"):
        raw = answer.get("fraction", "0")
        try:
            fraction = float(raw)
        except ValueError:
            fraction = math.nan
        if math.isnan(fraction):
            problems.append(
                Problem(
                    _line(answer), N_("The fraction %(value)s is not a number."), {"value": raw}
                )
            )
        answers.append((_text(answer), fraction))
    return answers


def _read_multichoice(element: ET.Element, problems: list[Problem]) -> dict[str, Any] | None:
    answers = _answers(element, problems)
    options = tuple(text for text, _ in answers)
    # As Moodle reads it: missing means true; "false", "0" and empty mean false.
    single = (element.findtext("single", "true")).strip().lower() not in ("false", "0", "")
    if single:
        correct = [i for i, (_, f) in enumerate(answers) if f >= FULL_CREDIT]
        if len(correct) != 1:
            problems.append(
                Problem(
                    _line(element),
                    N_("A single-choice question needs exactly one answer with fraction 100."),
                )
            )
            return None
        return {"type": QuestionType.SINGLE, "options": options, "answer": correct[0]}
    chosen = tuple(i for i, (_, f) in enumerate(answers) if f > 0)
    return {"type": QuestionType.MULTIPLE, "options": options, "answer": chosen}


def _read_truefalse(element: ET.Element, problems: list[Problem]) -> dict[str, Any] | None:
    full: dict[bool, bool] = {}
    for position, (text, fraction) in enumerate(_answers(element, problems)):
        word = text.lower()
        # Files older than Moodle 1.9 list true then false without naming them.
        value = word == "true" if word in ("true", "false") else position == 0
        full[value] = fraction >= FULL_CREDIT
    if full.get(True, False) == full.get(False, False):
        problems.append(
            Problem(
                _line(element),
                N_("A true/false question needs exactly one of true and false with fraction 100."),
            )
        )
        return None
    return {"type": QuestionType.TRUE_FALSE, "answer": full.get(True, False)}


def _read_shortanswer(element: ET.Element, problems: list[Problem]) -> dict[str, Any] | None:
    accepted = tuple(text for text, f in _answers(element, problems) if f >= FULL_CREDIT)
    return {"type": QuestionType.FILL_BLANK, "answer": (accepted,)}


def _read_ordering(element: ET.Element, problems: list[Problem]) -> dict[str, Any] | None:
    items = tuple(_text(answer) for answer in element.findall("answer"))
    return {"type": QuestionType.ORDERING, "options": items, "answer": tuple(range(len(items)))}


_READERS = {
    "multichoice": _read_multichoice,
    "truefalse": _read_truefalse,
    "shortanswer": _read_shortanswer,
    "ordering": _read_ordering,
}


# --- export -------------------------------------------------------------------------------------


def _xml_text(text: str) -> str:
    """``text`` as element content: as is, or in CDATA when it has markup characters."""
    text = _NOT_XML_CHAR.sub("", text)
    if not _NEEDS_CDATA.search(text):
        return text
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _text_element(
    tag: str,
    text: str,
    fmt: str | None = None,
    indent: str = "    ",
    images: Mapping[str, bytes] | None = None,
) -> list[str]:
    attribute = f' format="{fmt}"' if fmt else ""
    text, files = embedded.write_out(text, images or {})
    return [
        f"{indent}<{tag}{attribute}>",
        f"{indent}  <text>{_xml_text(text)}</text>",
        *(f"{indent}  {file}" for file in files),
        f"{indent}</{tag}>",
    ]


def _answer(
    fraction: str, text: str, fmt: str, images: Mapping[str, bytes] | None = None
) -> list[str]:
    text, files = embedded.write_out(text, images or {})
    return [
        f'    <answer fraction="{fraction}" format="{fmt}">',
        f"      <text>{_xml_text(text)}</text>",
        *(f"      {file}" for file in files),
        "    </answer>",
    ]


def _name(stem: str) -> str:
    name = " ".join(stem.split())
    return (name[:60] + "…" if len(name) > 60 else name) or "Question"


def _fraction(value: float) -> str:
    return format(value, ".7g")


def _question_xml(
    question: QuestionData, images: Mapping[str, bytes] | None = None
) -> list[str] | None:
    kind, answer = question.type, question.answer
    body: list[str] = []
    if kind in (QuestionType.SINGLE, QuestionType.MULTIPLE):
        correct = set(_indexes(answer))
        share = _fraction(100 / max(len(correct), 1))
        body += [
            f"    <single>{'true' if kind is QuestionType.SINGLE else 'false'}</single>",
            "    <shuffleanswers>1</shuffleanswers>",
            "    <answernumbering>ABCD</answernumbering>",
        ]
        wrong = "0" if kind is QuestionType.SINGLE else "-100"
        for index, option in enumerate(question.options):
            body += _answer(share if index in correct else wrong, option, "markdown", images)
        moodle_type = "multichoice"
    elif kind is QuestionType.TRUE_FALSE:
        body += _answer("100" if answer is True else "0", "true", "moodle_auto_format")
        body += _answer("0" if answer is True else "100", "false", "moodle_auto_format")
        moodle_type = "truefalse"
    elif kind is QuestionType.FILL_BLANK:
        blanks = answer if isinstance(answer, tuple) else ()
        if len(blanks) != 1 or not isinstance(blanks[0], tuple) or count_blanks(question.stem) > 1:
            return None  # shortanswer has exactly one blank
        body.append("    <usecase>0</usecase>")
        for alternative in blanks[0]:
            body += _answer("100", str(alternative), "moodle_auto_format")
        moodle_type = "shortanswer"
    elif kind is QuestionType.ORDERING:
        body += [
            "    <layouttype>VERTICAL</layouttype>",
            "    <selecttype>ALL</selecttype>",
            "    <selectcount>0</selectcount>",
            "    <gradingtype>ALL_OR_NOTHING</gradingtype>",
            "    <showgrading>SHOW</showgrading>",
            "    <numberingstyle>none</numberingstyle>",
        ]
        for position, index in enumerate(_indexes(answer), start=1):
            body += _answer(str(position), question.options[index], "markdown", images)
        moodle_type = "ordering"
    else:  # pragma: no cover - every QuestionType is handled above
        return None
    lines = [f'  <question type="{moodle_type}">']
    lines += _text_element("name", _name(question.stem))
    lines += _text_element("questiontext", question.stem, "markdown", images=images)
    lines += _text_element("generalfeedback", question.explanation, "markdown", images=images)
    penalty = "1" if kind is QuestionType.TRUE_FALSE else "0.3333333"
    lines += ["    <defaultgrade>1</defaultgrade>", f"    <penalty>{penalty}</penalty>"]
    lines.append("    <hidden>0</hidden>")
    lines += body
    if question.tags:
        lines.append("    <tags>")
        for tag in question.tags:
            lines.append(f"      <tag><text>{_xml_text(tag)}</text></tag>")
        lines.append("    </tags>")
    lines.append("  </question>")
    return lines


def _category_xml(category: str) -> list[str]:
    path = "$course$/top/" + category if category else "$course$/top"
    return [
        '  <question type="category">',
        "    <category>",
        f"      <text>{_xml_text(path)}</text>",
        "    </category>",
        "  </question>",
    ]


def export(questions: Sequence[QuestionData], images: Mapping[str, bytes] | None = None) -> bytes:
    """The questions as a Moodle XML ``<quiz>``; ``images`` (stored name → bytes) go into the
    texts that link to them as ``<file>`` elements (see :mod:`question_bank.formats.embedded`)."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<quiz>"]
    current = ""  # no category question before questions without a category
    for question in questions:
        body = _question_xml(question, images)
        if body is None:
            continue
        if question.category != current:
            lines += _category_xml(question.category)
            current = question.category
        lines += body
    lines.append("</quiz>")
    return ("\n".join(lines) + "\n").encode("utf-8")


register(
    Format(
        name="moodle-xml",
        extensions=(".xml",),
        parse=parse,
        export=export,
        types=frozenset(
            {
                QuestionType.SINGLE,
                QuestionType.MULTIPLE,
                QuestionType.TRUE_FALSE,
                QuestionType.FILL_BLANK,
                QuestionType.ORDERING,
            }
        ),
        fields=frozenset({"options", "explanation", "category", "tags"}),
        media_type="application/xml",
        carries_images=True,
    )
)
