"""Security basics of every page: headers, cookies, password storage, redirects, error pages."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from contest.extensions import db
from contest.models import Role, User
from contest.services.accounts import create_user
from tests.conftest import PASSWORD, api_login, csrf_token


def test_pages_carry_security_headers(client: FlaskClient) -> None:
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_session_cookie_is_httponly_and_samesite(client: FlaskClient, contestant: User) -> None:
    response = api_login(client, "alice")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_passwords_are_stored_as_argon2id_hashes_with_owasp_parameters(app: Flask) -> None:
    with app.app_context():
        create_user("carol", "a-long-password")
        db.session.commit()
        stored = db.session.scalar(select(User.password_hash).where(User.username == "carol"))
    assert stored is not None and "a-long-password" not in stored
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_an_older_scrypt_hash_is_upgraded_at_the_next_login(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        legacy = generate_password_hash(PASSWORD, method="scrypt:1024:8:1")
        db.session.add(
            User(username="dora", display_name="Dora", password_hash=legacy, role=Role.CONTESTANT)
        )
        db.session.commit()

    def stored() -> str:
        with app.app_context():
            return db.session.scalar(select(User.password_hash).where(User.username == "dora"))

    assert api_login(client, "dora", "not-her-password").status_code == 401
    assert stored() == legacy  # a wrong password changes nothing
    assert api_login(client, "dora").status_code == 200
    assert stored().startswith("$argon2id$")
    client.delete("/api/v1/session", headers={"X-CSRFToken": csrf_token(client)})
    assert api_login(client, "dora").status_code == 200  # the new hash holds the same password


def test_login_form_without_csrf_token_is_refused(client: FlaskClient, contestant: User) -> None:
    response = client.post("/login", data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 403
    assert client.get("/api/v1/session").get_json()["user"] is None


def test_login_page_logs_in_and_follows_only_local_next(
    client: FlaskClient, contestant: User
) -> None:
    form = {"username": "alice", "password": PASSWORD, "csrf_token": csrf_token(client)}
    response = client.post("/login?next=https://evil.example/x", data=form)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    form["csrf_token"] = csrf_token(client)
    response = client.post("/login?next=/admin/users", data=form)
    assert response.headers["Location"] == "/admin/users"


def test_wrong_password_on_the_page_shows_the_reason(client: FlaskClient, contestant: User) -> None:
    form = {"username": "alice", "password": "not-it-at-all", "csrf_token": csrf_token(client)}
    response = client.post("/login", data=form)
    assert response.status_code == 401
    assert 'role="alert"' in response.get_data(as_text=True)
    assert client.get("/api/v1/session").get_json()["user"] is None


def test_page_errors_are_html_pages(client: FlaskClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "<html" in response.get_data(as_text=True)


def test_inactive_users_cannot_log_in(app: Flask, client: FlaskClient, contestant: User) -> None:
    with app.app_context():
        user = db.session.get(User, contestant.id)
        assert user is not None
        user.active = False
        db.session.commit()
    refused = api_login(client, "alice")  # the right password: told why, nothing else
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "account_inactive"
    assert api_login(client, "alice", "wrong-password-1").status_code == 401
