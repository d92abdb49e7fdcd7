"""Attempts: starting (drawing the paper), submitting, closing at the deadline, integrity, review.

Rules:

* the deadline and the round's window are :mod:`contest.services.timing`'s; whether a request
  may change the attempt (owner, active account, open, in time, same device) is
  :mod:`contest.services.attempt_rules`'; answers are saved by :mod:`contest.services.answers`;
* one active device per attempt: resuming on another device takes the attempt over, and saves
  from the replaced device are refused with ``device_replaced``;
* every submission — the contestant's, the deadline's, an integrity action's — queues the
  attempt's scoring once it is committed, and every start or resume schedules the attempt's
  close (:mod:`contest.services.after_commit`): callers only commit;
* focus losses shorter than the round's ``focus_grace_s`` are recorded but not counted; past the
  round's threshold its action applies (warn, submit, void for review).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError

from contest.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound
from contest.extensions import db
from contest.models import (
    Attempt,
    AttemptItem,
    AttemptStatus,
    IntegrityAction,
    IntegrityEvent,
    ReviewPolicy,
    Round,
    ScoreVisibility,
    User,
)
from contest.services import attempt_rules as rules
from contest.services import blueprints, leaderboards, timing
from contest.services import contests as contest_service
from contest.services.attempt_rules import Change
from contest.services.scoring import score_after_commit
from question_bank.papers import draw_paper

DEVICE_CHANGED = "device_changed"  # integrity event: the attempt continued on another device


@dataclass
class Started:
    attempt: Attempt
    created: bool


def start_attempt(round_id: int, user_id: int, *, now: datetime, device_id: str | None) -> Started:
    """Resume the open attempt (taking it over on this device) or draw a new paper (committed)."""
    round_ = timing.lock_round_for_start(round_id)
    contest_service.ensure_can_take(round_, user_id, now)
    contest_service.ensure_qualified(round_, user_id, now)
    current = db.session.scalar(
        select(Attempt).where(
            Attempt.round_id == round_id,
            Attempt.user_id == user_id,
            Attempt.status == AttemptStatus.IN_PROGRESS,
        )
    )
    if current is not None and not close_if_overdue(current, now):
        if device_id and not held_on(current, device_id):
            # Taken over on another device: the organizers' list counts these.
            db.session.add(
                IntegrityEvent(attempt_id=current.id, kind=DEVICE_CHANGED, occurred_at=now)
            )
        current.device_id = device_id or current.device_id
        timing.schedule_close(current, round_.grace_s)  # the same job id: a lost one is repaired
        db.session.commit()
        return Started(current, False)
    if current is not None:  # closed just now: that commit let go of the round's timing lock
        round_ = timing.lock_round_for_start(round_id)
    status = timing.round_status(round_, now)
    if status == "scheduled":
        raise Conflict(_("This round has not opened yet."), code="round_not_open")
    if status == "closed":
        raise Conflict(_("This round is closed."), code="round_closed")
    used = (
        db.session.scalar(
            select(func.count())
            .select_from(Attempt)
            .where(Attempt.round_id == round_id, Attempt.user_id == user_id)
        )
        or 0
    )
    if round_.attempts_allowed and used >= round_.attempts_allowed:
        raise Conflict(
            _("You have used all your attempts for this round."), code="attempts_used_up"
        )
    try:
        attempt = _new_attempt(round_, user_id, used + 1, now, device_id)
        leaderboards.render_after_commit(round_.contest_id)  # the boards count who started
        timing.schedule_close(attempt, round_.grace_s)
        db.session.commit()
    except IntegrityError:
        # Two starts at once (a double tap, two phones): the unique (round, user, number) lets one
        # win; the other resumes the winner's attempt.
        db.session.rollback()
        winner = db.session.scalar(
            select(Attempt).where(
                Attempt.round_id == round_id, Attempt.user_id == user_id, Attempt.number == used + 1
            )
        )
        if winner is None:
            raise
        return Started(winner, False)
    return Started(attempt, True)


def _new_attempt(
    round_: Round, user_id: int, number: int, now: datetime, device_id: str | None
) -> Attempt:
    rows = blueprints.blueprint_rows(round_.blueprint)
    pools = blueprints.drawing_pools(round_.bank_id, rows)
    seed = secrets.randbits(62)
    try:
        paper = draw_paper(
            rows,
            pools,
            seed,
            shuffle_questions=round_.shuffle_questions,
            shuffle_options=round_.shuffle_options,
        )
    except ValueError:
        raise Conflict(
            _("The question bank cannot fill this round's paper; tell the organizers."),
            code="blueprint_shortfall",
        ) from None
    attempt = Attempt(
        round_id=round_.id,
        user_id=user_id,
        number=number,
        seed=seed,
        status=AttemptStatus.IN_PROGRESS,
        started_at=now,
        deadline_at=timing.deadline_for(round_, now),
        device_id=device_id,
        max_score=sum(item.points for item in paper),
    )
    db.session.add(attempt)
    db.session.flush()
    # One bulk INSERT: no unit-of-work bookkeeping for 30 objects (bench/HISTORY.md).
    db.session.execute(
        insert(AttemptItem),
        [
            {
                "attempt_id": attempt.id,
                "position": item.position,
                "question_version_id": item.version_id,
                "points": item.points,
                "option_order": list(item.option_order),
                "option_ids": list(item.option_ids),
                "answer": None,
                "seq": 0,
                "flagged": False,
            }
            for item in paper
        ],
    )
    return attempt


def get_own_attempt(attempt_id: int, user_id: int, *, lock: bool = False) -> Attempt:
    """The attempt if it belongs to ``user_id``; 404 otherwise (never reveal others' attempts).

    ``lock`` takes the row lock (PostgreSQL) so that a save and a submit of one attempt never
    interleave: no answer lands after the attempt was submitted and graded.
    """
    attempt = db.session.get(Attempt, attempt_id, with_for_update=lock)
    if attempt is None or attempt.user_id != user_id:
        raise NotFound(_("No attempt %(id)s.", id=attempt_id))
    return attempt


def held_on(attempt: Attempt, device_id: str) -> bool:
    """Whether the attempt is held on this device (or on none yet): the same-device rule."""
    return rules.holds(rules.SAME_DEVICE, rules.facts(attempt), {"b_device": device_id})


def _signed_out() -> AuthenticationFailed:
    """The refusal of a session whose account is gone, inactive or signed out: the 401 the
    login check gives."""
    return AuthenticationFailed(_("Please log in first."), code="not_logged_in")


def refuse(change: Change, attempt: Attempt, user: User | None) -> None:
    """Raise the refusal of the first rule ``change`` breaks (an overdue attempt is closed on the
    way, committed); nothing when it may change the attempt."""
    round_ = db.session.get_one(Round, attempt.round_id)
    values = rules.facts(attempt) | (rules.facts(user=user) if user else rules.NO_ACCOUNT)
    broken = rules.first_broken(
        rules.rules_for(change), values, rules.params(change, round_.grace_s)
    )
    if broken is rules.OWNER:  # never reveal others' attempts
        raise NotFound(_("No attempt %(id)s.", id=change.attempt_id))
    if broken is rules.ACCOUNT:
        raise _signed_out()
    if broken is rules.IN_TIME:
        close_if_overdue(attempt, change.now)
    if broken in (rules.OPEN, rules.IN_TIME):
        raise Conflict(
            _("This attempt is closed: answers can no longer change."), code="attempt_closed"
        )
    if broken is rules.SAME_DEVICE:
        raise Conflict(_("This attempt continues on another device."), code="device_replaced")


def close_if_overdue(attempt: Attempt, now: datetime) -> bool:
    """Submit an open attempt whose deadline plus grace has passed (committed, its scoring queued
    after the commit); True if it is closed."""
    if attempt.status is not AttemptStatus.IN_PROGRESS:
        return True
    if not submit_if_overdue(attempt, now):
        return False
    db.session.commit()
    return True


def submit_if_overdue(attempt: Attempt, now: datetime) -> bool:
    """Mark an open attempt past its deadline plus grace submitted (not committed); True if this
    call submitted it."""
    if attempt.status is not AttemptStatus.IN_PROGRESS:
        return False
    round_ = db.session.get_one(Round, attempt.round_id)
    cutoff = now - timedelta(seconds=round_.grace_s)
    if rules.holds(rules.IN_TIME, rules.facts(attempt), {"b_cutoff": cutoff}):
        return False
    _submit(attempt, now, by="deadline")
    return True


def _submit(attempt: Attempt, now: datetime, by: str) -> None:
    """Mark the attempt submitted (not committed); its scoring is queued after the commit."""
    attempt.status = AttemptStatus.SUBMITTED
    attempt.submitted_at, attempt.time_used_s = timing.submission_times(
        now, attempt.deadline_at, attempt.started_at
    )
    attempt.submitted_by = by
    score_after_commit(attempt.id)


@dataclass(frozen=True)
class Submission:
    """What submitAttempt answers: the attempt's state after the call, the score only where the
    contestant may see it, and whether review is open."""

    attempt_id: int
    round_id: int
    status: AttemptStatus
    score: Decimal | None
    max_score: Decimal
    time_used_s: int | None
    review: bool
    submitted: bool  # by this call


_attempt, _round = Attempt.__table__, Round.__table__
_SUBMIT_CHECK = (
    select(
        *rules.COLUMNS,
        _attempt.c.started_at,
        _attempt.c.round_id,
        _attempt.c.max_score,
        _round.c.grace_s,
        _round.c.review_policy,
        _round.c.closes_at,
    )
    .select_from(
        _attempt.join(_round, _round.c.id == _attempt.c.round_id).join(
            rules.users, rules.users.c.id == _attempt.c.user_id
        )
    )
    .where(_attempt.c.id == bindparam("attempt_id"))
    .with_for_update(of=_attempt)
)
_SUBMIT = (
    _attempt.update()
    .where(_attempt.c.id == bindparam("b_id"))
    .values(
        status=AttemptStatus.SUBMITTED,
        submitted_at=bindparam("b_submitted_at"),
        submitted_by="contestant",
        time_used_s=bindparam("b_time_used_s"),
    )
)


def submit_attempt(change: Change) -> Submission:
    """The contestant submits (committed; scoring is queued after the commit).

    The ordinary submission — every rule holds — is one locking read and one UPDATE in Core SQL
    (no ORM objects, no user loaded: it is a contest's second most frequent request, all at once
    at the end of a round). Anything else takes the ORM: submitting twice is harmless (a
    submitted attempt still without a score has its scoring queued again, the first job may
    have been lost), one past its deadline plus grace is closed by the deadline, and a refusal
    is explained (:func:`refuse`).
    """
    connection = db.session.connection()
    row = connection.execute(_SUBMIT_CHECK, {"attempt_id": change.attempt_id}).first()
    if row is not None and not rules.first_broken(
        rules.rules_for(change), rules.row_facts(row), rules.params(change, row.grace_s)
    ):
        submitted_at, time_used_s = timing.submission_times(
            change.now, row.deadline_at, row.started_at
        )
        connection.execute(
            _SUBMIT,
            {
                "b_id": change.attempt_id,
                "b_submitted_at": submitted_at,
                "b_time_used_s": time_used_s,
            },
        )
        score_after_commit(change.attempt_id)
        db.session.commit()
        status = AttemptStatus.SUBMITTED
        review = review_open_for(status, row.review_policy, row.closes_at, row.grace_s, change.now)
        return Submission(
            change.attempt_id, row.round_id, status, None, row.max_score, time_used_s, review, True
        )
    db.session.rollback()
    return _submit_the_general_way(change)


def _submit_the_general_way(change: Change) -> Submission:
    user = db.session.get(User, change.user.id)
    account = rules.facts(user=user) if user else rules.NO_ACCOUNT
    if not rules.holds(rules.ACCOUNT, account, rules.params(change, 0)):  # before the owner's
        raise _signed_out()
    attempt = get_own_attempt(change.attempt_id, change.user.id, lock=True)
    submitted = False
    if attempt.status is AttemptStatus.IN_PROGRESS:
        submitted = True
        if not close_if_overdue(attempt, change.now):
            refuse(change, attempt, user)
            _submit(attempt, change.now, by="contestant")
            db.session.commit()
    elif attempt.status is AttemptStatus.SUBMITTED and attempt.score is None:
        score_after_commit(attempt.id)
        db.session.commit()
    round_ = db.session.get_one(Round, attempt.round_id)
    return Submission(
        attempt.id,
        attempt.round_id,
        attempt.status,
        attempt.score if score_shown(round_, change.now) else None,
        attempt.max_score,
        attempt.time_used_s,
        review_open(attempt, round_, change.now),
        submitted,
    )


# Integrity --------------------------------------------------------------------------------------


@dataclass
class IntegrityResult:
    counted: bool
    focus_losses: int
    remaining: int | None  # None: the round sets no threshold
    action: str | None  # what the server did: warn, submit, void


def report_integrity_event(
    attempt_id: int,
    user_id: int,
    *,
    kind: str,
    now: datetime,
    client_duration_ms: int | None = None,
    device_id: str | None = None,
) -> IntegrityResult:
    """Record a focus event. ``hidden`` starts a loss; ``visible`` ends it and may count it.

    The duration is the server's own measure between the two events; the client's is used only
    when the ``hidden`` report never arrived (a phone suspends pages), capped by the time since
    the attempt started.
    """
    if kind not in ("hidden", "visible"):
        raise InvalidInput(_("kind is hidden or visible."))
    attempt = get_own_attempt(attempt_id, user_id)
    round_ = db.session.get(Round, attempt.round_id)
    assert round_ is not None
    close_if_overdue(attempt, now)
    result = IntegrityResult(
        False, attempt.focus_losses, integrity_remaining(round_, attempt), None
    )
    replaced = device_id is not None and not held_on(attempt, device_id)
    if attempt.status is not AttemptStatus.IN_PROGRESS or replaced:
        return result  # a closed attempt, or a device that no longer holds it
    if kind == "hidden":
        if attempt.focus_lost_at is not None:
            return result  # the absence is already running: a repeat neither restarts nor adds
        attempt.focus_lost_at = now
        db.session.add(IntegrityEvent(attempt_id=attempt.id, kind="hidden", occurred_at=now))
        db.session.commit()
        return result
    if attempt.focus_lost_at is not None:
        duration_ms = int((now - attempt.focus_lost_at).total_seconds() * 1000)
    else:
        elapsed = int((now - attempt.started_at).total_seconds() * 1000)
        duration_ms = max(0, min(int(client_duration_ms or 0), elapsed))
    counted = duration_ms > 0 and duration_ms >= round_.focus_grace_s * 1000
    attempt.focus_lost_at = None
    if counted:
        attempt.focus_losses += 1
    db.session.add(
        IntegrityEvent(
            attempt_id=attempt.id,
            kind="visible",
            counted=counted,
            duration_ms=duration_ms,
            occurred_at=now,
        )
    )
    result = IntegrityResult(
        counted, attempt.focus_losses, integrity_remaining(round_, attempt), None
    )
    if counted and round_.integrity_threshold and attempt.focus_losses > round_.integrity_threshold:
        result.action = _apply_integrity_action(attempt, round_, now)
    db.session.commit()
    return result


def integrity_remaining(round_: Round, attempt: Attempt) -> int | None:
    if not round_.integrity_threshold:
        return None
    return max(0, round_.integrity_threshold - attempt.focus_losses)


def _apply_integrity_action(attempt: Attempt, round_: Round, now: datetime) -> str:
    action = round_.integrity_action
    attempt.flagged = True
    if action is IntegrityAction.SUBMIT:
        _submit(attempt, now, by="integrity")
    elif action is IntegrityAction.VOID:
        _submit(attempt, now, by="integrity")
        attempt.status = AttemptStatus.VOID
    db.session.add(
        IntegrityEvent(
            attempt_id=attempt.id,
            kind=f"action_{action.value}",
            occurred_at=now,
            detail=f"{attempt.focus_losses} > {round_.integrity_threshold}",
        )
    )
    return action.value


# Review -----------------------------------------------------------------------------------------


def review_open(attempt: Attempt, round_: Round, now: datetime) -> bool:
    """Whether correct answers and explanations may be shown for this attempt now."""
    return review_open_for(
        attempt.status, round_.review_policy, round_.closes_at, round_.grace_s, now
    )


def score_shown(round_: Round, now: datetime) -> bool:
    """Whether the contestant may see an attempt's score now: at once, or for ``after_close``
    once the grace after the close is over (as :func:`review_open_for`)."""
    if round_.score_visibility is not ScoreVisibility.AFTER_CLOSE:
        return True
    closes_at = round_.closes_at
    return closes_at is not None and now > closes_at + timedelta(seconds=round_.grace_s)


def review_open_for(
    status: AttemptStatus,
    policy: ReviewPolicy,
    closes_at: datetime | None,
    grace_s: int,
    now: datetime,
) -> bool:
    """``after_close`` opens once the grace after the close is over: an attempt's deadline is
    capped at the close when it starts, and a save is taken up to the deadline plus the grace,
    so a key shown at the close itself could be passed on to a contestant still saving. (Moving
    the close moves the open attempts' deadlines with it: ``contests.retime_open_attempts``.)"""
    if status not in (AttemptStatus.SUBMITTED, AttemptStatus.SCORED):
        return False
    if policy is ReviewPolicy.AFTER_SUBMIT:
        return True
    if policy is ReviewPolicy.AFTER_CLOSE:
        return closes_at is not None and now > closes_at + timedelta(seconds=grace_s)
    return False
