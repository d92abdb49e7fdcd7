"""Ending sessions: logout, a password change or reset and deactivation end every earlier session
of the account, on the full Flask path and in the autosave lane alike."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from contest.extensions import db
from contest.models import AttemptItem, User, parse_session_user
from contest.services import accounts
from tests.conftest import PASSWORD, api_login, csrf_token
from tests.support.contests import paper_round, published_bank
from tests.support.players import Lane, Player, answer_for


@pytest.fixture
def round_id(app: Flask) -> int:
    with app.app_context():
        return paper_round(published_bank()).id


def copy_of(app: Flask, player: Player) -> Player:
    """Another client holding the same session cookie: what an attacker saved before logout."""
    cookie = player.client.get_cookie("session")
    assert cookie is not None
    thief = Player.__new__(Player)
    thief.client = app.test_client()
    thief.client.set_cookie("session", cookie.value)
    thief.device, thief.token, thief.seen = player.device, player.token, []
    return thief


def user_id(app: Flask, username: str) -> int:
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.username == username))
        assert user is not None
        return user.id


def logged_in(client: FlaskClient) -> bool:
    return client.get("/api/v1/session").get_json()["user"] is not None


def start(player: Player, round_id: int) -> tuple[str, dict[str, Any]]:
    attempt = player.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    item = attempt["items"][0]
    return f"/api/v1/attempts/{attempt['id']}/items/{item['position']}", item


def api_logout(player: Player) -> None:
    response = player.client.delete("/api/v1/session", headers={"X-CSRFToken": player.token})
    assert response.status_code == 200
    assert response.get_json()["user"] is None


def test_a_cookie_saved_before_logout_no_longer_works_on_either_path(
    app: Flask, round_id: int
) -> None:
    me = Player(app, "alice")
    url, item = start(me, round_id)
    assert me.call("PUT", url, {"answer": answer_for(item), "seq": 1}).status_code == 200
    thief = copy_of(app, me)
    assert logged_in(thief.client)
    api_logout(me)
    assert not logged_in(thief.client)
    # the autosave lane, which reads the signed cookie without loading the user
    lane = Lane(app)
    status, _, body = lane.through_lane(Lane.environ(thief, url, {"answer": None, "seq": 2}))
    assert lane.handed_over == 1 and status == "401 UNAUTHORIZED", body
    # the full path: API and pages
    assert thief.call("PUT", url, {"answer": None, "seq": 3}).status_code == 401
    assert thief.call("POST", url.rsplit("/items", 1)[0] + "/submission").status_code == 401
    page = thief.client.get(f"/attempts/{url.split('/')[4]}")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    # nothing the stale cookie sent was stored, and the owner logs in again as usual
    with app.app_context():
        attempt_id = int(url.split("/")[4])
        stored = db.session.get(AttemptItem, (attempt_id, item["position"]))
        assert stored is not None and stored.seq == 1
    assert api_login(me.client, "alice").status_code == 200
    assert logged_in(me.client)


def test_the_login_page_logout_ends_the_session_too(app: Flask, round_id: int) -> None:
    me = Player(app, "bob")
    thief = copy_of(app, me)
    token = csrf_token(me.client)
    assert me.client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert not logged_in(thief.client)


def test_logout_ends_the_accounts_other_sessions(app: Flask, round_id: int) -> None:
    """Every earlier session of the account: the phone as well as the laptop that logs out."""
    laptop = Player(app, "carol")
    phone = app.test_client()
    assert api_login(phone, "carol").status_code == 200
    api_logout(laptop)
    assert not logged_in(phone)


ENDINGS: dict[str, Callable[[int], Any]] = {
    "password change": lambda uid: accounts.change_password(uid, PASSWORD, "a-new-password-1"),
    "password reset": accounts.reset_password,
    "deactivation and reactivation": lambda uid: (
        accounts.set_active(uid, False),
        accounts.set_active(uid, True),
    ),
}


@pytest.mark.parametrize("ending", ENDINGS)
def test_password_changes_and_deactivation_end_every_session(
    app: Flask, round_id: int, ending: str
) -> None:
    me = Player(app, "dave")
    url, item = start(me, round_id)
    # a save through the lane first, so that the lane knows the paper and takes the one-statement
    # way, which must check the generation in SQL
    assert me.call("PUT", url, {"answer": answer_for(item), "seq": 1}).status_code == 200
    with app.app_context():
        ENDINGS[ending](user_id(app, "dave"))
    lane = Lane(app)
    status, _, _ = lane.through_lane(Lane.environ(me, url, {"answer": None, "seq": 2}))
    assert status == "401 UNAUTHORIZED"
    assert not logged_in(me.client)


def test_a_wrong_current_password_changes_nothing(app: Flask, round_id: int) -> None:
    me = Player(app, "erin")
    with app.app_context(), pytest.raises(accounts.AuthenticationFailed):
        accounts.change_password(user_id(app, "erin"), "not-the-password", "a-new-password-1")
    assert logged_in(me.client)
    assert api_login(app.test_client(), "erin").status_code == 200


def test_a_reset_password_is_generated_and_works(app: Flask, round_id: int) -> None:
    Player(app, "frank")
    with app.app_context():
        password = accounts.reset_password(user_id(app, "frank"))
        user = db.session.get(User, user_id(app, "frank"))
        assert user is not None and password not in user.password_hash
    assert len(password) == 12
    assert api_login(app.test_client(), "frank", PASSWORD).status_code == 401
    assert api_login(app.test_client(), "frank", password).status_code == 200


def test_the_lanes_save_reads_nothing_more_for_the_generation(app: Flask, round_id: int) -> None:
    """The generation check rides in the save's one statement: no read is added per save."""
    me = Player(app, "grace")
    url, item = start(me, round_id)
    assert me.call("PUT", url, {"answer": answer_for(item), "seq": 1}).status_code == 200
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        lane = Lane(app)
        status, _, _ = lane.through_lane(
            Lane.environ(me, url, {"answer": answer_for(item), "seq": 2})
        )
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert status == "200 OK" and lane.handed_over == 0
    assert len(statements) == 1 and statements[0].lstrip().upper().startswith("UPDATE")
    assert "session_generation" in statements[0]


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("42:3", (42, 3)),
        ("42:0", (42, 0)),
        ("42", None),  # a session signed before generations existed: it ends
        ("42:", None),
        ("42:3:1", None),
        ("x:1", None),
        ("42:-1", None),
        ("４２:1", None),  # full-width digits are digits to str.isdigit, not to us
        (42, None),
        ("9" * 19, None),
    ],
)
def test_session_ids_are_read_strictly(raw: object, parsed: tuple[int, int] | None) -> None:
    assert parse_session_user(raw) == parsed


def test_the_command_line_resets_deactivates_and_activates(app: Flask, round_id: int) -> None:
    me = Player(app, "heidi")
    runner = app.test_cli_runner()
    reset = runner.invoke(args=["users", "reset-password", "Heidi"])
    assert reset.exit_code == 0, reset.output
    password = reset.output.split("new password ")[1].split()[0]
    assert not logged_in(me.client)
    assert api_login(me.client, "heidi", password).status_code == 200
    assert runner.invoke(args=["users", "deactivate", "heidi"]).exit_code == 0
    assert not logged_in(me.client)
    assert api_login(app.test_client(), "heidi", password).status_code == 403  # deactivated
    assert runner.invoke(args=["users", "activate", "heidi"]).exit_code == 0
    assert not logged_in(me.client)  # the session from before stays ended
    assert api_login(app.test_client(), "heidi", password).status_code == 200
    missing = runner.invoke(args=["users", "deactivate", "nobody"])
    assert missing.exit_code != 0 and "no account nobody" in missing.output


def test_a_session_signed_before_generations_existed_has_ended(app: Flask, round_id: int) -> None:
    """Cookies saved before this check existed (even before a logout) no longer work."""
    me = Player(app, "ivan")
    with me.client.session_transaction() as session:
        session["_user_id"] = session["_user_id"].split(":")[0]
    assert not logged_in(me.client)
