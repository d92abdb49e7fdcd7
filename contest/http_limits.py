"""What a request's head must promise before anything reads it: a body within its limit, one host.

**Bodies.** Every body has a limit, checked against ``Content-Length`` before a byte is read and
counted while a body of unknown length (chunked) is read, so a body over its limit is refused
(413) instead of read and parsed while the process serves no one else:

- a file upload (a view marked :func:`takes_upload`, ``multipart/form-data``): the app's
  ``MAX_CONTENT_LENGTH`` (32 MiB);
- an HTML form (``application/x-www-form-urlencoded``): :data:`FORM_MAX`, room for the question
  form's two 20,000-character fields in Chinese, percent-encoded (9 bytes a character);
- anything else, JSON first of all: :data:`JSON_MAX` (64 KiB), the autosave lane's limit too
  (``contest/api/autosave_lane.py`` takes no larger body and hands it to this path).

The limit is the request's ``max_content_length`` (:class:`LimitedRequest`), so Flask-WTF's CSRF
check, webargs and the form parser, whichever reads first, read within it.

**Host.** A request without a ``Host`` header (HTTP/1.1) or with two is answered 400 (RFC 9112
§3.2). The gunicorn worker class refuses it before the app (``contest/gunicorn_worker.py``); this
check gives the same answer under any other server and Flask's test client.
"""

from __future__ import annotations

from typing import IO, Any, TypeVar, cast

from flask import Flask, current_app, request
from flask import Request as FlaskRequest
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream, get_input_stream

JSON_MAX = 64 * 1024
FORM_MAX = 512 * 1024
UPLOAD_TYPE = "multipart/form-data"
FORM_TYPE = "application/x-www-form-urlencoded"

V = TypeVar("V")


def takes_upload(view: V) -> V:
    """Mark a view that takes a file upload: its ``multipart/form-data`` body may be as large as
    ``MAX_CONTENT_LENGTH``. The mark travels through ``functools.wraps``, so it may sit anywhere
    in the decorator stack."""
    view.takes_upload = True  # type: ignore[attr-defined]
    return view


def body_limit(endpoint: str | None, mimetype: str) -> int:
    """The most bytes a body sent to ``endpoint`` as ``mimetype`` may hold (in an app context)."""
    view = current_app.view_functions.get(endpoint) if endpoint else None
    if mimetype == UPLOAD_TYPE and getattr(view, "takes_upload", False):
        return int(current_app.config["MAX_CONTENT_LENGTH"])
    if mimetype == FORM_TYPE:
        return FORM_MAX
    return JSON_MAX


def _size(limit: int) -> str:
    return f"{limit // 2**20} MiB" if limit >= 2**20 else f"{limit // 2**10} KiB"


def too_large(limit: int) -> RequestEntityTooLarge:
    """The 413 for a body over ``limit`` bytes, saying the limit."""
    message = _("The request body is too large (at most %(size)s).", size=_size(limit))
    error = RequestEntityTooLarge(message)
    error.data = {"message": message}  # type: ignore[attr-defined]  # http_errors shows it
    return error


class _AtMost(LimitedStream):
    """A body of unknown length (chunked), refused as soon as it passes ``limit`` bytes.

    werkzeug's own stream for this case stops at the limit and returns what it has read, so a
    longer body would be parsed cut short; reading one byte past the limit tells the two apart.
    """

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        super().__init__(stream, limit + 1, is_max=True)
        self.most = limit

    def readinto(self, b: Any) -> int | None:
        count = super().readinto(b)
        if self._pos > self.most:
            raise too_large(self.most)
        return count


class LimitedRequest(FlaskRequest):
    """Flask's request whose ``max_content_length`` is :func:`body_limit` and whose stream
    refuses a body past it, before reading when ``Content-Length`` says so."""

    @property
    def max_content_length(self) -> int | None:
        if self._max_content_length is not None:
            return self._max_content_length
        if not current_app:
            return JSON_MAX
        return body_limit(self.endpoint, self.mimetype)

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    @cached_property
    def stream(self) -> IO[bytes]:
        limit = self.max_content_length
        length = self.content_length
        if limit is not None and length is not None and length > limit:
            raise too_large(limit)
        if limit is not None and length is None and "wsgi.input_terminated" in self.environ:
            return cast(IO[bytes], _AtMost(self.environ["wsgi.input"], limit))
        return get_input_stream(self.environ, max_content_length=limit)


def has_one_host(environ: dict[str, Any]) -> bool:
    """Whether a request names exactly one host: a ``Host`` header (required from HTTP/1.1 on),
    not two (which a WSGI server joins with a comma, never part of a host name)."""
    host = environ.get("HTTP_HOST")
    if host is None:
        return environ.get("SERVER_PROTOCOL") not in ("HTTP/1.1", "HTTP/2", "HTTP/3")
    return "," not in host


def _check_head() -> Any:
    """400 without exactly one host; 413 for a ``Content-Length`` over the body's limit."""
    if not has_one_host(request.environ):
        from contest.http_errors import error_response

        message = _("The request must name exactly one host (the Host header).")
        return error_response(400, "bad_request", message)  # 400, not the API's 422: no input
    limit = request.max_content_length
    if limit is not None and (request.content_length or 0) > limit:
        raise too_large(limit)
    return None


def init_app(app: Flask) -> None:
    """Use :class:`LimitedRequest`, and check the head before every other hook (Flask-WTF's CSRF
    check, registered earlier, reads the form)."""
    app.request_class = LimitedRequest
    app.before_request_funcs.setdefault(None, []).insert(0, _check_head)
