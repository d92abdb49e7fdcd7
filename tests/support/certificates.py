"""Scored attempts for certificates, and a PDF read as a reader would read it."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from contest.extensions import db
from contest.models import Attempt, AttemptStatus

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def scored(round_id: int, user_id: int, score: str, time_used_s: int) -> None:
    """A scored attempt (app context, not committed)."""
    db.session.add(
        Attempt(
            round_id=round_id,
            user_id=user_id,
            number=1,
            seed=1,
            status=AttemptStatus.SCORED,
            started_at=T0,
            deadline_at=T0 + timedelta(hours=1),
            submitted_at=T0 + timedelta(minutes=30),
            submitted_by="contestant",
            score=Decimal(score),
            max_score=Decimal(100),
            time_used_s=time_used_s,
            scored_at=T0 + timedelta(minutes=30),
        )
    )


def pdf_text(content: bytes) -> str:
    """The PDF's text (poppler's pdftotext)."""
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True
    ).stdout.decode()
