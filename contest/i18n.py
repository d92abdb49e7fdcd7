"""Interface language: zh_CN unless the visitor chose another with the language switch."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app, request

# Codes as the cookie and templates use them. Babel reads "zh_CN" as zh_Hans_CN, which is why
# the Chinese catalogue lives in translations/zh_Hans_CN.
LOCALES = {"zh_CN": "中文", "en": "English"}
COOKIE = "lang"


def select_locale() -> str:
    """The locale of this request: the ``lang`` cookie when valid, else the configured default.

    The browser's Accept-Language is deliberately not consulted: contests are run in Chinese and
    a phone set to English should still see the organizer's language unless the user switches.
    """
    chosen = request.cookies.get(COOKIE) if request else None
    if chosen in LOCALES:
        return chosen
    return str(current_app.config["BABEL_DEFAULT_LOCALE"])


def zone() -> ZoneInfo:
    """The deployment's time zone (CONTEST_TIMEZONE, default Asia/Shanghai)."""
    return ZoneInfo(current_app.config["CONTEST_TIMEZONE"])


def to_local(moment: datetime | None) -> datetime | None:
    """A stored (UTC) time as naive local wall-clock time (for ``datetime-local`` inputs)."""
    if moment is None:
        return None
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(zone()).replace(tzinfo=None)


def local_day(moment: datetime) -> date:
    """The calendar day of ``moment`` in the deployment's time zone: the day a law version is
    in force or not."""
    local = to_local(moment)
    assert local is not None
    return local.date()


def to_utc(local: datetime | None) -> datetime | None:
    """A naive local wall-clock time (a ``datetime-local`` value) in UTC."""
    if local is None:
        return None
    return local.replace(tzinfo=zone()).astimezone(UTC)


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M", seconds: bool = False) -> str:
    """A stored (UTC) time in the deployment's time zone, for pages and the CLI."""
    local = to_local(value)
    if local is None:
        return ""
    return local.strftime(fmt + ":%S" if seconds else fmt)


def init_app(app: Flask) -> None:
    app.add_template_filter(local_time, "local_time")

    @app.context_processor
    def locale_context() -> dict[str, object]:
        return {"locales": LOCALES, "current_locale": select_locale()}
