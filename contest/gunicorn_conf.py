"""gunicorn settings for production: ``gunicorn -c python:contest.gunicorn_conf contest.wsgi:app``.

gevent workers (:class:`contest.gunicorn_worker.FairPyWSGIWorker`: gevent's own HTTP server, a
turn per request, connections shared evenly between the processes): each process serves many
requests at once on greenlets. Ordinary requests are short; each spectator's live board
(server-sent events, ``streamRoundLeaderboard``) is a greenlet that sleeps until the board
changes, so a thousand spectators cost little. psycopg 3 (3.1.14+) and redis-py cooperate with
gevent's patched sockets. gevent workers serve more autosaves and trivial reads than threaded
workers on the same cores, and threaded workers ran out of threads with hundreds of open live
boards (``make bench``; bench/HISTORY.md).

``WEB_CONCURRENCY`` sets the number of processes (default: one per core), ``GUNICORN_CONNECTIONS``
the connections each accepts at once (default 2000; when all are taken, the oldest idle keep-alive
connection makes way for a new client) and ``GUNICORN_BIND`` the address. Flags given on the
command line or in ``GUNICORN_CMD_ARGS`` override these values.
"""

from __future__ import annotations

import os
from typing import Any

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 2)
worker_class = "contest.gunicorn_worker.FairPyWSGIWorker"
worker_connections = int(os.environ.get("GUNICORN_CONNECTIONS", "2000"))
keepalive = 5  # seconds an idle keep-alive connection is kept (the worker class applies it)
# A stream stays open: the timeout is for a stuck worker; streams write a keepalive every 15 s.
timeout = 60
graceful_timeout = 20
# gunicorn's control socket (for `gunicornc`) defaults to one path per user: a second instance on
# the machine (a second port, the load harness, a test) takes it over and removes it on exit.
# Nothing here uses it.
control_socket_disable = True


def child_exit(server: Any, worker: Any) -> None:
    """A worker left: its count of open connections no longer takes part in the shares."""
    from contest.gunicorn_worker import forget

    forget(worker.age)


# Young-generation collections every 20,000 allocations instead of 700: a request's objects
# (dozens of greenlets' worth are alive at once) then mostly die before a collection sees them
# instead of being promoted and found again by the full collections.
GC_THRESHOLDS = (20_000, 20, 20)


def post_worker_init(worker: Any) -> None:
    """Move the loaded app out of the garbage collector's sight and collect less often.

    A full collection walks the whole loaded app, during which the worker serves nothing, and
    the collector took a large share of each worker's CPU in a save run. ``gc.freeze()`` takes
    the app out of its sight and :data:`GC_THRESHOLDS` makes collections rarer (figures in
    bench/HISTORY.md).
    """
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
