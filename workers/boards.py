"""The board renderer and the reconciler: a thread inside every ``contest worker`` process.

The renderer takes dirty contests from Redis (``lb:dirty``, set by scoring) and renders their
public boards, at most one render per contest every :data:`MIN_INTERVAL_S` (submissions that arrive
meanwhile are batched into the next render). A Redis lock per contest (redis-py's
:class:`redis.lock.Lock`) lets several workers share the work without rendering the same contest at
once; a renderer slower than the lock's life lets go of its own lock only, never of the one another
renderer took after it expired.

The reconciler runs every :data:`RECONCILE_EVERY_S` in one worker at a time: a Redis lock that lives
that long and is left to expire, so that however many workers run, one pass starts per period:

- when Redis lost its data (restart: the ``lb:epoch`` marker is gone) it rebuilds every board from
  the database;
- it submits attempts left open past their deadline and re-queues scoring for submitted or
  voided attempts that have no score after :data:`UNSCORED_AFTER_S` (a worker killed mid-job, a
  lost queue);
- it queues a scoring drain when attempt ids wait with none running (a drain killed with -9);
- it sets the board entries a scoring job committed but never set (killed between its commit and
  its Redis write; ``lb:recording`` notes them before each commit) from the database;
- it renders contests whose freeze time (封榜) has come, so their public boards show the freeze.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta

import redis
from flask import Flask
from redis.exceptions import LockError
from redis.lock import Lock

from contest.extensions import db, redis_hub
from contest.services import leaderboards

log = logging.getLogger(__name__)

MIN_INTERVAL_S = 0.25
# A contest whose render takes longer waits longer between renders (4× the render's own CPU time),
# so rendering never takes more than about a fifth of a core while submissions pour in.
RENDER_SHARE = 4.0
RECONCILE_EVERY_S = 10.0
UNSCORED_AFTER_S = 30.0
UNRECORDED_AFTER_S = 30.0  # a scoring job takes well under this between its note and its write
LOCK_MS = 30_000
RECONCILE_LOCK = "lb:reconcile-lock"


def render_lock(client: redis.Redis, contest_id: int) -> Lock:
    """The lock a renderer holds while it renders ``contest_id`` (taken without waiting)."""
    return client.lock(f"lb:render-lock:{contest_id}", timeout=LOCK_MS / 1000, blocking=False)


def render_pending(client: redis.Redis, now: datetime | None = None, *, wait: bool = True) -> int:
    """Render every dirty contest once (returns how many were rendered).

    ``wait`` keeps at least :data:`MIN_INTERVAL_S` between two renders of one contest.
    """
    rendered = 0
    for contest_id in leaderboards.due_freezes(client, now or datetime.now(UTC)):
        leaderboards.mark_dirty(client, contest_id)
    while True:
        popped: list[bytes] = client.spop(leaderboards.DIRTY, 20)  # type: ignore[assignment]
        if not popped:
            return rendered
        for raw in popped:
            contest_id = int(raw)
            lock = render_lock(client, contest_id)
            if not lock.acquire():
                client.sadd(leaderboards.DIRTY, contest_id)  # another worker is rendering it
                time.sleep(0.05)
                continue
            try:
                if wait:
                    last, took = (
                        float(v or 0)
                        for v in client.mget(
                            f"lb:rendered-at:{contest_id}", f"lb:render-took:{contest_id}"
                        )
                    )
                    pause = last + max(MIN_INTERVAL_S, RENDER_SHARE * took) - time.time()
                    if pause > 0:
                        time.sleep(pause)  # what arrives meanwhile joins this render
                client.srem(leaderboards.DIRTY, contest_id)
                # The render's own CPU time: on a busy machine its wall time is mostly waiting for
                # a core, and pausing 4× that would only delay the boards.
                cpu_began = time.thread_time()
                leaderboards.render_contest(client, contest_id, now)
                took = time.thread_time() - cpu_began
                client.mset(
                    {
                        f"lb:rendered-at:{contest_id}": time.time(),
                        f"lb:render-took:{contest_id}": round(took, 4),
                    }
                )
                rendered += 1
            finally:
                try:
                    lock.release()
                except LockError as exc:  # it expired mid-render: another renderer may hold it now
                    log.warning(
                        "board renderer: render lock of contest %d lost (%s)", contest_id, exc
                    )
                db.session.remove()


def reconcile(client: redis.Redis, now: datetime | None = None) -> dict[str, int]:
    """One reconciler pass (see the module docstring); returns what it did."""
    from contest.services.scoring import ensure_draining
    from workers.deadlines import close_overdue_attempts

    now = now or datetime.now(UTC)
    done = {"rebuilt": 0, "closed": 0, "drain": int(ensure_draining()), "recorded": 0}
    if not client.exists(leaderboards.EPOCH):
        done["rebuilt"] = len(leaderboards.rebuild_all(client, now))
    else:
        begun_before = now.timestamp() - UNRECORDED_AFTER_S
        done["recorded"] = leaderboards.record_unfinished(client, begun_before)
    done["closed"] = close_overdue_attempts(
        now, unscored_before=now - timedelta(seconds=UNSCORED_AFTER_S)
    )
    return done


class BoardThread(threading.Thread):
    """Renders dirty boards and reconciles, until :meth:`stop`."""

    def __init__(self, app: Flask) -> None:
        super().__init__(name="board-renderer", daemon=True)
        self.app = app
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        next_reconcile = 0.0
        while not self._stopping.is_set():
            try:
                with self.app.app_context():
                    client = redis_hub.client_for_app(self.app)
                    render_pending(client)
                    if time.monotonic() >= next_reconcile:
                        next_reconcile = time.monotonic() + RECONCILE_EVERY_S
                        # Not released: the lock's expiry spaces the passes of all workers.
                        reconcile_lock = client.lock(RECONCILE_LOCK, timeout=int(RECONCILE_EVERY_S))
                        if reconcile_lock.acquire(blocking=False):
                            reconcile(client)
                            db.session.remove()
                    client.blpop([leaderboards.WAKE], timeout=1)
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                log.warning("board renderer: Redis unavailable (%s); retrying", exc)
                self._stopping.wait(1.0)
            except Exception:  # a bad render must not stop the thread: log it and go on
                log.exception("board renderer failed; retrying")
                self._stopping.wait(1.0)
