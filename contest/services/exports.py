"""Exports: files generated for a contest on the ``default`` queue, kept for a day.

An :class:`~contest.models.ExportJob` row records what was asked (``kind`` and ``params``), who
asked, the progress and, once done, the file itself. Each kind registers how its file is built
with :func:`register_kind`; :func:`start_export` commits the job and queues it
(:func:`enqueue_export`), the worker's job (:func:`workers.exports.process_export`, named by its
dotted path: the worker module imports this one) calls :func:`run_export`.

The file is dropped 24 hours after the job was started (``expires_at``): lazily, whenever a job
runs and whenever an export is read (:func:`drop_expired`), so nothing else has to be scheduled.

Who may read an export: :func:`can_access` — organizers (admins and district organizers alike:
every organizer sees every contest's monitoring and boards, so a contest's export too).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import update

from contest.errors import InvalidInput, NotFound, Unavailable
from contest.extensions import db
from contest.models import Contest, ExportJob, User
from contest.services import audit
from workers import queues
from workers.runner import get_queue

TTL = timedelta(hours=24)

QUEUED = "queued"
RUNNING = "running"
DONE = "done"
FAILED = "failed"
EXPIRED = "expired"

Progress = Callable[[int, int], None]
# build(job, progress) -> (filename, mimetype, content)
Build = Callable[[ExportJob, Progress], tuple[str, str, bytes]]

_KINDS: dict[str, Build] = {}

# The job, by its dotted path (RQ imports it in the worker).
EXPORT_JOB = "workers.exports.process_export"
# 50,000 rows take seconds; a slow database gets some room.
TIMEOUT_S = 1800
# A certificates archive lays out one PDF per awardee: 7,200 s covers about 30,000 at the
# measured cost of a certificate (bench/HISTORY.md).
KIND_TIMEOUT_S = {"certificates": 7200}

# Modules that register a kind when imported: imported on first use, so the web process and the
# worker know the same kinds without the app importing every exporter up front.
KIND_MODULES = {
    "results": "contest.services.results_export",
    "certificates": "contest.services.certificates",
}


def register_kind(kind: str, build: Build) -> None:
    """Make ``kind`` exportable: ``build(job, progress)`` returns (filename, mimetype, content)
    and calls ``progress(done, total)`` as it goes."""
    _KINDS[kind] = build


def builder(kind: str) -> Build | None:
    """The build function of ``kind`` (importing its module if it registers there)."""
    if kind not in _KINDS and kind in KIND_MODULES:
        name = KIND_MODULES[kind]
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return _KINDS.get(kind)


def now() -> datetime:
    return datetime.now(UTC)


def start_export(
    kind: str,
    contest_id: int,
    params: dict[str, Any],
    actor: User,
    *,
    at: datetime | None = None,
) -> ExportJob:
    """Record an export of ``contest_id`` (audited), commit it and queue it on ``default``."""
    if builder(kind) is None:
        raise InvalidInput(_("Unknown export kind."), code="unknown_kind")
    if db.session.get(Contest, contest_id) is None:
        raise NotFound(_("Contest not found."))
    moment = at or now()
    drop_expired(moment)
    job = ExportJob(
        kind=kind,
        contest_id=contest_id,
        params=dict(params),
        status=QUEUED,
        created_by_id=actor.id,
        created_at=moment,
        expires_at=moment + TTL,
    )
    db.session.add(job)
    db.session.flush()
    audit.record(
        "export.start",
        target_type="contest",
        target_id=contest_id,
        contest_id=contest_id,
        after={"export_id": job.id, "kind": kind, **params},
        actor=actor,
    )
    job_id = job.id
    db.session.commit()
    try:
        enqueue_export(job_id)
    except redis.RedisError as exc:
        # Nothing would ever run it: say so on the job rather than leave it queued for good.
        job.status, job.error = FAILED, _("The job queue could not be reached.")
        db.session.commit()
        raise Unavailable(
            _("The job queue could not be reached. Please try again."),
            code="queue_unavailable",
            retry_after=30,
        ) from exc
    return job


def timeout_for(kind: str) -> int:
    """The RQ job timeout of an export of ``kind`` (seconds)."""
    return KIND_TIMEOUT_S.get(kind, TIMEOUT_S)


def enqueue_export(export_id: int) -> None:
    """Queue the export on ``default`` (after its row is committed), with its kind's timeout."""
    job = db.session.get(ExportJob, export_id)
    timeout = timeout_for(job.kind) if job is not None else TIMEOUT_S
    get_queue(current_app._get_current_object(), queues.DEFAULT).enqueue(  # type: ignore[attr-defined]
        EXPORT_JOB,
        export_id,
        job_id=f"export-{export_id}",
        job_timeout=timeout,
        result_ttl=3600,
        failure_ttl=24 * 3600,
    )


def get_export(job_id: int, *, at: datetime | None = None) -> ExportJob:
    """The export ``job_id`` (its content dropped first if it has expired); NotFound if none."""
    drop_expired(at or now())
    job = db.session.get(ExportJob, job_id)
    if job is None:
        raise NotFound(_("Export not found."))
    return job


def can_access(job: ExportJob, user: Any) -> bool:
    """Whether ``user`` may see the export and download its file: an organizer (every organizer
    sees every contest's results), never a contestant or a visitor."""
    return bool(getattr(user, "is_authenticated", False) and user.is_organizer)


def drop_expired(at: datetime) -> int:
    """Drop the content of every export past its expiry (status ``expired``); how many. Commits
    when it dropped any."""
    result = db.session.execute(
        update(ExportJob)
        .where(ExportJob.expires_at <= at, ExportJob.status != EXPIRED)
        .values(content=None, status=EXPIRED)
        .execution_options(synchronize_session="fetch")
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    if count:
        db.session.commit()
    return count


def run_export(job_id: int, progress: Progress, *, at: Callable[[], datetime] = now) -> ExportJob:
    """Build the export's file (the worker's job body): running → done with the file, or failed
    with the error. Expired exports are dropped first; an expired or finished job is left as is."""
    drop_expired(at())
    found = db.session.get(ExportJob, job_id)
    if found is None:
        raise NotFound(_("Export not found."))
    job: ExportJob = found
    if job.status not in (QUEUED, RUNNING):
        return job
    build = builder(job.kind)
    job.status = RUNNING
    db.session.commit()
    try:
        if build is None:
            raise InvalidInput(_("Unknown export kind."), code="unknown_kind")

        def publish(done: int, total: int) -> None:
            job.done, job.total = done, total
            progress(done, total)

        filename, mimetype, content = build(job, publish)
    except Exception as exc:
        db.session.rollback()
        failed = db.session.get(ExportJob, job_id)
        if failed is not None:
            failed.status = FAILED
            failed.error = str(getattr(exc, "message", "")) or type(exc).__name__
            failed.finished_at = at()
            db.session.commit()
        raise
    job.filename, job.mimetype, job.content = filename, mimetype, content
    job.status = DONE
    job.total = max(job.total, job.done)
    job.done = job.total
    job.finished_at = at()
    db.session.commit()
    progress(job.done, job.total)
    return job
