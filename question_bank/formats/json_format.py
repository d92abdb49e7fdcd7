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

Problems are reported with the 1-based position of the question in the list as the line.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

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
from question_bank.formats import Format, ParsedQuestion, ParseReport, SkippedFile, register
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


def question_from_dict(data: Any) -> tuple[QuestionData | None, list[Problem]]:
    """A question from its dict form, or the problems that prevent it (lines unset)."""
    if not isinstance(data, dict):
        return None, [Problem(0, N_("A question must be an object."))]
    try:
        kind = QuestionType(str(data.get("type")))
    except ValueError:
        return None, [Problem(0, N_("Unknown question type %(type)r."), {"type": data.get("type")})]
    try:
        difficulty = Difficulty(data.get("difficulty") or "medium")
    except ValueError:
        return None, [
            Problem(0, N_("Unknown difficulty %(value)r."), {"value": data.get("difficulty")})
        ]
    stem, options = data.get("stem"), data.get("options") or []
    tags, explanation = data.get("tags") or [], data.get("explanation") or ""
    category = data.get("category") or ""
    if (
        not isinstance(stem, str)
        or not isinstance(options, list)
        or not all(isinstance(o, str) for o in options)
        or not isinstance(tags, list)
        or not all(isinstance(t, str) for t in tags)
        or not isinstance(explanation, str)
        or not isinstance(category, str)
    ):
        return None, [Problem(0, N_("Fields have the wrong types (see the JSON schema)."))]
    citation, problems = _citation(data.get("citation"))
    if problems:
        return None, problems
    try:
        answer = answer_from_json(kind, data.get("answer"))
    except (TypeError, ValueError):
        return None, [Problem(0, N_("The answer has the wrong form for this type."))]
    question = QuestionData(
        type=kind,
        stem=stem,
        options=tuple(options),
        answer=answer,
        explanation=explanation,
        difficulty=difficulty,
        category=category,
        tags=tuple(tags),
        citation=citation,
    )
    return question, validate(question)


def _citation(data: Any) -> tuple[Citation | None, list[Problem]]:
    if data is None:
        return None, []
    bad = [Problem(0, N_("The citation needs a law and a positive article number."))]
    if not isinstance(data, dict) or not isinstance(data.get("law"), str):
        return None, bad
    article = data.get("article")
    if isinstance(article, bool) or not isinstance(article, int) or article < 1:
        return None, bad
    version, quote = data.get("version"), data.get("quote")
    if not isinstance(version, str | None) or not isinstance(quote, str | None):
        return None, bad
    return Citation(law=data["law"], article=article, version=version, quote=quote), []


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
    if isinstance(document, list):
        items = document
    elif isinstance(document, dict) and isinstance(document.get("questions"), list):
        items = document["questions"]
    else:
        report.problems.append(Problem(0, N_('Expected {"questions": [...]} or a list.')))
        return report
    renamed = _images(document.get("images") if isinstance(document, dict) else None, report)
    for number, item in enumerate(items, start=1):
        question, problems = question_from_dict(item)
        report.problems += [Problem(number, p.message, p.params) for p in problems]
        if question is not None and not problems:
            report.questions.append(ParsedQuestion(number, _relinked(question, renamed)))
    return report


def _images(data: Any, report: ParseReport) -> dict[str, str]:
    """Prepare the document's images into ``report.images``; old name → new URL where the name
    changed."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        report.problems.append(Problem(0, N_('"images" must map image names to base64 text.')))
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
