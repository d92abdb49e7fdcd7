"""Holding back bulk sign-ups without an outside service (a venue may have no internet).

Two counts per client address (an IPv6 client by its /64), fixed windows in Redis shared by
every web process (the login throttle's, :mod:`contest.auth.throttle`: the ``limits`` package's
fixed-window counting in windows of the clock):

- **The challenge** (``SIGNUP_CHALLENGE_AFTER``, default :data:`CHALLENGE_AFTER`: 20 per 10
  minutes): past it, every further sign-up from the address must answer a small arithmetic
  question the server makes itself (:func:`new_challenge`, in Chinese numerals when the page is
  in Chinese). The answer is bound to a token signed with the app's key (itsdangerous) that
  expires after :data:`CHALLENGE_TTL_S` and is good for one try: the first answer, right or
  wrong, marks its nonce used in Redis (until the token expires anyway). Issuing a question
  writes nothing, so showing the page costs Redis nothing.
  Every submission counts here, before anything else is checked.
- **The hard limit** (``SIGNUP_LIMIT_ADDRESS``, default :data:`ADDRESS_LIMIT`: 600 per minute):
  accounts *made* from the address; past it the address is refused (429) until the window ends.
  It counts accounts, not submissions, so that nobody at a venue can close sign-up for the room
  by sending unanswered or doomed submissions (a mobile number already taken makes no account):
  filling it takes 600 new accounts a minute, each past a challenge, and they are in the
  organizers' list. A room behind one NAT address signing up 200 people in a minute stays far
  below it.

Both settings are Flask configuration keys (``"20 per 10 minutes"`` style);
``RATELIMIT_ENABLED`` off disables both, and so does Redis being unreachable (logged): people
who cannot sign up at a venue are worse than a few minutes without the challenge.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import unicodedata
from dataclasses import dataclass

import redis
from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from itsdangerous import BadData, URLSafeTimedSerializer
from limits import RateLimitItem

from contest.auth.throttle import Counter, client_network, limiter, parse_limit, window_counter
from contest.errors import DomainError, TooManyAttempts
from contest.extensions import redis_hub
from question_bank.numerals import chinese_to_int, int_to_chinese

log = logging.getLogger(__name__)

CHALLENGE_AFTER = "20 per 10 minutes"
ADDRESS_LIMIT = "600 per minute"
CHALLENGE_TTL_S = 600
_SALT = "contest-signup-challenge"
_USED_KEY = "signup:challenge-used:"


@dataclass(frozen=True)
class Challenge:
    """A question to show and the token to send back with its answer."""

    question: str
    token: str


class ChallengeRequired(DomainError):
    """This sign-up must answer :attr:`challenge` first (a wrong or missing answer)."""

    status = 428
    code = "challenge_required"

    def __init__(self, message: str, challenge: Challenge) -> None:
        super().__init__(message)
        self.challenge = challenge


def _limit(name: str, default: str) -> RateLimitItem:
    return parse_limit(str(current_app.config.get(name) or default))


def _enabled() -> bool:
    return bool(current_app.config.get("RATELIMIT_ENABLED", True))


# Counting -----------------------------------------------------------------------------------------


def _made_counter(address: str, now: float) -> Counter:
    return window_counter(
        f"throttle:signup:made:{client_network(address)}",
        _limit("SIGNUP_LIMIT_ADDRESS", ADDRESS_LIMIT),
        now,
    )


def count_submission(address: str, now: float) -> int | None:
    """Count one sign-up submission from ``address`` (``now``: epoch seconds) and return how many
    the challenge window holds with it; None when not counting (disabled or no Redis).
    :class:`TooManyAttempts` once the address has made as many accounts as the hard limit."""
    if not _enabled():
        return None
    made = _made_counter(address, now)
    recent = window_counter(
        f"throttle:signup:recent:{client_network(address)}",
        _limit("SIGNUP_CHALLENGE_AFTER", CHALLENGE_AFTER),
        now,
    )
    counting = limiter()
    try:
        may_make = counting.test(made.limit, *made.identifiers)  # read only: accounts count there
        recent = recent.hit()
    except redis.RedisError:
        log.warning("sign-up throttle skipped: Redis is unreachable", exc_info=True)
        return None
    if not may_make:
        raise TooManyAttempts(
            _("Too many sign-ups from this network. Please wait a moment and try again."),
            retry_after=made.retry_after,
        )
    return recent.count


def note_made(address: str, now: float) -> None:
    """Count an account made by a sign-up from ``address`` (after its commit) towards the hard
    limit."""
    if not _enabled():
        return
    made = _made_counter(address, now)
    try:
        limiter().hit(made.limit, *made.identifiers)
    except redis.RedisError:
        log.warning("sign-up throttle skipped: Redis is unreachable", exc_info=True)


def needs_challenge(count: int | None) -> bool:
    """Whether a submission that made the window's count ``count`` must answer a challenge."""
    return count is not None and count > _limit("SIGNUP_CHALLENGE_AFTER", CHALLENGE_AFTER).amount


def challenge_due(address: str, now: float) -> bool:
    """Whether the next sign-up from ``address`` will need a challenge (read only: the page
    shows the question up front, so the first submission can already answer it)."""
    if not _enabled():
        return False
    limit = _limit("SIGNUP_CHALLENGE_AFTER", CHALLENGE_AFTER)
    counter = window_counter(f"throttle:signup:recent:{client_network(address)}", limit, now)
    try:
        return not limiter().test(limit, *counter.identifiers)
    except redis.RedisError:
        return False


# Challenges -------------------------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=_SALT)  # type: ignore[arg-type]


def _digest(nonce: str, answer: int) -> str:
    key = str(current_app.secret_key).encode()
    return hmac.new(key, f"{_SALT}:{nonce}:{answer}".encode(), hashlib.sha256).hexdigest()[:32]


def _question(a: int, b: int, op: str) -> str:
    chinese = str(get_locale() or "").startswith("zh")
    x, y = (int_to_chinese(a), int_to_chinese(b)) if chinese else (str(a), str(b))
    if op == "+":
        return _("What is %(a)s plus %(b)s?", a=x, b=y)
    if op == "-":
        return _("What is %(a)s minus %(b)s?", a=x, b=y)
    return _("What is %(a)s times %(b)s?", a=x, b=y)


def _problem() -> tuple[int, int, str, int]:
    op = secrets.choice("+-*")
    if op == "*":
        a, b = 2 + secrets.randbelow(8), 2 + secrets.randbelow(8)
        return a, b, op, a * b
    a, b = 1 + secrets.randbelow(20), 1 + secrets.randbelow(20)
    if op == "-":
        a, b = max(a, b) + 1, min(a, b)
        return a, b, op, a - b
    return a, b, op, a + b


def new_challenge() -> Challenge:
    """A fresh question and its single-use token."""
    a, b, op, answer = _problem()
    nonce = secrets.token_urlsafe(12)
    token = _serializer().dumps({"n": nonce, "d": _digest(nonce, answer)})
    return Challenge(_question(a, b, op), token)


def read_answer(text: str | None) -> int | None:
    """An answer as typed: Arabic digits (full-width too) or a Chinese numeral; None otherwise."""
    value = unicodedata.normalize("NFKC", text or "").strip()
    if not value or len(value) > 12:
        return None
    if value.isdigit():
        return int(value)
    try:
        return chinese_to_int(value)
    except ValueError:
        return None


def redeem(token: str | None, answer: str | None) -> bool:
    """Whether ``answer`` answers the challenge of ``token``; the token is used up either way
    (one try per question) and refused once used or older than :data:`CHALLENGE_TTL_S`."""
    if not token or len(token) > 512:
        return False
    try:
        data = _serializer().loads(token, max_age=CHALLENGE_TTL_S)
    except BadData:
        return False
    if not isinstance(data, dict):
        return False
    nonce, digest = data.get("n"), data.get("d")
    if not isinstance(nonce, str) or not isinstance(digest, str):
        return False
    try:
        fresh = bool(redis_hub.client.set(_USED_KEY + nonce, 1, ex=CHALLENGE_TTL_S, nx=True))
    except redis.RedisError:
        log.warning("sign-up challenge not checked: Redis is unreachable", exc_info=True)
        return True  # counting is off without Redis too: let the sign-up through
    value = read_answer(answer)
    return fresh and value is not None and hmac.compare_digest(digest, _digest(nonce, value))


def guard(address: str, now: float, token: str | None, answer: str | None) -> None:
    """Count this sign-up submission and let it through, or refuse it: :class:`TooManyAttempts`
    past the hard limit, :class:`ChallengeRequired` (with a new question) when the address
    needs a challenge and ``token``/``answer`` do not answer one."""
    count = count_submission(address, now)
    if not needs_challenge(count) or redeem(token, answer):
        return
    message = (
        _("The answer to the question is not right. Please answer the new question.")
        if token or answer
        else _("Many sign-ups come from this network: please answer the question below.")
    )
    raise ChallengeRequired(message, new_challenge())
