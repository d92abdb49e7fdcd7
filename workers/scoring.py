"""The scoring jobs (:mod:`contest.services.scoring` grades and queues; these run on the workers).

- :func:`drain_pending` — the hot path's drain: grades pending attempt ids in batches until none is
  left, holding the mark ``score:draining``;
- :func:`score_attempt` — the safe path: one attempt, with retries;
- :func:`regrade_attempts` — a chunk of a regrade after an accepted appeal.
"""

from __future__ import annotations

import logging
import time

from contest.extensions import db, redis_hub
from contest.services import scoring
from contest.services.scoring import (
    BATCH,
    PENDING,
    enqueue_scoring_many,
    ensure_draining,
    score_attempts,
    tell_awards,
)

log = logging.getLogger(__name__)

# After a batch smaller than BATCH the drain waits this long for more ids before the next look: a
# batch has a fixed cost (seven statements, a commit, a Redis transaction) that a batch of one pays
# alone. It delays a submission's board entry by at most this much (bench/HISTORY.md).
LINGER_S = 0.1
DRAIN_FOR_S = 20.0  # a drain hands over to a fresh job after this long (well inside TIMEOUT_S)


def score_attempt(attempt_id: int) -> str:
    """Grade one attempt (the RQ job of the safe path); returns its status afterwards."""
    return score_attempts([attempt_id]).get(attempt_id, "missing")


def drain_pending(token: str) -> int:
    """Grade pending attempts in batches until none is left (the job
    :func:`contest.services.scoring.request_scoring` queues, holding the mark ``token``); returns
    how many were graded or found graded.

    While the mark is held, submissions only append their ids; after a batch that was not full the
    drain waits :data:`LINGER_S` for more. When the list is empty the drain releases the mark and
    looks once more: an id appended between its last look and the release would otherwise wait
    for the next submission. After :data:`DRAIN_FOR_S` it hands over to a
    fresh job, inside the job timeout. A batch that fails is handed to the safe path — one
    :func:`score_attempt` job per attempt, with retries — so one bad attempt cannot hold up the
    others, and the drain goes on.
    """
    client = redis_hub.client
    began = time.monotonic()
    done = 0
    while True:
        popped: list[bytes] | None = client.lpop(PENDING, BATCH)  # type: ignore[assignment]
        if not popped:
            scoring.release(client, token)
            if scoring.claim_if_pending(client, token):
                continue  # appended after our last look; nobody else was asked to drain
            return done
        scoring.refresh(client, token)
        ids = [int(raw) for raw in popped]
        try:
            done += len(score_attempts(ids))
        except Exception:
            db.session.rollback()
            log.exception("scoring a batch failed; one job per attempt instead: %s", ids)
            enqueue_scoring_many(ids)
        if time.monotonic() - began > DRAIN_FOR_S:
            scoring.release(client, token)
            ensure_draining()
            return done
        if len(ids) < BATCH:
            time.sleep(LINGER_S)  # let the next batch gather (see LINGER_S)


def regrade_attempts(
    attempt_ids: list[int], contest_id: int, reason: str, finished_key: str, index: int = 0
) -> int:
    """Grade these attempts again (the job
    :func:`contest.services.scoring.enqueue_regrade` queues): scored ones too, with
    the rulings as they are now; their leaderboard entries follow. ``finished_key`` is a Redis
    set of the regrade's chunks still to finish: this job takes its own ``index`` out, and the
    one that empties it tells the awards that scores changed (a chunk run twice, e.g. retried,
    takes its index out once)."""
    done = len(score_attempts(attempt_ids, again=True))
    client = redis_hub.client
    pipe = client.pipeline()
    pipe.srem(finished_key, str(index))
    pipe.scard(finished_key)
    removed, left = pipe.execute()
    if int(removed) == 1 and int(left) == 0:
        tell_awards(contest_id, reason)
    return done
