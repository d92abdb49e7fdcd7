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
* ``::title::`` is dropped. Texts are read in their format, as Moodle shows them, and stored as
  our Markdown (:mod:`question_bank.markdown`): ``[plain]`` so that it shows exactly as written
  (:func:`~question_bank.markdown.from_plain`), ``[html]`` as sanitized HTML
  (:func:`~question_bank.markdown.from_html`), ``[moodle]`` and unmarked text — Moodle's
  auto-format — as sanitized HTML whose line breaks are kept
  (:func:`~question_bank.markdown.from_moodle_auto`), ``[markdown]`` as written. Options and the
  explanation without a prefix take the stem's format, as in Moodle. Answers to type in
  (fill-in-the-blank) are taken as written, their prefix removed.
* Escapes: ``\\~ \\= \\# \\{ \\} \\:`` give the character, ``\\\\`` a backslash and ``\\n`` a
  line break; any other backslash is literal.
* ``####text`` in the answer block is the explanation; ``#text`` after an answer (per-answer
  feedback) is dropped.
* An answer block in the middle of the text becomes a ``____`` blank in the stem.

Mapping of answer blocks (``%n%`` is an answer weight; ``=`` without weight counts 100%,
``~`` without weight 0%):

=================================================  ==================================
``{T}`` ``{TRUE}`` ``{F}`` ``{FALSE}`` (+ ``#fb``)  true_false
``{=a ~b ~c}``: an ``=``, exactly one answer at     single, that answer (any partial
100%                                                credit ``~%50%x`` options are just
                                                    wrong options: partial credit is
                                                    not kept)
``{~%50%a ~%50%b ~%-100%c}``: no ``=`` (Moodle's    multiple, every answer with a
multiple response), several with a positive         positive weight (zero or negative:
weight; or several ``=`` answers                    wrong options)
only one answer with a positive weight              single (without an ``=``: with a
                                                    note, our multiple choice needing
                                                    two right options)
an empty answer (``{~a ~=c}``)                      left out with a note, as Moodle
                                                    ignores it: c is the right answer
``{=a =b}`` / ``{a}`` (no ``~``)                    fill_blank with one blank whose
                                                    alternatives are the 100% answers
                                                    (``=%50%x`` partial answers are
                                                    dropped, so they earn nothing)
``{}`` essay, ``{#…}`` numerical, ``{=a -> b}``     skipped (``report.skipped``)
matching, several answer blocks or ``{1:MC:…}``
(embedded answers, Cloze), no answer block
(description)
=================================================  ==================================

Notes (an empty answer, single choice without ``=``) go to ``report.skipped`` too, at the
question's line. A file whose questions are all skipped gets a problem at line 0 saying there is
nothing to import.

Writing: ``$CATEGORY: $course$/top/<category>`` when the category changes, tags on one
``// [tag:a] [tag:b]`` line, the stem with a ``[markdown]`` prefix (our texts are Markdown; the
options and explanation take its format) and escaped, followed by its answer block (multiple choice
with weights ``100/n`` for the n right options and ``-100`` for wrong ones), ``####explanation``.
Line breaks in texts are written as ``\\n``. An option or explanation that would otherwise be read
as a format prefix or comment (``[html]…``, ``//…``) gets a ``[markdown]`` prefix of its own, and an
answer that starts with ``%`` an explicit weight, so ``parse(export(qs))`` gives the questions back.
Export cannot report problems, so it leaves out, without notice, what GIFT cannot express: ordering
questions, fill-in-the-blank questions with several blanks or with an answer containing ``->`` (it
would read as matching), and questions that fail :func:`~question_bank.domain.validate`. Carriage
returns become line breaks; line breaks in the category or tags become spaces.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from question_bank import markdown
from question_bank.domain import N_, Problem, QuestionData, QuestionType, validate
from question_bank.formats.base import ParsedQuestion, ParseReport
from question_bank.formats.moodle_xml import category_from_path
from question_bank.formats.registry import Format, register
from question_bank.formats.text import decode

BLANK = "____"
_ESCAPABLE = "\\~=#{}:n"
_UNESCAPE = re.compile(r"\\([\\~=#{}:n])")
_TEXT_FORMATS = ("[html]", "[markdown]", "[plain]", "[moodle]")
_CLOZE = re.compile(r"\s*\d*:[A-Za-z_]+:")  # {1:MC:…}, {:SHORTANSWER:…}: embedded answers
_WEIGHT = re.compile(r"%(-?(?:\d+(?:\.\d*)?|\.\d+))%")
_TAG = re.compile(
    r"\[(tag|id):((?:\\.|[^\]\\\[])*)\]"
)  # no bare "[" inside: linear on "[tag:[tag:…"
_TAG_UNESCAPE = re.compile(r"\\([\[\]\\])")
_CATEGORY = "$CATEGORY:"
_TRUE, _FALSE = ("T", "TRUE"), ("F", "FALSE")
_LINE_BREAKS = re.compile(r"[\r\n]+")


_EMPTY_ANSWER = N_("An empty answer (a ~ or = with no text) was left out, as Moodle does.")
_ONE_RIGHT_OF_MANY = N_(
    "Without an = answer Moodle shows check boxes, but only one answer gets credit: imported as"
    " single choice."
)


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
    unsupported = [s for s in report.skipped if "kind" in s.params]
    if unsupported and not report.questions and not report.problems:
        report.problems.append(
            Problem(
                0,
                N_(
                    "None of the file's %(count)d questions is of a type that can be imported"
                    " (see the skipped questions): nothing to import."
                ),
                {"count": len(unsupported)},
            )
        )
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
    notes: list[str] = []
    try:
        question = _question(raw, category, _tags(comments), notes)
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
        report.skipped += [Problem(line, note) for note in dict.fromkeys(notes)]
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


def _split_format(raw: str) -> tuple[str | None, str]:
    """``[html]text`` → ``("html", "text")``; a text without a format prefix → ``(None, text)``."""
    text = raw.strip()
    for prefix in _TEXT_FORMATS:
        if text.startswith(prefix):
            return prefix[1:-1], text[len(prefix) :]
    return None, text


def _text(raw: str) -> str:
    """An answer to type in (fill-in-the-blank): format prefix removed, unescaped, trimmed."""
    return _unescape(_split_format(raw)[1].strip()).strip()


def _rich(raw: str, default: str, *, inline: bool = False, blanks: bool = False) -> str:
    """A stem, option or explanation as stored Markdown, read in its format (see the docstring)."""
    fmt, text = _split_format(raw)
    text = _unescape(text.strip()).strip()
    fmt = fmt or default
    if fmt == "markdown":
        return text
    if fmt == "plain":
        return markdown.from_plain(text, blanks=blanks and not inline)
    if fmt == "html":
        return markdown.from_html(text, inline=inline)
    return markdown.from_moodle_auto(text, inline=inline)


def _answer_blocks(raw: str) -> tuple[int, int]:
    """Where the one answer block is: the indexes of its ``{`` and ``}``."""
    opens, closes = _positions(raw, "{"), _positions(raw, "}")
    if not opens and not closes:
        raise _Skip("description")
    if not closes:
        raise _Bad(N_("The answer block opened with { is not closed with }."))
    if not opens or closes[0] < opens[0]:
        raise _Bad(N_("A } has no matching {; write a literal brace as \\}."))
    if len(opens) > 1 or len(closes) > 1:
        marks = sorted([(i, "{") for i in opens] + [(i, "}") for i in closes])
        if len(opens) == len(closes) and "".join(m for _, m in marks) == "{}" * len(opens):
            raise _Skip("embedded-answers (Cloze)")
        raise _Bad(
            N_("Only one answer block {…} per question; write literal braces as \\{ and \\}.")
        )
    return opens[0], closes[0]


def _question(raw: str, category: str, tags: tuple[str, ...], notes: list[str]) -> QuestionData:
    if raw.startswith("::"):
        end = _find_run(raw, ":", 2, start=2)
        raw = raw[2:] if end < 0 else raw[end + 2 :].strip()
    start, end = _answer_blocks(raw)
    answer_raw, explanation_raw = raw[start + 1 : end], ""
    feedback = _find_run(answer_raw, "#", 4, last=True)
    if feedback >= 0:
        explanation_raw = answer_raw[feedback + 4 :]
        answer_raw = answer_raw[:feedback]
    answer_raw = answer_raw.strip()
    kind = _unsupported(answer_raw)
    if kind:
        raise _Skip(kind)

    after = raw[end + 1 :]
    stem_raw = raw[:start] + BLANK + after if after.strip() else raw[:start]
    stem_format = _split_format(stem_raw)[0] or "moodle"  # answers take the stem's format
    stem = _rich(stem_raw, stem_format, blanks=True)
    explanation = _rich(explanation_raw, stem_format) if feedback >= 0 else ""
    common: dict[str, Any] = {"explanation": explanation, "category": category, "tags": tags}
    if _positions(answer_raw, "~"):
        return _choice(stem, answer_raw, common, stem_format, notes)
    hashes = _positions(answer_raw, "#")
    head = (answer_raw[: hashes[0]] if hashes else answer_raw).strip()
    if head in _TRUE or head in _FALSE:
        return QuestionData(type=QuestionType.TRUE_FALSE, stem=stem, answer=head in _TRUE, **common)
    answers = [_answer(piece, 100.0) for _, piece in _pieces(answer_raw)]
    if any(not text for text, _ in answers):
        notes.append(_EMPTY_ANSWER)
    accepted = tuple(text for text, weight in answers if weight >= 100 and text)
    if not accepted:
        raise _Bad(N_("No answer gets full credit; a fill-in-the-blank question keeps only those."))
    return QuestionData(type=QuestionType.FILL_BLANK, stem=stem, answer=(accepted,), **common)


def _unsupported(answer_raw: str) -> str | None:
    """The kind of an answer block we do not carry (essay, numerical …), or None."""
    if not answer_raw:
        return "essay"
    if _CLOZE.match(answer_raw):
        return "embedded-answers (Cloze)"
    if answer_raw.startswith("#"):
        return "numerical"
    if not _positions(answer_raw, "~") and _positions(answer_raw, "=") and "->" in answer_raw:
        return "matching"
    return None


def _choice(
    stem: str, answer_raw: str, common: dict[str, Any], text_format: str, notes: list[str]
) -> QuestionData:
    answers: list[tuple[str, float]] = []
    right_mark = False  # Moodle: an "=" makes it one answer to choose, none check boxes
    for mark, piece in _pieces(answer_raw):
        text, weight = _answer(piece, 100.0 if mark == "=" else 0.0)
        if not text:  # Moodle ignores empty answers: "~=c" is the right answer c
            notes.append(_EMPTY_ANSWER)
            continue
        right_mark = right_mark or mark == "="
        answers.append((_rich(_answer_text(piece), text_format, inline=True), weight))
    options = tuple(text for text, _ in answers)
    full = [i for i, (_, weight) in enumerate(answers) if weight >= 100]
    positive = [i for i, (_, weight) in enumerate(answers) if weight > 0]
    if (right_mark and len(full) == 1) or len(positive) == 1:
        if not right_mark:
            notes.append(_ONE_RIGHT_OF_MANY)
        single = full[0] if right_mark and len(full) == 1 else positive[0]
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


def _answer_text(piece: str) -> str:
    """An answer's raw text: feedback and weight dropped, escapes and format prefix kept."""
    body = piece.strip()
    hashes = _positions(body, "#")
    if hashes:
        body = body[: hashes[0]].strip()
    match = _WEIGHT.match(body)
    return body[match.end() :] if match else body


def _answer(piece: str, default_weight: float) -> tuple[str, float]:
    """An answer's text to type in (feedback dropped) and its weight in percent."""
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


def _written(text: str, *, stem: bool = False) -> str:
    """``text`` escaped, with a ``[markdown]`` prefix on a stem (options and the explanation take
    the stem's format) and on any text whose start would be read as syntax."""
    guard = stem or text.startswith((*_TEXT_FORMATS, "//", "\ufeff"))
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
        written = [
            "[tag:" + t.replace("\\", "\\\\").replace("]", "\\]").replace("[", "\\[") + "]"
            for t in tags
            if t
        ]
        if written:
            lines.append("// " + " ".join(written))
        lines.append(_written(question.stem.strip(), stem=True) + block)
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
