"""The import job: runs a queued question import and publishes its progress in Redis."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from flask import current_app
from rq import Retry

from contest.services.imports import run_import
from workers import progress, queues
from workers.runner import get_queue

TIMEOUT_S = 600


def progress_key(import_id: int) -> str:
    return f"import:{import_id}:progress"


def import_questions(import_id: int) -> str:
    """Job body: run the import; progress goes to ``import:<id>:progress`` (done/total)."""
    publish = progress.publisher(progress_key(import_id))
    job = run_import(import_id, now=lambda: datetime.now(UTC), progress=publish)
    return job.status.value


def enqueue_import(import_id: int) -> None:
    """Queue the import (call after the ImportJob row is committed)."""
    enqueue_upload_job(import_questions, import_id, f"import-{import_id}")


def enqueue_upload_job(
    function: Callable[[int], str], upload_id: int, job_id: str, timeout_s: int = TIMEOUT_S
) -> None:
    """Queue a job over an uploaded file (questions or a roster) on the ``imports`` queue, with
    the one retry and the result lifetimes such jobs share."""
    get_queue(current_app._get_current_object(), queues.IMPORTS).enqueue(  # type: ignore[attr-defined]
        function,
        upload_id,
        job_id=job_id,
        job_timeout=timeout_s,
        retry=Retry(max=1),
        result_ttl=3600,
        failure_ttl=24 * 3600,
    )


def read_progress(import_id: int) -> tuple[int, int] | None:
    return progress.read(progress_key(import_id))
