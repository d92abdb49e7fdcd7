"""Login throttling, shared by the login page and the ``login`` API operation, and the
invite-code throttle of registration.

Two fixed-window counters in Redis: a loose one per client address that counts every attempt (a
whole venue can sit behind one NAT address, so hundreds of different accounts must get through),
and a tight one per account that counts only failed attempts (guessing one account's password).

Only the login views are throttled, so the check lives in their decorator rather than in a hook
that every request would pay for (Flask-Limiter's hooks were a third of a trivial request's CPU).
When Redis cannot be reached the login goes ahead unthrottled and the failure is logged: during a
round, contestants who cannot log in are worse than a few minutes without brute-force throttling.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

import redis
from flask import current_app, request

from contest.extensions import redis_hub

log = logging.getLogger(__name__)

_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_LIMIT = re.compile(r"^\s*(\d+)\s*(?:per|/)\s*(\d+)?\s*(second|minute|hour|day)s?\s*$")


@dataclass(frozen=True, slots=True)
class Limit:
    amount: int
    window_s: int

    @classmethod
    def parse(cls, text: str) -> Limit:
        """``"10 per 5 minutes"``, ``"2000 per hour"``, ``"5/minute"``."""
        match = _LIMIT.match(text.lower())
        if match is None:
            raise ValueError(f"not a rate limit: {text!r} (write it like '10 per 5 minutes')")
        amount, count, unit = match.groups()
        return cls(int(amount), int(count or 1) * _UNITS[unit])


class LoginThrottled(Exception):
    """Too many login attempts (answered with 429); ``retry_after``: seconds until the window
    ends."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = max(1, retry_after)


def _key(scope: str, who: str) -> str:
    return f"throttle:{scope}:{who}"


def _count(pipe: Any, key: str, limit: Limit) -> None:
    """Queue one more in ``key``'s window (the window starts with its first count)."""
    pipe.set(key, 0, ex=limit.window_s, nx=True)
    pipe.incr(key)


def _attempted_username() -> str:
    payload = request.get_json(silent=True) if request.is_json else None
    name = payload.get("username") if isinstance(payload, dict) else request.form.get("username")
    return str(name or "").strip().lower()[:64]


def _limits() -> tuple[Limit, Limit] | None:
    config = current_app.config
    if not config["RATELIMIT_ENABLED"]:
        return None
    return Limit.parse(config["LOGIN_LIMIT_ADDRESS"]), Limit.parse(config["LOGIN_LIMIT_ACCOUNT"])


def check_login_allowed() -> None:
    """Count this attempt against the address and refuse it (:class:`LoginThrottled`) when the
    address or the account has used its window up."""
    limits = _limits()
    if limits is None:
        return
    by_address, by_account = limits
    address_key = _key("address", request.remote_addr or "")
    account_key = _key("account", _attempted_username())
    try:
        pipe = redis_hub.client.pipeline()
        _count(pipe, address_key, by_address)
        pipe.ttl(address_key)
        pipe.get(account_key)
        pipe.ttl(account_key)
        _, attempts, address_ttl, failures, account_ttl = pipe.execute()
    except redis.RedisError:
        log.warning("login throttle skipped: Redis is unreachable", exc_info=True)
        return
    if attempts > by_address.amount:
        raise LoginThrottled(address_ttl)
    if int(failures or 0) >= by_account.amount:
        raise LoginThrottled(account_ttl)


def mark_failed() -> None:
    """Called by a login view when the credentials were wrong: the account's window counts it."""
    limits = _limits()
    if limits is None:
        return
    try:
        pipe = redis_hub.client.pipeline()
        _count(pipe, _key("account", _attempted_username()), limits[1])
        pipe.execute()
    except redis.RedisError:
        log.warning("login failure not counted: Redis is unreachable", exc_info=True)


def invite_attempt_refused(user_id: int) -> int | None:
    """Count one invite-code attempt of this account; None while the ``INVITE_LIMIT_ACCOUNT``
    window allows it, otherwise the seconds until it ends. Counted before the code is compared,
    so requests sent at once cannot all pass a check made before any of them counted. Without
    Redis: None."""
    config = current_app.config
    if not config["RATELIMIT_ENABLED"]:
        return None
    limit = Limit.parse(config["INVITE_LIMIT_ACCOUNT"])
    key = _key("invite", str(user_id))
    try:
        pipe = redis_hub.client.pipeline()
        _count(pipe, key, limit)
        pipe.ttl(key)
        _, attempts, ttl = pipe.execute()
    except redis.RedisError:
        log.warning("invite throttle skipped: Redis is unreachable", exc_info=True)
        return None
    return max(1, ttl) if attempts > limit.amount else None


def login_throttled(view: Callable[..., Any]) -> Callable[..., Any]:
    """Check both login limits before ``view`` (GET requests, which only show a form, are
    exempt)."""

    @wraps(view)
    def throttled(*args: Any, **kwargs: Any) -> Any:
        if request.method != "GET":
            check_login_allowed()
        return view(*args, **kwargs)

    return throttled
