"""The autosave lane: ``saveAnswer`` in the ordinary case, served below Flask.

Autosaves are most of a contest's requests: every answer a contestant touches, saved again at each
change. Through Flask a save spends most of its CPU on request machinery (contexts, routing,
argument parsing and the response schema) around one SQL statement; this WSGI middleware serves
the same save with the same checks for less (bench/README.md has the figures).

The lane **only accepts**. It answers a request itself when every check of the full path passes:

- ``PUT /api/v1/attempts/<id>/items/<position>`` with a JSON body of at most 64 KiB;
- the signed session cookie (Flask's serializer and lifetime) names a user;
- CSRF as Flask-WTF checks it: the ``WTF_CSRF_HEADERS`` token matches the session's, and over
  HTTPS the referrer has the same origin;
- the body is an object the schema would take unchanged (``SaveAnswerSchema``: an ``answer``, an
  integer ``seq`` from 1 to 2^62, ``flagged`` true, false or null; other fields are ignored);
- :func:`contest.services.attempts.save_answer_fast` saves it, in one statement that also checks
  the account is active and owns the open, in-time attempt on this device.

Anything else — a refusal, an unusual but valid body, an error — goes to the full Flask path with
the body put back, and that path answers as it always did. So the lane cannot make anything
succeed that the full path refuses, and its answers equal the full path's byte for byte
(tests/test_autosave_lane.py).
"""

from __future__ import annotations

import hmac
import io
import json
import logging
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from flask_wtf.csrf import same_origin
from itsdangerous import BadData, URLSafeTimedSerializer
from werkzeug.http import parse_cookie
from werkzeug.wsgi import get_host

from contest.security import SECURITY_HEADERS
from contest.services import attempts as attempt_service

log = logging.getLogger(__name__)

_PATH = re.compile(r"/api/v1/attempts/([1-9][0-9]{0,9})/items/([1-9][0-9]{0,4})")
MAX_BODY = 64 * 1024
MAX_SEQ = 2**62

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class AutosaveLane:
    """WSGI middleware in front of ``app``'s own WSGI callable (see the module docstring)."""

    def __init__(self, app: Flask, flask_wsgi: WSGIApp) -> None:
        self.app = app
        self.flask_wsgi = flask_wsgi
        self._csrf: tuple[Any, URLSafeTimedSerializer] | None = None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "PUT":
            match = _PATH.fullmatch(environ.get("PATH_INFO", ""))
            if match is not None:
                body = self._read_body(environ)
                if body is not None:
                    try:
                        answer = self._save(environ, body, int(match[1]), int(match[2]))
                    except Exception:  # the full path meets it again and answers properly
                        log.debug("autosave lane: handing over after an error", exc_info=True)
                        answer = None
                    environ["wsgi.input"] = io.BytesIO(body)
                    if answer is not None:
                        start_response("200 OK", self._headers(len(answer)))
                        return [answer]
        return self.flask_wsgi(environ, start_response)

    @staticmethod
    def _read_body(environ: dict[str, Any]) -> bytes | None:
        """The JSON body, or None (nothing read) when the lane does not take this request."""
        mimetype = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
        if mimetype != "application/json":
            return None
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None
        if not 0 < length <= MAX_BODY:
            return None
        body: bytes = environ["wsgi.input"].read(length)
        return body

    def _save(
        self, environ: dict[str, Any], body: bytes, attempt_id: int, position: int
    ) -> bytes | None:
        app = self.app
        if app.debug:  # Flask then indents its JSON: the full path answers
            return None
        session = self._session(environ)
        if session is None:
            return None
        try:
            user_id = int(session["_user_id"])
        except (KeyError, TypeError, ValueError):
            return None
        if not self._csrf_passes(environ, session):
            return None
        try:
            payload = json.loads(body)
        except ValueError:
            return None
        if type(payload) is not dict or "answer" not in payload:
            return None
        seq, flagged = payload.get("seq"), payload.get("flagged")
        if type(seq) is not int or not 1 <= seq <= MAX_SEQ:
            return None
        if flagged is not None and type(flagged) is not bool:
            return None
        device = environ.get("HTTP_X_DEVICE_ID", "")[:64] or None
        with app.app_context():
            result = attempt_service.save_answer_fast(
                attempt_id,
                user_id,
                position,
                answer=payload["answer"],
                seq=seq,
                flagged=flagged,
                now=datetime.now(UTC),
                device_id=device,
            )
        if result is None:
            return None
        # What Flask's JSON provider writes for {"saved": …, "seq": …}: sorted keys, compact, "\n".
        return b'{"saved":%s,"seq":%d}\n' % (b"true" if result.saved else b"false", result.seq)

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
        try:
            signed = self._csrf_serializer().loads(token, max_age=config["WTF_CSRF_TIME_LIMIT"])
        except BadData:
            return False
        if not isinstance(signed, str) or not hmac.compare_digest(stored, signed):
            return False
        if environ.get("wsgi.url_scheme") == "https" and config["WTF_CSRF_SSL_STRICT"]:
            referrer = environ.get("HTTP_REFERER")
            return bool(referrer) and same_origin(referrer, f"https://{get_host(environ)}/")
        return True

    def _csrf_serializer(self) -> URLSafeTimedSerializer:
        key: str | bytes = self.app.config.get("WTF_CSRF_SECRET_KEY") or self.app.secret_key or ""
        if self._csrf is None or self._csrf[0] != key:
            self._csrf = (key, URLSafeTimedSerializer(key, salt="wtf-csrf-token"))
        return self._csrf[1]

    @staticmethod
    def _headers(length: int) -> list[tuple[str, str]]:
        return [
            ("Content-Type", "application/json"),
            ("Content-Length", str(length)),
            ("Vary", "Cookie"),
            *SECURITY_HEADERS,
        ]


def init_app(app: Flask) -> None:
    """Put the lane in front of the app's WSGI callable (inside any proxy middleware)."""
    app.wsgi_app = AutosaveLane(app, app.wsgi_app)  # type: ignore[method-assign]
