"""Login throttling through the real Redis: guessing is slowed per account and address, per
account and per address, while the owner's known devices, the owner elsewhere and the rest of a
venue behind one address still log in."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from limits import RateLimitItemPerHour, RateLimitItemPerMinute, RateLimitItemPerSecond

from contest.auth.throttle import _take_back, parse_limit, window_counter
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


def seed_contestants(app: Flask, usernames: list[str]) -> None:
    """Contestants with a cheap hash of PASSWORD (hundreds of logins stay quick)."""
    with app.app_context():
        db.session.add_all(
            User(
                username=name,
                display_name=f"选手{name}",
                password_hash=CHEAP_HASH,
                role=Role.CONTESTANT,
            )
            for name in usernames
        )
        db.session.commit()


def test_a_whole_venue_behind_one_address_can_log_in(app: Flask) -> None:
    """300 different accounts from one address within minutes must all get in."""
    seed_contestants(app, [f"venue{n:03d}" for n in range(300)])
    statuses = []
    for n in range(300):
        client = app.test_client()  # a separate phone each
        statuses.append(api_login(client, f"venue{n:03d}").status_code)
    assert statuses == [200] * 300


def from_address(app: Flask, address: str) -> FlaskClient:
    """A browser of its own (no cookies) at client address ``address``."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def known_device(app: Flask, address: str, *usernames: str) -> FlaskClient:
    """A browser at ``address`` where each of ``usernames`` logged in (and out) before."""
    client = from_address(app, address)
    for name in usernames:
        assert api_login(client, name).status_code == 200
        client.delete("/api/v1/session", headers={"X-CSRFToken": csrf_token(client)})
    return client


def guess(client: FlaskClient, username: str, times: int) -> list[int]:
    return [api_login(client, username, "wrong-guess").status_code for _ in range(times)]


def test_guesses_from_one_address_do_not_keep_the_owner_out_elsewhere(
    app: Flask, contestant: User
) -> None:
    limit = int(app.config["LOGIN_LIMIT_ACCOUNT"].split()[0])
    attacker = from_address(app, "203.0.113.7")
    assert guess(attacker, "alice", limit + 3) == [401] * limit + [429] * 3
    assert api_login(attacker, "alice", PASSWORD).status_code == 429
    # the owner, on a phone that never logged in before, from another address
    assert api_login(from_address(app, "198.51.100.20"), "alice").status_code == 200


def test_the_owners_known_device_logs_in_from_the_attackers_address(
    app: Flask, contestant: User
) -> None:
    """A venue: the attacker and the owner share one address; the owner's phone logged in before."""
    phone = known_device(app, "192.0.2.1", "alice")
    assert phone.get_cookie("contest_device") is not None
    limit = int(app.config["LOGIN_LIMIT_ACCOUNT"].split()[0])
    attacker = from_address(app, "192.0.2.1")
    assert guess(attacker, "alice", limit + 1)[-1] == 429
    assert api_login(phone, "alice").status_code == 200
    # the login page reads the same cookie
    phone.delete("/api/v1/session", headers={"X-CSRFToken": csrf_token(phone)})
    form = {"username": "alice", "password": PASSWORD, "csrf_token": csrf_token(phone)}
    assert phone.post("/login", data=form).status_code == 302


def test_a_known_devices_own_guesses_are_throttled(app: Flask, contestant: User) -> None:
    phone = known_device(app, "192.0.2.1", "alice")
    limit = int(app.config["LOGIN_LIMIT_ACCOUNT"].split()[0])
    assert guess(phone, "alice", limit + 1) == [401] * limit + [429]
    # the device's failures are its own: the same address without that cookie still gets in
    assert api_login(from_address(app, "192.0.2.1"), "alice").status_code == 200


def test_a_device_cookie_for_another_account_does_not_make_a_known_device(
    app: Flask, contestant: User
) -> None:
    with app.app_context():
        add_user("mallory")
    attacker = from_address(app, "203.0.113.7")
    assert api_login(attacker, "mallory").status_code == 200  # their own account
    limit = int(app.config["LOGIN_LIMIT_ACCOUNT"].split()[0])
    assert guess(attacker, "alice", limit + 1)[-1] == 429
    attacker.set_cookie("contest_device", "forged.value.signature")
    assert api_login(attacker, "alice", PASSWORD).status_code == 429


def test_guesses_spread_over_addresses_stop_at_the_accounts_total(
    app: Flask, contestant: User
) -> None:
    app.config["LOGIN_LIMIT_ACCOUNT_TOTAL"] = "6 per 5 minutes"
    phone = from_address(app, "192.0.2.1")
    assert api_login(phone, "alice").status_code == 200
    statuses = [guess(from_address(app, f"203.0.113.{n}"), "alice", 1)[0] for n in range(8)]
    assert statuses == [401] * 6 + [429] * 2
    assert api_login(from_address(app, "198.51.100.20"), "alice").status_code == 429
    assert api_login(phone, "alice").status_code == 200  # known devices still get in


def test_refused_attempts_do_not_use_up_the_accounts_total(app: Flask, contestant: User) -> None:
    """An attacker hammering on after the throttle from one address must not reach the total
    that would keep the owner out everywhere."""
    app.config["LOGIN_LIMIT_ACCOUNT_TOTAL"] = "15 per 5 minutes"
    limit = int(app.config["LOGIN_LIMIT_ACCOUNT"].split()[0])
    attacker = from_address(app, "203.0.113.7")
    assert guess(attacker, "alice", 40).count(401) == limit
    assert api_login(from_address(app, "198.51.100.20"), "alice").status_code == 200


def test_one_client_flooding_a_venues_address_leaves_the_room_able_to_log_in(
    app: Flask,
) -> None:
    """The attacker's reproduction, scaled down: junk logins past the address limit from the
    venue's one address, then the room logs in, each from a phone that never did before."""
    app.config["LOGIN_LIMIT_ADDRESS"] = "20 per 5 minutes"
    seed_contestants(app, [f"room{n:02d}" for n in range(30)])
    flooder = from_address(app, "192.0.2.1")
    junk = [guess(flooder, f"junk{n}", 1)[0] for n in range(25)]
    assert junk == [401] * 25
    assert [
        api_login(from_address(app, "192.0.2.1"), f"room{n:02d}").status_code for n in range(30)
    ] == [200] * 30
    # past the address limit, the flooder gets one try per account and window
    assert guess(flooder, "junk0", 1) == [429]
    assert guess(flooder, "room00", 2) == [401, 429]


def test_simultaneous_guesses_cannot_all_pass_the_check(app: Flask, contestant: User) -> None:
    """Each attempt is counted before its password is checked."""
    limit = int(app.config["LOGIN_LIMIT_ACCOUNT"].split()[0])
    clients = [from_address(app, "203.0.113.7") for _ in range(3 * limit)]
    for client in clients:
        csrf_token(client)  # each has its session first
    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        statuses = list(
            pool.map(
                lambda c: (
                    c.post(
                        "/api/v1/session",
                        json={"username": "alice", "password": "wrong-guess"},
                        headers={"X-CSRFToken": c.get("/api/v1/session").get_json()["csrf_token"]},
                    ).status_code
                ),
                clients,
            )
        )
    assert statuses.count(401) <= limit
    assert statuses.count(401) + statuses.count(429) == len(clients)


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
    finally:
        with down.app_context():
            redis_hub.close(down)
            db.engine.dispose()


def test_limits_are_read_as_written_in_the_settings() -> None:
    assert parse_limit("10 per 5 minutes") == RateLimitItemPerMinute(10, 5)
    assert parse_limit("10 per 5 minutes").get_expiry() == 300
    assert parse_limit("2000 per hour") == RateLimitItemPerHour(2000)
    assert parse_limit("5/second") == RateLimitItemPerSecond(5)
    for wrong in ("ten a minute", "5/minute; 100/day"):
        with pytest.raises(ValueError, match="10 per 5 minutes"):
            parse_limit(wrong)


def test_a_count_taken_back_after_its_window_ended_leaves_no_key_behind(
    app: Flask, contestant: User
) -> None:
    """A success whose window ended between the count and the take-back must not leave a
    counter without an expiry (it would never reset)."""
    with app.test_request_context():
        counter = window_counter("throttle:login:account:alice", parse_limit("10/5 minutes"), 0)
        key = counter.key
        _take_back([counter])
        assert redis_hub.client.exists(key) == 0
        redis_hub.client.set(key, 3, ex=300)
        _take_back([counter])
        assert int(redis_hub.client.get(key) or 0) == 2
        assert 0 < redis_hub.client.ttl(key) <= 300


def test_the_login_page_takes_a_form_only_so_a_json_list_cannot_dodge_the_count(
    app: Flask, contestant: User
) -> None:
    """``{"username": ["alice", "n"]}`` once reached the password check under a key of its own."""
    limit = int(app.config["LOGIN_LIMIT_ACCOUNT"].split()[0])
    attacker = from_address(app, "203.0.113.7")
    assert guess(attacker, "alice", limit + 1)[-1] == 429
    for n in range(3):
        token = csrf_token(attacker)
        page = attacker.post(
            "/login",
            json={"username": ["alice", str(n)], "password": PASSWORD, "csrf_token": token},
            headers={"X-CSRFToken": token},
        )
        assert page.status_code == 200  # the empty form again: nothing was checked
        assert attacker.get("/api/v1/session").get_json()["user"] is None


def test_only_attempts_that_check_a_password_count(app: Flask, contestant: User) -> None:
    limit = int(app.config["LOGIN_LIMIT_ACCOUNT"].split()[0])
    rival = from_address(app, "192.0.2.1")
    for _ in range(limit + 5):
        assert rival.open("/login", method="HEAD", data={"username": "alice"}).status_code == 200
        incomplete = {"username": "alice", "csrf_token": csrf_token(rival)}
        assert rival.post("/login", data=incomplete).status_code == 200
        assert rival.post("/login", data={"username": "alice", "password": "x"}).status_code == 403
    assert api_login(from_address(app, "192.0.2.1"), "alice").status_code == 200


def test_an_ipv6_client_counts_by_its_64_network(app: Flask, contestant: User) -> None:
    limit = int(app.config["LOGIN_LIMIT_ACCOUNT"].split()[0])
    statuses = [
        guess(from_address(app, f"2001:db8:1:2::{n:x}"), "alice", 1)[0] for n in range(limit + 1)
    ]
    assert statuses == [401] * limit + [429]
    assert api_login(from_address(app, "2001:db8:1:3::1"), "alice").status_code == 200


def test_an_organizer_unlocks_a_throttled_account(app: Flask, contestant: User) -> None:
    limit = int(app.config["LOGIN_LIMIT_ACCOUNT"].split()[0])
    attacker = from_address(app, "192.0.2.1")
    assert guess(attacker, "alice", limit + 1)[-1] == 429
    result = app.test_cli_runner().invoke(args=["users", "unlock", "Alice"])
    assert result.exit_code == 0 and "2 login counter(s) cleared" in result.output
    assert api_login(from_address(app, "192.0.2.1"), "alice").status_code == 200


def test_one_accounts_guesses_keep_no_other_account_out_of_a_shared_browser(
    app: Flask, contestant: User
) -> None:
    with app.app_context():
        add_user("bob")
    shared = known_device(app, "192.0.2.1", "alice", "bob")  # a venue computer both used
    limit = int(app.config["LOGIN_LIMIT_ACCOUNT"].split()[0])
    assert guess(shared, "alice", limit + 1)[-1] == 429
    assert api_login(shared, "bob").status_code == 200
