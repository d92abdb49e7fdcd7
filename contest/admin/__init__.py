"""Organizer pages. Every view here is organizer-only."""

from typing import Any

from flask import Blueprint, Response, render_template
from sqlalchemy import func, select

from contest.extensions import db
from contest.models import Organization, Role, User
from contest.security import organizer_required

bp = Blueprint("admin", __name__)

PAGE_SIZE = 50


@bp.before_request
@organizer_required
def _organizers_only() -> None:
    """Guard for every route of the blueprint, so no new page can forget it."""


@bp.after_request
def _kept_private(response: Response) -> Response:
    """Organizer pages hold live standings with full names, contacts and answer keys: no
    shared cache keeps them, and no browser cache keeps them past the session (downloads that
    set their own policy keep it)."""
    response.headers.setdefault("Cache-Control", "private, no-store")
    return response


@bp.route("/")
def index() -> Any:
    counts = dict(db.session.execute(select(User.role, func.count()).group_by(User.role)).all())
    organizations = db.session.scalar(select(func.count()).select_from(Organization)) or 0
    return render_template(
        "admin/index.html",
        contestants=counts.get(Role.CONTESTANT, 0),
        organizers=counts.get(Role.ADMIN, 0) + counts.get(Role.ORGANIZER, 0),
        organizations=organizations,
    )


# Registers the bank pages, the contest and round pages (a live round's set-up too), a round's
# live standings and reveal, a round's attempts (monitoring, flags, one contestant's paper and
# the actions on it), the contest's life (publish, finish, archive, copy, delete, preview), the
# account pages (admins only), the audit log page and its exports, the contest's sign-up settings
# and list, and the law library with its review queue after an amendment.
from contest.admin import (  # noqa: E402,F401
    appeals,
    attempts,
    audit,
    awards,
    banks,
    certificates,
    contests,
    exports,
    laws,
    lifecycle,
    live_rounds,
    signup,
    standings,
    statistics,
    users,
)
