"""Organizers and one round's attempts: the monitoring list, one contestant's paper, and the
actions on one attempt (extend, void, restore, rescore).

Every action needs a reason and writes an audit event (``attempt.extend``, ``attempt.void``,
``attempt.restore``, ``attempt.rescore``) with the state before and after, in the same
transaction. :func:`act` runs one and commits; each action schedules what follows it to run
after the commit (:mod:`contest.after_commit`): an extension reschedules the attempt's close,
a void or restore sets the contestant's board entries from the database (and a restore to in
progress schedules its close again), a rescore queues the scoring job.

A void ends an attempt in progress without submitting it (``voided_from`` is ``in_progress``);
its restore gives the contestant the attempt back while its deadline plus grace is ahead, else
submits it as it stood at the void (``submitted_by`` ``organizer``).

Extensions: ``Attempt.extended_s`` holds the seconds given by hand (at most a day in all); the
deadline is :func:`contest.services.timing.deadline_for` with them, so the round's close still
bounds it unless the organizer gives time beyond the close. Only an attempt in progress (within
its deadline plus grace) can be extended: one the deadline already submitted is restored with
its answers as they were, not reopened.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import String, and_, cast, func, or_, select, update

from contest.after_commit import after_commit
from contest.errors import Conflict, InvalidInput, NotFound
from contest.extensions import db, redis_hub
from contest.models import (
    Attempt,
    AttemptItem,
    AttemptStatus,
    AuditEvent,
    IntegrityEvent,
    Organization,
    Round,
    User,
)
from contest.services import audit, awards, leaderboards, scoring, timing
from contest.services import contests as contest_service
from contest.services.attempts import DEVICE_CHANGED
from contest.services.timing import deadline_for

MAX_EXTENSION_S = 24 * 3600  # in all, per attempt
MAX_REASON = 500
PER_PAGE = 50
MAX_PER_PAGE = 500


class Shown(enum.StrEnum):
    """An attempt's state as the monitoring list names it."""

    ANSWERING = "answering"
    SUBMITTED = "submitted"
    AUTO_SUBMITTED = "auto_submitted"
    ENDED_BY_ORGANIZER = "ended_by_organizer"
    VOIDED = "voided"
    FLAGGED = "flagged"  # a filter only: a flagged attempt is shown with its state and a badge


AUTOMATIC = ("deadline", "integrity")  # who submits an attempt without anyone's hand


def shown_status(status: AttemptStatus, submitted_by: str | None) -> Shown:
    """answering, submitted (by the contestant), auto-submitted (the deadline or the integrity
    rule), ended by an organizer (restored after its time was over) or voided."""
    if status is AttemptStatus.VOID:
        return Shown.VOIDED
    if status is AttemptStatus.IN_PROGRESS:
        return Shown.ANSWERING
    if submitted_by == "organizer":
        return Shown.ENDED_BY_ORGANIZER
    if submitted_by in AUTOMATIC:
        return Shown.AUTO_SUBMITTED
    return Shown.SUBMITTED


# The monitoring list ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListFilters:
    status: Shown | None = None
    organization_id: int | None = None  # the organization or any unit under it
    q: str = ""  # part of the name or username
    attempt_id: int | None = None  # this attempt alone (its row on its own)


@dataclass(frozen=True)
class AttemptRow:
    id: int
    user_id: int
    username: str
    display_name: str
    organization: str | None
    number: int
    status: AttemptStatus
    shown: Shown
    submitted_by: str | None
    flagged: bool
    focus_losses: int
    started_at: datetime
    deadline_at: datetime
    submitted_at: datetime | None
    score: Decimal | None
    max_score: Decimal
    time_used_s: int | None
    extended_s: int
    answered: int
    questions: int
    last_saved_at: datetime | None
    device_changes: int

    def seconds_left(self, now: datetime) -> int | None:
        """Seconds to the deadline for an attempt in progress (0 once it passed), else None."""
        if self.status is not AttemptStatus.IN_PROGRESS:
            return None
        return max(0, int((self.deadline_at - now).total_seconds()))


@dataclass
class AttemptPage:
    rows: list[AttemptRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _status_clause(status: Shown) -> Any:
    done = Attempt.status.in_([AttemptStatus.SUBMITTED, AttemptStatus.SCORED])
    automatic = Attempt.submitted_by.in_(AUTOMATIC)
    by_organizer = Attempt.submitted_by == "organizer"
    by_contestant = or_(Attempt.submitted_by.is_(None), and_(~automatic, ~by_organizer))
    return {
        Shown.ANSWERING: Attempt.status == AttemptStatus.IN_PROGRESS,
        Shown.SUBMITTED: and_(done, by_contestant),
        Shown.AUTO_SUBMITTED: and_(done, automatic),
        Shown.ENDED_BY_ORGANIZER: and_(done, by_organizer),
        Shown.VOIDED: Attempt.status == AttemptStatus.VOID,
        Shown.FLAGGED: Attempt.flagged.is_(True),
    }[status]


def _filtered(round_id: int, filters: ListFilters) -> Any:
    """The ids of the round's attempts that pass the filters, with the count of all of them
    (a window over the filtered rows, so the page and the total come from one statement)."""
    query = (
        select(Attempt.id, func.count().over().label("total"))
        .join(User, User.id == Attempt.user_id)
        .where(Attempt.round_id == round_id)
    )
    if filters.attempt_id is not None:
        query = query.where(Attempt.id == filters.attempt_id)
    if filters.status is not None:
        query = query.where(_status_clause(filters.status))
    if filters.organization_id is not None:
        units = select(Organization.id).where(
            or_(
                Organization.id == filters.organization_id,
                Organization.parent_id == filters.organization_id,
            )
        )
        query = query.where(User.organization_id.in_(units))
    if filters.q:
        pattern = _like(filters.q.lower())
        query = query.where(
            or_(
                func.lower(User.username).like(pattern, escape="\\"),
                func.lower(User.display_name).like(pattern, escape="\\"),
            )
        )
    return query


def _answered() -> Any:
    """Items with an answer: saved at least once and not cleared (JSON null or an empty list)."""
    text = cast(AttemptItem.answer, String)
    return and_(AttemptItem.saved_at.is_not(None), text.is_not(None), text.not_in(["null", "[]"]))


def list_query(round_id: int, filters: ListFilters, page: int, per_page: int) -> Any:
    """One statement for one page: the page's ids and the total in a subquery, then per row the
    contestant, the unit, and (correlated, by primary key and index) the answered count, the
    last save and the device changes."""
    chosen = (
        _filtered(round_id, filters)
        .order_by(Attempt.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
        .subquery("chosen")
    )
    item_of = AttemptItem.attempt_id == Attempt.id
    return (
        select(
            Attempt,
            User.username,
            User.display_name,
            Organization.name.label("organization"),
            chosen.c.total,
            select(func.count()).where(item_of, _answered()).scalar_subquery().label("answered"),
            select(func.count()).where(item_of).scalar_subquery().label("questions"),
            select(func.max(AttemptItem.saved_at))
            .where(item_of)
            .scalar_subquery()
            .label("last_saved_at"),
            select(func.count())
            .where(IntegrityEvent.attempt_id == Attempt.id, IntegrityEvent.kind == DEVICE_CHANGED)
            .scalar_subquery()
            .label("device_changes"),
        )
        .select_from(chosen)
        .join(Attempt, Attempt.id == chosen.c.id)
        .join(User, User.id == Attempt.user_id)
        .outerjoin(Organization, Organization.id == User.organization_id)
        .order_by(Attempt.id)
    )


def list_attempts(
    round_id: int, filters: ListFilters, *, page: int = 1, per_page: int = PER_PAGE
) -> AttemptPage:
    """One page of the round's attempts, in the order they started (one query; a second only
    for a page past the last, to say how many there are)."""
    contest_service.get_round(round_id)
    page, per_page = max(1, page), min(max(1, per_page), MAX_PER_PAGE)
    result = db.session.execute(list_query(round_id, filters, page, per_page)).all()
    rows = [_row(r) for r in result]
    if result:
        total = int(result[0].total)
    else:
        counted = select(func.count()).select_from(_filtered(round_id, filters).subquery())
        total = db.session.scalar(counted) or 0
    return AttemptPage(rows, total, page, per_page)


def one_row(attempt_id: int) -> AttemptRow:
    """The monitoring list's row of one attempt."""
    attempt = get_attempt(attempt_id)
    found = db.session.execute(
        list_query(attempt.round_id, ListFilters(attempt_id=attempt_id), 1, 1)
    ).one()
    return _row(found)


def _row(r: Any) -> AttemptRow:
    a: Attempt = r.Attempt
    return AttemptRow(
        id=a.id,
        user_id=a.user_id,
        username=r.username,
        display_name=r.display_name,
        organization=r.organization,
        number=a.number,
        status=a.status,
        shown=shown_status(a.status, a.submitted_by),
        submitted_by=a.submitted_by,
        flagged=a.flagged,
        focus_losses=a.focus_losses,
        started_at=a.started_at,
        deadline_at=a.deadline_at,
        submitted_at=a.submitted_at,
        score=a.score,
        max_score=a.max_score,
        time_used_s=a.time_used_s,
        extended_s=a.extended_s or 0,
        answered=int(r.answered or 0),
        questions=int(r.questions or 0),
        last_saved_at=r.last_saved_at,
        device_changes=int(r.device_changes or 0),
    )


def get_attempt(attempt_id: int, *, lock: bool = False) -> Attempt:
    attempt = db.session.get(Attempt, attempt_id, with_for_update=lock)
    if attempt is None:
        raise NotFound(_("No attempt %(id)s.", id=attempt_id))
    return attempt


# Actions ------------------------------------------------------------------------------------------


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise InvalidInput(_("Give a reason: it is kept in the audit log."), code="reason_required")
    if len(text) > MAX_REASON:
        raise InvalidInput(
            _("The reason is at most %(n)d characters.", n=MAX_REASON), code="reason_too_long"
        )
    return text


def _stamp(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _score(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None


def _state(attempt: Attempt) -> dict[str, Any]:
    return {
        "status": attempt.status.value,
        "voided_from": attempt.voided_from,
        "score": _score(attempt.score),
        "deadline_at": _stamp(attempt.deadline_at),
        "extended_s": attempt.extended_s or 0,
    }


def _round_of(attempt: Attempt) -> Round:
    return db.session.get_one(Round, attempt.round_id)


def extendable(attempt: Attempt, round_: Round, now: datetime) -> bool:
    """Whether an extension may still reach the attempt: in progress, within its deadline plus
    grace (past that it is over, closed or about to be)."""
    return attempt.status is AttemptStatus.IN_PROGRESS and now <= attempt.deadline_at + timedelta(
        seconds=round_.grace_s
    )


def extend_attempt(
    attempt_id: int, *, minutes: int, reason: str, beyond_close: bool, now: datetime
) -> Attempt:
    """Add ``minutes`` to an attempt in progress (not committed); the caller commits, and
    the close is rescheduled after the commit.

    Refused, with nothing changed: a closed attempt or one past its deadline plus grace (409
    ``attempt_closed``), more than a day of extension in all (422 ``extension_too_long``), and a
    deadline the round's close already bounds when ``beyond_close`` is not given (409
    ``round_close_bounds``).
    """
    text = _reason(reason)
    if minutes < 1:
        raise InvalidInput(_("Give at least one minute."), code="invalid_input")
    attempt = get_attempt(attempt_id, lock=True)
    # Shared with starts, exclusive for a change of the round's close (its retiming).
    round_ = timing.lock_round_for_start(attempt.round_id)
    if not extendable(attempt, round_, now):
        raise Conflict(
            _("Only an attempt in progress can be extended; this one is over."),
            code="attempt_closed",
        )
    total = (attempt.extended_s or 0) + minutes * 60
    if total > MAX_EXTENSION_S:
        raise InvalidInput(
            _(
                "An extension longer than a day is not allowed: this attempt has %(m)d minutes "
                "already, so at most %(left)d more.",
                m=(attempt.extended_s or 0) // 60,
                left=(MAX_EXTENSION_S - (attempt.extended_s or 0)) // 60,
            ),
            code="extension_too_long",
        )
    deadline = deadline_for(round_, attempt.started_at, total, beyond_close=beyond_close)
    if deadline <= attempt.deadline_at:
        raise Conflict(
            _(
                "The round's close bounds this attempt's deadline: tick “beyond the round's "
                "close” to give it more time."
            ),
            code="round_close_bounds",
        )
    before = _state(attempt)
    attempt.extended_s = total
    attempt.deadline_at = deadline
    _record("attempt.extend", attempt, before, text, minutes=minutes, beyond_close=beyond_close)
    _follow_up("extend", attempt)
    return attempt


def _record(
    action: str, attempt: Attempt, before: dict[str, Any], reason: str, **more: Any
) -> None:
    """Record an action on ``attempt`` in the audit log: its state before and after (with
    ``more``), the reason given."""
    audit.record(
        action,
        target_type="attempt",
        target_id=attempt.id,
        contest_id=_round_of(attempt).contest_id,
        before=before,
        after={**_state(attempt), **more},
        reason=reason,
    )


def void_attempt(attempt_id: int, *, reason: str, now: datetime) -> Attempt:
    """Void an attempt (not committed): it leaves the boards, ``voided_from`` keeps the status it
    had. One still in progress is not submitted: its sitting ends at once (its page takes no more
    saves) and ``voided_from`` says ``in_progress``, so a restore can give it back."""
    text = _reason(reason)
    attempt = get_attempt(attempt_id, lock=True)
    if attempt.status is AttemptStatus.VOID:
        raise Conflict(_("This attempt is void already."), code="already_void")
    before = _state(attempt)
    attempt.voided_from = attempt.status.value
    attempt.status = AttemptStatus.VOID
    _record("attempt.void", attempt, before, text)
    _follow_up("void", attempt)
    return attempt


def _voided_at(attempt: Attempt, now: datetime) -> datetime:
    """When the attempt's last void was recorded (``now`` if the log has none)."""
    at = db.session.scalar(
        select(AuditEvent.at)
        .where(
            AuditEvent.target_type == "attempt",
            AuditEvent.target_id == attempt.id,
            AuditEvent.action == "attempt.void",
        )
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(1)
    )
    if at is None:
        return now
    return at if at.tzinfo else at.replace(tzinfo=now.tzinfo)


def _current_deadline(attempt: Attempt, round_: Round) -> datetime:
    """The attempt's deadline as the round times it now (its close or duration may have moved
    while the attempt was void), with its extension; one extended past the close stays past it,
    as :func:`contest.services.timing.retime_open_attempts` keeps it."""
    closes_at = round_.closes_at
    beyond = bool(attempt.extended_s and closes_at and attempt.deadline_at > closes_at)
    return deadline_for(round_, attempt.started_at, attempt.extended_s or 0, beyond_close=beyond)


def another_open(attempt: Attempt) -> bool:
    """Whether the contestant has another attempt in progress in the round (one started while
    this one was void): a contestant answers one attempt at a time."""
    found = db.session.scalar(
        select(Attempt.id)
        .where(
            Attempt.round_id == attempt.round_id,
            Attempt.user_id == attempt.user_id,
            Attempt.status == AttemptStatus.IN_PROGRESS,
            Attempt.id != attempt.id,
        )
        .limit(1)
    )
    return found is not None


def reopens_on_restore(attempt: Attempt, round_: Round, now: datetime) -> bool:
    """Whether a restore now gives the contestant the attempt back to continue: voided while in
    progress, its deadline plus grace still ahead, and no other attempt of theirs open."""
    return (
        attempt.status is AttemptStatus.VOID
        and attempt.voided_from == AttemptStatus.IN_PROGRESS.value
        and now <= _current_deadline(attempt, round_) + timedelta(seconds=round_.grace_s)
        and not another_open(attempt)
    )


def _reopen(attempt: Attempt, deadline: datetime) -> None:
    """Back to in progress: no submission, and no grade from its time as void."""
    attempt.status = AttemptStatus.IN_PROGRESS
    attempt.deadline_at = deadline
    attempt.submitted_at = None
    attempt.submitted_by = None
    attempt.time_used_s = None
    attempt.score = None
    attempt.scored_at = None
    db.session.execute(
        update(AttemptItem)
        .where(AttemptItem.attempt_id == attempt.id)
        .values(earned=None, correct=None)
    )


def _restore_interrupted(attempt: Attempt, now: datetime) -> None:
    """An attempt voided while in progress: in progress again while its deadline plus grace is
    ahead (the contestant continues); past that, or with another attempt of theirs open,
    submitted by ``organizer`` as it stood at the void (its time used runs to the void, at most
    to the deadline) and scored."""
    round_ = timing.lock_round_for_start(attempt.round_id)
    if reopens_on_restore(attempt, round_, now):
        _reopen(attempt, _current_deadline(attempt, round_))
        return
    attempt.status = AttemptStatus.SCORED if attempt.score is not None else AttemptStatus.SUBMITTED
    attempt.submitted_at = min(_voided_at(attempt, now), attempt.deadline_at)
    attempt.time_used_s = max(0, int((attempt.submitted_at - attempt.started_at).total_seconds()))
    attempt.submitted_by = "organizer"


def restore_attempt(attempt_id: int, *, reason: str, now: datetime) -> Attempt:
    """Give a voided attempt back the status it had (not committed): scored when it has a score
    (graded before or during its void), else submitted, and queued for scoring after the
    commit; the boards take it in again. One voided by the integrity rule has no
    ``voided_from`` and comes back the same way. One voided while in progress goes back to
    in progress if its time is not over (:func:`_restore_interrupted`)."""
    text = _reason(reason)
    attempt = get_attempt(attempt_id, lock=True)
    if attempt.status is not AttemptStatus.VOID:
        raise Conflict(_("Only a void attempt can be restored."), code="not_void")
    before = _state(attempt)
    if attempt.voided_from == AttemptStatus.IN_PROGRESS.value:
        _restore_interrupted(attempt, now)
    else:
        # A void attempt is graded too, so one voided unscored may come back scored.
        has_score = attempt.score is not None
        attempt.status = AttemptStatus.SCORED if has_score else AttemptStatus.SUBMITTED
    attempt.voided_from = None
    _record("attempt.restore", attempt, before, text)
    _follow_up("restore", attempt)
    return attempt


def rescore_attempt(attempt_id: int, *, reason: str, now: datetime) -> Attempt:
    """Mark a submitted attempt for grading again (not committed); the scoring job is queued
    after the commit. A scored attempt keeps its score (and its place on the boards) until the
    job writes the new one; a void one is graded and stays void."""
    text = _reason(reason)
    attempt = get_attempt(attempt_id, lock=True)
    if attempt.status is AttemptStatus.IN_PROGRESS:
        raise Conflict(
            _("This attempt is still in progress: it is scored once submitted."),
            code="attempt_open",
        )
    before = _state(attempt)
    if attempt.status is AttemptStatus.SCORED:
        attempt.status = AttemptStatus.SUBMITTED  # what the scoring job grades
    elif attempt.status is AttemptStatus.VOID:
        attempt.score = None  # a void attempt is graded while it has no score
    _record("attempt.rescore", attempt, before, text)
    _follow_up("rescore", attempt)
    return attempt


def _follow_up(action: str, attempt: Attempt) -> None:
    """What follows an action once it is committed: ``extend`` reschedules the close; ``void``
    and ``restore`` set the contestant's board entries from the database, schedule the close of
    an attempt back in progress, and queue the scoring of one without a score; ``rescore``
    queues the scoring job. Locked awards are flagged for a second look after a void, restore
    or rescore (never changed)."""
    round_ = _round_of(attempt)
    if action == "extend":
        timing.schedule_close(attempt, round_.grace_s)
        return
    if action == "rescore":
        after_commit(scoring.enqueue_scoring_many, attempt.id)
    else:
        after_commit(_set_entries, (attempt.round_id, attempt.user_id))
        if attempt.status is AttemptStatus.IN_PROGRESS:  # restored: closed at its deadline again
            timing.schedule_close(attempt, round_.grace_s)
        elif attempt.score is None:
            scoring.score_after_commit(attempt.id)
    after_commit(_flag_awards, (round_.contest_id, action))


def _set_entries(contestants: Sequence[tuple[int, int]]) -> None:
    leaderboards.record_attempts(redis_hub.client, contestants)


def _flag_awards(changes: Sequence[tuple[int, str]]) -> None:
    reasons = {
        "void": _("An organizer voided an attempt."),
        "restore": _("An organizer restored a voided attempt."),
        "rescore": _("An organizer rescored an attempt."),
    }
    for contest_id, action in changes:
        awards.scores_changed(contest_id, reasons[action])


ACTIONS: dict[str, Callable[..., Attempt]] = {
    "extend": extend_attempt,
    "void": void_attempt,
    "restore": restore_attempt,
    "rescore": rescore_attempt,
}


def act(action: str, attempt_id: int, *, now: datetime, **kwargs: Any) -> Attempt:
    """Run one of :data:`ACTIONS` and commit (rolled back when refused); its follow-ups run
    after the commit (:func:`_follow_up`)."""
    try:
        attempt = ACTIONS[action](attempt_id, now=now, **kwargs)
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    return attempt
