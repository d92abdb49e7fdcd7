"""The roster job: checks or imports an uploaded roster and publishes its progress in Redis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import current_app

from contest.services.roster_jobs import (
    PASSWORDS_TTL,
    READY,
    drop_expired_passwords,
    run_roster_import,
)
from workers import progress, queues
from workers.imports import enqueue_upload_job
from workers.runner import get_queue

# 50,000 Argon2id hashes take minutes on two idle cores (the rest is seconds), and much longer on
# a busy machine (bench/HISTORY.md): allow two hours.
TIMEOUT_S = 7200


def progress_key(import_id: int) -> str:
    return f"roster:{import_id}:progress"


def process_roster(import_id: int) -> str:
    """Job body: run the upload's next step; progress goes to ``roster:<id>:progress``
    (done/total passwords hashed). Expired sealed passwords are dropped on the way."""
    publish = progress.publisher(progress_key(import_id))
    drop_expired_passwords(datetime.now(UTC))
    job = run_roster_import(import_id, now=lambda: datetime.now(UTC), progress=publish)
    if job.passwords_sealed is not None and job.passwords_expire_at is not None:
        schedule_expiry(import_id, job.passwords_expire_at)
    elif job.status == READY:  # a preview nobody confirms is dropped after as long
        schedule_expiry(import_id, job.created_at + PASSWORDS_TTL)
    return job.status


def expire_passwords() -> int:
    """Job body: drop every sealed password list past its expiry; how many."""
    return drop_expired_passwords(datetime.now(UTC))


def schedule_expiry(import_id: int, at: datetime) -> None:
    """Have RQ's scheduler drop the import's sealed passwords (or its unconfirmed preview) just
    after they expire; each run of :func:`process_roster` drops any a lost schedule left."""
    get_queue(current_app._get_current_object(), queues.DEFAULT).enqueue_at(  # type: ignore[attr-defined]
        at + timedelta(seconds=1),
        expire_passwords,
        job_id=f"roster-{import_id}-expire",
        job_timeout=60,
    )


def enqueue_roster(import_id: int, step: str) -> None:
    """Queue the upload's next step (after its row is committed): ``check`` or ``import``."""
    enqueue_upload_job(process_roster, import_id, f"roster-{import_id}-{step}", TIMEOUT_S)


def read_progress(import_id: int) -> tuple[int, int] | None:
    return progress.read(progress_key(import_id))
