"""Login throttling, shared by the login page and the ``login`` API operation, and the
invite-code throttle of registration.

Guessing must stay slow, but neither an outsider who knows a username nor one client at a venue
(where a whole room shares one NAT address) may keep the owner or the room out. The scheme follows
OWASP's "slow down online guessing attacks with device cookies":

- A **known device** is a client holding a device cookie, signed by the app, that names the account:
  every successful login sets it (one cookie per browser, naming up to
  :data:`DEVICE_ACCOUNTS` accounts). Its failures count against that cookie alone
  (``LOGIN_LIMIT_ACCOUNT``); no other counter refuses it, so guesses made elsewhere never lock the
  owner's own phone out.
- Any other client is **untrusted**. Its failures count per account and client address
  (``LOGIN_LIMIT_ACCOUNT``: guessing from one place), per account from everywhere
  (``LOGIN_LIMIT_ACCOUNT_TOTAL``: guessing spread over many addresses; past it only known devices
  log in to that account) and per address (``LOGIN_LIMIT_ADDRESS``: one address trying many
  accounts; past it the address still gets one try per account and window, so a client flooding
  a venue's address with junk leaves the rest of the room able to log in).

The login views call :func:`check_login_allowed` with the very username they pass to
``authenticate``, just before it: only attempts whose password is about to be checked count (not a
HEAD, an incomplete form or a request without a valid CSRF token). Every such attempt is counted
*before* its password is checked, so requests sent at once cannot all pass a check made before any
of them counted; a refused attempt takes its counts back (an attacker hammering from one address
must not use up the owner's total), and so does a successful one (only failures count). An IPv6
client counts by its /64 network, which one subscriber usually holds whole.

Counting is the ``limits`` package's fixed window (:class:`limits.strategies.FixedWindowRateLimiter`
over a :class:`limits.storage.RedisStorage` sharing the app's Redis connection pool), shared by
every web process; the settings are its notation (:func:`parse_limit`). The windows are the
clock's (:func:`window_counter`): the window's number is one of the counter's identifiers, so a
count taken back is taken from the window it was made in and ``Retry-After`` is the time to the
window's end; the key's Redis expiry only clears it away. ``limits`` has no decrement, so taking a
count back is a small script of ours on the same keys (:func:`_take_back`). The invite-code
throttle alone counts in windows that begin with an account's first attempt and end with their
key's expiry (:func:`invite_attempt_refused`).

When Redis cannot be reached the login goes ahead unthrottled and the failure is logged: during a
round, contestants who cannot log in are worse than a few minutes without brute-force throttling.
"""

from __future__ import annotations

import glob
import ipaddress
import logging
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

import limits
import redis
from flask import Flask, Response, after_this_request, current_app, g, request
from itsdangerous import BadData, URLSafeTimedSerializer
from limits import RateLimitItem
from limits.storage import RedisStorage
from limits.strategies import FixedWindowRateLimiter

from contest.extensions import redis_hub
from contest.services.accounts import normalize_username

log = logging.getLogger(__name__)

DEVICE_COOKIE = "contest_device"
DEVICE_MAX_AGE_S = 180 * 86400
DEVICE_ACCOUNTS = 8  # accounts one browser is known for (a shared computer at a venue)
_DEVICE_SALT = "contest-device"


def parse_limit(text: str) -> RateLimitItem:
    """One limit in ``limits``' notation: ``"10 per 5 minutes"``, ``"2000 per hour"``,
    ``"5/minute"`` (a list such as ``"5/minute; 100/day"`` is refused: each setting is one
    limit)."""
    try:
        parsed = limits.parse_many(text)
    except ValueError:
        parsed = []
    if len(parsed) != 1:
        raise ValueError(f"not a rate limit: {text!r} (write it like '10 per 5 minutes')")
    return parsed[0]


def storage_for_app(app: Flask) -> RedisStorage:
    """The ``limits`` storage of ``app``: it shares the app's Redis client's connection pool (and
    is made again when the client is: tests close and reopen it)."""
    client = redis_hub.client_for_app(app)
    made: tuple[redis.Redis, RedisStorage] | None = app.extensions.get("contest_limits")
    if made is None or made[0] is not client:
        storage = RedisStorage(redis_hub.url_for_app(app), connection_pool=client.connection_pool)
        made = (client, storage)
        app.extensions["contest_limits"] = made
    return made[1]


def _storage() -> RedisStorage:
    return storage_for_app(current_app._get_current_object())  # type: ignore[attr-defined]


def limiter() -> FixedWindowRateLimiter:
    """The fixed-window limiter every throttle counts with (in an app or request context)."""
    return FixedWindowRateLimiter(_storage())


class LoginThrottled(Exception):
    """Too many login attempts (answered with 429); ``retry_after``: seconds until the window
    ends."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = max(1, retry_after)


@dataclass(frozen=True, slots=True)
class Counter:
    """One fixed-window count (of failed logins, sign-ups...), after this attempt was counted in
    it."""

    name: str
    limit: RateLimitItem
    window: int  # the window's number: epoch seconds // the limit's length
    count: int = 0
    retry_after: int = 0  # seconds until the window ends

    @property
    def identifiers(self) -> tuple[str, str]:
        """What names this counter to the limiter (and so its Redis key)."""
        return self.name, str(self.window)

    @property
    def key(self) -> str:
        """The counter's Redis key."""
        return _storage().prefixed_key(self.limit.key_for(*self.identifiers))

    @property
    def over(self) -> bool:
        return self.count > self.limit.amount

    def hit(self) -> Counter:
        """This counter with one more counted in it (what ``FixedWindowRateLimiter.hit`` does,
        keeping the count that it compares with the limit)."""
        count = _storage().incr(self.limit.key_for(*self.identifiers), self.limit.get_expiry())
        return Counter(self.name, self.limit, self.window, int(count), self.retry_after)


def now_s() -> float:
    """Epoch seconds for choosing windows: the one clock every counter reads, so that tests
    can hold it still instead of racing a window's end."""
    return time.time()


def window_counter(name: str, limit: RateLimitItem, now: float) -> Counter:
    """The counter ``name`` in the window of ``limit`` that ``now`` (epoch seconds) falls in."""
    length = limit.get_expiry()
    window = int(now) // length
    return Counter(name, limit, window, retry_after=(window + 1) * length - int(now))


def over_limit(name: str, setting: str, default: str, now: float) -> int | None:
    """Count one request on the counter ``name`` against the limit the app's config ``setting``
    names (``default`` when unset); past it, the seconds until its window ends, else None.

    For the public pages and operations of closing a contest (winners list, certificate
    verification, appeals). Nothing is counted when rate limits are off; when Redis cannot be
    reached the request is let through (logged): these limits keep a page usable, they guard no
    secret."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return None
    limit = parse_limit(str(current_app.config.get(setting) or default))
    counter = window_counter(name, limit, now)
    try:
        allowed = limiter().hit(limit, *counter.identifiers)
    except redis.RedisError:
        log.warning("%s not rate-limited: Redis is unreachable", setting)
        return None
    return None if allowed else counter.retry_after


def client_network(address: str) -> str:
    """The unit a client address counts as: an IPv4 address, or an IPv6 address's /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def refusal(counters: Sequence[Counter], *, known_device: bool) -> Counter | None:
    """The counter that refuses this attempt, or None to let it through.

    A known device has its own counter alone. An untrusted client is refused when its account and
    address, or its account, is over its limit; an address over its limit keeps one try per
    account and window (the counters are ``[account+address, account, address]``).
    """
    if known_device:
        [device] = counters
        return device if device.over else None
    account_address, account, address = counters
    if account_address.over:
        return account_address
    if account.over:
        return account
    if address.over and account_address.count > 1:
        return account_address
    return None


def _config_limit(name: str) -> RateLimitItem:
    return parse_limit(current_app.config[name])


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=_DEVICE_SALT)  # type: ignore[arg-type]


def read_device_cookie() -> tuple[str, list[str]] | None:
    """This browser's device cookie: its id and the accounts it logged in to (None: none or not
    valid)."""
    value = request.cookies.get(DEVICE_COOKIE)
    if not value:
        return None
    try:
        data = _device_serializer().loads(value, max_age=DEVICE_MAX_AGE_S)
    except BadData:
        return None
    if not isinstance(data, dict):
        return None
    device, accounts = data.get("d"), data.get("a")
    if not isinstance(device, str) or not isinstance(accounts, list):
        return None
    return device, [a for a in accounts if isinstance(a, str)]


def _counters(username: str, now: float) -> tuple[list[Counter], bool]:
    """The counters this attempt counts in, and whether it comes from a known device."""
    per_account = _config_limit("LOGIN_LIMIT_ACCOUNT")
    cookie = read_device_cookie()
    if cookie is not None and username and username in cookie[1]:
        # per device and account: one account's guesses on a shared computer keep no other out
        return [
            window_counter(f"throttle:login:device:{cookie[0]}:{username}", per_account, now)
        ], True
    network = client_network(request.remote_addr or "")
    return [
        window_counter(f"throttle:login:account-address:{username}:{network}", per_account, now),
        window_counter(
            f"throttle:login:account:{username}", _config_limit("LOGIN_LIMIT_ACCOUNT_TOTAL"), now
        ),
        window_counter(
            f"throttle:login:address:{network}", _config_limit("LOGIN_LIMIT_ADDRESS"), now
        ),
    ], False


# Decrement only counters that still exist: one whose window ended meanwhile must not come back
# as a key without an expiry (it would never reset). ``limits`` only ever adds to a counter.
_TAKE_BACK = """
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then redis.call('DECR', key) end
end
"""


def _take_back(counters: Sequence[Counter]) -> None:
    redis_hub.client.eval(_TAKE_BACK, len(counters), *(c.key for c in counters))


def check_login_allowed(username: str) -> None:
    """Count this attempt at ``username`` (exactly what the view passes to ``authenticate``, just
    before it) as a failure in its counters, and refuse it (:class:`LoginThrottled`, counts taken
    back) when :func:`refusal` says so. :func:`login_succeeded` takes the counts back once the
    password proves right."""
    if not current_app.config["RATELIMIT_ENABLED"]:
        return
    counters, known_device = _counters(normalize_username(username)[:64], now_s())
    try:
        counted = [counter.hit() for counter in counters]
        refused = refusal(counted, known_device=known_device)
        if refused is not None:
            _take_back(counted)
            raise LoginThrottled(refused.retry_after)
    except redis.RedisError:
        log.warning("login throttle skipped: Redis is unreachable", exc_info=True)
        return
    g.login_counted = counted


def login_succeeded(username: str) -> None:
    """Called by a login view once the credentials proved right: the attempt's counts are taken
    back, and the response sets the device cookie that makes this browser a known device of the
    account."""
    counted: list[Counter] | None = g.pop("login_counted", None)
    if counted:
        try:
            _take_back(counted)
        except redis.RedisError:
            log.warning("login success not uncounted: Redis is unreachable", exc_info=True)
    cookie = read_device_cookie()
    device = cookie[0] if cookie else secrets.token_urlsafe(16)
    accounts = [username] + [a for a in (cookie[1] if cookie else []) if a != username]
    value = _device_serializer().dumps({"d": device, "a": accounts[:DEVICE_ACCOUNTS]})

    @after_this_request
    def set_device_cookie(response: Response) -> Response:
        config = current_app.config
        response.set_cookie(
            DEVICE_COOKIE,
            value,
            max_age=DEVICE_MAX_AGE_S,
            httponly=True,
            secure=config["SESSION_COOKIE_SECURE"],
            samesite="Lax",
        )
        return response


def unlock_account(username: str) -> int:
    """Forget the failed logins counted against ``username`` in the current windows, from every
    address and device (an organizer's ``contest users unlock``); how many counters went."""
    name = glob.escape(normalize_username(username)).replace("\\", "\\\\")
    client = redis_hub.client
    # The addresses and devices are not known here, so the counters are found by their keys
    # (``LIMITS:LIMITER/<name>/<window>/<amount>/<multiples>/<unit>``) rather than cleared one by
    # one with the limiter's ``clear``.
    key = _storage().prefixed_key("LIMITER")  # limits' own namespace
    keys = [
        *client.scan_iter(match=f"{key}/throttle:login:account:{name}/*", count=1000),
        *client.scan_iter(match=f"{key}/throttle:login:account-address:{name}:*", count=1000),
        *client.scan_iter(match=f"{key}/throttle:login:device:*:{name}/*", count=1000),
    ]
    return int(client.delete(*keys)) if keys else 0


def invite_attempt_refused(user_id: int) -> int | None:
    """Count one invite-code attempt of this account; None while the ``INVITE_LIMIT_ACCOUNT``
    window allows it, otherwise the seconds until it ends. Counted before the code is compared,
    so requests sent at once cannot all pass a check made before any of them counted. Without
    Redis: None."""
    config = current_app.config
    if not config["RATELIMIT_ENABLED"]:
        return None
    limit = parse_limit(config["INVITE_LIMIT_ACCOUNT"])
    counting = limiter()
    try:
        if counting.hit(limit, "throttle:invite", str(user_id)):
            return None
        # This window began with the account's first attempt: it ends when its key expires.
        reset_at = counting.get_window_stats(limit, "throttle:invite", str(user_id)).reset_time
    except redis.RedisError:
        log.warning("invite throttle skipped: Redis is unreachable", exc_info=True)
        return None
    return max(1, round(reset_at - time.time()))
