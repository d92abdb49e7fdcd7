"""Scoring: grade submitted attempts against the question versions they showed, and queue that.

Two ways in, one grading routine (:func:`score_attempts`):

- **The hot path** (a submission, a deadline close, the close of a round): :func:`request_scoring`
  appends attempt ids to a Redis list (``score:pending``) and makes sure one drain job
  (:func:`workers.scoring.drain_pending`) is on the scoring queue. The drain grades what is pending
  in batches of up to :data:`BATCH` (one transaction and one Redis pipeline per batch) until the
  list is empty, so at 100 submissions a second a worker pays RQ's per-job cost once per busy
  spell, not per attempt. One drain runs at a time: a mark (``score:draining``, holding the
  drain's token) is held by the queued or running drain and released when the list is empty.
  (Should the mark expire under a drain — a batch slower than its TTL — a second drain may start;
  that is harmless: ids are popped atomically and grading locks the attempts.)
- **The safe path** (the reconciler, retries): :func:`enqueue_scoring_many` queues one
  :func:`workers.scoring.score_attempt` job per attempt with the deterministic id ``score-<id>``,
  an explicit timeout and retries.

- **Regrades** after an accepted appeal (:func:`enqueue_regrade`): ``regrade_attempts`` jobs of
  :data:`REGRADE_CHUNK` attempts grade scored attempts again too, and the last one tells the
  awards. Every grading consults the round's item rulings (:mod:`contest.services.rulings`).

Services do not call :func:`request_scoring` after their commit by hand: a submission schedules
it with :func:`contest.after_commit.after_commit` (:func:`score_after_commit`). The jobs
are named by their dotted path, so this module needs nothing from ``workers``' job modules.

Both are idempotent: only a submitted attempt (or an unscored void one) is graded (status guard),
values are written absolutely, so grading twice changes nothing. After the commit the
contestants' leaderboard entries are *set* from the database
(:func:`contest.services.leaderboards.record_attempts`) — also for attempts that were scored
already, so a retry after Redis failed mid-job still updates the board. The database is the truth:
ids lost with Redis or with a killed drain are found by the reconciler (submitted or void, no
score).
"""

from __future__ import annotations

import logging
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import redis
from flask import current_app
from rq import Queue, Retry
from sqlalchemy import bindparam, select

from contest.after_commit import after_commit
from contest.extensions import db, redis_hub
from contest.models import Attempt, AttemptItem, AttemptStatus, Round
from contest.services import awards, leaderboards
from contest.services.bank import version_data
from contest.services.rulings import grade_item, rulings_for
from question_bank.domain import QuestionData, QuestionType
from question_bank.grading import MultipleRule
from question_bank.models import QuestionVersion
from workers import queues
from workers.runner import get_queue

log = logging.getLogger(__name__)

TIMEOUT_S = 60
PENDING = "score:pending"  # attempt ids waiting for the drain (a list)
DRAINING = "score:draining"  # held while a drain is queued or running
DRAINING_TTL_S = 15  # a drain killed with -9 holds the mark no longer than this
BATCH = 100  # attempts graded per transaction
REGRADE_CHUNK = 200  # attempts per regrade job (one transaction each)
# The jobs, by their dotted path (RQ imports them in the worker).
SCORE_JOB = "workers.scoring.score_attempt"
DRAIN_JOB = "workers.scoring.drain_pending"
REGRADE_JOB = "workers.scoring.regrade_attempts"


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


_attempt = Attempt.__table__
_item = AttemptItem.__table__
_ATTEMPTS = (
    select(
        _attempt.c.id,
        _attempt.c.round_id,
        _attempt.c.user_id,
        _attempt.c.status,
        _attempt.c.score,
    )
    .where(_attempt.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(_attempt.c.id)
    .with_for_update()  # two gradings of one attempt never interleave
)
_ITEMS = select(
    _item.c.attempt_id,
    _item.c.position,
    _item.c.question_version_id,
    _item.c.points,
    _item.c.option_ids,
    _item.c.option_order,
    _item.c.answer,
).where(_item.c.attempt_id.in_(bindparam("ids", expanding=True)))
_WRITE_ITEM = (
    _item.update()
    .where(
        _item.c.attempt_id == bindparam("b_attempt"), _item.c.position == bindparam("b_position")
    )
    .values(earned=bindparam("b_earned"), correct=bindparam("b_correct"))
)
_WRITE_ATTEMPT = (
    _attempt.update()
    .where(_attempt.c.id == bindparam("b_id"))
    .values(
        score=bindparam("b_score"),
        status=bindparam("b_status"),
        scored_at=bindparam("b_scored_at"),
    )
)


def _gradable(status: AttemptStatus, score: Decimal | None, again: bool = False) -> bool:
    # A voided attempt is graded too (organizers review it) but stays void: it ranks nowhere.
    # ``again`` (a regrade after a ruling): scored ones and scored void ones too.
    if again and status in (AttemptStatus.SCORED, AttemptStatus.VOID):
        return True
    return status is AttemptStatus.SUBMITTED or (status is AttemptStatus.VOID and score is None)


def score_attempts(attempt_ids: Sequence[int], *, again: bool = False) -> dict[int, str]:
    """Grade the gradable ones of these attempts in one transaction (Core SQL: one read of the
    attempts, one of their items, one of their rounds' item rulings, batched writes), then set
    their leaderboard entries. ``again``: grade scored attempts again too (after an accepted
    appeal changed how an item is graded); their status stays.

    Returns each found attempt's status afterwards.
    """
    connection = db.session.connection()
    attempts = connection.execute(_ATTEMPTS, {"ids": list(attempt_ids)}).all()
    to_grade = {row.id: row for row in attempts if _gradable(row.status, row.score, again)}
    statuses = {row.id: row.status for row in attempts}
    rounds = {
        round_id: db.session.get_one(Round, round_id)
        for round_id in {row.round_id for row in attempts}
    }
    # Kept for the entries read after the commit (which expires the Round objects).
    refs = {round_id: leaderboards.RoundRef.of(round_) for round_id, round_ in rounds.items()}
    if to_grade:
        rules = {round_id: MultipleRule(r.multiple_rule) for round_id, r in rounds.items()}
        items = connection.execute(_ITEMS, {"ids": list(to_grade)}).all()
        data = versions({item.question_version_id for item in items})
        rulings = rulings_for(rounds)
        totals = dict.fromkeys(to_grade, Fraction(0))
        results = []
        for item in items:
            question = data[item.question_version_id]
            answer = to_indexes(item.answer, item.option_ids, item.option_order, question.type)
            round_id = to_grade[item.attempt_id].round_id
            ruling = rulings.get((round_id, item.question_version_id))
            result = grade_item(question, answer, item.points, rules[round_id], ruling)
            totals[item.attempt_id] += result.points
            results.append(
                {
                    "b_attempt": item.attempt_id,
                    "b_position": item.position,
                    "b_earned": _decimal(result.points),
                    "b_correct": result.correct,
                }
            )
        if results:
            connection.execute(_WRITE_ITEM, results)
        now = datetime.now(UTC)
        writes = []
        for attempt_id, row in to_grade.items():
            status = AttemptStatus.SCORED if row.status is AttemptStatus.SUBMITTED else row.status
            statuses[attempt_id] = status
            writes.append(
                {
                    "b_id": attempt_id,
                    "b_score": _decimal(totals[attempt_id]),
                    "b_status": status,
                    "b_scored_at": now,
                }
            )
        connection.execute(_WRITE_ATTEMPT, writes)
    finished = {AttemptStatus.SCORED, AttemptStatus.VOID}
    contestants = [(row.round_id, row.user_id) for row in attempts if statuses[row.id] in finished]
    graded = [(row.round_id, row.user_id) for row in to_grade.values()]
    client = redis_hub.client
    leaderboards.begin_recording(client, graded)  # a death after the commit leaves these noted
    db.session.commit()
    leaderboards.record_attempts(client, contestants, refs)
    leaderboards.end_recording(client, graded)
    return {attempt_id: status.value for attempt_id, status in statuses.items()}


# The hot path: a pending list and one drain -------------------------------------------------------


def score_after_commit(attempt_id: int) -> None:
    """Queue this attempt's scoring once the session commits (its submission)."""
    after_commit(request_scoring, attempt_id)


def request_scoring(attempt_ids: Sequence[int]) -> None:
    """Queue these attempts for scoring (call after their submission is committed).

    When Redis is unreachable the submission still stands (it is committed): this logs and
    returns, and the reconciler queues scoring for the attempt once Redis is back.
    """
    if not attempt_ids:
        return
    client = redis_hub.client
    token = uuid.uuid4().hex
    try:
        pipe = client.pipeline()
        pipe.rpush(PENDING, *attempt_ids)
        pipe.set(DRAINING, token, nx=True, ex=DRAINING_TTL_S)
        _, marked = pipe.execute()
        if marked:
            _enqueue_drain(client, token)
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        log.warning(
            "scoring of %d attempt(s) not queued (%s); the reconciler will", len(attempt_ids), exc
        )


def ensure_draining() -> bool:
    """Queue a drain when ids are pending and none holds the mark (the reconciler calls this after
    a drain was killed); True if one was queued."""
    client = redis_hub.client
    token = uuid.uuid4().hex
    if claim_if_pending(client, token):
        _enqueue_drain(client, token)
        return True
    return False


def claim_if_pending(client: redis.Redis, token: str) -> bool:
    """Take the mark for ``token`` if ids are pending and nobody holds it."""
    return bool(client.llen(PENDING) and client.set(DRAINING, token, nx=True, ex=DRAINING_TTL_S))


# The mark holds the token of the drain it belongs to: a drain refreshes and releases only its own.
_REFRESH = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def release(client: redis.Redis, token: str) -> None:
    """Let go of the mark if ``token`` holds it."""
    client.eval(_RELEASE, 1, DRAINING, token)


def refresh(client: redis.Redis, token: str) -> None:
    """Extend the mark's life if ``token`` holds it (a drain between batches)."""
    client.eval(_REFRESH, 1, DRAINING, token, DRAINING_TTL_S)


def _enqueue_drain(client: redis.Redis, token: str) -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        get_queue(app, queues.SCORING).enqueue(
            DRAIN_JOB,
            token,
            job_id=f"score-drain-{token}",
            job_timeout=TIMEOUT_S,
            result_ttl=0,
            failure_ttl=7 * 24 * 3600,
        )
    except redis.RedisError:
        release(client, token)  # nobody will drain under this mark: let the next caller queue
        raise


def enqueue_scoring_many(attempt_ids: Sequence[int]) -> None:
    """Queue one :func:`score_attempt` job per attempt (the safe path), with the deterministic id
    ``score-<id>``, in Redis pipelines of 500."""
    if not attempt_ids:
        return
    queue = get_queue(current_app._get_current_object(), queues.SCORING)  # type: ignore[attr-defined]
    for start in range(0, len(attempt_ids), 500):
        queue.enqueue_many(
            [
                Queue.prepare_data(
                    SCORE_JOB,
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


# Regrades after a ruling --------------------------------------------------------------------------


def enqueue_regrade(attempt_ids: Sequence[int], *, contest_id: int, reason: str, tag: str) -> int:
    """Queue :func:`regrade_attempts` jobs for these attempts, :data:`REGRADE_CHUNK` a job, on
    the scoring queue (ids ``regrade-<tag>-<n>``, retried); returns how many jobs."""
    ids = sorted(set(attempt_ids))
    if not ids:
        return 0
    chunks = [ids[start : start + REGRADE_CHUNK] for start in range(0, len(ids), REGRADE_CHUNK)]
    finished_key = f"score:regrade:{tag}"
    pipe = redis_hub.client.pipeline()
    pipe.delete(finished_key)
    pipe.sadd(finished_key, *[str(n) for n in range(len(chunks))])
    pipe.expire(finished_key, 7 * 24 * 3600)
    pipe.execute()
    queue = get_queue(current_app._get_current_object(), queues.SCORING)  # type: ignore[attr-defined]
    queue.enqueue_many(
        [
            Queue.prepare_data(
                REGRADE_JOB,
                (chunk, contest_id, reason, finished_key, n),
                job_id=f"regrade-{tag}-{n}",
                timeout=TIMEOUT_S,
                retry=Retry(max=3, interval=[1, 5, 15]),
                result_ttl=0,
                failure_ttl=7 * 24 * 3600,
            )
            for n, chunk in enumerate(chunks)
        ]
    )
    return len(chunks)


def tell_awards(contest_id: int, reason: str) -> None:
    """The awards follow the scores (locked ones are flagged for a second look). The scores
    stand whatever happens here: a failure is logged, not retried with the regrade."""
    try:
        awards.scores_changed(contest_id, reason)
    except Exception:
        db.session.rollback()
        log.exception("the awards of contest %s were not told that scores changed", contest_id)
