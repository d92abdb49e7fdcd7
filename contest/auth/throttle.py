"""Login throttling, shared by the login page and the ``login`` API operation.

Two Redis-backed limits: a loose one per client address (a whole venue can sit behind one NAT
address, so hundreds of different accounts must get through), and a tight one per account that
counts only failed attempts (guessing one account's password).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, g, request
from flask_limiter.util import get_remote_address

from contest.extensions import limiter


def _attempted_username() -> str:
    payload = request.get_json(silent=True) if request.is_json else None
    name = payload.get("username") if isinstance(payload, dict) else request.form.get("username")
    return str(name or "").strip().lower()[:64]


def mark_failed() -> None:
    """Called by a login view when the credentials were wrong: the account limit counts it."""
    g.login_failed = True


def _failed(_response: Any) -> bool:
    return bool(g.get("login_failed"))


def _is_get() -> bool:
    return request.method == "GET"


def login_throttled(view: Callable[..., Any]) -> Callable[..., Any]:
    """Apply both login limits to ``view`` (GET requests, which only show a form, are exempt)."""
    per_account = limiter.shared_limit(
        lambda: current_app.config["LOGIN_LIMIT_ACCOUNT"],
        scope="login-account",
        key_func=lambda: "account:" + _attempted_username(),
        deduct_when=_failed,
        exempt_when=_is_get,
    )
    per_address = limiter.shared_limit(
        lambda: current_app.config["LOGIN_LIMIT_ADDRESS"],
        scope="login-address",
        key_func=get_remote_address,
        exempt_when=_is_get,
    )
    return per_address(per_account(view))
