"""gunicorn settings for production: ``gunicorn -c python:contest.gunicorn_conf contest.wsgi:app``.

Threaded workers (``gthread``): ordinary requests are short and share a small thread pool, while
each spectator's live board (server-sent events, ``streamRoundLeaderboard``) holds one thread that
sleeps until the board changes. ``WEB_CONCURRENCY`` sets the number of processes (default: one per
core) and ``GUNICORN_THREADS`` the threads of each (default 300: room for the spectators of a venue
and a hall's phones; an idle thread costs well under 100 KB). Any gunicorn flag given on the
command line or in ``GUNICORN_CMD_ARGS`` overrides these values.
"""

from __future__ import annotations

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 2)
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "300"))
worker_connections = max(1000, threads * 2)
keepalive = 5
# A stream stays open: the timeout is for a stuck request, and streams write a heartbeat often.
timeout = 60
graceful_timeout = 20
