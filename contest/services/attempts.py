"""Attempts: the server-authoritative timer, papers, autosave, submission and integrity.

Rules:

* deadline = min(start + duration, round close), plus any extension the organizers gave (the
  close still bounds it unless they gave time beyond the close); saves are accepted until
  deadline + grace;
* a save carries a per-attempt, strictly increasing ``seq``: one that is not above the stored one
  changes nothing (a late, older save never overwrites a newer one);
* one active device per attempt: resuming on another device takes the attempt over, and saves
  from the replaced device are refused with ``device_replaced``;
* submitting commits, then enqueues scoring (the caller enqueues, after the commit);
* focus losses shorter than the round's ``focus_grace_s`` are recorded but not counted; past the
  round's threshold its action applies (warn, submit, void for review).
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Update, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from contest.errors import Conflict, InvalidInput, NotFound
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
    SessionUser,
    User,
)
from contest.services import contests as contest_service
from contest.services import leaderboards
from question_bank.domain import QuestionType
from question_bank.models import QuestionVersion
from question_bank.papers import draw_paper

MAX_ANSWER_TEXT = 500
DEVICE_CHANGED = "device_changed"  # integrity event: the attempt continued on another device


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


@dataclass
class Started:
    attempt: Attempt
    created: bool


def start_attempt(round_id: int, user_id: int, *, now: datetime, device_id: str | None) -> Started:
    """Resume the open attempt (taking it over on this device) or draw a new paper (committed)."""
    round_ = contest_service.lock_round_for_start(round_id)
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
        if device_id and current.device_id and device_id != current.device_id:
            # Taken over on another device: the organizers' list counts these.
            db.session.add(
                IntegrityEvent(attempt_id=current.id, kind=DEVICE_CHANGED, occurred_at=now)
            )
        current.device_id = device_id or current.device_id
        db.session.commit()
        return Started(current, False)
    if current is not None:  # closed just now: that commit let go of the round's timing lock
        round_ = contest_service.lock_round_for_start(round_id)
    status = contest_service.round_status(round_, now)
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
    rows = contest_service.blueprint_rows(round_.blueprint)
    pools = contest_service.drawing_pools(round_.bank_id, rows)
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
        deadline_at=deadline_for(round_, now),
        device_id=device_id,
        max_score=sum(item.points for item in paper),
    )
    db.session.add(attempt)
    db.session.flush()
    # One bulk INSERT (no unit-of-work bookkeeping for 30 objects: it was a quarter of a start).
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


def close_if_overdue(attempt: Attempt, now: datetime) -> bool:
    """Submit an open attempt whose deadline plus grace has passed (committed); True if it is
    closed."""
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
    round_ = db.session.get(Round, attempt.round_id)
    assert round_ is not None
    if now <= attempt.deadline_at + timedelta(seconds=round_.grace_s):
        return False
    _submit(attempt, now, by="deadline")
    return True


def _submission_times(now: datetime, deadline: datetime, started: datetime) -> tuple[datetime, int]:
    """When a submission counts (never after the deadline) and the seconds used until then."""
    submitted_at = min(now, deadline)
    return submitted_at, max(0, int((submitted_at - started).total_seconds()))


def _open_here(
    status: AttemptStatus,
    deadline: datetime,
    grace_s: int,
    attempt_device: str | None,
    device_id: str | None,
    now: datetime,
) -> bool:
    """An attempt the fast paths may change: open, within deadline plus grace, on its device."""
    return (
        status == AttemptStatus.IN_PROGRESS
        and now <= deadline + timedelta(seconds=grace_s)
        and not (attempt_device and device_id and device_id != attempt_device)
    )


def _submit(attempt: Attempt, now: datetime, by: str) -> None:
    attempt.status = AttemptStatus.SUBMITTED
    attempt.submitted_at, attempt.time_used_s = _submission_times(
        now, attempt.deadline_at, attempt.started_at
    )
    attempt.submitted_by = by


# Answers ----------------------------------------------------------------------------------------


def _check_device(attempt: Attempt, device_id: str | None) -> None:
    if attempt.device_id and device_id and device_id != attempt.device_id:
        raise Conflict(_("This attempt continues on another device."), code="device_replaced")


def encode_answer(kind: QuestionType, option_ids: Collection[str], answer: Any) -> Any:
    """Validate an API answer (option ids, bool, strings) and return it as stored (None clears)."""
    if answer is None:
        return None
    if kind is QuestionType.SINGLE:
        fits = isinstance(answer, str) and answer in option_ids
    elif kind in (QuestionType.MULTIPLE, QuestionType.ORDERING):
        fits = (
            isinstance(answer, list)
            and all(a in option_ids for a in answer)
            and len(set(answer)) == len(answer)
        )
    elif kind is QuestionType.TRUE_FALSE:
        fits = isinstance(answer, bool)
    else:
        fits = kind is not QuestionType.FILL_BLANK or (
            isinstance(answer, list)
            and len(answer) <= 20
            and all(
                isinstance(a, str) and len(a) <= MAX_ANSWER_TEXT and "\x00" not in a for a in answer
            )
        )
    if not fits:  # the message is translated only when it is needed (saves are the hot path)
        raise InvalidInput(_("The answer does not fit this question."), code="invalid_answer")
    return answer


@dataclass
class SaveResult:
    saved: bool
    seq: int
    # The attempt's deadline now: the page's timer follows it when the organizers move the close.
    deadline_at: datetime


def save_answer(
    attempt_id: int,
    user_id: int,
    position: int,
    *,
    answer: Any,
    seq: int,
    flagged: bool | None,
    now: datetime,
    device_id: str | None,
) -> SaveResult:
    """Store an answer if ``seq`` is newer than the stored one (one UPDATE, committed).

    The general way, which also closes an overdue attempt and explains every refusal; the API
    tries :func:`save_answer_fast` (the common case, without ORM objects) first.
    """
    attempt = get_own_attempt(attempt_id, user_id, lock=True)
    if close_if_overdue(attempt, now) or attempt.status is not AttemptStatus.IN_PROGRESS:
        raise Conflict(
            _("This attempt is closed: answers can no longer change."), code="attempt_closed"
        )
    _check_device(attempt, device_id)
    row = db.session.execute(
        select(AttemptItem.option_ids, QuestionVersion.type)
        .join(QuestionVersion, QuestionVersion.id == AttemptItem.question_version_id)
        .where(AttemptItem.attempt_id == attempt_id, AttemptItem.position == position)
    ).first()
    if row is None:
        raise NotFound(_("No question %(n)d in this attempt.", n=position))
    stored = encode_answer(row[1], row[0], answer)
    values: dict[str, Any] = {"answer": stored, "seq": seq, "saved_at": now}
    if flagged is not None:
        values["flagged"] = flagged
    result = db.session.execute(
        update(AttemptItem)
        .where(
            AttemptItem.attempt_id == attempt_id,
            AttemptItem.position == position,
            AttemptItem.seq < seq,
        )
        .values(**values)
    )
    deadline = attempt.deadline_at
    db.session.commit()
    if result.rowcount:  # type: ignore[attr-defined]
        return SaveResult(True, seq, deadline)
    current = db.session.scalar(
        select(AttemptItem.seq).where(
            AttemptItem.attempt_id == attempt_id, AttemptItem.position == position
        )
    )
    return SaveResult(False, int(current or 0), deadline)


# The fast save in Core SQL on the tables (no ORM compile or synchronisation step: this is the
# request a contest sends most).
_attempt, _item = Attempt.__table__, AttemptItem.__table__


def _session_holds(generation: Any) -> Any:
    """The account of the attempt is active and the request's session is of its current
    generation (see :func:`contest.services.accounts.end_sessions`): SQL for the fast paths."""
    users = User.__table__.c
    return and_(users.active.is_(True), users.session_generation == generation)


_FAST_CHECK = (
    select(
        _attempt.c.status,
        _attempt.c.deadline_at,
        _attempt.c.device_id,
        Round.__table__.c.grace_s,
        _attempt.c.round_id,
        _item.c.position,
        _item.c.option_ids,
        QuestionVersion.__table__.c.type,
    )
    .select_from(
        _attempt.join(Round.__table__, Round.__table__.c.id == _attempt.c.round_id)
        .join(User.__table__, User.__table__.c.id == _attempt.c.user_id)
        .join(_item, _item.c.attempt_id == _attempt.c.id)
        .join(
            QuestionVersion.__table__,
            QuestionVersion.__table__.c.id == _item.c.question_version_id,
        )
    )
    .where(
        _attempt.c.id == bindparam("attempt_id"),
        _attempt.c.user_id == bindparam("user_id"),
        _session_holds(bindparam("generation")),
    )
    .with_for_update(read=True, of=_attempt)
)  # one row per item: the whole paper's shape comes with the check
_FAST_SAVE = (
    _item.update()
    .where(
        _item.c.attempt_id == bindparam("b_attempt"),
        _item.c.position == bindparam("b_position"),
        _item.c.seq < bindparam("b_seq"),
    )
    .values(answer=bindparam("b_answer"), seq=bindparam("b_seq"), saved_at=bindparam("b_saved_at"))
    .returning(_item.c.seq)
)
_FAST_SAVE_FLAGGED = _FAST_SAVE.values(flagged=bindparam("b_flagged"))
_STORED_SEQ = select(_item.c.seq).where(
    _item.c.attempt_id == bindparam("attempt_id"), _item.c.position == bindparam("position")
)


@dataclass(frozen=True, slots=True)
class _PaperShape:
    """What a save must know of an attempt's items (their kinds and option ids); fixed when the
    paper was drawn."""

    round_id: int
    items: dict[int, tuple[QuestionType, list[str]]]  # position → (kind, option ids)


@dataclass
class _SaveCache:
    """Per app and process: the paper shapes of attempts saved lately, and each round's grace
    (re-read after :data:`_GRACE_TTL_S`, so an organizer's change applies within seconds). With
    both known, a save is one statement in autocommit: one round trip to PostgreSQL instead of
    four (BEGIN, check, update, COMMIT), which is most of a save's cost."""

    papers: OrderedDict[int, _PaperShape]  # attempt id → shape, least recently saved first
    graces: dict[int, tuple[int, float]]  # round id → (grace_s, monotonic time read)

    def remember(self, attempt_id: int, paper: _PaperShape, grace_s: int) -> None:
        self.papers[attempt_id] = paper
        if len(self.papers) > _PAPERS_KEPT:
            self.papers.popitem(last=False)
        self.graces[paper.round_id] = (grace_s, time.monotonic())


_PAPERS_KEPT = 3_000  # attempts (of 30 items: about 20 MB); a miss costs what a save cost before
_GRACE_TTL_S = 10.0


def _save_cache() -> _SaveCache:
    extensions = current_app.extensions
    cache: _SaveCache | None = extensions.get("attempt_save_cache")
    if cache is None:
        cache = extensions["attempt_save_cache"] = _SaveCache(OrderedDict(), {})
    return cache


def _one_trip_save(with_device: bool, with_flag: bool) -> Update:
    """The save as one UPDATE: the item's seq must rise, and the attempt (share-locked, so a
    submission waits for it or it sees the submission) must be open, in time, owned by an active
    account and on this device."""
    allowed = (
        select(_attempt.c.id)
        .join(User.__table__, User.__table__.c.id == _attempt.c.user_id)
        .where(
            _attempt.c.id == bindparam("b_attempt"),
            _attempt.c.user_id == bindparam("b_user"),
            _session_holds(bindparam("b_generation")),
            _attempt.c.status == AttemptStatus.IN_PROGRESS,
            _attempt.c.deadline_at >= bindparam("b_cutoff"),
        )
        .with_for_update(read=True, of=_attempt)
    )
    if with_device:
        allowed = allowed.where(
            or_(_attempt.c.device_id.is_(None), _attempt.c.device_id == bindparam("b_device"))
        )
    statement = (
        _item.update()
        .where(
            _item.c.attempt_id.in_(allowed.scalar_subquery()),
            _item.c.attempt_id == bindparam("b_attempt"),
            _item.c.position == bindparam("b_position"),
            _item.c.seq < bindparam("b_seq"),
        )
        .values(
            answer=bindparam("b_answer"), seq=bindparam("b_seq"), saved_at=bindparam("b_saved_at")
        )
        .returning(
            _item.c.seq,
            select(_attempt.c.deadline_at)
            .where(_attempt.c.id == bindparam("b_attempt"))
            .scalar_subquery(),
        )
    )
    return statement.values(flagged=bindparam("b_flagged")) if with_flag else statement


_ONE_TRIP = {(d, f): _one_trip_save(d, f) for d in (False, True) for f in (False, True)}


def save_answer_fast(
    attempt_id: int,
    user: SessionUser,
    position: int,
    *,
    answer: Any,
    seq: int,
    flagged: bool | None,
    now: datetime,
    device_id: str | None,
) -> SaveResult | None:
    """The save of an open, in-time attempt on its device by an active account, from a session
    of its current generation; None: take the general way (:func:`save_answer`), which also
    explains refusals.

    An item saved before in this process is saved in one statement; otherwise, or when that
    statement changes nothing (an old seq, a closed attempt …), a checking read comes first.
    """
    cache = _save_cache()
    paper = cache.papers.get(attempt_id)
    grace = cache.graces.get(paper.round_id) if paper is not None else None
    item = paper.items.get(position) if paper is not None else None
    if item is not None and grace is not None and time.monotonic() - grace[1] < _GRACE_TTL_S:
        cache.papers.move_to_end(attempt_id)
        try:
            stored = encode_answer(item[0], item[1], answer)
        except InvalidInput:  # explained after the checks: others' attempts stay 404
            return _checked_save(attempt_id, user, position, answer, seq, flagged, now, device_id)
        params = {
            "b_attempt": attempt_id,
            "b_user": user.id,
            "b_generation": user.generation,
            "b_cutoff": now - timedelta(seconds=grace[0]),
            "b_device": device_id,
            "b_position": position,
            "b_seq": seq,
            "b_answer": stored,
            "b_saved_at": now,
            "b_flagged": flagged,
        }
        statement = _ONE_TRIP[(device_id is not None, flagged is not None)]
        with db.engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            saved = connection.execute(statement, params).first()
            if saved is not None:
                return SaveResult(True, seq, saved[1])
    return _checked_save(attempt_id, user, position, answer, seq, flagged, now, device_id)


def _checked_save(
    attempt_id: int,
    user: SessionUser,
    position: int,
    answer: Any,
    seq: int,
    flagged: bool | None,
    now: datetime,
    device_id: str | None,
) -> SaveResult | None:
    connection = db.session.connection()
    rows = connection.execute(
        _FAST_CHECK, {"attempt_id": attempt_id, "user_id": user.id, "generation": user.generation}
    ).all()
    row = next((r for r in rows if r.position == position), None)
    if row is None:
        db.session.rollback()
        return None
    status, deadline, attempt_device, grace_s, round_id, _, option_ids, kind = row
    if not _open_here(status, deadline, grace_s, attempt_device, device_id, now):
        db.session.rollback()
        return None
    stored = encode_answer(QuestionType(kind), option_ids, answer)
    params = {
        "b_attempt": attempt_id,
        "b_position": position,
        "b_seq": seq,
        "b_answer": stored,
        "b_saved_at": now,
    }
    if flagged is None:
        result = connection.execute(_FAST_SAVE, params).first()
    else:
        result = connection.execute(_FAST_SAVE_FLAGGED, params | {"b_flagged": flagged}).first()
    # Later saves of this attempt in this process take one statement.
    paper = _PaperShape(round_id, {r.position: (QuestionType(r.type), r.option_ids) for r in rows})
    _save_cache().remember(attempt_id, paper, grace_s)
    if result is None:
        current = connection.execute(
            _STORED_SEQ, {"attempt_id": attempt_id, "position": position}
        ).scalar()
        db.session.commit()
        return SaveResult(False, int(current or 0), deadline)
    db.session.commit()
    return SaveResult(True, seq, deadline)


def submit_attempt(
    attempt_id: int, user_id: int, *, now: datetime, device_id: str | None
) -> tuple[Attempt, bool]:
    """Submit (committed); returns the attempt and whether this call submitted it.

    Submitting twice is harmless. The caller enqueues scoring when this call submitted it.
    """
    attempt = get_own_attempt(attempt_id, user_id, lock=True)
    if attempt.status is not AttemptStatus.IN_PROGRESS:
        return attempt, False
    if close_if_overdue(attempt, now):
        return attempt, True
    _check_device(attempt, device_id)
    _submit(attempt, now, by="contestant")
    db.session.commit()
    return attempt, True


@dataclass(frozen=True)
class FastSubmitted:
    """What submitAttempt answers with, from the fast submit's one row."""

    round_id: int
    max_score: Any
    time_used_s: int
    review_policy: ReviewPolicy
    closes_at: datetime | None
    grace_s: int


_round = Round.__table__
_FAST_SUBMIT_CHECK = (
    select(
        _attempt.c.status,
        _attempt.c.started_at,
        _attempt.c.deadline_at,
        _attempt.c.device_id,
        _attempt.c.round_id,
        _attempt.c.max_score,
        _round.c.grace_s,
        _round.c.review_policy,
        _round.c.closes_at,
    )
    .select_from(
        _attempt.join(_round, _round.c.id == _attempt.c.round_id).join(
            User.__table__, User.__table__.c.id == _attempt.c.user_id
        )
    )
    .where(
        _attempt.c.id == bindparam("attempt_id"),
        _attempt.c.user_id == bindparam("user_id"),
        _session_holds(bindparam("generation")),
    )
    .with_for_update(of=_attempt)
)
_FAST_SUBMIT = (
    _attempt.update()
    .where(_attempt.c.id == bindparam("b_id"))
    .values(
        status=AttemptStatus.SUBMITTED,
        submitted_at=bindparam("b_submitted_at"),
        submitted_by="contestant",
        time_used_s=bindparam("b_time_used_s"),
    )
)


def submit_attempt_fast(
    attempt_id: int, user: SessionUser, *, now: datetime, device_id: str | None
) -> FastSubmitted | None:
    """The contestant's own submission of an open attempt, in time, on its device, by an active
    account from a session of its current generation (committed), in Core SQL; None: take the
    general way (:func:`submit_attempt`), which also answers a second submission and a late
    one."""
    connection = db.session.connection()
    row = connection.execute(
        _FAST_SUBMIT_CHECK,
        {"attempt_id": attempt_id, "user_id": user.id, "generation": user.generation},
    ).first()
    if row is None or not _open_here(
        row.status, row.deadline_at, row.grace_s, row.device_id, device_id, now
    ):
        db.session.rollback()
        return None
    submitted_at, time_used_s = _submission_times(now, row.deadline_at, row.started_at)
    connection.execute(
        _FAST_SUBMIT,
        {"b_id": attempt_id, "b_submitted_at": submitted_at, "b_time_used_s": time_used_s},
    )
    db.session.commit()
    return FastSubmitted(
        row.round_id, row.max_score, time_used_s, row.review_policy, row.closes_at, row.grace_s
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
    replaced = bool(attempt.device_id and device_id and device_id != attempt.device_id)
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
