"""Error responses: JSON ``{"error": {"code", "message"}}`` under /api/, a page elsewhere."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, make_response, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from contest.auth.throttle import LoginThrottled
from contest.errors import DomainError
from contest.security import is_api_request

# Machine codes for plain HTTP errors; messages are looked up per request for the locale.
_CODES = {
    400: "bad_request",
    401: "not_logged_in",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
    500: "server_error",
}


def _messages() -> dict[int, str]:
    return {
        400: _("The request could not be understood."),
        401: _("Please log in first."),
        403: _("You are not allowed to do this."),
        404: _("Not found."),
        405: _("This method is not allowed here."),
        409: _("The current state does not allow this."),
        413: _("The upload is too large."),
        415: _("Unsupported content type."),
        422: _("The input is not valid."),
        429: _("Too many attempts. Please wait a moment and try again."),
        500: _("Something went wrong on our side. Please try again."),
    }


def error_response(status: int, code: str, message: str, **extra: Any) -> Any:
    """Render one error for the API (JSON) or a page (HTML)."""
    if is_api_request():
        body: dict[str, Any] = {"code": code, "message": message}
        body.update(extra)
        return jsonify(error=body), status
    return render_template("errors/error.html", status=status, message=message), status


def _http_exception(error: HTTPException) -> Any:
    status = error.code or 500
    if status == 400 and is_api_request():
        status = 422  # the API answers every malformed or invalid input with 422
    data = getattr(error, "data", None) or {}
    message = data.get("message") or _messages().get(status) or error.description or ""
    extra = {"fields": data["messages"]} if "messages" in data else {}
    response = make_response(
        error_response(status, _CODES.get(status, "error"), str(message), **extra)
    )
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)  # RFC 9110: a 405 says which
    return response


def _rate_limited(error: LoginThrottled) -> Any:
    response = make_response(error_response(429, "rate_limited", _messages()[429]))
    response.headers["Retry-After"] = str(error.retry_after)
    return response


def _csrf_error(error: CSRFError) -> Any:
    return error_response(
        403,
        "csrf_failed",
        _("The security token is missing or expired. Reload the page and retry."),
    )


def _domain_error(error: DomainError) -> Any:
    response = make_response(error_response(error.status, error.code, error.message))
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def init_app(app: Flask) -> None:
    """Register the handlers; unhandled exceptions reach the HTTPException one as a logged 500."""
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(LoginThrottled, _rate_limited)
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(HTTPException, _http_exception)
