"""Public leaderboards: getRoundLeaderboard, getContestLeaderboard, getOrganizationLeaderboard,
streamRoundLeaderboard; and revealRoundBoard for organizers.

Public reads need no login and answer from the rendered snapshots in Redis — one hash read, no
database query, no ranking (see :mod:`contest.services.leaderboards`). Responses carry an ETag
(the board's version and the slice); a matching ``If-None-Match`` gets 304. Only when a board has
never been rendered (a new contest, Redis emptied) does a read look at the database, to render it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Response, current_app, request
from flask_babel import gettext as _
from flask_login import current_user

from contest.api.blueprint import blp
from contest.api.schemas import (
    BoardQuerySchema,
    ContestBoardSchema,
    OrganizationBoardSchema,
    RevealSchema,
    RoundBoardQuerySchema,
    RoundBoardSchema,
)
from contest.errors import Forbidden, NotFound, Unavailable
from contest.extensions import db, redis_hub
from contest.live import hub_for
from contest.models import Contest, Round
from contest.security import organizer_required
from contest.services import leaderboards

# A refused stream's Retry-After: the page polls meanwhile and tries the stream again later.
STREAM_RETRY_AFTER_S = 60


def _not_found() -> NotFound:
    return NotFound(_("There is no public leaderboard here."), code="board_not_found")


def _render_missing(
    contest_id: int | None, board: str, offset: int, limit: int
) -> leaderboards.Snapshot | None:
    """A board never rendered: render it now if the contest exists and its boards are public
    (a draft's are not: the renderer keeps none)."""
    contest = db.session.get(Contest, contest_id) if contest_id is not None else None
    if contest is None or not leaderboards.boards_public(contest):
        raise _not_found()
    return leaderboards.render_if_missing(redis_hub.client, contest.id, board, offset, limit)


def _snapshot(
    board: str, contest_of: Callable[[], int | None], offset: int, limit: int
) -> leaderboards.Snapshot:
    """The stored page; ``contest_of`` (asked only when the board is missing) names its contest."""
    snapshot = hub_for(current_app._get_current_object()).read(board, offset, limit)  # type: ignore[attr-defined]
    if snapshot is None:
        snapshot = _render_missing(contest_of(), board, offset, limit)
        if snapshot is None:
            raise _not_found()
    return snapshot


def _respond(snapshot: leaderboards.Snapshot, offset: int, limit: int) -> Response:
    etag = f'"{snapshot.version}-{offset}-{limit}"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=1"}
    if etag in request.headers.get("If-None-Match", ""):
        return Response(status=304, headers=headers)
    return Response(snapshot.body, mimetype="application/json", headers=headers)


def _round_contest(round_id: int) -> int | None:
    round_ = db.session.get(Round, round_id)
    return round_.contest_id if round_ is not None else None


@blp.route("/rounds/<int:round_id>/leaderboard", methods=["GET"])
@blp.doc(
    operationId="getRoundLeaderboard",
    summary="A page of the round's public board (no login; ETag / If-None-Match)",
)
@blp.arguments(RoundBoardQuerySchema(), location="query", as_kwargs=True)
@blp.alt_response(200, schema=RoundBoardSchema, description="A page of the board")
@blp.alt_response(304, description="Unchanged since the ETag sent in If-None-Match")
@blp.alt_response(404, description="No such round, or its contest's boards are not public")
def get_round_leaderboard(round_id: int, offset: int, limit: int, view: str) -> Response:
    if view == "live":
        return _live_round(round_id, offset, limit)
    board = leaderboards.round_board(round_id)
    return _respond(
        _snapshot(board, lambda: _round_contest(round_id), offset, limit), offset, limit
    )


def _live_round(round_id: int, offset: int, limit: int) -> Response:
    """Organizers' live standings: full names and no freeze, ranked on request from Redis."""
    if not current_user.is_authenticated or not current_user.is_organizer:
        raise Forbidden(_("Only organizers see the live standings."), code="organizers_only")
    round_ = db.session.get(Round, round_id)
    if round_ is None:
        raise NotFound(_("No round %(id)s.", id=round_id))
    body = leaderboards.live_round_body(redis_hub.client, round_, offset, limit)
    response = Response(leaderboards.dumps(body), mimetype="application/json")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blp.route("/rounds/<int:round_id>/leaderboard/stream", methods=["GET"])
@blp.doc(
    operationId="streamRoundLeaderboard",
    summary="The round's public board as server-sent events: now, then on every change",
    description=(
        "text/event-stream. Each event is `event: board` with `id` the version and `data` the "
        "same JSON as getRoundLeaderboard; changes are batched (a few per second at most); a "
        "comment line every 15 s keeps the stream open."
    ),
    responses={
        "200": {
            "description": "An event stream",
            # OpenAPI before 3.2: the schema of a text/event-stream describes each event.
            "content": {
                "text/event-stream": {
                    "schema": {
                        "type": "object",
                        "required": ["event", "id", "data"],
                        "properties": {
                            "event": {"type": "string", "enum": ["board"]},
                            "id": {"type": "string", "description": "the board's version"},
                            "data": {
                                "type": "string",
                                "description": "getRoundLeaderboard's body, as JSON",
                            },
                        },
                    }
                }
            },
        }
    },
)
@blp.arguments(BoardQuerySchema(), location="query", as_kwargs=True)
@blp.alt_response(404, description="No such round, or its contest's boards are not public")
@blp.alt_response(
    503,
    description="Too many streams open (per process or per client address): poll the board; "
    "Retry-After says when to try the stream again",
)
def stream_round_leaderboard(round_id: int, offset: int, limit: int) -> Response:
    board = leaderboards.round_board(round_id)
    _snapshot(board, lambda: _round_contest(round_id), offset, limit)  # 404 before streaming
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    hub = hub_for(app)
    admitted = hub.admit(
        request.remote_addr or "",
        app.config["CONTEST_STREAMS_PER_PROCESS"],
        app.config["CONTEST_STREAMS_PER_ADDRESS"],
    )
    if admitted is None:
        raise Unavailable(
            _("Too many live connections; the board refreshes by itself instead."),
            code="too_many_streams",
            retry_after=STREAM_RETRY_AFTER_S,
        )
    return Response(
        admitted.serve(hub.stream(board, offset, limit)),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@blp.route("/contests/<int:contest_id>/leaderboard", methods=["GET"])
@blp.doc(
    operationId="getContestLeaderboard",
    summary="A page of the contest's public board: the sum over its rounds",
)
@blp.arguments(BoardQuerySchema(), location="query", as_kwargs=True)
@blp.alt_response(200, schema=ContestBoardSchema, description="A page of the board")
@blp.alt_response(304, description="Unchanged since the ETag sent in If-None-Match")
@blp.alt_response(404, description="No such contest, or its boards are not public")
def get_contest_leaderboard(contest_id: int, offset: int, limit: int) -> Response:
    board = leaderboards.contest_board(contest_id)
    return _respond(_snapshot(board, lambda: contest_id, offset, limit), offset, limit)


@blp.route("/contests/<int:contest_id>/organizations/leaderboard", methods=["GET"])
@blp.doc(
    operationId="getOrganizationLeaderboard",
    summary="Standings of the contest's units: enrolled, started, submitted, rate, mean and top",
)
@blp.alt_response(200, schema=OrganizationBoardSchema, description="Every organization")
@blp.alt_response(304, description="Unchanged since the ETag sent in If-None-Match")
@blp.alt_response(404, description="No such contest, or its boards are not public")
def get_organization_leaderboard(contest_id: int) -> Response:
    board = leaderboards.organization_board(contest_id)
    return _respond(_snapshot(board, lambda: contest_id, 0, 0), 0, 0)


@blp.route("/rounds/<int:round_id>/reveal", methods=["POST"])
@blp.doc(
    operationId="revealRoundBoard",
    summary="End the freeze (揭榜): public boards show the live standings (organizers)",
)
@organizer_required
@blp.response(200, RevealSchema)
def reveal_round_board(round_id: int) -> dict[str, Any]:
    round_ = leaderboards.reveal(round_id, datetime.now(UTC))
    return {"round_id": round_.id, "revealed_at": round_.revealed_at}
