"""The JSON API under ``/api/v1``, documented by an OpenAPI 3 document generated from the code.

flask-smorest (marshmallow + apispec) generates ``/api/v1/openapi.json`` from the routes and
schemas below. Its app-wide HTML/JSON error handler is replaced by :mod:`contest.http_errors`, which
answers ``{"error": {"code", "message"}}`` under ``/api/`` and a page elsewhere.
"""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api as _SmorestApi

from contest.api.blueprint import blp
from contest.api.schemas import ErrorEnvelopeSchema


class Api(_SmorestApi):
    ERROR_SCHEMA = ErrorEnvelopeSchema

    def _register_error_handlers(self) -> None:
        """Errors are handled by :mod:`contest.http_errors` for the whole app."""


api = Api()


def init_api(app: Flask) -> None:
    from contest.api import (  # noqa: F401  (each module registers its routes)
        appeals,
        attempts,
        audit,
        awards,
        banks,
        boards,
        certificates,
        contests,
        exports,
        laws,
        lifecycle,
        live,
        monitoring,
        organizations,
        session,
        signup,
        statistics,
        users,
    )

    api.init_app(app)
    api.register_blueprint(blp)
