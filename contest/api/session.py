"""Session operations: getSession, login, logout; and ping, the trivial endpoint."""

from __future__ import annotations

from typing import Any

from flask import g, session
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import generate_csrf

from contest.api.blueprint import blp
from contest.api.schemas import LoginSchema, PingSchema, SessionSchema
from contest.auth.throttle import check_login_allowed, login_succeeded
from contest.services.accounts import authenticate, end_sessions


def _forget_csrf_token() -> None:
    """Drop the token so the next one is new (Flask-WTF caches it in the session and in ``g``)."""
    session.pop("csrf_token", None)
    g.pop("csrf_token", None)


def _session_body() -> dict[str, Any]:
    user = current_user if current_user.is_authenticated else None
    return {"user": user, "csrf_token": generate_csrf()}


@blp.route("/session", methods=["GET"])
@blp.doc(operationId="getSession", summary="The current user (or null) and a CSRF token")
@blp.response(200, SessionSchema)
def get_session() -> dict[str, Any]:
    return _session_body()


@blp.route("/session", methods=["POST"])
@blp.doc(operationId="login", summary="Log in; send X-CSRFToken from getSession")
@blp.arguments(LoginSchema())
@blp.response(200, SessionSchema)
@blp.alt_response(401, description="Wrong username or password")
@blp.alt_response(403, description="Right password, but the account is deactivated")
@blp.alt_response(429, description="Too many attempts")
def login(credentials: dict[str, str]) -> dict[str, Any]:
    check_login_allowed(credentials["username"])
    user = authenticate(credentials["username"], credentials["password"])
    login_succeeded(user.username)
    login_user(user)
    _forget_csrf_token()  # a fresh token for the new session
    return _session_body()


@blp.route("/session", methods=["DELETE"])
@blp.doc(operationId="logout", summary="Log out; every session of the account ends")
@blp.response(200, SessionSchema)
def logout() -> dict[str, Any]:
    if current_user.is_authenticated:
        end_sessions(current_user.id)
    logout_user()
    _forget_csrf_token()
    return _session_body()


@blp.route("/ping", methods=["GET"])
@blp.doc(operationId="ping", summary="A constant answer behind the same middleware (liveness)")
@blp.response(200, PingSchema)
def ping() -> dict[str, bool]:
    return {"ok": True}
