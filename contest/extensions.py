"""Extensions, created bare here and bound to an app in :func:`contest.create_app`."""

from __future__ import annotations

import atexit
import sqlite3
import threading
from pathlib import Path
from typing import Any, ClassVar

import redis
from flask import Flask, current_app, request
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect as _CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import Pool

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


db = SQLAlchemy(model_class=Base)
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
        configured = app.config.get("CONTEST_REDIS_URL")
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
        """Close the app's client pool (tests create many apps), after the live-board hub."""
        hub = app.extensions.pop("board_hub", None)
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
    transaction with BEGIN IMMEDIATE makes concurrent writers queue on the busy timeout instead:
    two phones starting the same attempt at once then simply take turns.
    """
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (below)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(connection: Any) -> None:
    # An AUTOCOMMIT connection (the one-statement save) commits each statement by itself.
    autocommit = connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
    if connection.dialect.name == "sqlite" and not autocommit:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


@event.listens_for(Pool, "checkin")
def _sqlite_checkin(dbapi_connection: Any, connection_record: Any) -> None:
    """An AUTOCOMMIT connection given back resets pysqlite's own transaction handling: take it
    off again, so every transaction keeps starting with our BEGIN IMMEDIATE."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = None
