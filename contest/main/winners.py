"""The public winners list (公示): ``/contests/<id>/winners``, no login.

Shown only once the organizers locked the awards and published the list (404 for a draft
contest, unknown ids or an unpublished list), names masked as the contest's setting says, with
no score and no id. Rate-limited per client network (``WINNERS_LIMIT``).
"""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.routing import BuildError

from contest.auth.throttle import client_network, now_s, over_limit
from contest.config import default
from contest.errors import TooManyAttempts
from contest.main import bp
from contest.services import award_results

WINNERS_LIMIT = default("WINNERS_LIMIT")


def check_rate(address: str, now: float) -> None:
    """Count one read of a winners list from ``address``; :class:`TooManyAttempts` past
    ``WINNERS_LIMIT`` in its window (see :func:`contest.auth.throttle.over_limit`)."""
    name = f"throttle:winners:{client_network(address)}"
    retry_after = over_limit(name, "WINNERS_LIMIT", WINNERS_LIMIT, now)
    if retry_after is not None:
        raise TooManyAttempts(
            _("Too many requests from this network. Please wait a moment and try again."),
            retry_after=retry_after,
        )


def published_list(contest_id: int) -> award_results.WinnersList:
    """The published list after the rate check; 404 when there is none."""
    check_rate(request.remote_addr or "", now_s())
    listing = award_results.winners_list(contest_id)
    if listing is None:
        abort(404)
    return listing


@bp.route("/contests/<int:contest_id>/winners")
def winners_list(contest_id: int) -> Any:
    listing = published_list(contest_id)
    try:
        pdf_url: str | None = url_for("main.winners_list_pdf", contest_id=contest_id)
    except BuildError:
        pdf_url = None
    return render_template("main/winners.html", listing=listing, pdf_url=pdf_url)
