"""Time in a round: deadlines, the round's window, its timing lock, and closing at the deadline.

* An attempt's deadline is min(start + duration, round close), plus any extension the
  organizers gave (the close still bounds it unless they gave time beyond the close); saves are
  accepted until deadline + grace (:func:`deadline_for`).
* A submission counts at the moment it was made, never after the deadline
  (:func:`submission_times`).
* A round is scheduled, open or closed by its window (:func:`round_status`).
* Moving a round's close or duration moves its open attempts' deadlines
  (:func:`retime_open_attempts`) under the round's timing lock, which starts take shared
  (:func:`lock_round_for_start`).
* Every open attempt has a job to close it just after its deadline plus grace
  (:func:`schedule_close`, after the commit; ``workers.deadlines.close_attempt`` runs it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from contest.after_commit import after_commit
from contest.errors import NotFound
from contest.extensions import db
from contest.input_checks import MAX_ID
from contest.models import Attempt, AttemptStatus, Round
from workers import queues
from workers.runner import get_queue

CLOSE_JOB = "workers.deadlines.close_attempt"


def deadline_for(
    round_: Round, started: datetime, extended_s: int = 0, *, beyond_close: bool = False
) -> datetime:
    """min(start + duration, round close), then the organizers' extension added; the close
    still bounds the extended deadline unless they gave time ``beyond_close``."""
    deadline = started + timedelta(seconds=round_.duration_s)
    if round_.closes_at is not None:
        deadline = min(deadline, round_.closes_at)
    if extended_s:
        deadline += timedelta(seconds=extended_s)
        if round_.closes_at is not None and not beyond_close:
            deadline = min(deadline, round_.closes_at)
    return deadline


def submission_times(now: datetime, deadline: datetime, started: datetime) -> tuple[datetime, int]:
    """When a submission counts (never after the deadline) and the seconds used until then."""
    submitted_at = min(now, deadline)
    return submitted_at, max(0, int((submitted_at - started).total_seconds()))


def round_status(round_: Round, now: datetime) -> str:
    """scheduled, open or closed, by the round's window (None ends: always open)."""
    if round_.opens_at and now < round_.opens_at:
        return "scheduled"
    if round_.closes_at and now >= round_.closes_at:
        return "closed"
    return "open"


RETIMED = "contest.retimed_attempts"


def retime_open_attempts(
    round_: Round, now: datetime | None = None, *, previous_close: datetime | None = None
) -> int:
    """Give the round's open attempts the deadline its new close or duration sets (not
    committed); returns how many moved.

    An attempt the organizers extended keeps its extension (``extended_s``) on top; one whose
    deadline lay past ``previous_close`` (the close before this change) was given time beyond
    the close, and stays unbounded by the new one.

    An attempt's deadline is min(start + duration, close), fixed when it starts. Without this, a
    close moved earlier would leave attempts taking saves past it (and ``after_close`` review
    open while they still do), and a close moved later would not give them the extra time. An
    attempt already past its deadline plus grace is over, closed or not yet (the sweep closes
    it): it keeps its deadline, since the answer keys may be out. One whose new deadline has
    passed closes once its grace is over, like any other.

    This takes the round's timing lock, held to the commit, and starts take it shared
    (:func:`lock_round_for_start`): a start either commits before this reads the attempts, or
    reads the new close after this commits.
    """
    _lock_round_timing(round_.id, shared=False)  # before the attempts are read
    now = now or datetime.now(UTC)
    rows = db.session.execute(
        select(Attempt.id, Attempt.started_at, Attempt.deadline_at, Attempt.extended_s).where(
            Attempt.round_id == round_.id,
            Attempt.status == AttemptStatus.IN_PROGRESS,
            Attempt.deadline_at >= now - timedelta(seconds=round_.grace_s),
        )
    ).all()
    moved = [
        {"id": row.id, "deadline_at": deadline}
        for row in rows
        if (
            deadline := deadline_for(
                round_,
                row.started_at,
                row.extended_s or 0,
                beyond_close=bool(
                    row.extended_s and previous_close and row.deadline_at > previous_close
                ),
            )
        )
        != row.deadline_at
    ]
    if moved:
        db.session.execute(update(Attempt), moved)  # by primary key, in one executemany
    # For the organizer's page to say so (RETIMED: read and cleared by whoever reports it).
    db.session.info[RETIMED] = db.session.info.get(RETIMED, 0) + len(moved)
    return len(moved)


# PostgreSQL advisory locks on a round's timing (the first key says what the second one names).
_ROUND_TIMING_LOCK = 0x726E6474  # "rndt"


def _lock_round_timing(round_id: int, *, shared: bool) -> None:
    """Hold the round's timing lock to the commit: shared by starts, exclusive by a change of
    its close or duration (PostgreSQL; SQLite runs one writer at a time anyway).

    An advisory lock rather than the round's row: waiting requests are queued in order, so a
    change waits only for the starts under way, where a row lock's share holders keep joining
    each other and a busy start can hold an organizer's UPDATE off for minutes.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    db.session.execute(select(getattr(func, function)(_ROUND_TIMING_LOCK, round_id)))


def lock_round_timing(round_id: int) -> None:
    """Hold the round's timing lock exclusively to the commit: starts under way commit first,
    later ones wait and see what this transaction changed (a contest's finish)."""
    _lock_round_timing(round_id, shared=False)


def lock_round_for_start(round_id: int) -> Round:
    """The round, read after taking its timing lock shared, held to the commit (a start's
    first step, and again after a commit in between).

    A change of the round's close waits for the starts under way and later starts wait for it,
    so an attempt never starts with a deadline from the old close after the retime has passed
    it by (:func:`retime_open_attempts`).
    """
    if not 0 < round_id <= MAX_ID:  # no such round; the lock's key would not take it either
        raise NotFound(_("No round %(id)s.", id=round_id))
    _lock_round_timing(round_id, shared=True)
    round_ = db.session.get(Round, round_id, populate_existing=True)
    if round_ is None:
        raise NotFound(_("No round %(id)s.", id=round_id))
    return round_


def schedule_close(attempt: Attempt, grace_s: int) -> None:
    """Once the session commits, schedule the attempt's close for one second after its deadline
    plus grace (the job id is the attempt's: scheduling again moves it)."""
    deadline = attempt.deadline_at
    at = (deadline if deadline.tzinfo else deadline.replace(tzinfo=UTC)) + timedelta(
        seconds=grace_s + 1
    )
    after_commit(_schedule_closes, (attempt.id, at))


def _schedule_closes(closes: Sequence[tuple[int, datetime]]) -> None:
    queue = get_queue(current_app._get_current_object(), queues.DEFAULT)  # type: ignore[attr-defined]
    for attempt_id, at in closes:
        queue.enqueue_at(at, CLOSE_JOB, attempt_id, job_id=f"close-{attempt_id}", job_timeout=60)
