"""Login manager wiring, role checks and security headers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, Response, abort, redirect, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user
from itsdangerous import URLSafeTimedSerializer

from contest.extensions import db, login_manager
from contest.models import SessionUser, User, parse_session_user
from contest.services import attempt_rules as rules

F = TypeVar("F", bound=Callable[..., Any])

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def organizer_required(view: F) -> F:
    """Let organizers through; anonymous users go to login (401 for the API), others get 403."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_organizer:
            abort(403)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def admin_required(view: F) -> F:
    """Let admins through (account administration); other organizers and contestants get 403,
    anonymous users go to login (401 for the API)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def session_user(session: Mapping[str, Any]) -> SessionUser | None:
    """The user a session names, without loading it (anonymous, or not a user id: None)."""
    return parse_session_user(session.get("_user_id"))


def _load_user(user_id: str) -> User | None:
    """The session's user, if the account still exists, is active and has not ended its sessions
    since this one was signed in (logout, password change or reset, deactivation)."""
    who = parse_session_user(user_id)
    if who is None:
        return None
    user = db.session.get(User, who.id)
    bound = {"b_generation": who.generation}
    if user is None or not rules.holds(rules.ACCOUNT, rules.facts(user=user), bound):
        return None
    return user


def _unauthorized() -> Any:
    if is_api_request():
        abort(401)
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
)


def _security_headers(response: Response) -> Response:
    """Add each security header a view has not set itself (one pass over the headers: this runs
    on every response, autosaves included)."""
    present = {name.lower() for name, _ in response.headers.items()}
    response.headers.extend((k, v) for k, v in SECURITY_HEADERS if k.lower() not in present)
    return response


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the signing serializer built once per set of keys
    instead of on every request."""

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        cached = app.extensions.get("session_serializer")
        if cached is None or cached[0] != keys:
            cached = (keys, super().get_signing_serializer(app))
            app.extensions["session_serializer"] = cached
        serializer: URLSafeTimedSerializer | None = cached[1]
        return serializer


def init_app(app: Flask) -> None:
    app.session_interface = SessionInterface()
    login_manager.user_loader(_load_user)
    login_manager.unauthorized_handler(_unauthorized)
    login_manager.login_message = None
    app.after_request(_security_headers)
