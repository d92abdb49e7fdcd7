"""Configuration read from ``CONTEST_*`` environment variables, once, in the app factory.

Every setting has a default that suits the single-machine demo; a deployment overrides them in the
environment, and tests pass an override mapping to :func:`contest.create_app`.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from question_bank.formats import LIMITS

PREFIX = "CONTEST_"


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name without the prefix, default and meaning."""

    name: str
    default: str | None
    help: str


# The single list of settings: the README's configuration table is checked against it.
SETTINGS: tuple[Setting, ...] = (
    Setting(
        "DATABASE_URL", None, "SQLAlchemy URL; default SQLite `contest.db` in the instance folder"
    ),
    Setting(
        "REDIS_URL", None, "redis:// or unix:// URL; default: a private embedded Valkey server"
    ),
    Setting("SECRET_KEY", None, "session signing key; required with more than one web process"),
    Setting("INSTANCE_PATH", None, "folder for the SQLite file, generated key and embedded Redis"),
    Setting("HOST", "127.0.0.1", "address `contest demo` listens on"),
    Setting("PORT", "5000", "port `contest demo` listens on"),
    Setting(
        "DEMO_PASSWORD", None, "password of every demo account; generated and printed if unset"
    ),
    Setting("DEFAULT_LOCALE", "zh_CN", "interface language when the user has not chosen one"),
    Setting("TIMEZONE", "Asia/Shanghai", "time zone pages show times in (stored times are UTC)"),
    Setting("SECURE_COOKIES", "0", "1 to mark cookies Secure (serve over HTTPS)"),
    Setting(
        "LOGIN_LIMIT_ACCOUNT",
        "10 per 5 minutes",
        "failed logins allowed per account from one client address (and per known device)",
    ),
    Setting(
        "LOGIN_LIMIT_ACCOUNT_TOTAL",
        "100 per 5 minutes",
        "failed logins allowed per account from all addresses together; past it only the"
        " account's known devices log in",
    ),
    Setting(
        "LOGIN_LIMIT_ADDRESS",
        "2000 per 5 minutes",
        "failed logins allowed per client address; past it the address gets one try per account",
    ),
    Setting("INVITE_LIMIT_ACCOUNT", "10 per 5 minutes", "invite-code attempts allowed per account"),
    Setting(
        "SIGNUP_CHALLENGE_AFTER",
        "20 per 10 minutes",
        "public sign-ups from one client address before each further one must answer the"
        " server's arithmetic question",
    ),
    Setting(
        "SIGNUP_LIMIT_ADDRESS",
        "600 per minute",
        "accounts made by public sign-up per client address (a venue's Wi-Fi is one address)",
    ),
    Setting(
        "APPEAL_LIMIT_USER",
        "30 per hour",
        "appeals (申诉) one contestant may file",
    ),
    Setting(
        "CERTIFICATE_VERIFY_LIMIT",
        "30 per minute",
        "certificate verifications per client address (the public page and API)",
    ),
    Setting(
        "WINNERS_LIMIT",
        "120 per minute",
        "views of the public winners list per client network",
    ),
    Setting(
        "RATELIMIT_ENABLED",
        "1",
        "0 disables the login, invite-code, sign-up, appeal, certificate-verification and "
        "winners-list throttles (load tests only)",
    ),
    Setting(
        "STREAMS_PER_PROCESS",
        "1000",
        "live board streams a web process holds open (half its gunicorn connections); past it"
        " the pages poll instead",
    ),
    Setting(
        "STREAMS_PER_ADDRESS",
        "500",
        "live board streams one client address holds open per web process (a venue's Wi-Fi is"
        " one address; behind a proxy set PROXY_COUNT)",
    ),
    Setting("DEMO_WORKERS", "1", "RQ workers `contest demo` starts"),
    Setting(
        "DEMO_LAWS",
        None,
        "folder of law texts `contest demo` imports before its bank (as `contest laws import`"
        " does), so that question pages show the cited articles",
    ),
    Setting(
        "PUBLIC_URL",
        None,
        "address contestants open, for the big screen's join link and QR code; default: the"
        " address the screen's browser used",
    ),
    Setting(
        "PROXY_COUNT", "0", "reverse proxies in front of the web processes (for client addresses)"
    ),
    Setting(
        "DB_POOL_SIZE",
        "32",
        "database connections each process keeps (PostgreSQL); keep processes × (pool + 5)"
        " under the server's `max_connections`",
    ),
)


DEFAULTS: dict[str, str | None] = {s.name: s.default for s in SETTINGS}


def default(name: str) -> str:
    """The default of the setting ``name``, one that has a default in :data:`SETTINGS`."""
    value = DEFAULTS[name]
    if value is None:
        raise KeyError(f"{name} has no default")
    return value


def _setting(raw: Mapping[str, Any], name: str) -> Any:
    """The setting ``name`` from ``raw``; unset or empty (``CONTEST_PORT=``) means its default in
    :data:`SETTINGS`, the one place a default is written."""
    return raw.get(name) or DEFAULTS[name]


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def from_environ(environ: Mapping[str, str]) -> dict[str, Any]:
    """Return the raw ``CONTEST_*`` settings found in ``environ`` (defaults filled in)."""
    return {s.name: environ.get(PREFIX + s.name, s.default) for s in SETTINGS}


def engine_options(database_url: str, pool_size: str | int) -> dict[str, Any]:
    """Connection pool settings. PostgreSQL: a pool as large as the requests a web process serves
    at once (waiting for a connection is what makes tail latency: 64 concurrent saves over two
    processes measured p99 282 ms with 20 connections, 220 ms with 32), connections recycled hourly;
    a connection the server closed is detected on use and replaced, not pinged before every
    request (a ping is one more round trip per request)."""
    if not database_url.startswith("postgresql"):
        return {"pool_pre_ping": True}
    return {
        "pool_size": int(pool_size),
        "max_overflow": 5,
        "pool_recycle": 3600,
        "pool_pre_ping": False,
    }


# Throttle settings, Flask configuration keys of the same name ("10 per 5 minutes" …).
_LIMITS = (
    "LOGIN_LIMIT_ACCOUNT",
    "LOGIN_LIMIT_ACCOUNT_TOTAL",
    "LOGIN_LIMIT_ADDRESS",
    "INVITE_LIMIT_ACCOUNT",
    "SIGNUP_CHALLENGE_AFTER",
    "SIGNUP_LIMIT_ADDRESS",
    "APPEAL_LIMIT_USER",
    "CERTIFICATE_VERIFY_LIMIT",
    "WINNERS_LIMIT",
)


def build_config(instance_path: Path, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Turn raw settings into Flask configuration keys.

    Pure apart from :func:`load_or_create_secret_key`, which writes the generated key into the
    instance folder the first time a single-machine install runs without ``CONTEST_SECRET_KEY``.
    """
    database_url = raw.get("DATABASE_URL") or f"sqlite:///{instance_path / 'contest.db'}"
    secure = _truthy(raw.get("SECURE_COOKIES"))
    return {
        "SECRET_KEY": raw.get("SECRET_KEY") or load_or_create_secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(database_url, _setting(raw, "DB_POOL_SIZE")),
        "CONTEST_REDIS_URL": _setting(raw, "REDIS_URL"),
        "CONTEST_HOST": _setting(raw, "HOST"),
        "CONTEST_PORT": int(_setting(raw, "PORT")),
        "CONTEST_DEMO_PASSWORD": _setting(raw, "DEMO_PASSWORD"),
        "CONTEST_DEMO_WORKERS": int(_setting(raw, "DEMO_WORKERS")),
        "CONTEST_DEMO_LAWS": _setting(raw, "DEMO_LAWS"),
        "BABEL_DEFAULT_LOCALE": _setting(raw, "DEFAULT_LOCALE"),
        "CONTEST_TIMEZONE": _setting(raw, "TIMEZONE"),
        "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).parent / "translations"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure,
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "WTF_CSRF_HEADERS": ["X-CSRFToken"],
        **{name: _setting(raw, name) for name in _LIMITS},
        # Set but empty means off here, not the default: the switch is read as written.
        "RATELIMIT_ENABLED": _truthy(raw.get("RATELIMIT_ENABLED", DEFAULTS["RATELIMIT_ENABLED"])),
        "CONTEST_PROXY_COUNT": int(_setting(raw, "PROXY_COUNT")),
        "CONTEST_STREAMS_PER_PROCESS": int(_setting(raw, "STREAMS_PER_PROCESS")),
        "CONTEST_STREAMS_PER_ADDRESS": int(_setting(raw, "STREAMS_PER_ADDRESS")),
        "CONTEST_PUBLIC_URL": (_setting(raw, "PUBLIC_URL") or "").rstrip("/") or None,
        # What an import may cost (question_bank.formats.Limits); not an environment setting: a
        # deployment that needs other bounds sets it in the config it passes to create_app.
        "IMPORT_LIMITS": LIMITS,
        "MAX_CONTENT_LENGTH": 32 * 1024 * 1024,
        "API_TITLE": "NetSec Contest API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
    }


def load_or_create_secret_key(instance_path: Path) -> str:
    """Read ``secret_key`` from the instance folder, generating it (mode 0600) on first use."""
    path = instance_path / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process of this install won the race: use its key
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key
