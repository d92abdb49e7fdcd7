"""Importing question files into a bank: validate everything, then commit all or nothing.

An import is an :class:`ImportJob` row holding the uploaded file. :func:`run_import` (run by the
``imports`` RQ job, or directly by the CLI) parses the whole file, checks every question — its own
rules, citations against the law library, duplicates — and, only when nothing is wrong, writes all
questions in one transaction. The report lists every problem with its row or line, the skipped
items (types we do not support), and the duplicates with what was done about them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from contest.errors import InvalidInput, NotFound
from contest.extensions import db
from contest.services import bank as bank_service
from contest.services.laws import citation_problems, load_library
from question_bank.domain import N_, Problem
from question_bank.formats import ParsedQuestion, detect_format, formats
from question_bank.models import Bank, ImportJob, ImportStatus, Question, QuestionStatus

ON_DUPLICATE = ("skip", "update")
CHUNK = 500
Progress = Callable[[int, int], None]


def create_import(
    bank_id: int,
    filename: str,
    content: bytes,
    *,
    actor_id: int | None,
    now: datetime,
    format_name: str | None = None,
    on_duplicate: str = "skip",
    initial_status: QuestionStatus = QuestionStatus.DRAFT,
) -> ImportJob:
    """Record an import (committed) so that a worker can run it."""
    bank_service.get_bank(bank_id)
    name = format_name or detect_format(filename)
    if name not in formats():
        raise InvalidInput(
            _("Unknown file format; use one of: %(names)s.", names=", ".join(sorted(formats()))),
            code="unknown_format",
        )
    if on_duplicate not in ON_DUPLICATE:
        raise InvalidInput(_("on_duplicate is skip or update."))
    job = ImportJob(
        bank_id=bank_id,
        filename=filename[:255],
        format=name,
        on_duplicate=on_duplicate,
        initial_status=initial_status,
        content=content,
        created_by_id=actor_id,
        created_at=now,
    )
    db.session.add(job)
    db.session.commit()
    return job


def get_import(import_id: int) -> ImportJob:
    job = db.session.get(ImportJob, import_id)
    if job is None:
        raise NotFound(_("No import %(id)s.", id=import_id))
    return job


def _problem_json(problem: Problem) -> dict[str, Any]:
    return {"line": problem.line, "message": problem.message, "params": problem.params}


def run_import(
    import_id: int, *, now: Callable[[], datetime], progress: Progress | None = None
) -> ImportJob:
    """Run a queued import to the end (idempotent: a finished import is left as it is)."""
    job = get_import(import_id)
    if job.status in (ImportStatus.SUCCEEDED, ImportStatus.FAILED):
        return job
    job.status = ImportStatus.RUNNING
    db.session.commit()
    try:
        _run(job, now, progress)
    except Exception:
        db.session.rollback()
        job = get_import(import_id)
        job.status = ImportStatus.FAILED
        job.report = {
            **(job.report or {}),
            "problems": [
                _problem_json(
                    Problem(0, N_("The import stopped on an internal error; nothing was imported."))
                )
            ],
        }
        job.finished_at = now()
        db.session.commit()
        raise
    return job


def _run(job: ImportJob, now: Callable[[], datetime], progress: Progress | None) -> None:
    parsed = formats()[job.format].parse(job.content or b"")
    library = load_library()
    problems = list(parsed.problems)
    for item in parsed.questions:
        if item.question.citation is not None:
            problems += [
                Problem(item.line, p.message, p.params)
                for p in citation_problems(item.question.citation, library)
            ]
    report: dict[str, Any] = {
        "problems": [_problem_json(p) for p in sorted(problems, key=lambda p: p.line)],
        "skipped": [_problem_json(p) for p in parsed.skipped],
        "duplicates": [],
        "created": 0,
        "updated": 0,
        "unchanged": 0,
    }
    if problems or not parsed.questions:
        if not problems:
            report["problems"] = [_problem_json(Problem(0, N_("The file holds no questions.")))]
        _finish(job, ImportStatus.FAILED, report, now())
        return
    _apply(job, parsed.questions, report, now, progress)
    _finish(job, ImportStatus.SUCCEEDED, report, now())


def _finish(job: ImportJob, status: ImportStatus, report: dict[str, Any], at: datetime) -> None:
    job.status, job.report, job.finished_at, job.content = status, report, at, None
    job.done = job.total if status is ImportStatus.SUCCEEDED else 0
    db.session.commit()


def _apply(
    job: ImportJob,
    items: list[ParsedQuestion],
    report: dict[str, Any],
    now: Callable[[], datetime],
    progress: Progress | None,
) -> None:
    """Write every question in one transaction; a failure rolls all of it back."""
    # Lock the bank row (PostgreSQL) so that two imports into one bank do not interleave:
    # each would miss the other's questions when looking for duplicates.
    db.session.execute(select(Bank.id).where(Bank.id == job.bank_id).with_for_update())
    existing = dict(
        db.session.execute(
            select(Question.duplicate_hash, Question.id).where(Question.bank_id == job.bank_id)
        ).all()
    )
    seen_in_file: dict[str, int] = {}
    job.total = len(items)
    at = now()
    for start in range(0, len(items), CHUNK):
        new = []
        for item in items[start : start + CHUNK]:
            key = bank_service.duplicate_hash(item.question)
            if key in seen_in_file:
                report["duplicates"].append(
                    {"line": item.line, "of_line": seen_in_file[key], "action": "skipped"}
                )
                continue
            seen_in_file[key] = item.line
            if key in existing:
                _duplicate(job, item, existing[key], report, at)
            else:
                new.append(item.question)
        bank_service.add_questions_bulk(
            job.bank_id, new, actor_id=job.created_by_id, now=at, status=job.initial_status
        )
        report["created"] += len(new)
        if progress:
            progress(min(start + CHUNK, len(items)), len(items))


def _duplicate(
    job: ImportJob, item: ParsedQuestion, question_id: int, report: dict[str, Any], at: datetime
) -> None:
    entry = {"line": item.line, "question_id": question_id, "action": "skipped"}
    if job.on_duplicate == "update":
        # Only what the file's format carries replaces the stored question: an Aiken file has
        # no explanation, and must not erase the one the bank holds.
        stored = bank_service.question_data(bank_service.get_question(question_id))
        carried = {"type", "stem", "answer", *formats()[job.format].fields}
        merged = replace(stored, **{f: getattr(item.question, f) for f in carried})
        version = bank_service.edit_question(
            question_id, merged, actor_id=job.created_by_id, now=at, checked=True
        )
        entry["action"] = "updated" if version else "unchanged"
        report["updated" if version else "unchanged"] += 1
    report["duplicates"].append(entry)
