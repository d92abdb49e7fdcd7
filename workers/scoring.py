"""Scoring: grade a submitted attempt against the question versions it showed.

``score_attempt`` is idempotent: it runs only for a submitted attempt (status guard) and writes
absolute values, so running it twice changes nothing. After the commit it *sets* the contestant's
leaderboard entry from the database (:func:`contest.services.leaderboards.record_attempt`) — also
when the attempt was scored already, so a retry after Redis failed mid-job still updates the board.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from flask import current_app
from rq import Queue, Retry
from sqlalchemy import bindparam, select

from contest.extensions import db, redis_hub
from contest.models import Attempt, AttemptItem, AttemptStatus, Round
from contest.services import leaderboards
from contest.services.bank import version_data
from question_bank.domain import QuestionData, QuestionType
from question_bank.grading import MultipleRule, grade
from question_bank.models import QuestionVersion
from workers import queues
from workers.runner import get_queue

TIMEOUT_S = 60


def to_indexes(
    answer: object, option_ids: list[str], option_order: list[int], kind: QuestionType
) -> object:
    """A stored answer (option ids) as option indexes into the question version's options."""
    if answer is None or kind in (QuestionType.TRUE_FALSE, QuestionType.FILL_BLANK):
        return answer
    original = dict(zip(option_ids, option_order, strict=True))
    if kind is QuestionType.SINGLE:
        return original.get(answer)  # type: ignore[call-overload]
    return [original[a] for a in answer if a in original]  # type: ignore[attr-defined]


# Question versions never change once written: each worker process keeps the graded ones it met.
_versions: OrderedDict[int, QuestionData] = OrderedDict()
_VERSIONS_KEPT = 4096


def versions(ids: set[int]) -> dict[int, QuestionData]:
    """The question data of these versions, from the process's cache or the database."""
    missing = ids - _versions.keys()
    if missing:
        for version in db.session.scalars(
            select(QuestionVersion).where(QuestionVersion.id.in_(missing))
        ):
            _versions[version.id] = version_data(version)
        while len(_versions) > _VERSIONS_KEPT:
            _versions.popitem(last=False)
    return {i: _versions[i] for i in ids}


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


_item = AttemptItem.__table__
_ITEMS = select(
    _item.c.position,
    _item.c.question_version_id,
    _item.c.points,
    _item.c.option_ids,
    _item.c.option_order,
    _item.c.answer,
).where(_item.c.attempt_id == bindparam("attempt_id"))
_WRITE_ITEM = (
    _item.update()
    .where(
        _item.c.attempt_id == bindparam("b_attempt"), _item.c.position == bindparam("b_position")
    )
    .values(earned=bindparam("b_earned"), correct=bindparam("b_correct"))
)


def _grade(attempt: Attempt) -> None:
    """Write every item's points and the total (committed), in Core SQL: one read of the items,
    one batched write of their results, the attempt's row through the ORM."""
    round_ = db.session.get(Round, attempt.round_id)
    assert round_ is not None
    rule = MultipleRule(round_.multiple_rule)
    connection = db.session.connection()
    rows = connection.execute(_ITEMS, {"attempt_id": attempt.id}).all()
    data = versions({row.question_version_id for row in rows})
    total = Fraction(0)
    results = []
    for row in rows:
        question = data[row.question_version_id]
        answer = to_indexes(row.answer, row.option_ids, row.option_order, question.type)
        result = grade(question, answer, row.points, rule)
        total += result.points
        results.append(
            {
                "b_attempt": attempt.id,
                "b_position": row.position,
                "b_earned": _decimal(result.points),
                "b_correct": result.correct,
            }
        )
    if results:
        connection.execute(_WRITE_ITEM, results)
    attempt.score = _decimal(total)
    if attempt.status is AttemptStatus.SUBMITTED:
        attempt.status = AttemptStatus.SCORED
    attempt.scored_at = datetime.now(UTC)
    db.session.commit()


def enqueue_scoring_many(attempt_ids: list[int]) -> None:
    """Queue scoring (call after the submissions are committed): one job per attempt with the
    deterministic id ``score-<id>``, queued in Redis pipelines of 500 (the close of a round)."""
    if not attempt_ids:
        return
    queue = get_queue(current_app._get_current_object(), queues.SCORING)  # type: ignore[attr-defined]
    for start in range(0, len(attempt_ids), 500):
        queue.enqueue_many(
            [
                Queue.prepare_data(
                    score_attempt,
                    (attempt_id,),
                    job_id=f"score-{attempt_id}",
                    timeout=TIMEOUT_S,
                    retry=Retry(max=3, interval=[1, 5, 15]),
                    result_ttl=0,  # nothing reads a scoring result: the attempt row is the result
                    failure_ttl=7 * 24 * 3600,
                )
                for attempt_id in attempt_ids[start : start + 500]
            ]
        )


def enqueue_scoring(attempt_id: int) -> None:
    """Queue one attempt's scoring (see :func:`enqueue_scoring_many`)."""
    enqueue_scoring_many([attempt_id])
