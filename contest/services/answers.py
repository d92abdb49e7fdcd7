"""Answers: the autosave, the request a contest sends most.

A save carries a per-attempt, strictly increasing ``seq``: one that is not above the stored one
changes nothing (a late, older save never overwrites a newer one). Whether the attempt may change
at all is :mod:`contest.services.attempt_rules`, written once and used here three ways:

* :func:`save_answer_fast`, an item this process saved before: one UPDATE in autocommit whose
  WHERE holds every rule (one round trip to the database: most of a save's cost is round trips);
* otherwise a checking read of the attempt's row and paper, the rules evaluated on it in Python,
  then the UPDATE (the paper's shape is kept for the next save);
* :func:`save_answer`, the general way, when either refuses: it loads the attempt, explains the
  first rule that fails (``attempt_closed``, ``device_replaced``; another's attempt is a 404),
  and closes an overdue attempt.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Update, bindparam, select, update

from contest.errors import InvalidInput, NotFound
from contest.extensions import db
from contest.models import Attempt, AttemptItem, Round, User
from contest.services import attempt_rules as rules
from contest.services.attempt_rules import Change
from contest.services.attempts import get_own_attempt, refuse
from question_bank.domain import QuestionType
from question_bank.models import QuestionVersion

MAX_ANSWER_TEXT = 500


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


def save_answer(change: Change) -> SaveResult:
    """Store an answer if ``seq`` is newer than the stored one (one UPDATE, committed).

    The general way, which also closes an overdue attempt and explains every refusal; the API
    tries :func:`save_answer_fast` (the common case, without ORM objects) first.
    """
    attempt = get_own_attempt(change.attempt_id, change.user.id, lock=True)
    refuse(change, attempt, db.session.get(User, change.user.id))
    row = db.session.execute(
        select(AttemptItem.option_ids, QuestionVersion.type)
        .join(QuestionVersion, QuestionVersion.id == AttemptItem.question_version_id)
        .where(AttemptItem.attempt_id == attempt.id, AttemptItem.position == change.position)
    ).first()
    if row is None:
        raise NotFound(_("No question %(n)d in this attempt.", n=change.position))
    values: dict[str, Any] = {
        "answer": encode_answer(row[1], row[0], change.answer),
        "seq": change.seq,
        "saved_at": change.now,
    }
    if change.flagged is not None:
        values["flagged"] = change.flagged
    result = db.session.execute(
        update(AttemptItem)
        .where(
            AttemptItem.attempt_id == attempt.id,
            AttemptItem.position == change.position,
            AttemptItem.seq < change.seq,
        )
        .values(**values)
    )
    deadline = attempt.deadline_at
    db.session.commit()
    if result.rowcount:  # type: ignore[attr-defined]
        return SaveResult(True, change.seq, deadline)
    current = db.session.scalar(
        select(AttemptItem.seq).where(
            AttemptItem.attempt_id == attempt.id, AttemptItem.position == change.position
        )
    )
    return SaveResult(False, int(current or 0), deadline)


# The fast save in Core SQL on the tables (no ORM compile or synchronisation step: this is the
# request a contest sends most).
_attempt, _item, _round = Attempt.__table__, AttemptItem.__table__, Round.__table__
_users, _version = User.__table__, QuestionVersion.__table__

_CHECK = (
    select(
        *rules.COLUMNS,
        _round.c.grace_s,
        _attempt.c.round_id,
        _item.c.position,
        _item.c.option_ids,
        _version.c.type,
    )
    .select_from(
        _attempt.join(_round, _round.c.id == _attempt.c.round_id)
        .join(_users, _users.c.id == _attempt.c.user_id)
        .join(_item, _item.c.attempt_id == _attempt.c.id)
        .join(_version, _version.c.id == _item.c.question_version_id)
    )
    .where(_attempt.c.id == bindparam("attempt_id"))
    .with_for_update(read=True, of=_attempt)
)  # one row per item: the whole paper's shape comes with the check
_SAVE = (
    _item.update()
    .where(
        _item.c.attempt_id == bindparam("b_attempt"),
        _item.c.position == bindparam("b_position"),
        _item.c.seq < bindparam("b_seq"),
    )
    .values(answer=bindparam("b_answer"), seq=bindparam("b_seq"), saved_at=bindparam("b_saved_at"))
    .returning(_item.c.seq)
)
_SAVE_FLAGGED = _SAVE.values(flagged=bindparam("b_flagged"))
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
    four (BEGIN, check, update, COMMIT)."""

    papers: OrderedDict[int, _PaperShape]  # attempt id → shape, least recently saved first
    graces: dict[int, tuple[int, float]]  # round id → (grace_s, monotonic time read)

    def remember(self, attempt_id: int, paper: _PaperShape, grace_s: int) -> None:
        self.papers[attempt_id] = paper
        if len(self.papers) > _PAPERS_KEPT:
            self.papers.popitem(last=False)
        self.graces[paper.round_id] = (grace_s, time.monotonic())


_PAPERS_KEPT = 3_000  # attempts of 30 items: about 20 MB; a miss costs one checking read
_GRACE_TTL_S = 10.0


def _save_cache() -> _SaveCache:
    extensions = current_app.extensions
    cache: _SaveCache | None = extensions.get("attempt_save_cache")
    if cache is None:
        cache = extensions["attempt_save_cache"] = _SaveCache(OrderedDict(), {})
    return cache


def _one_trip_save(checked: tuple[rules.Rule, ...], with_flag: bool) -> Update:
    """The save as one UPDATE: the item's seq must rise, and the attempt (share-locked, so a
    submission waits for it or it sees the submission) must meet every rule in ``checked``."""
    allowed = (
        select(_attempt.c.id)
        .join(_users, _users.c.id == _attempt.c.user_id)
        .where(_attempt.c.id == bindparam("b_attempt"), *rules.conditions(checked))
        .with_for_update(read=True, of=_attempt)
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


_ONE_TRIP = {
    (checked, flag): _one_trip_save(checked, flag)
    for checked in (rules.WITHOUT_DEVICE, rules.EVERY_RULE)
    for flag in (False, True)
}


def save_answer_fast(change: Change) -> SaveResult | None:
    """The save of an attempt that meets every rule; None: take the general way
    (:func:`save_answer`), which also explains refusals.

    An item saved before in this process is saved in one statement; otherwise, or when that
    statement changes nothing (an old seq, a closed attempt …), a checking read comes first.
    """
    cache = _save_cache()
    paper = cache.papers.get(change.attempt_id)
    grace = cache.graces.get(paper.round_id) if paper is not None else None
    item = paper.items.get(change.position) if paper is not None else None
    if item is not None and grace is not None and time.monotonic() - grace[1] < _GRACE_TTL_S:
        cache.papers.move_to_end(change.attempt_id)
        try:
            stored = encode_answer(item[0], item[1], change.answer)
        except InvalidInput:  # explained after the checks: others' attempts stay 404
            return _checked_save(change)
        params = rules.params(change, grace[0]) | _item_params(change, stored)
        statement = _ONE_TRIP[(rules.rules_for(change), change.flagged is not None)]
        with db.engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            saved = connection.execute(statement, params).first()
            if saved is not None:
                return SaveResult(True, change.seq, saved[1])
    return _checked_save(change)


def _item_params(change: Change, stored: Any) -> dict[str, Any]:
    return {
        "b_attempt": change.attempt_id,
        "b_position": change.position,
        "b_seq": change.seq,
        "b_answer": stored,
        "b_saved_at": change.now,
        "b_flagged": change.flagged,
    }


def _checked_save(change: Change) -> SaveResult | None:
    connection = db.session.connection()
    rows = connection.execute(_CHECK, {"attempt_id": change.attempt_id}).all()
    row = next((r for r in rows if r.position == change.position), None)
    if row is None:
        db.session.rollback()
        return None
    checked, facts = rules.rules_for(change), rules.row_facts(row)
    if rules.first_broken(checked, facts, rules.params(change, row.grace_s)):
        db.session.rollback()
        return None
    stored = encode_answer(QuestionType(row.type), row.option_ids, change.answer)
    params = _item_params(change, stored)
    result = connection.execute(_SAVE if change.flagged is None else _SAVE_FLAGGED, params).first()
    # Later saves of this attempt in this process take one statement.
    paper = _PaperShape(
        row.round_id, {r.position: (QuestionType(r.type), r.option_ids) for r in rows}
    )
    _save_cache().remember(change.attempt_id, paper, row.grace_s)
    if result is None:
        current = connection.execute(
            _STORED_SEQ, {"attempt_id": change.attempt_id, "position": change.position}
        ).scalar()
        db.session.commit()
        return SaveResult(False, int(current or 0), row.deadline_at)
    db.session.commit()
    return SaveResult(True, change.seq, row.deadline_at)
