"""Aiken: Moodle's plain-text format for single-choice questions.

::

    Which law took effect on 1 June 2017?
    A. 网络安全法
    B) 数据安全法
    ANSWER: A

A question is its stem line(s), its option lines ``A. text`` or ``A) text`` (letters A–H, in
order), then ``ANSWER: <letter>``. Blank lines separate questions. As in Moodle, no space is
needed after the mark (``A)text``, ``A.text``), except on a question's first line: a line that
starts a question is its stem (``A.5 GB is how much?``).

Accepted besides the standard, as Chinese question banks write it:

* option markers ``A、text`` and full-width ones (``Ａ．text``, ``Ａ）text``): the letter and the
  mark are read after NFKC;
* ``答案：B`` (or ``答案: B``) as an alias of ``ANSWER: B``; ``ANSWER`` in any letter case, the
  colon and the letter full-width or not;
* a stem on several consecutive lines (joined with newlines). A text line after a blank line, or
  after the options, starts a new question.

Problems, each with its 1-based line: a question without an ``ANSWER`` line (at the question's
first line), an ``ANSWER`` that is not one letter or names a letter beyond the options, options out
of order, an option or ``ANSWER`` line with no question before it, and whatever
:func:`~question_bank.domain.validate` finds (fewer than 2 or more than 8 options, empty or
duplicate options, an empty stem; at the question's first line). One bad question does not hide
the others: every problem in the file is reported.

Aiken is plain text, as Moodle reads it: stems and options are stored so that they show exactly
as written — ``<``, ``&``, ``*``, backslashes and line breaks included (see
:func:`question_bank.markdown.from_plain`).

Aiken carries ``options`` and nothing else: no explanation, difficulty, category, tags or
citation. Export writes the single-choice questions only; other types cannot be expressed in Aiken
and are left out. Texts are written as the plain text that reads back into the same stored text
(:func:`question_bank.markdown.to_plain`); a Markdown text that shows differently as plain text
(``**bold**``, a list) cannot be written and its question is left out, except that line breaks
that show as spaces are written as spaces. Options are one line each; a stem with an empty line,
or with a line that reads as an option or ``ANSWER:`` line, is left out too.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from question_bank import markdown
from question_bank.domain import (
    N_,
    OPTION_LETTERS,
    Problem,
    QuestionData,
    QuestionType,
    validate,
)
from question_bank.formats.base import ParsedQuestion, ParseReport
from question_bank.formats.registry import Format, register
from question_bank.formats.text import decode

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_ANSWER = re.compile(r"(?:answer|答案)\s*:\s*(.*)", re.IGNORECASE | re.DOTALL)
_OPTION_MARKS = (".", ")", "、")
_NOT_AN_OPTION = N_("The answer must be one of the options.")  # validate()'s message


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def option_marker(line: str) -> tuple[str, str] | None:
    """``(letter, text)`` when the stripped ``line`` is an option line, else None."""
    if len(line) < 2:
        return None
    letter, mark = _nfkc(line[0]), _nfkc(line[1])
    if len(letter) != 1 or not "A" <= letter <= "Z" or mark not in _OPTION_MARKS:
        return None
    return letter, line[2:].strip()


def _tight(line: str) -> bool:
    """An ASCII mark with no space after it (``A.5 GB``): a stem when it starts a question."""
    return line[1] in ".)" and len(line) > 2 and not line[2].isspace()


def answer_value(line: str) -> str | None:
    """What follows ``ANSWER:`` / ``答案：`` when the stripped ``line`` is an answer line."""
    if not line or _nfkc(line[0]).upper() not in ("A", "答"):
        return None
    match = _ANSWER.match(_nfkc(line[:20]))
    if match is None:
        return None
    return _nfkc(line).split(":", 1)[1].strip()


@dataclass
class _Pending:
    line: int
    stem: list[str]
    options: list[str] = field(default_factory=list)
    stem_done: bool = False
    problems: list[Problem] = field(default_factory=list)


def parse(content: bytes) -> ParseReport:
    report = ParseReport()
    text, problem = decode(content)
    if problem:
        report.problems.append(problem)
        return report
    if not (text or "").strip():
        report.problems.append(Problem(0, N_("The file is empty.")))
        return report
    current: _Pending | None = None
    for number, raw in enumerate(_LINE_BREAK.split(text or ""), start=1):
        line = raw.strip()
        if not line:
            if current is not None:
                current.stem_done = True
            continue
        value = answer_value(line)
        if value is not None:
            if current is None:
                report.problems.append(
                    Problem(number, N_("An ANSWER line without a question before it."))
                )
            else:
                _finish(current, value, number, report)
                current = None
            continue
        option = option_marker(line)
        if option is not None and not (current is None and _tight(line)):
            if current is None:
                current = _Pending(number, [])
                current.problems.append(
                    Problem(number, N_("An option line without a question before it."))
                )
            _add_option(current, *option, number)
            continue
        if current is not None and not current.stem_done:
            current.stem.append(line)
            continue
        if current is not None:
            _missing_answer(current, report)
        current = _Pending(number, [line])
    if current is not None:
        _missing_answer(current, report)
    return report


def _add_option(current: _Pending, letter: str, text: str, line: int) -> None:
    position = len(current.options)
    if position < len(OPTION_LETTERS) and letter != OPTION_LETTERS[position]:
        current.problems.append(
            Problem(
                line,
                N_("Option %(letter)s is out of order; expected %(expected)s."),
                {"letter": letter, "expected": OPTION_LETTERS[position]},
            )
        )
    current.options.append(text)
    current.stem_done = True


def _missing_answer(current: _Pending, report: ParseReport) -> None:
    report.problems += current.problems
    report.problems.append(Problem(current.line, N_("The question has no ANSWER line.")))


def _finish(current: _Pending, value: str, line: int, report: ParseReport) -> None:
    problems = list(current.problems)
    letter = value.upper()
    if len(letter) != 1 or not "A" <= letter <= "Z":
        problems.append(
            Problem(
                line,
                N_('The ANSWER line must name one option letter, not "%(value)s".'),
                {"value": value[:40]},
            )
        )
        report.problems += problems
        return
    index = ord(letter) - ord("A")
    if index >= len(current.options):
        problems.append(
            Problem(
                line,
                N_("The answer letter %(letter)s is not among the options."),
                {"letter": letter},
            )
        )
    question = QuestionData(
        type=QuestionType.SINGLE,
        stem=markdown.from_plain("\n".join(current.stem), blanks=True),
        options=tuple(markdown.from_plain(option) for option in current.options),
        answer=index,
    )
    problems += [
        Problem(current.line, p.message, p.params)
        for p in validate(question)
        if p.message != _NOT_AN_OPTION  # reported above with the ANSWER line's number
    ]
    report.problems += problems
    if not problems:
        report.questions.append(ParsedQuestion(current.line, question))


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in _LINE_BREAK.split(text) if part.strip())


def _shown(source: str) -> str:
    return " ".join(markdown.render(source).split())


def _plain(source: str, *, stem: bool) -> str | None:
    """The plain text that Aiken writes for the stored ``source``, or None when there is none."""
    exact = markdown.to_plain(source)
    if exact is not None:
        return exact
    for text in (source, _one_line(source)):
        if _shown(markdown.from_plain(text, blanks=stem)) == _shown(source):
            return text
    return None


def _question_lines(question: QuestionData) -> list[str] | None:
    """The lines of a single-choice question, or None when Aiken cannot write it."""
    answer = question.answer
    if question.type is not QuestionType.SINGLE or isinstance(answer, bool | tuple):
        return None  # Aiken carries single choice only
    stem = _plain(question.stem, stem=True)
    options = [_plain(option, stem=False) for option in question.options]
    if stem is None or any(o is None or _LINE_BREAK.search(o) or o != o.strip() for o in options):
        return None
    stem_lines = _LINE_BREAK.split(stem)  # Aiken strips lines and ends a stem at an empty one
    if any(
        line != line.strip() or not line or option_marker(line) or answer_value(line)
        for line in stem_lines
    ):
        return None
    lines = [
        *stem_lines,
        *(f"{letter}. {o}" for letter, o in zip(OPTION_LETTERS, options, strict=False)),
    ]
    return [*lines, f"ANSWER: {OPTION_LETTERS[answer]}"]


def export(questions: Sequence[QuestionData]) -> bytes:
    blocks = []
    for question in questions:
        lines = _question_lines(question)
        if lines is not None:
            blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks).encode("utf-8")


register(
    Format(
        name="aiken",
        extensions=(".aiken", ".txt"),
        parse=parse,
        export=export,
        types=frozenset({QuestionType.SINGLE}),
        fields=frozenset({"options"}),
        media_type="text/plain; charset=utf-8",
    )
)
