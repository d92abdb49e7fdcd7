"""Our own JSON format: carries every field of every type.

Schema (version 1)::

    {"format": "netsec-contest-questions", "version": 1,
     "questions": [{"type": "single|multiple|true_false|fill_blank|ordering",
                    "stem": "Markdown", "options": ["…"],
                    "answer": <single: 0-based option index; multiple: [indexes];
                               true_false: true|false; fill_blank: [["alt", …] per blank];
                               ordering: [indexes in the right order]>,
                    "explanation": "…", "difficulty": "easy|medium|hard",
                    "category": "法律法规/网络安全法", "tags": ["…"],
                    "citation": {"law": "网络安全法", "version": "2016-11-07",
                                 "article": 21, "quote": "…"} | null}],
     "images": {"<sha256>.png": "<base64 of the image>", …}}

Texts link to images as ``/media/<sha256>.<ext>`` (Markdown ``![…](/media/…)``). ``images``
(optional) carries the images the exported texts link to. On import each is prepared again
(:func:`question_bank.images.prepare`: checked, rebuilt); should that give other bytes (a file
made elsewhere), the links follow the new name. An image that is not taken is listed in the
report, and its links stay as they were.

The document and each question are checked by marshmallow schemas (:class:`DocumentSchema`,
:class:`QuestionSchema`). Problems are reported with the 1-based position of the question in the
list as the line, one a question, in this format's own (translated) words.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

import marshmallow as ma

from question_bank.domain import (
    N_,
    Citation,
    Difficulty,
    Problem,
    QuestionData,
    QuestionType,
    answer_from_json,
    answer_to_json,
    validate,
)
from question_bank.formats.base import ParsedQuestion, ParseReport, SkippedFile
from question_bank.formats.registry import Format, register
from question_bank.formats.text import decode
from question_bank.images import NAME, ImageRefused, prepare, replace_links

MARKER = "netsec-contest-questions"
VERSION = 1


def question_to_dict(question: QuestionData) -> dict[str, Any]:
    citation = question.citation
    return {
        "type": question.type.value,
        "stem": question.stem,
        "options": list(question.options),
        "answer": answer_to_json(question),
        "explanation": question.explanation,
        "difficulty": question.difficulty.value,
        "category": question.category,
        "tags": list(question.tags),
        "citation": None
        if citation is None
        else {
            "law": citation.law,
            "version": citation.version,
            "article": citation.article,
            "quote": citation.quote,
        },
    }


# The problem a question whose answer does not fit its type gets (see QuestionSchema).
_WRONG_ANSWER = N_("The answer has the wrong form for this type.")

# Fields that count as absent when empty or false (null, "", [], 0 …), as the format always read
# them.
_OPTIONAL = frozenset({"options", "explanation", "difficulty", "category", "tags"})


class CitationSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE  # keys the format does not define are ignored

    law = ma.fields.String(required=True)
    article = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(min=1))
    version = ma.fields.String(allow_none=True, load_default=None)
    quote = ma.fields.String(allow_none=True, load_default=None)

    @ma.post_load
    def _citation(self, data: dict[str, Any], **kwargs: Any) -> Citation:
        return Citation(**data)


class QuestionSchema(ma.Schema):
    """One item of ``questions``; loads to a :class:`QuestionData` that
    :func:`question_bank.domain.validate` has still to check (answer in range, options …)."""

    class Meta:
        unknown = ma.EXCLUDE

    type = ma.fields.Enum(QuestionType, by_value=ma.fields.String, required=True)
    stem = ma.fields.String(required=True)
    options = ma.fields.List(ma.fields.String(), load_default=())
    answer = ma.fields.Raw(allow_none=True, load_default=None)  # its form follows the type
    explanation = ma.fields.String(load_default="")
    difficulty = ma.fields.Enum(
        Difficulty, by_value=ma.fields.String, load_default=Difficulty.MEDIUM
    )
    category = ma.fields.String(load_default="")
    tags = ma.fields.List(ma.fields.String(), load_default=())
    citation = ma.fields.Nested(CitationSchema, allow_none=True, load_default=None)

    @ma.pre_load
    def _empty_is_absent(self, data: Any, **kwargs: Any) -> Any:
        if not isinstance(data, dict):
            return data  # refused by the schema itself
        return {key: value for key, value in data.items() if value or key not in _OPTIONAL}

    @ma.post_load
    def _question(self, data: dict[str, Any], **kwargs: Any) -> QuestionData:
        kind = data["type"]
        try:
            answer = answer_from_json(kind, data["answer"])
        except (TypeError, ValueError, RecursionError):
            raise ma.ValidationError(_WRONG_ANSWER, "answer") from None
        return QuestionData(
            type=kind,
            stem=data["stem"],
            options=tuple(data["options"]),
            answer=answer,
            explanation=data["explanation"],
            difficulty=data["difficulty"],
            category=data["category"],
            tags=tuple(data["tags"]),
            citation=data["citation"],
        )


class DocumentSchema(ma.Schema):
    """The document: ``questions`` (items loaded one by one with :class:`QuestionSchema`, so each
    problem names its question) and ``images``. A bare list is read as the questions."""

    class Meta:
        unknown = ma.EXCLUDE  # "format", "version": not checked

    questions = ma.fields.List(ma.fields.Raw(allow_none=True), required=True)
    images = ma.fields.Dict(allow_none=True, load_default=None)

    @ma.pre_load
    def _bare_list(self, data: Any, **kwargs: Any) -> Any:
        return {"questions": data} if isinstance(data, list) else data


_QUESTION = QuestionSchema()
_DOCUMENT = DocumentSchema()


def _problem(data: Any, errors: Mapping[str, Any]) -> Problem:
    """The one problem reported for a question :class:`QuestionSchema` refused (``errors``: its
    messages per field): the first refused of type, difficulty, the other fields, citation,
    answer. The schema's own wording is not shown: these messages are translated."""
    if not isinstance(data, dict):
        return Problem(0, N_("A question must be an object."))
    if "type" in errors:
        return Problem(0, N_("Unknown question type %(type)r."), {"type": data.get("type")})
    if "difficulty" in errors:
        return Problem(0, N_("Unknown difficulty %(value)r."), {"value": data.get("difficulty")})
    if errors.keys() - {"citation", "answer"}:
        return Problem(0, N_("Fields have the wrong types (see the JSON schema)."))
    if "citation" in errors:
        return Problem(0, N_("The citation needs a law and a positive article number."))
    return Problem(0, _WRONG_ANSWER)


def question_from_dict(data: Any) -> tuple[QuestionData | None, list[Problem]]:
    """A question from its dict form, or the problems that prevent it (lines unset)."""
    try:
        question: QuestionData = _QUESTION.load(data)
    except ma.ValidationError as exc:
        errors = exc.messages if isinstance(exc.messages, dict) else {}
        return None, [_problem(data, errors)]
    return question, validate(question)


def parse(content: bytes) -> ParseReport:
    report = ParseReport()
    text, problem = decode(content)
    if problem:
        report.problems.append(problem)
        return report
    try:
        document = json.loads(text or "")
    except (ValueError, RecursionError) as exc:
        line = getattr(exc, "lineno", 0)
        report.problems.append(Problem(line, N_("Not valid JSON: %(error)s"), {"error": str(exc)}))
        return report
    try:
        loaded = _DOCUMENT.load(document)
    except ma.ValidationError as exc:
        if not isinstance(exc.messages, dict) or exc.messages.keys() != {"images"}:
            report.problems.append(Problem(0, N_('Expected {"questions": [...]} or a list.')))
            return report
        report.problems.append(Problem(0, N_('"images" must map image names to base64 text.')))
        loaded = {"questions": document["questions"], "images": None}
    renamed = _images(loaded["images"], report)
    for number, item in enumerate(loaded["questions"], start=1):
        question, problems = question_from_dict(item)
        report.problems += [Problem(number, p.message, p.params) for p in problems]
        if question is not None and not problems:
            report.questions.append(ParsedQuestion(number, _relinked(question, renamed)))
    return report


def _images(data: Mapping[Any, Any] | None, report: ParseReport) -> dict[str, str]:
    """Prepare the document's images into ``report.images``; old name → new URL where the name
    changed. An entry that is not name → text is skipped as damaged, the others still taken."""
    if data is None:
        return {}
    renamed = {}
    for name, text in data.items():
        try:
            if not isinstance(name, str) or not isinstance(text, str):
                raise ImageRefused(N_("The file's base64 text is damaged."))
            try:
                content = base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                raise ImageRefused(N_("The file's base64 text is damaged.")) from None
            image = prepare(content)
        except ImageRefused as exc:
            reason = Problem(0, exc.message, exc.params)
            report.files_skipped.append(SkippedFile(0, str(name), reason))
            continue
        report.images.setdefault(image.name, image)
        if image.name != name and NAME.fullmatch(name):
            renamed[name] = image.url
    return renamed


def _relinked(question: QuestionData, renamed: dict[str, str]) -> QuestionData:
    if not renamed:
        return question
    return dataclasses.replace(
        question,
        stem=replace_links(question.stem, renamed),
        options=tuple(replace_links(o, renamed) for o in question.options),
        explanation=replace_links(question.explanation, renamed),
    )


def export(questions: Sequence[QuestionData], images: Mapping[str, bytes] | None = None) -> bytes:
    """The JSON document; ``images`` (stored name → bytes) the texts link to are carried along."""
    document: dict[str, Any] = {
        "format": MARKER,
        "version": VERSION,
        "questions": [question_to_dict(q) for q in questions],
    }
    if images:
        document["images"] = {
            name: base64.b64encode(content).decode("ascii")
            for name, content in sorted(images.items())
        }
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


register(
    Format(
        name="json",
        extensions=(".json",),
        parse=parse,
        export=export,
        types=frozenset(QuestionType),
        media_type="application/json",
        fields=frozenset({"options", "explanation", "difficulty", "category", "tags", "citation"}),
        carries_images=True,
    )
)
