"""A round's live standings for organizers (full names, no freeze) and 揭榜, the reveal that ends
the public board's freeze."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from contest.admin import PAGE_SIZE, bp
from contest.errors import DomainError
from contest.extensions import db, redis_hub
from contest.models import Round
from contest.services import leaderboards


@bp.route("/rounds/<int:round_id>/standings")
def round_standings(round_id: int) -> Any:
    """Live standings (full names, no freeze) from Redis, with the freeze state and 揭榜."""
    round_ = db.get_or_404(Round, round_id)
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    client = redis_hub.client
    live = leaderboards.live_round_body(client, round_, (page - 1) * PAGE_SIZE, PAGE_SIZE)
    public = leaderboards.read_board(client, leaderboards.round_board(round_.id), 0, 1)
    return render_template(
        "admin/contests/standings.html",
        round=round_,
        contest=round_.contest,
        live=live,
        public=json.loads(public.body) if public else None,
        frozen=leaderboards.freeze_active(round_, datetime.now(UTC)),
        revealed=leaderboards.revealed(round_),
        page=page,
        pages=max(1, -(-live["total"] // PAGE_SIZE)),
        reveal_form=FlaskForm(),
    )


@bp.route("/rounds/<int:round_id>/reveal", methods=["POST"])
def reveal_round(round_id: int) -> Any:
    """揭榜: end the freeze; the public boards re-render with every submission."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        leaderboards.reveal(round_id, datetime.now(UTC))
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(_("The board is revealed: the public now sees the live standings."), "success")
    return redirect(url_for("admin.round_standings", round_id=round_id))
