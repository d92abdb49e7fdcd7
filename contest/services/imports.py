"""Importing question files into a bank: validate everything, then commit all or nothing.

An import is an :class:`ImportJob` row holding the uploaded file. :func:`run_import` (run by the
``imports`` RQ job, or directly by the CLI) parses the whole file, checks every question — its own
rules, citations against the law library, duplicates — and, only when nothing is wrong, writes the
questions. The report lists the problems with their row or line, the skipped items (types we do
not support), the embedded files not imported (``files_skipped``: file name, question line,
reason; images in the file are stored with the questions), and the duplicates with what was done
about them: the first :data:`REPORT_LIMIT` of each, with the total counts (``problem_count``,
``skipped_count``, ``files_skipped_count``, ``duplicate_count``).

What an import may cost is bounded (:class:`question_bank.formats.Limits`: rows, cells, seconds;
``IMPORT_LIMITS`` in the app's config, :data:`question_bank.formats.LIMITS` unless set; a ZIP of
a sheet with its images unpacks to no more than ``MAX_CONTENT_LENGTH``); a file over a bound is
refused naming it.

**Transactions.** Other users share the database while an import runs, and on SQLite a writing
transaction locks out every other writer. So no transaction is open while the file is parsed and
checked: reading the job, the law library and the existing questions are short transactions of
their own (declared reads, see :func:`contest.extensions.reading`). The questions are then written
in batches of :data:`CHUNK`, one short transaction each.

**All or nothing with batches.** Everything that can refuse a file is checked before the first
batch, so a batch fails only on an internal error (the database or Redis going away, a bug).
Until the last transaction, the new questions are drafts — papers draw published questions only,
so no contestant can meet one — and updates of existing duplicates wait: the last transaction
applies the updates and gives the new questions the chosen status. If any write fails, the
questions and categories written by the earlier batches are deleted again and the import is
marked failed: the bank is as it was. (Organizers may glimpse the drafts while the import runs.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, exists, select, update

from contest.errors import InvalidInput, NotFound
from contest.extensions import db, reading
from contest.services import bank as bank_service
from contest.services import images as image_service
from contest.services.laws import citation_problems, load_library
from question_bank.domain import N_, Problem
from question_bank.formats import (
    Limits,
    ParsedQuestion,
    bundle,
    detect_format,
    formats,
)
from question_bank.images import StoredImage
from question_bank.models import (
    Bank,
    Category,
    ImportJob,
    ImportStatus,
    Question,
    QuestionStatus,
    QuestionVersion,
    StatusChange,
)

ON_DUPLICATE = ("skip", "update")
CHUNK = 500  # questions per write transaction: SQLite's write lock is held well under a second
REPORT_LIMIT = 1_000  # problems, skipped items and duplicates kept in a report, each
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
    # a .zip is a sheet with its images/ folder (question_bank.formats.bundle) or nothing we read
    name = format_name or detect_format(filename) or bundle.sheet_kind(content)
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


def capped(items: Sequence[Any]) -> tuple[list[Any], int]:
    """The first :data:`REPORT_LIMIT` of ``items`` and how many there are in all."""
    return list(items[:REPORT_LIMIT]), len(items)


@dataclass(frozen=True)
class _Source:
    """What the worker needs of an :class:`ImportJob`, read once: no transaction stays open."""

    id: int
    bank_id: int
    format: str
    on_duplicate: str
    initial_status: QuestionStatus
    created_by_id: int | None
    content: bytes

    @classmethod
    def of(cls, job: ImportJob) -> _Source:
        return cls(
            job.id,
            job.bank_id,
            job.format,
            job.on_duplicate,
            job.initial_status,
            job.created_by_id,
            job.content or b"",
        )


def run_import(
    import_id: int, *, now: Callable[[], datetime], progress: Progress | None = None
) -> ImportJob:
    """Run a queued import to the end (idempotent: a finished import is left as it is)."""
    job = get_import(import_id)
    if job.status in (ImportStatus.SUCCEEDED, ImportStatus.FAILED):
        return job
    job.status = ImportStatus.RUNNING
    source = _Source.of(job)
    db.session.commit()
    try:
        status, report = _run(source, now, progress)
    except Exception:
        db.session.rollback()
        problem = _problem_json(
            Problem(0, N_("The import stopped on an internal error; nothing was imported."))
        )
        _finish(import_id, ImportStatus.FAILED, {"problems": [problem], "problem_count": 1}, now())
        raise
    return _finish(import_id, status, report, now())


def _limits() -> Limits:
    limits = current_app.config["IMPORT_LIMITS"]
    assert isinstance(limits, Limits)
    # a ZIP of a sheet and its images unpacks to no more than an upload may hold
    upload = int(current_app.config["MAX_CONTENT_LENGTH"])
    return replace(limits, archive_bytes=min(limits.archive_bytes, upload))


def _run(
    source: _Source, now: Callable[[], datetime], progress: Progress | None
) -> tuple[ImportStatus, dict[str, Any]]:
    """Parse and check outside any transaction, then write; the final status and report."""
    # run_import committed: from here until the writes, nothing may begin a transaction (no
    # attribute of the expired job is read), and the reads below end theirs at once.
    parsed = formats()[source.format].read(source.content, _limits())
    with reading():
        library = load_library()
        db.session.commit()
    problems = list(parsed.problems)
    for item in parsed.questions:
        if item.question.citation is not None:
            problems += [
                Problem(item.line, p.message, p.params)
                for p in citation_problems(item.question.citation, library)
            ]
    if not problems and not parsed.questions:
        problems = [
            Problem(
                0,
                N_(
                    "None of the file's %(count)d questions is of a type that can be imported"
                    " (see the skipped questions): nothing to import."
                ),
                {"count": len(parsed.skipped)},
            )
            if parsed.skipped
            else Problem(0, N_("The file holds no questions."))
        ]
    problems.sort(key=lambda p: p.line)
    report: dict[str, Any] = {"created": 0, "updated": 0, "unchanged": 0}
    report["problems"], report["problem_count"] = capped([_problem_json(p) for p in problems])
    report["skipped"], report["skipped_count"] = capped([_problem_json(p) for p in parsed.skipped])
    report["files_skipped"], report["files_skipped_count"] = capped(
        [{"name": f.name, **_problem_json(f.reason), "line": f.line} for f in parsed.files_skipped]
    )
    if problems:
        return ImportStatus.FAILED, {**report, "duplicates": [], "duplicate_count": 0}
    writer = _Writer(source, now(), progress)
    writer.images = list(parsed.images.values())
    duplicates = writer.write(parsed.questions, report)
    report["duplicates"], report["duplicate_count"] = capped(duplicates)
    report["total"] = len(parsed.questions)
    return ImportStatus.SUCCEEDED, report


def _finish(
    import_id: int, status: ImportStatus, report: dict[str, Any], at: datetime
) -> ImportJob:
    total = report.pop("total", 0)
    job = get_import(import_id)
    job.status, job.report, job.finished_at, job.content = status, report, at, None
    job.total = total
    job.done = total if status is ImportStatus.SUCCEEDED else 0
    db.session.commit()
    return job


class _Writer:
    """Writes checked questions in short transactions, all or nothing (see the module docstring)."""

    def __init__(self, source: _Source, at: datetime, progress: Progress | None) -> None:
        self.source, self.at, self.progress = source, at, progress
        self.hidden = source.initial_status is not QuestionStatus.DRAFT
        self.created: list[int] = []
        self.new_categories: set[int] = set()
        self.images: list[StoredImage] = []  # the file's pictures, stored with the categories
        self.new_images: list[str] = []
        self.updates: list[tuple[ParsedQuestion, int, dict[str, Any]]] = []

    def write(self, items: list[ParsedQuestion], report: dict[str, Any]) -> list[dict[str, Any]]:
        """Write ``items``; the duplicates found. On any failure nothing stays written."""
        duplicates: list[dict[str, Any]] = []
        try:
            self._categories(items)
            seen_in_file: dict[str, int] = {}
            for start in range(0, len(items), CHUNK):
                chunk = items[start : start + CHUNK]
                report["created"] += self._batch(chunk, seen_in_file, duplicates)
                if self.progress:
                    self.progress(start + len(chunk), len(items))
            self._last(report)
        except BaseException:
            db.session.rollback()
            self._undo()
            raise
        return duplicates

    def _lock_bank(self) -> None:
        # PostgreSQL: two imports into one bank take turns batch by batch, so that neither misses
        # the other's questions when looking for duplicates (SQLite: BEGIN IMMEDIATE does it).
        db.session.execute(select(Bank.id).where(Bank.id == self.source.bank_id).with_for_update())

    def _categories(self, items: list[ParsedQuestion]) -> None:
        """Create the categories the file names and store its images (one transaction),
        remembering the new ones."""
        self._lock_bank()
        in_bank = select(Category.id).where(Category.bank_id == self.source.bank_id)
        before = set(db.session.scalars(in_bank))
        for path in sorted({item.question.category for item in items}):
            bank_service.ensure_category(self.source.bank_id, path)
        self.new_categories = set(db.session.scalars(in_bank)) - before
        self.new_images = image_service.store(
            self.images, actor_id=self.source.created_by_id, now=self.at
        )
        db.session.commit()

    def _batch(
        self,
        chunk: list[ParsedQuestion],
        seen_in_file: dict[str, int],
        duplicates: list[dict[str, Any]],
    ) -> int:
        """One transaction: the chunk's new questions (as drafts while hidden); how many."""
        self._lock_bank()
        keys = [bank_service.duplicate_hash(item.question) for item in chunk]
        existing = dict(
            db.session.execute(
                select(Question.duplicate_hash, Question.id).where(
                    Question.bank_id == self.source.bank_id,
                    Question.duplicate_hash.in_(sorted(set(keys))),
                )
            ).all()
        )
        new = []
        for item, key in zip(chunk, keys, strict=True):
            if key in seen_in_file:
                duplicates.append(
                    {"line": item.line, "of_line": seen_in_file[key], "action": "skipped"}
                )
                continue
            seen_in_file[key] = item.line
            if key in existing:
                entry = {"line": item.line, "question_id": existing[key], "action": "skipped"}
                duplicates.append(entry)
                if self.source.on_duplicate == "update":
                    self.updates.append((item, existing[key], entry))
            else:
                new.append(item.question)
        status = QuestionStatus.DRAFT if self.hidden else self.source.initial_status
        self.created += bank_service.add_questions_bulk(
            self.source.bank_id, new, actor_id=self.source.created_by_id, now=self.at, status=status
        )
        db.session.commit()
        return len(new)

    def _last(self, report: dict[str, Any]) -> None:
        """The last transaction: update the duplicates, give the new questions their status."""
        self._lock_bank()
        for item, question_id, entry in self.updates:
            changed = self._update(item, question_id)
            entry["action"] = "updated" if changed else "unchanged"
            report["updated" if changed else "unchanged"] += 1
        if self.hidden:
            status = self.source.initial_status
            for start in range(0, len(self.created), CHUNK):
                ids = self.created[start : start + CHUNK]
                db.session.execute(
                    update(Question).where(Question.id.in_(ids)).values(status=status)
                )
                db.session.execute(
                    update(StatusChange)
                    .where(StatusChange.question_id.in_(ids))
                    .values(to_status=status)
                )
        db.session.commit()

    def _update(self, item: ParsedQuestion, question_id: int) -> bool:
        # Only what the file's format carries replaces the stored question: an Aiken file has
        # no explanation, and must not erase the one the bank holds.
        stored = bank_service.question_data(bank_service.get_question(question_id))
        carried = {"type", "stem", "answer", *formats()[self.source.format].fields}
        merged = replace(stored, **{f: getattr(item.question, f) for f in carried})
        version = bank_service.edit_question(
            question_id, merged, actor_id=self.source.created_by_id, now=self.at, checked=True
        )
        return bool(version)

    def _undo(self) -> None:
        """Delete what the committed batches wrote (one transaction)."""
        if not self.created and not self.new_categories and not self.new_images:
            return
        image_service.delete_unused(self.new_images)
        for start in range(0, len(self.created), CHUNK):
            ids = self.created[start : start + CHUNK]
            db.session.execute(
                update(Question).where(Question.id.in_(ids)).values(current_version_id=None)
            )
            for model in (StatusChange, QuestionVersion):
                db.session.execute(delete(model).where(model.question_id.in_(ids)))
            db.session.execute(delete(Question).where(Question.id.in_(ids)))
        unused = ~exists().where(Question.category_id == Category.id)
        for category_id in sorted(self.new_categories, reverse=True):  # children after parents
            db.session.execute(delete(Category).where(Category.id == category_id, unused))
        db.session.commit()
