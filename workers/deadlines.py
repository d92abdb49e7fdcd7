"""Deadlines: submit attempts left open past their deadline plus grace, then score them.

Every started attempt schedules ``close_attempt`` for just after its deadline plus grace
(:func:`contest.services.timing.schedule_close`; RQ's scheduler runs in ``contest worker``);
``close_overdue_attempts`` sweeps for any the schedule missed (Redis restarted, scheduler down)
and is what ``contest attempts close-overdue`` runs. A closed attempt's scoring is queued by the
submission itself, after the commit (:func:`contest.services.attempts.submit_if_overdue`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from contest.extensions import db
from contest.models import Attempt, AttemptStatus
from contest.services.attempts import close_if_overdue, submit_if_overdue
from contest.services.scoring import enqueue_scoring_many, request_scoring

SWEEP_PAGE = 500  # open attempts locked and submitted per commit


def close_attempt(attempt_id: int) -> str:
    """Submit the attempt if it is still open past deadline plus grace (idempotent)."""
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None:
        return "missing"
    if attempt.status is AttemptStatus.IN_PROGRESS:
        close_if_overdue(attempt, datetime.now(UTC))  # its scoring is queued at the commit
    elif attempt.status in (AttemptStatus.SUBMITTED, AttemptStatus.VOID) and attempt.score is None:
        request_scoring([attempt.id])  # closed earlier and its job lost: scoring is idempotent
    return attempt.status.value


def close_overdue_attempts(
    now: datetime | None = None, unscored_before: datetime | None = None
) -> int:
    """Submit every open attempt past its deadline plus grace (returns how many), and queue
    scoring for every submitted or voided attempt still without a score (a lost job, a drain
    killed mid-batch, a restarted Redis) — only those submitted before ``unscored_before`` when it
    is given.

    Built for the close of a round, when thousands of attempts are overdue at once: they are
    submitted in batches (one commit each) and handed to the scoring drain in one call each. The
    unscored ones get a job each (:func:`contest.services.scoring.enqueue_scoring_many`, the
    safe path).
    """
    now = now or datetime.now(UTC)
    closed: list[int] = []
    after = 0  # paged by id: attempts still inside their grace stay open and are passed over
    while True:
        overdue = db.session.scalars(
            select(Attempt)
            .where(
                Attempt.status == AttemptStatus.IN_PROGRESS,
                Attempt.deadline_at < now,
                Attempt.id > after,
            )
            .order_by(Attempt.id)
            .limit(SWEEP_PAGE)
            .with_for_update(skip_locked=True)
        ).all()
        closed += [a.id for a in overdue if submit_if_overdue(a, now)]
        db.session.commit()  # queues the batch's scoring in one call
        if len(overdue) < SWEEP_PAGE:
            break
        after = overdue[-1].id
    query = select(Attempt.id).where(
        Attempt.status.in_([AttemptStatus.SUBMITTED, AttemptStatus.VOID]), Attempt.score.is_(None)
    )
    if unscored_before is not None:
        query = query.where(Attempt.submitted_at < unscored_before)
    just_closed = set(closed)  # already with the drain
    enqueue_scoring_many([i for i in db.session.scalars(query) if i not in just_closed])
    return len(closed)
