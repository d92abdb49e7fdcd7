"""The question as a value: what every format parses into, grading reads and the database stores.

Pure: no Flask, no database. Messages are English msgids marked with :func:`N_` and carry their
parameters separately, so the web layer translates them (zh_CN by default) when it shows them.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

MAX_OPTIONS = 8  # the Chinese template has 选项A…选项H
OPTION_LETTERS = "ABCDEFGH"


def N_(message: str) -> str:
    """Mark ``message`` for extraction; it is translated where it is shown."""
    return message


class QuestionType(enum.StrEnum):
    SINGLE = "single"
    MULTIPLE = "multiple"
    TRUE_FALSE = "true_false"
    FILL_BLANK = "fill_blank"
    ORDERING = "ordering"


class Difficulty(enum.StrEnum):
    EASY = "easy"
    MEDIUM = "medium"
    HARD = "hard"


CHOICE_TYPES = (QuestionType.SINGLE, QuestionType.MULTIPLE, QuestionType.ORDERING)

# single: option index; multiple: sorted option indexes; true_false: bool;
# fill_blank: per blank, the accepted alternatives; ordering: option indexes in the right order.
Answer = int | tuple[int, ...] | bool | tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Citation:
    """A law article a question rests on: law title, version (adoption date), article number."""

    law: str
    article: int
    version: str | None = None  # ISO date, e.g. "2016-11-07"
    quote: str | None = None


@dataclass(frozen=True)
class QuestionData:
    """One question, independent of storage and format.

    ``options`` keep the author's order; shuffling happens per contestant when a paper is drawn.
    """

    type: QuestionType
    stem: str
    answer: Answer
    options: tuple[str, ...] = ()
    explanation: str = ""
    difficulty: Difficulty = Difficulty.MEDIUM
    category: str = ""
    tags: tuple[str, ...] = ()
    citation: Citation | None = None


@dataclass(frozen=True)
class Problem:
    """Something wrong with an input, at a 1-based line or row (0: the file as a whole)."""

    line: int
    message: str
    params: dict[str, Any] = field(default_factory=dict)

    def render(self, translate: Any = None) -> str:
        """The message with its parameters, translated by ``translate(msgid)`` when given."""
        text = translate(self.message) if translate else self.message
        return text % self.params if self.params else text


def normalize_text(text: str) -> str:
    """NFKC (full-width → half-width letters, digits and punctuation), trimmed, spaces collapsed."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()


def normalize_blank(text: str) -> str:
    """How a fill-in-the-blank answer is compared: normalized text, case-insensitive."""
    return normalize_text(text).casefold()


def duplicate_key(question: QuestionData) -> tuple[str, frozenset[str]]:
    """Questions are duplicates when the normalised stem and the set of options are the same."""
    return (
        normalize_text(question.stem).casefold(),
        frozenset(normalize_text(o).casefold() for o in question.options),
    )


BLANK_MARK = re.compile(r"_{2,}|（\s*）|\(\s*\)")


def count_blanks(stem: str) -> int:
    """Blanks in a stem: each run of two or more underscores, or an empty （ ）/( ) pair."""
    return len(BLANK_MARK.findall(stem))


def validate(question: QuestionData) -> list[Problem]:
    """Every rule a question must satisfy, as problems at line 0 (callers set the line)."""
    problems: list[Problem] = []

    def add(message: str, **params: Any) -> None:
        problems.append(Problem(0, message, params))

    if not question.stem.strip():
        add(N_("The stem is empty."))
    kind = question.type
    options, answer = question.options, question.answer
    if kind in CHOICE_TYPES:
        if not 2 <= len(options) <= MAX_OPTIONS:
            add(N_("A choice question has 2 to %(max)d options."), max=MAX_OPTIONS)
        if any(not o.strip() for o in options):
            add(N_("An option is empty."))
        if len({normalize_text(o) for o in options}) != len(options):
            add(N_("Two options have the same text."))
    elif options:
        add(N_("This question type has no options."))
    _validate_answer(kind, options, answer, add)
    if kind is QuestionType.FILL_BLANK and isinstance(answer, tuple):
        blanks = count_blanks(question.stem)
        if blanks and blanks != len(answer):
            add(
                N_("The stem has %(stem)d blanks but the answer has %(answer)d."),
                stem=blanks,
                answer=len(answer),
            )
    if question.citation is not None and question.citation.article < 1:
        add(N_("The cited article number must be positive."))
    return problems


def _validate_answer(kind: QuestionType, options: tuple[str, ...], answer: Any, add: Any) -> None:
    n = len(options)
    if kind is QuestionType.SINGLE:
        if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < n:
            add(N_("The answer must be one of the options."))
    elif kind is QuestionType.MULTIPLE:
        if (
            not isinstance(answer, tuple)
            or not answer
            or any(isinstance(a, bool) or not isinstance(a, int) or not 0 <= a < n for a in answer)
            or len(set(answer)) != len(answer)
        ):
            add(N_("The answer must name one or more different options."))
        elif len(answer) < 2 and n > 0:
            add(N_("A multiple-choice answer names at least two options."))
    elif kind is QuestionType.TRUE_FALSE:
        if not isinstance(answer, bool):
            add(N_("The answer must be true or false."))
    elif kind is QuestionType.FILL_BLANK:
        if (
            not isinstance(answer, tuple)
            or not answer
            or any(
                not isinstance(b, tuple) or not b or any(not str(a).strip() for a in b)
                for b in answer
            )
        ):
            add(N_("Every blank needs at least one accepted answer."))
    elif kind is QuestionType.ORDERING and (
        not isinstance(answer, tuple) or sorted(answer) != list(range(n))
    ):
        add(N_("The order must name every option exactly once."))


def answer_to_json(question: QuestionData) -> Any:
    """The answer key as JSON-compatible data (lists for tuples)."""
    answer: Any = question.answer  # its shape follows the type (see Answer)
    if question.type is QuestionType.FILL_BLANK:
        return [list(b) for b in answer]
    if isinstance(answer, tuple):
        return list(answer)
    return answer


def answer_from_json(kind: QuestionType, data: Any) -> Answer:
    """Inverse of :func:`answer_to_json` (no validation: see :func:`validate`)."""
    if kind is QuestionType.FILL_BLANK:
        return tuple(tuple(str(a) for a in blank) for blank in data)
    if kind is QuestionType.MULTIPLE:
        return tuple(sorted(data))
    if kind is QuestionType.ORDERING:
        return tuple(data)
    answer: Answer = data
    return answer
