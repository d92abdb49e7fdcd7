"""The export job: builds a queued export's file and publishes its progress in Redis."""

from __future__ import annotations

from flask import current_app

from contest.extensions import db
from contest.models import ExportJob
from contest.services.exports import run_export
from workers import progress, queues
from workers.runner import get_queue

# 50,000 rows take seconds; a slow database gets some room.
TIMEOUT_S = 1800
# A certificates archive lays out one PDF per awardee (about 0.2 s each): 7,200 s is ~30,000.
KIND_TIMEOUT_S = {"certificates": 7200}


def timeout_for(kind: str) -> int:
    """The RQ job timeout of an export of ``kind`` (seconds)."""
    return KIND_TIMEOUT_S.get(kind, TIMEOUT_S)


def progress_key(export_id: int) -> str:
    return f"export:{export_id}:progress"


def process_export(export_id: int) -> str:
    """Job body: build the export; progress goes to ``export:<id>:progress`` (done/total)."""
    job = run_export(export_id, progress.publisher(progress_key(export_id)))
    return job.status


def enqueue_export(export_id: int) -> None:
    """Queue the export on ``default`` (after its row is committed), with its kind's timeout."""
    job = db.session.get(ExportJob, export_id)
    timeout = timeout_for(job.kind) if job is not None else TIMEOUT_S
    get_queue(current_app._get_current_object(), queues.DEFAULT).enqueue(  # type: ignore[attr-defined]
        process_export,
        export_id,
        job_id=f"export-{export_id}",
        job_timeout=timeout,
        result_ttl=3600,
        failure_ttl=24 * 3600,
    )


def read_progress(export_id: int) -> tuple[int, int] | None:
    return progress.read(progress_key(export_id))
