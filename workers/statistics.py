"""The statistics job: computes a contest's report on the ``default`` queue and caches it."""

from __future__ import annotations

from contest.services.statistics import run_report_job


def compute_contest_report(contest_id: int, fingerprint: str) -> str:
    """Job body: compute and store the report of ``contest_id`` (see
    :func:`contest.services.statistics.run_report_job`)."""
    return run_report_job(contest_id, fingerprint)
