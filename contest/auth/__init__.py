"""Login and logout pages, the language switch, and the login throttle shared with the API."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from contest.auth import views  # noqa: E402,F401
