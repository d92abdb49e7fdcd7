"""The public winners list (公示): ``/contests/<id>/winners``, no login.

Shown only once the organizers locked the awards and published the list (404 for a draft
contest, unknown ids or an unpublished list), names masked as the contest's setting says, with
no score and no id. Rate-limited per client network (``WINNERS_LIMIT``).
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from flask import abort, current_app, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.routing import BuildError

from contest.auth.throttle import Limit, client_network, now_s, window_counter
from contest.errors import TooManyAttempts
from contest.extensions import redis_hub
from contest.main import bp
from contest.services import awards

log = logging.getLogger(__name__)

WINNERS_LIMIT = "120 per minute"


def check_rate(address: str, now: float) -> None:
    """Count one read of a winners list from ``address``; :class:`TooManyAttempts` past
    ``WINNERS_LIMIT`` in its window. Not counted when rate limits are off or Redis cannot be
    reached (logged)."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    limit = Limit.parse(str(current_app.config.get("WINNERS_LIMIT") or WINNERS_LIMIT))
    counter = window_counter(f"throttle:winners:{client_network(address)}", limit, now)
    try:
        pipe = redis_hub.client.pipeline()
        pipe.set(counter.key, 0, ex=limit.window_s, nx=True)
        pipe.incr(counter.key)
        count = int(pipe.execute()[1])
    except redis.RedisError:
        log.warning("winners list not rate-limited: Redis is unreachable")
        return
    if count > limit.amount:
        raise TooManyAttempts(
            _("Too many requests from this network. Please wait a moment and try again."),
            retry_after=counter.retry_after,
        )


def published_list(contest_id: int) -> awards.WinnersList:
    """The published list after the rate check; 404 when there is none."""
    check_rate(request.remote_addr or "", now_s())
    listing = awards.winners_list(contest_id)
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
