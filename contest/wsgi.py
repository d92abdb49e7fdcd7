"""The WSGI entry point for production servers: ``gunicorn contest.wsgi:app``.

The app is built once per process from the ``CONTEST_*`` environment variables (see the README).
Every process of a deployment must share ``CONTEST_SECRET_KEY``, ``CONTEST_DATABASE_URL`` and
``CONTEST_REDIS_URL``; the single-machine defaults (generated key, SQLite, embedded Redis) only
suit one machine.
"""

from contest import create_app

app = create_app()
