"""The RQ worker of the platform: every job runs inside its own app context.

A :class:`AppWorker` performs jobs in its own process (no fork per job: a forked horse would copy
the app and its connection pools for every job). Each job gets a fresh app context, so the
database session a job used is removed when it ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis
from flask import Flask
from rq import Queue, SimpleWorker
from rq.job import Job

from contest.extensions import redis_hub
from workers import queues


class AppWorker(SimpleWorker):
    """A SimpleWorker that performs each job inside ``app.app_context()``."""

    flask_app: Flask

    def perform_job(self, job: Job, queue: Queue, execution: Any) -> bool:
        with self.flask_app.app_context():
            return bool(super().perform_job(job, queue, execution))

    def subscribe(self) -> None:
        """RQ's subscription to its command channel, polled every second instead of every 60 s.

        The thread waits up to its poll interval for the subscription to be confirmed, and
        redis-py's ``stop()`` now waits for the thread: with RQ's 60 s, a worker that stopped
        right after starting (a burst worker with little to do) hung for a minute on its way out.
        """
        self.log.info("Worker %s: subscribing to channel %s", self.name, self.pubsub_channel_name)
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(  # type: ignore[assignment]
            sleep_time=1.0, daemon=True, exception_handler=self._pubsub_exception_handler
        )


def connection(app: Flask) -> redis.Redis:
    return redis_hub.client_for_app(app)


def get_queue(app: Flask, name: str = queues.DEFAULT) -> Queue:
    """The RQ queue ``name`` on the app's Redis."""
    return Queue(name, connection=connection(app))


def make_worker(
    app: Flask, names: Sequence[str] = queues.ALL, name: str | None = None
) -> AppWorker:
    """A worker bound to ``app`` serving ``names`` in priority order.

    The worker has a Redis client of its own. RQ waits for jobs with a blocking pop of up to
    ``dequeue_timeout`` (405 s) and raises the socket timeout of its client's pool to match, but
    only for connections made afterwards: the app's shared pool already holds connections with
    redis-py's 5-second default (the board thread's, the jobs'), and a wait on one of them failed
    after 5 s as "Timeout reading from socket", which RQ answers by backing off for up to a
    minute while submissions waited to be scored.
    """
    redis_hub.client_for_app(app)  # starts the embedded server when there is one
    conn = redis.Redis.from_url(redis_hub.url_for_app(app))
    worker = AppWorker([Queue(n, connection=conn) for n in names], connection=conn, name=name)
    worker.flask_app = app
    return worker
