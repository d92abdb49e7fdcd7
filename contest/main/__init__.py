"""Public pages and the contestant's home."""

from typing import Any

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

bp = Blueprint("main", __name__)


@bp.route("/")
def index() -> Any:
    if current_user.is_authenticated and current_user.is_organizer:
        return redirect(url_for("admin.index"))
    if current_user.is_authenticated:
        return render_template("main/home.html")
    return render_template("main/landing.html")
