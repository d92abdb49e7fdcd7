"""Extensions, created bare here and bound to an app in :func:`contest.create_app`."""

from __future__ import annotations

import atexit
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import redis
from flask import Flask, current_app, has_request_context, request
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect as _CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import Pool

from contest import after_commit
from contest.redis_server import EmbeddedRedis, socket_path_for


class Base(DeclarativeBase):
    # Named constraints, so that migrations can alter them on every database.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


# The session runs the follow-ups services schedule once it commits (contest.after_commit).
db = SQLAlchemy(model_class=Base, session_options={"class_": after_commit.Session})
migrate = Migrate()
login_manager = LoginManager()


class CSRFProtect(_CSRFProtect):
    """Flask-WTF's protection, reading the ``X-CSRFToken`` header before the form: the API's
    JSON requests (autosaves above all) then skip parsing their body as a form."""

    def _get_csrf_token(self) -> str | None:
        for header in current_app.config["WTF_CSRF_HEADERS"]:
            token = request.headers.get(header)
            if token:
                return str(token)
        token = super()._get_csrf_token()
        return None if token is None else str(token)


csrf = CSRFProtect()
babel = Babel()


class RedisHub:
    """The app's one Redis: the configured URL, or a private embedded server.

    With no ``CONTEST_REDIS_URL``, the URL is the fixed socket of the embedded server in the
    instance folder, known without starting anything (the factory stays pure). The server itself
    starts the first time this process needs Redis (:meth:`ensure_started`, run before every
    request and by :attr:`client`), and an ``atexit`` hook stops it.
    """

    _lock: ClassVar[threading.Lock] = threading.Lock()
    _servers: ClassVar[dict[Path, EmbeddedRedis]] = {}

    def init_app(self, app: Flask) -> None:
        configured = app.config["CONTEST_REDIS_URL"]
        embedded_dir = None if configured else Path(app.instance_path) / "redis"
        url = configured or f"unix://{socket_path_for(embedded_dir)}"  # type: ignore[arg-type]
        app.extensions["contest_redis"] = {"url": url, "embedded_dir": embedded_dir, "client": None}
        if embedded_dir is not None:
            app.before_request(lambda: self.ensure_started(app))

    def url_for_app(self, app: Flask) -> str:
        return str(app.extensions["contest_redis"]["url"])

    @property
    def url(self) -> str:
        return self.url_for_app(current_app)

    def ensure_started(self, app: Flask) -> None:
        """Start the embedded server for ``app`` unless it runs (or Redis is external)."""
        directory = app.extensions["contest_redis"]["embedded_dir"]
        if directory is None or directory in self._servers:
            return
        with self._lock:
            if directory not in self._servers:
                server = EmbeddedRedis(directory)
                if server.start():
                    atexit.register(server.stop)
                self._servers[directory] = server

    def client_for_app(self, app: Flask) -> redis.Redis:
        """The shared, pooled redis-py client of ``app``."""
        self.ensure_started(app)
        state = app.extensions["contest_redis"]
        if state["client"] is None:
            state["client"] = redis.Redis.from_url(state["url"])
        client: redis.Redis = state["client"]
        return client

    @property
    def client(self) -> redis.Redis:
        return self.client_for_app(current_app)

    def close(self, app: Flask) -> None:
        """Close the app's client pool (tests create many apps), after the live hubs."""
        for name in ("board_hub", "live_hub"):
            hub = app.extensions.pop(name, None)
            if hub is not None:
                hub.stop()
        state = app.extensions["contest_redis"]
        if state["client"] is not None:
            state["client"].close()
            state["client"] = None


redis_hub = RedisHub()


@event.listens_for(Engine, "connect")
def _sqlite_connect(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLite (the single-machine default): WAL, a busy timeout, and transactions we begin.

    pysqlite starts transactions lazily and SQLite refuses to upgrade a read lock to a write lock
    while another connection writes ("database is locked" at once, no waiting). Beginning every
    transaction that may write with BEGIN IMMEDIATE makes concurrent writers queue on the busy
    timeout instead: two phones starting the same attempt at once then simply take turns. Reads
    begin DEFERRED (see :func:`_sqlite_begin`).
    """
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (below)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_reading: ContextVar[bool] = ContextVar("sqlite_reading", default=False)
V = TypeVar("V", bound=Callable[..., Any])


@contextmanager
def reading() -> Iterator[None]:
    """Declare that the transactions begun inside only read (on SQLite they then begin DEFERRED).

    For a unit of work that never writes — a job's lookups before a long computation, a report
    page. End the transaction inside the block (commit, rollback or ``session.close()``): one
    that outlives it keeps its DEFERRED begin and must not write.
    """
    token = _reading.set(True)
    try:
        yield
    finally:
        _reading.reset(token)


def reads_only(view: V) -> V:
    """Mark a view that never writes: its requests with a safe method (GET, HEAD, OPTIONS) begin
    their transactions DEFERRED, from the first query on — the user's load included.

    The mark travels through ``functools.wraps``, so it may sit anywhere in the decorator stack.
    """
    view.reads_only = True  # type: ignore[attr-defined]
    return view


def begins_read_only() -> bool:
    """Whether a transaction begun now only reads: inside :func:`reading`, or in a safe-method
    request to a view marked :func:`reads_only`."""
    if _reading.get():
        return True
    if not has_request_context() or request.method not in SAFE_METHODS or not request.endpoint:
        return False
    view = current_app.view_functions.get(request.endpoint)
    return bool(getattr(view, "reads_only", False))


@event.listens_for(Engine, "begin")
def _sqlite_begin(connection: Any) -> None:
    """Begin DEFERRED for reads and IMMEDIATE for everything else (SQLite only).

    The choice is made when the transaction begins, because it cannot be made later: in WAL mode
    a transaction that has read holds a snapshot, and SQLite refuses to upgrade it to a writer
    while another connection writes or once another has committed — at once, without waiting on
    the busy timeout. Beginning IMMEDIATE when a flush is about to happen would therefore fail
    exactly in the read-then-write units that must take turns (two phones starting the same
    attempt read "no attempt yet", then insert). So a transaction that may write takes the write
    lock up front and queues on the busy timeout, as before; a transaction declared read-only
    (:func:`reading`, :func:`reads_only`) begins DEFERRED: it reads a snapshot, never waits for a
    writer and never makes a writer wait.

    Reading is declared, not inferred from the HTTP method: some GET requests write (getAttempt
    and the attempt clock submit an attempt found past its deadline), and such a request begun
    DEFERRED would fail with "database is locked" at the close of a round, when its snapshot is
    almost always stale. Measured (``tests/test_import_bounds.py``): with another connection
    holding the write lock, a marked GET answers at once, where an IMMEDIATE one waits out the
    15 s busy timeout and fails.
    """
    # An AUTOCOMMIT connection (the one-statement save) commits each statement by itself.
    autocommit = connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
    if connection.dialect.name == "sqlite" and not autocommit:
        connection.exec_driver_sql("BEGIN" if begins_read_only() else "BEGIN IMMEDIATE")


@event.listens_for(Pool, "checkin")
def _sqlite_checkin(dbapi_connection: Any, connection_record: Any) -> None:
    """An AUTOCOMMIT connection given back resets pysqlite's own transaction handling: take it
    off again, so every transaction keeps starting with our BEGIN."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = None
