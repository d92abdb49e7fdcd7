"""Login throttling through the real Redis: tight per account, loose per address."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from contest.extensions import db
from contest.models import Role, User
from tests.conftest import CHEAP_HASH, PASSWORD, add_user, api_login, csrf_token


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
