"""Scoring: grade a submitted attempt against the question versions it showed.

``score_attempt`` is idempotent: it runs only for a submitted attempt (status guard) and writes
absolute values, so running it twice changes nothing. After the commit it *sets* the contestant's
leaderboard entry from the database (:func:`contest.services.leaderboards.record_attempt`) — also
when the attempt was scored already, so a retry after Redis failed mid-job still updates the board.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from flask import current_app
from rq import Retry
from sqlalchemy import select

from contest.extensions import db, redis_hub
from contest.models import Attempt, AttemptItem, AttemptStatus, Round
from contest.services import leaderboards
from contest.services.bank import version_data
from question_bank.domain import QuestionType
from question_bank.grading import MultipleRule, grade
from question_bank.models import QuestionVersion
from workers import queues
from workers.runner import get_queue

TIMEOUT_S = 60


def to_indexes(item: AttemptItem, kind: QuestionType) -> object:
    """A stored answer (option ids) as option indexes into the question version's options."""
    answer = item.answer
    if answer is None or kind in (QuestionType.TRUE_FALSE, QuestionType.FILL_BLANK):
        return answer
    original = dict(zip(item.option_ids, item.option_order, strict=True))
    if kind is QuestionType.SINGLE:
        return original.get(answer)
    return [original[a] for a in answer if a in original]


def _decimal(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )


def score_attempt(attempt_id: int) -> str:
    """Grade every item and the total; returns the attempt's status afterwards."""
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None:
        return "missing"
    # A voided attempt is graded too (organizers review it) but stays void: it ranks nowhere.
    voided_unscored = attempt.status is AttemptStatus.VOID and attempt.score is None
    if attempt.status is AttemptStatus.SUBMITTED or voided_unscored:
        _grade(attempt)
    if attempt.status in (AttemptStatus.SCORED, AttemptStatus.VOID):
        leaderboards.record_attempt(redis_hub.client, attempt)
    return attempt.status.value


def _grade(attempt: Attempt) -> None:
    """Write every item's points and the total (committed)."""
    attempt_id = attempt.id
    round_ = db.session.get(Round, attempt.round_id)
    assert round_ is not None
    rule = MultipleRule(round_.multiple_rule)
    rows = db.session.execute(
        select(AttemptItem, QuestionVersion)
        .join(QuestionVersion, QuestionVersion.id == AttemptItem.question_version_id)
        .where(AttemptItem.attempt_id == attempt_id)
    ).all()
    total = Fraction(0)
    for item, version in rows:
        result = grade(version_data(version), to_indexes(item, version.type), item.points, rule)
        item.earned, item.correct = _decimal(result.points), result.correct
        total += result.points
    attempt.score = _decimal(total)
    if attempt.status is AttemptStatus.SUBMITTED:
        attempt.status = AttemptStatus.SCORED
    attempt.scored_at = datetime.now(UTC)
    db.session.commit()


def enqueue_scoring(attempt_id: int) -> None:
    """Queue scoring (call after the submission is committed); one job id per attempt."""
    get_queue(current_app._get_current_object(), queues.SCORING).enqueue(  # type: ignore[attr-defined]
        score_attempt,
        attempt_id,
        job_id=f"score-{attempt_id}",
        job_timeout=TIMEOUT_S,
        retry=Retry(max=3, interval=[1, 5, 15]),
        result_ttl=600,
        failure_ttl=7 * 24 * 3600,
    )
