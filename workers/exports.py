"""The export job: builds a queued export's file and publishes its progress in Redis.

:func:`contest.services.exports.enqueue_export` queues :func:`process_export` by its dotted path.
"""

from __future__ import annotations

from contest.services.exports import run_export
from workers import progress


def progress_key(export_id: int) -> str:
    return f"export:{export_id}:progress"


def process_export(export_id: int) -> str:
    """Job body: build the export; progress goes to ``export:<id>:progress`` (done/total)."""
    job = run_export(export_id, progress.publisher(progress_key(export_id)))
    return job.status


def read_progress(export_id: int) -> tuple[int, int] | None:
    return progress.read(progress_key(export_id))
