"""Public board pages: a contest's boards, one round's live board, and the big screen.

Every figure on these pages comes from the rendered snapshots in Redis, exactly as the public
JSON API serves them (masked names, frozen boards held); the database only supplies titles and
whether the contest's boards are public at all. Organizer-only boards and unknown ids are 404.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import segno
from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from contest.api.schemas import MAX_BOARD_OFFSET as MAX_OFFSET
from contest.extensions import db, redis_hub
from contest.models import Contest, ContestStatus, Round
from contest.services import leaderboards, timing

bp = Blueprint("boards", __name__, url_prefix="/boards")

PAGE = leaderboards.PAGE  # entries per page: one stored page, the cheapest read
SCREEN_TOP = 10  # rows per board on the big screen
ROTATE_S = 15  # seconds per board on the big screen (?rotate= overrides, for rehearsals)
ROTATE_RANGE = (2, 120)


def now() -> datetime:
    return datetime.now(UTC)


# Loading -----------------------------------------------------------------------------------------


def public_contest(contest_id: int) -> Contest:
    """The contest if its boards are public; 404 otherwise (unknown, a draft, or organizers
    only)."""
    contest = db.session.get(Contest, contest_id)
    if contest is None or not leaderboards.boards_public(contest):
        abort(404)
    return contest


def read_body(board: str, contest_id: int, offset: int = 0, limit: int = PAGE) -> dict[str, Any]:
    """A page of a stored board as a dict; a board never rendered is rendered first."""
    client = redis_hub.client
    snapshot = leaderboards.read_board(client, board, offset, limit)
    if snapshot is None:
        snapshot = leaderboards.render_if_missing(client, contest_id, board, offset, limit)
    if snapshot is None:
        abort(404)
    body: dict[str, Any] = json.loads(snapshot.body)
    keyed(body.get("entries") or [])
    return body


def keyed(rows: Iterable[dict[str, Any]]) -> None:
    """Give each row the key board.js follows between snapshots: the entry's opaque id."""
    for row in rows:
        row["key"] = row.get("id") or f"{row.get('name') or ''}|{row.get('rank')}"


def current_round(rounds: list[Round], at: datetime) -> Round | None:
    """The round spectators most likely want: the open one, else the last that has closed,
    else the first."""
    if not rounds:
        return None
    status = {r.id: timing.round_status(r, at) for r in rounds}
    open_rounds = [r for r in rounds if status[r.id] == "open"]
    if open_rounds:
        return open_rounds[0]
    closed = [r for r in rounds if status[r.id] == "closed"]
    return closed[-1] if closed else rounds[0]


def join_url(contest: Contest, at: datetime) -> str:
    """Where a contestant joins: the lobby of the contest's current round (login leads there,
    and the lobby takes an invite code when the contest needs one); the home page without
    rounds. Under ``CONTEST_PUBLIC_URL`` when it is set, otherwise under the address the
    screen's browser used (the request's Host header)."""
    round_ = current_round(list(contest.rounds), at)
    args: dict[str, Any] = {} if round_ is None else {"round_id": round_.id}
    endpoint = "main.index" if round_ is None else "main.round_lobby"
    base = current_app.config["CONTEST_PUBLIC_URL"]
    return base + url_for(endpoint, **args) if base else url_for(endpoint, _external=True, **args)


# A longer join URL gets no QR code: no real address is this long, while a made-up Host header of
# thousands of characters would cost a tenth of a second of CPU per code (and segno refuses past
# about 2,300 characters).
QR_MAX_URL = 300


def join_qr(url: str) -> Markup | None:
    """The join URL's QR code, or None for a URL too long to be a real address."""
    return qr_svg(url) if len(url) <= QR_MAX_URL else None


@lru_cache(maxsize=64)  # one or two URLs in practice; a screen reloads every few minutes
def qr_svg(url: str) -> Markup:
    """The URL as an inline SVG QR code (no namespace, no size: CSS sizes it)."""
    code = segno.make(url, error="m", micro=False)
    svg = code.svg_inline(
        dark="#000", light="#fff", omitsize=True, svgclass="qr-code", lineclass=None
    )
    return Markup(svg)  # noqa: S704 (segno's own markup, the URL is encoded as modules)


# Page context -------------------------------------------------------------------------------------


@dataclass
class BoardView:
    """One board on a page: its body now and the URLs board.js refreshes it from."""

    kind: str  # "round", "contest" or "organizations"
    title: str
    body: dict[str, Any]
    url: str
    stream_url: str | None = None
    round_id: int | None = None


def round_view(round_: Round, offset: int, limit: int) -> BoardView:
    body = read_body(leaderboards.round_board(round_.id), round_.contest_id, offset, limit)
    return BoardView(
        "round",
        round_.title,
        body,
        url_for("api.get_round_leaderboard", round_id=round_.id, offset=offset, limit=limit),
        url_for("api.stream_round_leaderboard", round_id=round_.id, offset=offset, limit=limit),
        round_id=round_.id,
    )


def contest_view(contest: Contest, limit: int) -> BoardView:
    body = read_body(leaderboards.contest_board(contest.id), contest.id, 0, limit)
    return BoardView(
        "contest",
        _("Overall"),
        body,
        url_for("api.get_contest_leaderboard", contest_id=contest.id, offset=0, limit=limit),
    )


def organizations_view(contest: Contest, limit: int | None = None) -> BoardView:
    body = read_body(leaderboards.organization_board(contest.id), contest.id, 0, 0)
    if limit is not None:
        body["organizations"] = body.get("organizations", [])[:limit]
    return BoardView(
        "organizations",
        _("Organizations"),
        body,
        url_for("api.get_organization_leaderboard", contest_id=contest.id),
    )


def board_strings() -> dict[str, str]:
    """board.js's words; ``{n}``-style placeholders are filled in by the script."""
    return {
        "connecting": _("Connecting…"),
        "live": _("Live"),
        "live_frozen": _("Connected · the board is frozen"),
        "reconnecting": _("Reconnecting…"),
        "polling": _("Refreshing every few seconds"),
        "offline": _("No connection, retrying…"),
        "unavailable": _("This board is no longer public."),
        "unit_submitted": _("{n} of {enrolled} submitted ({rate})"),
        "unit_started": _("{n} started"),
        "shown": _("Places {first}–{last} of {total}"),
        "none": _("No results yet."),
        "scheduled": status_text("scheduled"),
        "open": status_text("open"),
        "closed": status_text("closed"),
    }


def page_context(contest: Contest, selected: Round | None, offset: int) -> dict[str, Any]:
    rounds = list(contest.rounds)
    at = now()
    # A finished contest's rounds are over, those without a closing time included: they ended
    # with the contest.
    ended = (contest.finished_at or at) if contest.status is not ContestStatus.PUBLISHED else None
    status = {r.id: "closed" if ended else timing.round_status(r, at) for r in rounds}
    return {
        "contest": contest,
        "rounds": [
            {
                "id": r.id,
                "title": r.title,
                "status": status[r.id],
                # board.js moves the label on at these times without a reload
                "opens_at": r.opens_at.isoformat() if r.opens_at else "",
                "closes_at": closes.isoformat() if (closes := r.closes_at or ended) else "",
            }
            for r in rounds
        ],
        "selected": selected,
        "selected_closed": selected is not None and status[selected.id] == "closed",
        "round_board": round_view(selected, offset, PAGE) if selected else None,
        "contest_board": contest_view(contest, PAGE),
        "organizations_board": organizations_view(contest),
        "offset": offset,
        "page_size": PAGE,
        "strings": board_strings(),
    }


def status_text(status: str) -> str:
    return {"scheduled": _("Not started"), "open": _("In progress"), "closed": _("Ended")}.get(
        status, status
    )


def duration_text(seconds: Any) -> str:
    """Time used as m:ss (h:mm:ss past an hour), as board.js writes it."""
    if seconds is None:
        return "—"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def number_text(value: Any) -> str:
    return "—" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def percent_text(rate: Any) -> str:
    return "—" if rate is None else f"{round(float(rate) * 100)}%"


@bp.app_template_global()
def board_is_public(contest_id: int) -> bool:
    """For links elsewhere: whether this contest's boards are public."""
    contest = db.session.get(Contest, contest_id)
    return contest is not None and leaderboards.boards_public(contest)


@bp.context_processor
def board_helpers() -> dict[str, Any]:
    return {
        "status_text": status_text,
        "duration_text": duration_text,
        "number_text": number_text,
        "percent_text": percent_text,
    }


# Views -------------------------------------------------------------------------------------------


def requested_offset() -> int:
    """The page's first place, within what the board API takes (it refuses beyond)."""
    offset = min(max(0, request.args.get("offset", 0, type=int) or 0), MAX_OFFSET)
    return offset - offset % PAGE


@bp.route("/contests/<int:contest_id>")
def contest_board(contest_id: int) -> Any:
    """The contest's boards: its current round (live), the overall board, organizations."""
    contest = public_contest(contest_id)
    selected = current_round(list(contest.rounds), now())
    return render_template("boards/board.html", **page_context(contest, selected, 0))


@bp.route("/rounds/<int:round_id>")
def round_board(round_id: int) -> Any:
    """One round's live board, with the contest's other boards below it."""
    round_ = db.session.get(Round, round_id)
    if round_ is None:
        abort(404)
    contest = public_contest(round_.contest_id)
    return render_template("boards/board.html", **page_context(contest, round_, requested_offset()))


@bp.route("/contests/<int:contest_id>/screen")
def screen(contest_id: int) -> Any:
    """The big screen (1920×1080): each round's top, the overall board and the organizations
    in turn, with a QR code for joining."""
    contest = public_contest(contest_id)
    at = now()
    rounds = list(contest.rounds)
    boards = [round_view(r, 0, SCREEN_TOP) for r in rounds]
    boards += [contest_view(contest, SCREEN_TOP), organizations_view(contest, SCREEN_TOP)]
    live = current_round(rounds, at)
    first = next((i for i, b in enumerate(boards) if live and b.round_id == live.id), 0)
    rotate = request.args.get("rotate", ROTATE_S, type=int) or ROTATE_S
    url = join_url(contest, at)
    page = render_template(
        "boards/screen.html",
        contest=contest,
        boards=boards,
        first=first,
        top=SCREEN_TOP,
        rotate=min(max(rotate, ROTATE_RANGE[0]), ROTATE_RANGE[1]),
        join_url=url,
        qr=join_qr(url),
        # Nothing left to join once every round has closed or the contest has finished: no QR
        # code leading to a closed lobby.
        joinable=contest.status is ContestStatus.PUBLISHED
        and (not rounds or any(timing.round_status(r, at) != "closed" for r in rounds)),
        strings=board_strings(),
    )
    # The link follows the request's Host header (without CONTEST_PUBLIC_URL): no shared cache
    # may keep one page for every host.
    return page, {"Cache-Control": "no-cache, private"}
