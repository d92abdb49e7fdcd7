"""The autosave lane: ``saveAnswer`` in the ordinary case, served below Flask.

Autosaves are most of a contest's requests: every answer a contestant touches, saved again at each
change. Through Flask a save spends most of its CPU on request machinery (contexts, routing,
argument parsing and the response schema) around one SQL statement; this WSGI middleware serves
the same save with the same checks for less (bench/HISTORY.md has the figures).

The lane **only accepts**. It answers a request itself when every check of the full path passes:

- ``PUT /api/v1/attempts/<id>/items/<position>`` with a JSON body of at most 64 KiB;
- the signed session cookie (Flask's serializer and lifetime) names a user and the session
  generation it was signed in;
- CSRF as Flask-WTF checks it: the ``WTF_CSRF_HEADERS`` token matches the session's, and over
  HTTPS the referrer has the same origin;
- the body is valid for the API's own schema object (:data:`contest.api.schemas.SAVE_ANSWER`,
  the one ``saveAnswer`` validates with: not a copy of its rules);
- :func:`contest.services.answers.save_answer_fast` saves it, in one statement that holds every
  rule of :mod:`contest.services.attempt_rules` (the account is active and has not ended its
  sessions since this one was signed in; it owns the open, in-time attempt on this device).

Anything else — a refusal, an unusual but valid body, an error — goes to the full Flask path with
the body put back, and that path answers as it always did (when the lane already ran the save's
statement, the view skips its own fast attempt). So the lane cannot make anything succeed that
the full path refuses, and its answers carry the full path's status, headers and body
(tests/test_autosave_lane.py, tests/test_save_refusals.py).

The lane runs none of Flask's request hooks; it does itself what the app's own hooks do for a
save (:data:`KNOWN_HOOKS`). Before it serves its first request it compares the app's hooks with
that list, and when the app has one it does not know (a rate limit, a maintenance switch added
later) it turns itself off with a log line: every save then takes the full path.
"""

from __future__ import annotations

import hmac
import io
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from flask_wtf.csrf import same_origin
from itsdangerous import BadData, URLSafeTimedSerializer
from marshmallow import ValidationError
from werkzeug.http import parse_cookie
from werkzeug.wsgi import get_content_length, get_host

from contest.api.schemas import SAVE_ANSWER
from contest.errors import DomainError
from contest.security import SECURITY_HEADERS, session_user
from contest.services import answers
from contest.services.attempt_rules import Change

log = logging.getLogger(__name__)

_PATH = re.compile(r"/api/v1/attempts/([1-9][0-9]{0,9})/items/([1-9][0-9]{0,4})")
MAX_BODY = 64 * 1024
# Set in the environ when the lane ran the save's checks and handed over: the view then takes the
# general path at once instead of running the same fast statement again.
CHECKED = "contest.autosave_checked"

# The request hooks a save would run on the full path, each mirrored by the lane: the body limit
# (MAX_BODY; a missing or doubled Host is refused by the gunicorn worker before either path), the
# CSRF check (:meth:`AutosaveLane._csrf_passes`), no NUL in strings (``encode_answer``; a NUL in
# an option id matches no option), the embedded Redis starter (nothing to do for a save), the
# remember cookie (set only by a login), the security headers (:meth:`AutosaveLane._headers`).
KNOWN_HOOKS = {
    "before_request": {
        "contest.http_limits._check_head",
        "flask_wtf.csrf.CSRFProtect.init_app.<locals>.csrf_protect",
        "contest.input_checks._refuse_nul",
        "contest.extensions.RedisHub.init_app.<locals>.<lambda>",
    },
    "after_request": {
        "flask_login.login_manager.LoginManager._update_remember_cookie",
        "contest.security._security_headers",
    },
    "teardown_request": set(),
    "url_value_preprocessors": set(),
}
_SCOPES = (None, "api")  # the app's hooks and the API blueprint's

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def device_id_in(environ: Mapping[str, Any]) -> str | None:
    """The ``X-Device-Id`` header a request names its device with (64 characters at most)."""
    return environ.get("HTTP_X_DEVICE_ID", "")[:64] or None


class AutosaveLane:
    """WSGI middleware in front of ``app``'s own WSGI callable (see the module docstring)."""

    def __init__(self, app: Flask, flask_wsgi: WSGIApp) -> None:
        self.app = app
        self.flask_wsgi = flask_wsgi
        self._csrf: tuple[Any, URLSafeTimedSerializer] | None = None
        self.enabled: bool | None = None  # decided before the first request (unknown_hooks)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if self.enabled is None:
            unknown = unknown_hooks(self.app)
            self.enabled = not unknown
            if unknown:
                log.warning(
                    "autosave lane off: the app has request hooks it does not run (%s); "
                    "every save takes the full path",
                    ", ".join(unknown),
                )
        answer = self._serve(environ) if self.enabled else None
        if answer is None:
            return self.flask_wsgi(environ, start_response)
        start_response("200 OK", self._headers(len(answer)))
        return [answer]

    def _serve(self, environ: dict[str, Any]) -> bytes | None:
        """The answer to a save the lane takes; None hands the request to Flask, body intact."""
        if environ.get("REQUEST_METHOD") != "PUT":
            return None
        match = _PATH.fullmatch(environ.get("PATH_INFO", ""))
        if match is None:
            return None
        body = self._read_body(environ)
        if body is None:
            return None
        try:
            return self._save(environ, body, int(match[1]), int(match[2]))
        except DomainError as exc:  # a refusal (an invalid answer): the full path explains it
            log.info("autosave lane: handing over a refused save (%s)", exc.code)
            environ[CHECKED] = True
            return None
        except Exception:  # the full path answers (a 500 with the API's error body)
            log.warning("autosave lane: handing over after an error", exc_info=True)
            environ[CHECKED] = True
            return None
        finally:
            environ["wsgi.input"] = io.BytesIO(body)

    @staticmethod
    def _read_body(environ: dict[str, Any]) -> bytes | None:
        """The JSON body, or None (nothing read) when the lane does not take this request."""
        mimetype = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
        if mimetype != "application/json":
            return None
        length = get_content_length(environ)  # None when chunked or not a plain number
        if length is None or not 0 < length <= MAX_BODY:
            return None
        try:
            body: bytes = environ["wsgi.input"].read(length)
        except OSError:
            body = b""
        if len(body) != length:  # the full path reads what is left and answers
            environ["wsgi.input"] = io.BytesIO(body)
            return None
        return body

    def _save(
        self, environ: dict[str, Any], body: bytes, attempt_id: int, position: int
    ) -> bytes | None:
        app = self.app
        if not self._answers_like_flask():
            return None
        session = self._session(environ)
        if session is None:
            return None
        user = session_user(session)
        if user is None:
            return None
        if not self._csrf_passes(environ, session):
            return None
        try:  # as webargs reads it: strict UTF-8 (no BOM, no UTF-16), then JSON
            payload = json.loads(body.decode("utf-8"))
        except (ValueError, RecursionError):  # UnicodeDecodeError included; too deep to parse
            return None
        if type(payload) is not dict:  # the full path answers what its schema says of it
            return None
        try:
            valid = SAVE_ANSWER.load(payload)
        except ValidationError:
            return None
        change = Change(
            attempt_id,
            user,
            datetime.now(UTC),
            device_id_in(environ),
            position=position,
            answer=valid["answer"],
            seq=valid["seq"],
            flagged=valid.get("flagged"),
        )
        with app.app_context():
            result = answers.save_answer_fast(change)
        if result is None:  # refused or unusual: the view explains it without trying again
            environ[CHECKED] = True
            return None
        # What the schema and Flask's JSON provider write: sorted keys, compact, ISO times, "\n".
        return b'{"deadline_at":"%s","saved":%s,"seq":%d}\n' % (
            result.deadline_at.isoformat().encode(),
            b"true" if result.saved else b"false",
            result.seq,
        )

    def _session(self, environ: dict[str, Any]) -> dict[str, Any] | None:
        """The session Flask would open from this request's cookie (None: none, or not valid)."""
        app = self.app
        interface = app.session_interface
        serializer = interface.get_signing_serializer(app)  # type: ignore[attr-defined]
        if serializer is None:
            return None
        value = parse_cookie(environ.get("HTTP_COOKIE", "")).get(interface.get_cookie_name(app))
        if not value:
            return None
        try:
            data = serializer.loads(
                value, max_age=int(app.permanent_session_lifetime.total_seconds())
            )
        except BadData:
            return None
        return data if isinstance(data, dict) else None

    def _csrf_passes(self, environ: dict[str, Any], session: dict[str, Any]) -> bool:
        """Flask-WTF's check (``CSRFProtect.protect``) for this request, answered yes or no."""
        config = self.app.config
        if not config.get("WTF_CSRF_ENABLED", True) or not config.get(
            "WTF_CSRF_CHECK_DEFAULT", True
        ):
            return True
        if "PUT" not in config["WTF_CSRF_METHODS"]:
            return True
        token = next(
            (
                value
                for header in config["WTF_CSRF_HEADERS"]
                if (value := environ.get("HTTP_" + header.upper().replace("-", "_")))
            ),
            None,
        )
        stored = session.get(config["WTF_CSRF_FIELD_NAME"])
        if not token or not isinstance(stored, str):
            return False
        serializer = self._csrf_serializer()
        if serializer is None:
            return False
        try:
            signed = serializer.loads(token, max_age=config["WTF_CSRF_TIME_LIMIT"])
        except BadData:
            return False
        if not isinstance(signed, str) or not hmac.compare_digest(stored, signed):
            return False
        if environ.get("wsgi.url_scheme") == "https" and config["WTF_CSRF_SSL_STRICT"]:
            referrer = environ.get("HTTP_REFERER")
            return bool(referrer) and same_origin(referrer, f"https://{get_host(environ)}/")
        return True

    def _csrf_serializer(self) -> URLSafeTimedSerializer | None:
        """Flask-WTF's token serializer (its ``_get_config`` rule for the key); None: no key."""
        key = self.app.config.get("WTF_CSRF_SECRET_KEY", self.app.secret_key)
        if not key:
            return None
        if self._csrf is None or self._csrf[0] != key:
            self._csrf = (key, URLSafeTimedSerializer(key, salt="wtf-csrf-token"))
        return self._csrf[1]

    def _answers_like_flask(self) -> bool:
        """False where the full path's answer would differ in form (indented JSON, unsorted
        keys, another JSON provider) or Flask checks more (``TRUSTED_HOSTS``)."""
        app = self.app
        provider = app.json
        if type(provider) is not DefaultJSONProvider or not provider.sort_keys:
            return False
        if provider.compact is False or (provider.compact is None and app.debug):
            return False
        return not app.config.get("TRUSTED_HOSTS")

    @staticmethod
    def _headers(length: int) -> list[tuple[str, str]]:
        return [
            ("Content-Type", "application/json"),
            ("Content-Length", str(length)),
            *SECURITY_HEADERS,
            ("Vary", "Cookie"),  # Flask's, for a response that read the session
        ]


def init_app(app: Flask) -> None:
    """Put the lane in front of the app's WSGI callable (inside any proxy middleware). It turns
    itself off before its first request if the app has a request hook it does not know."""
    app.wsgi_app = AutosaveLane(app, app.wsgi_app)  # type: ignore[method-assign]


def unknown_hooks(app: Flask) -> list[str]:
    """The app's request hooks (app-wide and the API blueprint's) that :data:`KNOWN_HOOKS` does
    not list: a save served by the lane would skip them."""
    tables: dict[str, Mapping[str | None, list[Callable[..., Any]]]] = {
        "before_request": app.before_request_funcs,
        "after_request": app.after_request_funcs,
        "teardown_request": app.teardown_request_funcs,
        "url_value_preprocessors": app.url_value_preprocessors,
    }
    unknown = []
    for kind, known in KNOWN_HOOKS.items():
        hooks = tables[kind]
        for scope in _SCOPES:
            for hook in hooks.get(scope, ()):
                name = f"{hook.__module__}.{hook.__qualname__}"
                if name not in known:
                    unknown.append(f"{kind}: {name}")
    return unknown
