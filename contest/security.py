"""Login manager wiring, role checks and security headers."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, Response, abort, redirect, request, url_for
from flask_login import current_user

from contest.extensions import db, login_manager
from contest.models import User

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


def _load_user(user_id: str) -> User | None:
    """The session's user, if the account still exists and is active (a deactivated account's
    sessions stop working at once)."""
    try:
        user = db.session.get(User, int(user_id))
    except ValueError:
        return None
    return user if user is not None and user.active else None


def _unauthorized() -> Any:
    if is_api_request():
        abort(401)
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    return response


def init_app(app: Flask) -> None:
    login_manager.user_loader(_load_user)
    login_manager.unauthorized_handler(_unauthorized)
    login_manager.login_message = None
    app.after_request(_security_headers)
