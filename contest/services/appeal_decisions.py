"""Deciding appeals: the organizers' decisions on an item and the regrade that follows.

A decision is about the item (one question version in one round), as :mod:`contest.services.appeals`
describes: :func:`decide` writes the item's ruling and settles its open appeals,
:func:`decide_and_commit` commits it and queues the regrade of the item's attempts
(:func:`after_decision`), and :func:`regrade_item` queues that regrade again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import redis
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from contest.errors import Conflict, InvalidInput, NotFound, Unavailable
from contest.extensions import db
from contest.models import (
    Appeal,
    AppealDecision,
    AppealStatus,
    Attempt,
    AttemptItem,
    ContestStatus,
    ItemRuling,
    Round,
    User,
)
from contest.services import audit, bank, rulings
from contest.services.appeals import (
    MAX_REPLY,
    REGRADED,
    answer_text,
    graded_response,
    item_ruling,
    parse_answer,
    required_text,
    ruling_value,
    stored_in_version_terms,
)
from contest.services.bank import version_data
from question_bank.domain import answer_from_json
from question_bank.grading import MultipleRule
from question_bank.models import Question, QuestionVersion

log = logging.getLogger(__name__)

ACCEPTING = (AppealDecision.ACCEPT_ANSWER, AppealDecision.CHANGE_KEY, AppealDecision.VOID_ITEM)


def _ruling_state(ruling: ItemRuling | None) -> dict[str, Any]:
    if ruling is None:
        return {"key": None, "accepted": [], "voided": False}
    return {
        "key": ruling.key,
        "accepted": list(ruling.accepted or []),
        "voided": ruling.voided,
        "new_version_id": ruling.new_version_id,
    }


@dataclass
class Decided:
    """What a decision did: the appeals it settled, and for an accepting one the item's
    attempts to grade again."""

    appeal: Appeal
    decision: AppealDecision
    settled: list[int]
    regrade: list[int]
    contest_id: int
    note: str = ""  # e.g. the bank could not take the corrected key as a new version
    queued: bool = True  # False: the regrade could not be queued (regrade the item again)


def affected_attempts(round_id: int, version_id: int) -> list[int]:
    """Every attempt of the round holding the version (submitted, scored or void)."""
    return list(
        db.session.scalars(
            select(Attempt.id)
            .join(AttemptItem, AttemptItem.attempt_id == Attempt.id)
            .where(
                Attempt.round_id == round_id,
                AttemptItem.question_version_id == version_id,
                Attempt.status.in_(REGRADED),
            )
            .distinct()
            .order_by(Attempt.id)
        )
    )


def _earns_full(version: QuestionVersion, round_: Round, ruling: Any, value: Any) -> bool:
    data = version_data(version)
    rule = MultipleRule(round_.multiple_rule)
    graded = rulings.grade_item(data, graded_response(version.type, value), 1, rule, ruling)
    return graded.points == 1


def _bank_version(
    version: QuestionVersion, key: Any, actor_id: int | None, now: datetime
) -> tuple[int | None, str]:
    """A new bank version of the question with the corrected key (the question's current
    version, with the key replaced, when it still has the appealed version's options)."""
    question = db.session.get_one(Question, version.question_id)
    current = question.current_version or version
    if current.type is not version.type or list(current.options) != list(version.options):
        return None, _(
            "The question was changed in the bank since this round drew it: correct its key "
            "there by hand."
        )
    data = version_data(current, question.category.path if question.category else "")
    data = replace(data, answer=answer_from_json(version.type, key))
    try:
        created = bank.edit_question(question.id, data, actor_id=actor_id, now=now, checked=True)
    except Exception:  # the corrected key stands for grading whatever the bank says
        log.exception("the bank did not take the corrected key of question %s", question.id)
        return None, _("The bank did not take the corrected key: correct it there by hand.")
    return (created.id if created is not None else current.id), ""


def decide(
    appeal_id: int,
    decision: AppealDecision,
    *,
    reply: str,
    answer: str | None = None,
    all_open: bool = False,
    actor: User | None = None,
    now: datetime,
) -> Decided:
    """Decide an appeal (not committed; :func:`decide_and_commit` commits and queues the
    regrade). See the module docstring for the decisions; 409 ``already_decided`` for an appeal
    decided before, ``item_voided`` for an item void already, ``already_accepted`` for an
    answer that earns full points already; 422 for a missing reply or an answer that does not
    fit."""
    appeal = db.session.get(Appeal, appeal_id)
    if appeal is None:
        raise NotFound(_("No appeal %(id)s.", id=appeal_id))
    # A round's decisions take turns: the round row first, then the appeal (read again under
    # the lock) and the item's ruling, so two decisions on one item never write over each other.
    db.session.execute(select(Round.id).where(Round.id == appeal.round_id).with_for_update())
    db.session.refresh(appeal, with_for_update=True)
    text = required_text(reply, MAX_REPLY, "reply", _("a reply to the contestant"))
    if appeal.status is not AppealStatus.OPEN:
        raise Conflict(_("This appeal is decided already."), code="already_decided")
    round_ = db.session.get_one(Round, appeal.round_id)
    if round_.contest.status is ContestStatus.ARCHIVED:
        raise Conflict(
            _("The contest is archived and read-only: unarchive it to change it."),
            code="contest_archived",
        )
    version = db.session.get_one(QuestionVersion, appeal.question_version_id)
    same_item = (Appeal.round_id == appeal.round_id) & (
        Appeal.question_version_id == appeal.question_version_id
    )
    if decision is AppealDecision.REJECT:
        targets = [appeal]
        if all_open:
            targets = list(
                db.session.scalars(
                    select(Appeal).where(same_item, Appeal.status == AppealStatus.OPEN)
                )
            )
        for target in targets:
            _settle(target, AppealStatus.REJECTED, decision, text, actor, now)
        audit.record(
            "appeal.reject",
            target_type="appeal",
            target_id=appeal.id,
            contest_id=appeal.contest_id,
            before={"status": "open"},
            after={"status": "rejected", "appeals": [t.id for t in targets]},
            reason=text,
            actor=actor,
        )
        return Decided(appeal, decision, [t.id for t in targets], [], appeal.contest_id)
    ruling = item_ruling(appeal.round_id, appeal.question_version_id)
    before = _ruling_state(ruling)
    if ruling is None:
        ruling = ItemRuling(
            round_id=appeal.round_id,
            question_version_id=appeal.question_version_id,
            key=None,
            accepted=[],
            voided=False,
        )
        db.session.add(ruling)
    if ruling.voided:
        raise Conflict(_("This question is void already."), code="item_voided")
    note = ""
    if decision is AppealDecision.VOID_ITEM:
        ruling.voided = True
    else:
        if decision is AppealDecision.ACCEPT_ANSWER and not (answer or "").strip():
            item = db.session.get_one(AttemptItem, (appeal.attempt_id, appeal.position))
            value = stored_in_version_terms(item, version.type)
            if value is None:
                raise InvalidInput(
                    _("The appellant gave no answer: write the answer to accept."),
                    code="answer_required",
                )
        else:
            value = parse_answer(version, answer or "")
        current = ruling_value(ruling)
        if decision is AppealDecision.ACCEPT_ANSWER:
            if _earns_full(version, round_, current, value):
                raise Conflict(_("This answer earns full points already."), code="already_accepted")
            ruling.accepted = [*(ruling.accepted or []), value]
        else:
            now_key = ruling.key if ruling.key is not None else version.answer
            if answer_text(version.type, value) == answer_text(version.type, now_key):
                raise Conflict(_("This is the key already."), code="already_accepted")
            ruling.key = value
            actor_id = actor.id if actor is not None else _current_id()
            ruling.new_version_id, note = _bank_version(version, value, actor_id, now)
    ruling.updated_at = now
    db.session.flush()
    targets = list(
        db.session.scalars(select(Appeal).where(same_item, Appeal.status == AppealStatus.OPEN))
    )
    for target in targets:
        _settle(target, AppealStatus.ACCEPTED, decision, text, actor, now)
    audit.record(
        f"appeal.{decision.value}",
        target_type="appeal",
        target_id=appeal.id,
        contest_id=appeal.contest_id,
        before=before,
        after={**_ruling_state(ruling), "appeals": [t.id for t in targets]},
        reason=text,
        actor=actor,
    )
    regrade = affected_attempts(appeal.round_id, appeal.question_version_id)
    return Decided(appeal, decision, [t.id for t in targets], regrade, appeal.contest_id, note)


def _current_id() -> int | None:
    from flask_login import current_user

    try:
        return int(current_user.id) if current_user.is_authenticated else None
    except (AttributeError, RuntimeError):
        return None


def _settle(
    appeal: Appeal,
    status: AppealStatus,
    decision: AppealDecision,
    reply: str,
    actor: User | None,
    now: datetime,
) -> None:
    appeal.status = status
    appeal.decision = decision
    appeal.reply = reply
    appeal.decided_at = now
    appeal.decided_by_id = actor.id if actor is not None else _current_id()


def decide_and_commit(appeal_id: int, decision: AppealDecision, **kwargs: Any) -> Decided:
    """:func:`decide`, commit (rolled back when refused), then queue the regrade of the item's
    attempts on the scoring queue (commit, then enqueue)."""
    try:
        decided = decide(appeal_id, decision, **kwargs)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(
            _("Another decision on this question came first: reload and decide again."),
            code="decision_conflict",
        ) from None
    except Exception:
        db.session.rollback()
        raise
    after_decision(decided, kwargs["now"])
    return decided


def after_decision(decided: Decided, now: datetime) -> int:
    """After the commit of an accepting decision: the item's attempts are graded again by the
    scoring workers; returns the jobs queued. (No attempt to grade: the awards are told now.)

    The decision stands whatever happens here: Redis unreachable, ``decided.queued`` turns
    False and ``decided.note`` says so; the organizers regrade the item again
    (:func:`regrade_item`) once Redis is back."""
    if decided.decision not in ACCEPTING:
        return 0
    reason = _("Appeal %(id)d accepted", id=decided.appeal.id)
    from contest.services.scoring import enqueue_regrade, tell_awards

    if not decided.regrade:
        tell_awards(decided.contest_id, reason)
        return 0
    tag = f"{decided.appeal.id}-{int(now.timestamp() * 1000)}"
    try:
        return enqueue_regrade(
            decided.regrade, contest_id=decided.contest_id, reason=reason, tag=tag
        )
    except redis.RedisError:
        log.exception("the regrade after appeal %s was not queued", decided.appeal.id)
        decided.queued = False
        unqueued = _(
            "The decision stands, but the regrade could not be queued: use “Regrade this "
            "question again” once the queue is back."
        )
        decided.note = f"{decided.note} {unqueued}".strip()
        return 0


def regrade_item(
    round_id: int, version_id: int, *, actor: User | None = None, now: datetime
) -> int:
    """Queue the regrade of every attempt of the round holding the version again (the rulings
    as they are now), audited; returns the attempts queued. 404 for an item no appeal names;
    503 ``queue_unavailable`` when Redis is unreachable."""
    found = db.session.scalar(
        select(Appeal.contest_id)
        .where(Appeal.round_id == round_id, Appeal.question_version_id == version_id)
        .limit(1)
    )
    if found is None:
        raise NotFound(_("No appeals of this question in this round."))
    round_ = db.session.get_one(Round, round_id)
    if round_.contest.status is ContestStatus.ARCHIVED:
        raise Conflict(
            _("The contest is archived and read-only: unarchive it to change it."),
            code="contest_archived",
        )
    attempt_ids = affected_attempts(round_id, version_id)
    from contest.services.scoring import enqueue_regrade, tell_awards

    reason = _("Question regraded after appeals")
    if attempt_ids:
        tag = f"item-{round_id}-{version_id}-{int(now.timestamp() * 1000)}"
        try:
            enqueue_regrade(attempt_ids, contest_id=found, reason=reason, tag=tag)
        except redis.RedisError:
            log.exception("regrade of version %s in round %s not queued", version_id, round_id)
            raise Unavailable(
                _("The scoring queue is unreachable: try again in a moment."),
                code="queue_unavailable",
                retry_after=30,
            ) from None
    audit.record(
        "appeal.regrade",
        target_type="round",
        target_id=round_id,
        contest_id=found,
        after={"question_version_id": version_id, "attempts": len(attempt_ids)},
        actor=actor,
    )
    db.session.commit()
    if not attempt_ids:
        tell_awards(found, reason)
    return len(attempt_ids)
