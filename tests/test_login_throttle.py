"""Login throttling through the real Redis: tight per account, loose per address."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from contest.auth.throttle import Limit
from contest.extensions import db, redis_hub
from contest.models import Role, User
from tests.conftest import CHEAP_HASH, PASSWORD, add_user, api_login, csrf_token, make_app


def test_guessing_one_account_is_throttled_with_a_clear_message(
    app: Flask, client: FlaskClient, contestant: User
) -> None:
    limit = int(app.config["LOGIN_LIMIT_ACCOUNT"].split()[0])
    for _ in range(limit):
        assert api_login(client, "alice", "wrong-guess").status_code == 401
    throttled = api_login(client, "alice", PASSWORD)  # even the right password waits now
    assert throttled.status_code == 429
    assert throttled.get_json()["error"]["code"] == "rate_limited"
    assert int(throttled.headers["Retry-After"]) > 0
    # Another account from the same address is not affected.
    with app.app_context():
        add_user("bob")
    assert api_login(client, "bob", PASSWORD).status_code == 200


def test_the_login_page_shares_the_account_limit(
    app: Flask, client: FlaskClient, contestant: User
) -> None:
    limit = int(app.config["LOGIN_LIMIT_ACCOUNT"].split()[0])
    for _ in range(limit):
        form = {"username": "alice", "password": "nope-nope", "csrf_token": csrf_token(client)}
        assert client.post("/login", data=form).status_code == 401
    form = {"username": "alice", "password": PASSWORD, "csrf_token": csrf_token(client)}
    page = client.post("/login", data=form)
    assert page.status_code == 429
    assert page.mimetype == "text/html"
    assert api_login(client, "alice", PASSWORD).status_code == 429


def test_successful_logins_do_not_use_up_the_account_limit(
    app: Flask, client: FlaskClient, contestant: User
) -> None:
    limit = int(app.config["LOGIN_LIMIT_ACCOUNT"].split()[0])
    for _ in range(limit + 2):
        assert api_login(client, "alice", PASSWORD).status_code == 200
        client.delete("/api/v1/session", headers={"X-CSRFToken": csrf_token(client)})


def test_a_whole_venue_behind_one_address_can_log_in(app: Flask) -> None:
    """300 different accounts from one address within minutes must all get in."""
    with app.app_context():
        db.session.add_all(
            User(
                username=f"venue{n:03d}",
                display_name=f"选手{n}",
                password_hash=CHEAP_HASH,
                role=Role.CONTESTANT,
            )
            for n in range(300)
        )
        db.session.commit()
    statuses = []
    for n in range(300):
        client = app.test_client()  # a separate phone each
        statuses.append(api_login(client, f"venue{n:03d}").status_code)
    assert statuses == [200] * 300


def test_the_address_limit_applies_across_accounts(app: Flask, client: FlaskClient) -> None:
    app.config["LOGIN_LIMIT_ADDRESS"] = "5 per 5 minutes"
    statuses = [api_login(client, f"someone{n}", "whatever-pass").status_code for n in range(6)]
    assert statuses == [401] * 5 + [429]


def test_logins_go_ahead_unthrottled_when_redis_is_unreachable(
    app: Flask, contestant: User, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The same database as ``app``; nothing listens on port 9.
    down = make_app(
        tmp_path / "down",
        "redis://127.0.0.1:9/0",
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
    )
    try:
        client = down.test_client()
        with caplog.at_level("WARNING"):
            assert api_login(client, "alice", "wrong-guess").status_code == 401
            assert api_login(client, "alice", PASSWORD).status_code == 200
        assert "login throttle skipped: Redis is unreachable" in caplog.text
        assert "login failure not counted" in caplog.text
    finally:
        with down.app_context():
            redis_hub.close(down)
            db.engine.dispose()


def test_limits_are_read_as_written_in_the_settings() -> None:
    assert Limit.parse("10 per 5 minutes") == Limit(10, 300)
    assert Limit.parse("2000 per hour") == Limit(2000, 3600)
    assert Limit.parse("5/second") == Limit(5, 1)
    with pytest.raises(ValueError, match="10 per 5 minutes"):
        Limit.parse("ten a minute")
