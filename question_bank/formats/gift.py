"""Moodle GIFT import and export (https://docs.moodle.org/en/GIFT_format).

GIFT carries the stem, the options, the answer key, the general feedback (our ``explanation``),
the category (``$CATEGORY:`` lines) and tags (``// [tag:…]`` comment lines). It carries neither
difficulty nor citation: they come back at their defaults (medium, none).

Reading follows Moodle's own importer (``question/format/gift/format.php``):

* Questions are separated by blank lines (so a blank line inside an answer block splits the
  question, as in Moodle, and is reported). Lines starting with ``//`` are comments; ``[tag:x]``
  in a question's comment lines become its tags (``[id:x]`` is ignored).
* ``$CATEGORY: $course$/top/A/B`` sets the category "A/B" for the questions that follow (a
  leading ``$course$/``, ``$system$/`` or other context and then ``top`` are removed).
* ``::title::`` is dropped; a ``[html]``/``[markdown]``/``[plain]``/``[moodle]`` prefix is
  removed from the stem, options and feedback and the text kept as it is (HTML included: stems
  are Markdown that is sanitized when shown).
* Escapes: ``\\~ \\= \\# \\{ \\} \\:`` give the character, ``\\\\`` a backslash and ``\\n`` a
  line break; any other backslash is literal.
* ``####text`` in the answer block is the explanation; ``#text`` after an answer (per-answer
  feedback) is dropped.
* An answer block in the middle of the text becomes a ``____`` blank in the stem.

Mapping of answer blocks (``%n%`` is an answer weight; ``=`` without weight counts 100%,
``~`` without weight 0%):

=================================================  ==================================
``{T}`` ``{TRUE}`` ``{F}`` ``{FALSE}`` (+ ``#fb``)  true_false
``{=a ~b ~c}``: exactly one answer at 100%          single, that answer (any partial
                                                    credit ``~%50%x`` options are just
                                                    wrong options: partial credit is
                                                    not kept)
``{~%50%a ~%50%b ~%-100%c}``: no single 100%        multiple, every answer with a
answer, several with a positive weight              positive weight (zero or negative:
                                                    wrong options); several ``=``
                                                    answers also give multiple
only one answer with a positive weight              single
``{=a =b}`` / ``{a}`` (no ``~``)                    fill_blank with one blank whose
                                                    alternatives are the 100% answers
                                                    (``=%50%x`` partial answers are
                                                    dropped, so they earn nothing)
``{}`` essay, ``{#…}`` numerical, ``{=a -> b}``     skipped (``report.skipped``)
matching, no answer block (description)
=================================================  ==================================

Writing: ``$CATEGORY: $course$/top/<category>`` when the category changes, tags on one
``// [tag:a] [tag:b]`` line, the escaped stem followed by its answer block (multiple choice with
weights ``100/n`` for the n right options and ``-100`` for wrong ones), ``####explanation``. Line
breaks in texts are written as ``\\n``. A text that would otherwise be read as a format prefix or
comment (``[html]…``, ``//…``) gets a ``[markdown]`` prefix, and an answer that starts with ``%`` an
explicit weight, so ``parse(export(qs))`` gives the questions back. Export cannot report problems,
so it leaves out, without notice, what GIFT cannot express: ordering questions, fill-in-the-blank
questions with several blanks or with an answer containing ``->`` (it would read as matching),
and questions that fail :func:`~question_bank.domain.validate`. Carriage returns become line
breaks; line breaks in the category or tags become spaces.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from question_bank.domain import N_, Problem, QuestionData, QuestionType, validate
from question_bank.formats import Format, ParsedQuestion, ParseReport, register
from question_bank.formats.moodle_xml import category_from_path
from question_bank.formats.text import decode

BLANK = "____"
_ESCAPABLE = "\\~=#{}:n"
_UNESCAPE = re.compile(r"\\([\\~=#{}:n])")
_TEXT_FORMATS = ("[html]", "[markdown]", "[plain]", "[moodle]")
_WEIGHT = re.compile(r"%(-?(?:\d+(?:\.\d*)?|\.\d+))%")
_TAG = re.compile(r"\[(tag|id):((?:\\.|[^\]\\])*)\]")
_TAG_UNESCAPE = re.compile(r"\\([\]\\])")
_CATEGORY = "$CATEGORY:"
_TRUE, _FALSE = ("T", "TRUE"), ("F", "FALSE")
_LINE_BREAKS = re.compile(r"[\r\n]+")


class _Skip(Exception):
    """A question of a type GIFT has and we do not (internal: caught by :func:`parse`)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class _Bad(Exception):
    """A question that cannot be read (internal: caught by :func:`parse`)."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.message, self.params = message, params


# --- reading -------------------------------------------------------------------------------


def parse(content: bytes) -> ParseReport:
    report = ParseReport()
    text, problem = decode(content)
    if problem is not None or text is None:
        report.problems.append(problem or Problem(0, N_("The file is neither UTF-8 nor GBK text.")))
        return report
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    category = ""
    chunk: list[tuple[int, str]] = []
    for number, line in enumerate([*lines, ""], start=1):
        if line.strip():
            chunk.append((number, line))
        elif chunk:
            category = _read_chunk(chunk, category, report)
            chunk = []
    return report


def _read_chunk(chunk: list[tuple[int, str]], category: str, report: ParseReport) -> str:
    """Read one blank-line-separated chunk into ``report``; returns the category that follows."""
    comments = [text for _, text in chunk if text.lstrip().startswith("//")]
    content = [(n, text) for n, text in chunk if not text.lstrip().startswith("//")]
    while content and content[0][1].strip().startswith(_CATEGORY):
        category = _category(content[0][1].strip()[len(_CATEGORY) :])
        content = content[1:]
    if not content:
        return category
    line = content[0][0]
    raw = "\n".join(text for _, text in content).strip()
    try:
        question = _question(raw, category, _tags(comments))
    except _Skip as skip:
        report.skipped.append(
            Problem(
                line,
                N_("Question skipped: GIFT %(kind)s questions are not supported."),
                {"kind": skip.kind},
            )
        )
        return category
    except _Bad as bad:
        report.problems.append(Problem(line, bad.message, bad.params))
        return category
    problems = validate(question)
    report.problems += [Problem(line, p.message, p.params) for p in problems]
    if not problems:
        report.questions.append(ParsedQuestion(line, question))
    return category


def _category(raw: str) -> str:
    """``$course$/top/A/B`` → ``A/B`` (the same rule as Moodle XML's categories)."""
    return category_from_path(raw)


def _tags(comments: list[str]) -> tuple[str, ...]:
    tags: dict[str, None] = {}
    for comment in comments:
        for match in _TAG.finditer(comment):
            value = _TAG_UNESCAPE.sub(r"\1", match[2]).strip()
            if match[1] == "tag" and value:
                tags[value] = None
    return tuple(tags)


def _mask(raw: str) -> list[bool]:
    """``mask[i]`` is False where ``raw[i]`` belongs to an escape (``\\~``, ``\\n`` …)."""
    mask = [True] * len(raw)
    i = 0
    while i < len(raw):
        if raw[i] == "\\" and i + 1 < len(raw) and raw[i + 1] in _ESCAPABLE:
            mask[i] = mask[i + 1] = False
            i += 2
        else:
            i += 1
    return mask


def _positions(raw: str, chars: str) -> list[int]:
    """Where the unescaped ``chars`` are in ``raw``."""
    mask = _mask(raw)
    return [i for i, c in enumerate(raw) if c in chars and mask[i]]


def _find_run(raw: str, char: str, length: int, *, last: bool = False, start: int = 0) -> int:
    """The first (or last) index of ``length`` unescaped ``char`` in a row, or -1."""
    mask = _mask(raw)
    run = char * length
    indexes = range(start, len(raw) - length + 1)
    for i in reversed(indexes) if last else indexes:
        if raw.startswith(run, i) and all(mask[i : i + length]):
            return i
    return -1


def _unescape(raw: str) -> str:
    return _UNESCAPE.sub(lambda m: "\n" if m[1] == "n" else m[1], raw)


def _text(raw: str) -> str:
    """Stem, option or feedback text: format prefix removed, unescaped, trimmed."""
    text = raw.strip()
    for prefix in _TEXT_FORMATS:
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    return _unescape(text.strip()).strip()


def _question(raw: str, category: str, tags: tuple[str, ...]) -> QuestionData:
    if raw.startswith("::"):
        end = _find_run(raw, ":", 2, start=2)
        raw = raw[2:] if end < 0 else raw[end + 2 :].strip()
    opens, closes = _positions(raw, "{"), _positions(raw, "}")
    if not opens and not closes:
        raise _Skip("description")
    if not closes:
        raise _Bad(N_("The answer block opened with { is not closed with }."))
    if not opens or closes[0] < opens[0]:
        raise _Bad(N_("A } has no matching {; write a literal brace as \\}."))
    if len(opens) > 1 or len(closes) > 1:
        raise _Bad(
            N_("Only one answer block {…} per question; write literal braces as \\{ and \\}.")
        )
    start, end = opens[0], closes[0]
    after = raw[end + 1 :]
    stem = _text(raw[:start] + BLANK + after if after.strip() else raw[:start])
    answer_raw, explanation = raw[start + 1 : end], ""
    feedback = _find_run(answer_raw, "#", 4, last=True)
    if feedback >= 0:
        explanation = _text(answer_raw[feedback + 4 :])
        answer_raw = answer_raw[:feedback]
    answer_raw = answer_raw.strip()
    common: dict[str, Any] = {"explanation": explanation, "category": category, "tags": tags}

    if not answer_raw:
        raise _Skip("essay")
    if answer_raw.startswith("#"):
        raise _Skip("numerical")
    if _positions(answer_raw, "~"):
        return _choice(stem, answer_raw, common)
    if _positions(answer_raw, "=") and "->" in answer_raw:
        raise _Skip("matching")
    hashes = _positions(answer_raw, "#")
    head = (answer_raw[: hashes[0]] if hashes else answer_raw).strip()
    if head in _TRUE or head in _FALSE:
        return QuestionData(type=QuestionType.TRUE_FALSE, stem=stem, answer=head in _TRUE, **common)
    answers = [_answer(piece, 100.0) for _, piece in _pieces(answer_raw)]
    accepted = tuple(text for text, weight in answers if weight >= 100)
    if not accepted:
        raise _Bad(N_("No answer gets full credit; a fill-in-the-blank question keeps only those."))
    return QuestionData(type=QuestionType.FILL_BLANK, stem=stem, answer=(accepted,), **common)


def _choice(stem: str, answer_raw: str, common: dict[str, Any]) -> QuestionData:
    answers = [_answer(piece, 100.0 if mark == "=" else 0.0) for mark, piece in _pieces(answer_raw)]
    options = tuple(text for text, _ in answers)
    full = [i for i, (_, weight) in enumerate(answers) if weight >= 100]
    positive = [i for i, (_, weight) in enumerate(answers) if weight > 0]
    if len(full) == 1 or len(positive) == 1:
        single = full[0] if len(full) == 1 else positive[0]
        return QuestionData(
            type=QuestionType.SINGLE, stem=stem, options=options, answer=single, **common
        )
    if not positive:
        raise _Bad(N_("No answer is marked correct."))
    return QuestionData(
        type=QuestionType.MULTIPLE, stem=stem, options=options, answer=tuple(positive), **common
    )


def _pieces(answer_raw: str) -> list[tuple[str, str]]:
    """The answers of a block as (mark, raw text): mark is ``=``, ``~`` or "" (text before any)."""
    cuts = _positions(answer_raw, "~=")
    pieces: list[tuple[str, str]] = []
    head = answer_raw[: cuts[0]] if cuts else answer_raw
    if head.strip():
        pieces.append(("", head))
    for k, cut in enumerate(cuts):
        stop = cuts[k + 1] if k + 1 < len(cuts) else len(answer_raw)
        pieces.append((answer_raw[cut], answer_raw[cut + 1 : stop]))
    return pieces


def _answer(piece: str, default_weight: float) -> tuple[str, float]:
    """An answer's text (feedback dropped) and its weight in percent."""
    body = piece.strip()
    hashes = _positions(body, "#")
    if hashes:
        body = body[: hashes[0]].strip()
    weight = default_weight
    match = _WEIGHT.match(body)
    if match:
        weight = float(match[1])
        if not -100 <= weight <= 100:
            raise _Bad(
                N_("The answer weight %(weight)s is not between -100 and 100."), weight=match[1]
            )
        body = body[match.end() :]
    return _text(body), weight


# --- writing -------------------------------------------------------------------------------


def _escape(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    out = []
    for char in text:
        if char in "\\~=#{}:":
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        else:
            out.append(char)
    return "".join(out)


def _written(text: str) -> str:
    """``text`` escaped, with a ``[markdown]`` prefix when its start would be read as syntax."""
    guard = text.startswith((*_TEXT_FORMATS, "//", "\ufeff"))
    return ("[markdown]" if guard else "") + _escape(text)


def _option(mark: str, text: str, weight: str | None = None) -> str:
    if weight is None and text.startswith("%"):
        weight = "100" if mark == "=" else "0"
    return mark + ("" if weight is None else f"%{weight}%") + _written(text)


def _percent(value: float) -> str:
    return f"{value:.5f}".rstrip("0").rstrip(".")


def _answer_block(question: QuestionData) -> str | None:
    """The ``{…}`` block, or None when GIFT cannot express the question."""
    explanation = question.explanation.strip()
    feedback = f"####{_written(explanation)}" if explanation else ""
    kind, answer, options = question.type, question.answer, question.options
    if kind is QuestionType.TRUE_FALSE:
        return "{" + ("TRUE" if answer else "FALSE") + feedback + "}"
    if kind is QuestionType.FILL_BLANK:
        if not isinstance(answer, tuple) or len(answer) != 1:
            return None
        alternatives = answer[0]
        if not isinstance(alternatives, tuple) or any("->" in str(a) for a in alternatives):
            return None
        return "{" + " ".join(_option("=", str(a)) for a in alternatives) + feedback + "}"
    if kind is QuestionType.SINGLE:
        lines = [_option("=" if i == answer else "~", o) for i, o in enumerate(options)]
    elif kind is QuestionType.MULTIPLE and isinstance(answer, tuple):
        right = _percent(100 / len(answer))
        lines = [_option("~", o, right if i in answer else "-100") for i, o in enumerate(options)]
    else:
        return None
    if feedback:
        lines.append(feedback)
    return "{\n" + "".join(f"\t{line}\n" for line in lines) + "}"


def export(questions: Sequence[QuestionData]) -> bytes:
    chunks: list[str] = []
    category = ""
    for question in questions:
        block = None if validate(question) else _answer_block(question)
        if block is None:
            continue
        if question.category != category:
            category = question.category
            path = _LINE_BREAKS.sub(" ", category).strip()
            chunks.append(f"{_CATEGORY} $course$/top" + (f"/{path}" if path else ""))
        lines = []
        tags = [_LINE_BREAKS.sub(" ", t).strip() for t in question.tags]
        written = ["[tag:" + t.replace("\\", "\\\\").replace("]", "\\]") + "]" for t in tags if t]
        if written:
            lines.append("// " + " ".join(written))
        lines.append(_written(question.stem.strip()) + block)
        chunks.append("\n".join(lines))
    return "".join(chunk + "\n\n" for chunk in chunks).encode("utf-8")


register(
    Format(
        name="gift",
        extensions=(".gift",),
        parse=parse,
        export=export,
        types=frozenset(
            {
                QuestionType.SINGLE,
                QuestionType.MULTIPLE,
                QuestionType.TRUE_FALSE,
                QuestionType.FILL_BLANK,
            }
        ),
        fields=frozenset({"options", "explanation", "category", "tags"}),
        media_type="text/plain; charset=utf-8",
    )
)
