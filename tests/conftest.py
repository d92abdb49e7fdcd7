"""Fixtures: a real database and a real Redis for every test.

By default: a fresh SQLite file per test and the embedded Valkey server (one per session, flushed
around each test). With ``CONTEST_DATABASE_URL`` / ``CONTEST_REDIS_URL`` set (CI does), the same
suite runs against that PostgreSQL and Redis; tables are dropped and the Redis database flushed
around each test, so use a database reserved for tests.

In parallel (pytest-xdist, ``make test-fast``) each worker process has its own embedded server and
every test its own SQLite file; a parallel run with the external URLs set is refused, as its
workers would drop and flush each other's data.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient

from contest import create_app
from contest.auth import throttle
from contest.extensions import db, redis_hub
from contest.models import Organization, Role, User
from contest.redis_server import EmbeddedRedis

EXTERNAL_DATABASE = os.environ.get("CONTEST_DATABASE_URL")
EXTERNAL_REDIS = os.environ.get("CONTEST_REDIS_URL")
PASSWORD = "correct-horse-battery"
# Verifying a hash with the production parameters costs ~27 ms; tests that log in hundreds of
# times seed a cheap Argon2id hash of the same password (the hash carries its own parameters).
CHEAP_HASH = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1).hash(PASSWORD)
# The shared folder beside the repository holds the law texts and the format conformance files
# (the repository does not copy them). A clone without it skips the tests that read it, saying
# so; under CI (CI=true) they run regardless, so a missing folder fails loudly there.
SHARED = Path(
    os.environ.get("CONTEST_SHARED_DIR") or Path(__file__).resolve().parents[2] / "shared"
)
needs_shared = pytest.mark.skipif(
    not (SHARED / "laws").is_dir() and not os.environ.get("CI"),
    reason=f"{SHARED} not found: the law texts and conformance files live beside the repository",
)


def pytest_configure(config: pytest.Config) -> None:
    if getattr(config.option, "dist", "no") == "no" or hasattr(config, "workerinput"):
        return  # one process, or a worker: the controller has checked
    if EXTERNAL_DATABASE or EXTERNAL_REDIS:
        raise pytest.UsageError(
            "CONTEST_DATABASE_URL / CONTEST_REDIS_URL are set: parallel workers (-n) would share "
            "that one database and Redis, each dropping and flushing them under the others' "
            "tests. Run the suite in one process (make test), or unset both to run in parallel "
            "on a SQLite file per test and an embedded Redis per worker (make test-fast does)."
        )


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if EXTERNAL_REDIS:
        yield EXTERNAL_REDIS
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server.url
    server.stop()


def reset_database() -> None:
    """Empty the test database (inside an app context).

    PostgreSQL drops and recreates the public schema, so that tables left by an interrupted run
    or by a migration test, whatever their constraints, never block the next test.
    """
    db.session.remove()
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    else:
        db.drop_all()


def make_app(tmp_path: Path, redis_url: str, **overrides: object) -> Flask:
    settings: dict[str, object] = {
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": EXTERNAL_DATABASE or f"sqlite:///{tmp_path / 'test.db'}",
        "REDIS_URL": redis_url,
        "SECRET_KEY": "test-secret",
        "TESTING": True,
    }
    settings.update(overrides)
    return create_app(settings)


@pytest.fixture(autouse=True)
def still_throttle_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The throttle counts in fixed windows; a test that crossed a window's end would see its
    counts start again. Hold the windows' clock still, inside one window, for every test."""
    frozen = float(int(time.time()) // 3600 * 3600 + 60)
    monkeypatch.setattr(throttle, "now_s", lambda: frozen)


@pytest.fixture
def app(tmp_path: Path, redis_url: str) -> Iterator[Flask]:
    """A fresh app with empty tables and an empty Redis database.

    No app context stays pushed during the test: a request would reuse it, sharing ``g`` (and
    with it Flask-Login's cached user and the CSRF token) between requests. Tests that touch the
    database open ``with app.app_context():`` themselves.
    """
    app = make_app(tmp_path, redis_url)
    with app.app_context():
        reset_database()
        db.create_all()
        redis_hub.client.flushdb()
    yield app
    with app.app_context():
        reset_database()
        redis_hub.client.flushdb()
        redis_hub.close(app)
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


def add_user(
    username: str, role: Role = Role.CONTESTANT, organization_id: int | None = None
) -> User:
    """Add a user whose password is :data:`PASSWORD` (inside an app context).

    Returns the user detached from the session with its columns loaded.
    """
    user = User(
        username=username,
        display_name=f"{username} 名",
        password_hash=CHEAP_HASH,
        role=role,
        organization_id=organization_id,
    )
    db.session.add(user)
    db.session.commit()
    db.session.refresh(user)
    db.session.expunge(user)
    return user


@pytest.fixture
def organization(app: Flask) -> Organization:
    with app.app_context():
        org = Organization(name="第一中学")
        db.session.add(org)
        db.session.commit()
        db.session.refresh(org)
        db.session.expunge(org)
        return org


@pytest.fixture
def contestant(app: Flask, organization: Organization) -> User:
    with app.app_context():
        return add_user("alice", Role.CONTESTANT, organization.id)


@pytest.fixture
def organizer(app: Flask) -> User:
    """The site's admin: every organizer power, accounts included."""
    with app.app_context():
        return add_user("boss", Role.ADMIN)


@pytest.fixture
def district_organizer(app: Flask) -> User:
    """An organizer without account administration (a district's own account)."""
    with app.app_context():
        return add_user("district", Role.ORGANIZER)


def csrf_token(client: FlaskClient) -> str:
    token: str = client.get("/api/v1/session").get_json()["csrf_token"]
    return token


def api_login(client: FlaskClient, username: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    """Log in through the API operation, as a browser or app would."""
    return client.post(
        "/api/v1/session",
        json={"username": username, "password": password},
        headers={"X-CSRFToken": csrf_token(client)},
    )


@pytest.fixture
def contestant_client(client: FlaskClient, contestant: User) -> FlaskClient:
    assert api_login(client, contestant.username).status_code == 200
    return client


@pytest.fixture
def organizer_client(client: FlaskClient, organizer: User) -> FlaskClient:
    assert api_login(client, organizer.username).status_code == 200
    return client
