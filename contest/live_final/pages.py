"""The live final's pages: the host's console, a team's phone and the big screen.

The pages are shells: each script (``static/js/live_*.js``) follows the round's state stream for
its audience and draws it, and the host's console posts the host's actions. What a page may show
is what its API view holds (:mod:`contest.live_final.views`): the big screen and the phones never
receive a key before the reveal, because their views do not carry it. The same rules as the API:
the host's console is for organizers; a team's page for a member of one of the round's teams; the
big screen (and its stream overlay, ``?layout=overlay``) is public once the contest is published.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf

from contest.errors import NotFound
from contest.live_final import service, views
from contest.models import Round
from contest.security import organizer_required
from contest.services import contests as contest_service

bp = Blueprint("live_pages", __name__, url_prefix="/live")

LAYOUTS = ("full", "overlay")
PRIVATE = {"Cache-Control": "private, no-store"}


# Loading -----------------------------------------------------------------------------------------


def visible_round(round_id: int) -> Round:
    """The live round if its contest is published (or finished, or archived); 404 otherwise."""
    round_ = service.live_round(round_id)
    if not contest_service.is_visible(round_.contest):
        raise NotFound(_("No such live round."))
    return round_


def api_urls(round_id: int, view: str) -> dict[str, str]:
    """The API addresses a page's script uses, for its audience."""
    return {
        "state": url_for("api.get_live_state", round_id=round_id, view=view),
        "stream": url_for("api.stream_live_state", round_id=round_id, view=view),
        "session": url_for("api.get_session"),
    }


# Words for the scripts: ``{name}`` placeholders are filled in by the script --------------------


def kind_labels() -> dict[str, str]:
    return {
        "kind_required": _("Turn questions"),
        "kind_choice": _("Tile questions"),
        "kind_buzz": _("Buzz-in questions"),
        "kind_risk": _("Stake questions"),
        "kind_all": _("All-team questions"),
        "kind_tiebreak": _("Play-off"),
    }


def common_strings() -> dict[str, str]:
    return {
        **kind_labels(),
        "connecting": _("Connecting…"),
        "live": _("Live"),
        "reconnecting": _("Reconnecting…"),
        "offline": _("No connection, retrying…"),
        "logged_out": _("You are logged out: log in again, then reload this page."),
        "gone": _("This live round is no longer available."),
        "true": _("True"),
        "false": _("False"),
        "points": _("{n} pt"),
        "question_n": _("Question {n}"),
        "tile_n": _("Tile {n}"),
        "stake": _("Stake: {n} pt"),
        "paused": _("Paused"),
        "lobby": _("The final starts soon"),
        "finished": _("Final standings"),
        "standings": _("Standings"),
        "answering": _("{team} is answering"),
        "choosing": _("{team} is choosing"),
        "buzz_won_by": _("{team} won the buzz"),
        "correct_for": _("{team}: correct, {points}"),
        "wrong_for": _("{team}: wrong, {points}"),
        "answer_is": _("Answer: {answer}"),
        "citation": _("Law: {citation}"),
        "area": _("Area: {area}"),
        "list_sep": _(", "),
        "blank_sep": _("; "),
    }


def host_strings() -> dict[str, str]:
    return {
        **common_strings(),
        "status_lobby": _("Lobby: not started"),
        "status_running": _("Running"),
        "status_finished": _("Finished"),
        "phase_choosing": _("Choosing"),
        "phase_ready": _("Ready to open"),
        "phase_open": _("Question open"),
        "phase_armed": _("Buzzers armed"),
        "phase_answering": _("Answering"),
        "phase_judged": _("Judged"),
        "phase_revealed": _("Revealed"),
        "no_step": _("No question yet: choose a segment, then press N."),
        "no_segment": _("No segment chosen"),
        "questions_left": _("{n} left"),
        "current": _("now playing"),
        "on_turn": _("On turn: {team}"),
        "eligible": _("Answering: {teams}"),
        "buzz_at": _("+{s} s"),
        "buzz_early": _("Too early: {teams}"),
        "answered_at": _("at {time}"),
        "no_answers": _("No device answer yet."),
        "no_buzzes": _("No buzz yet."),
        "devices_n": _("{n} device(s)"),
        "not_connected": _("not connected"),
        "screens_n": _("Screens: {n}"),
        "hosts_n": _("Host consoles: {n}"),
        "change": _("{team} {points}: {reason}"),
        "change_judge": _("judged"),
        "undone": _("undone"),
        "adjust_invalid": _("Give whole points other than 0, and a reason."),
        "team_required": _("Choose a team."),
        "tiebreak_required": _("Tick the teams of the play-off."),
        "sent": _("Done: {action}"),
        "done_segment": _("Segment chosen"),
        "done_reorder": _("Run sheet reordered"),
        "done_pick_tile": _("Tile picked for the team"),
        "done_choose_tier": _("Stake chosen for the team"),
        "done_adjust": _("Score adjusted"),
        "failed": _("The action failed; check the connection and try again."),
        "key_none": _("No key for this question."),
        "move_up": _("Move up: {title}"),
        "move_down": _("Move down: {title}"),
        "play_segment": _("Play {title}"),
        "resume": _("Resume (P)"),
        "pause": _("Pause (P)"),
    }


def team_strings() -> dict[str, str]:
    return {
        **common_strings(),
        "waiting_start": _("Waiting for the final to start…"),
        "waiting_next": _("Waiting for the next question…"),
        "get_ready": _("Get ready: the question is coming."),
        "your_turn": _("Your team's turn"),
        "pick_tile": _("Pick a question tile"),
        "choose_tier": _("Choose your stake"),
        "buzz_wait": _("Wait for the signal"),
        "buzz_now": _("Buzz!"),
        "buzz_warn": _("Buzzing before the signal puts your team out of this question."),
        "buzz_won": _("Your team won the buzz! Answer now."),
        "buzz_place": _("You buzzed in place {n}."),
        "buzz_early": _("Too early: your team is out of this question."),
        "locked_out": _("Out of this question"),
        "buzz_closed": _("Buzzing is closed"),
        "submit": _("Submit answer"),
        "sending": _("Sending…"),
        "sent_answer": _("Answer sent: {answer}"),
        "choose_first": _("Choose an answer first."),
        "blank_n": _("Blank {n}"),
        "ordering_hint": _("Tap the items in the right order."),
        "ordering_clear": _("Start again"),
        "captain_only": _("Your captain answers for the team."),
        "watch": _("Watch the big screen."),
        "you_correct": _("Correct! {points}"),
        "you_wrong": _("Wrong. {points}"),
        "your_score": _("{n} pt"),
        "your_place": _("Place {n}"),
        "time_up": _("Time is up."),
        "failed": _("Not sent: check the connection and try again."),
    }


def screen_strings() -> dict[str, str]:
    return {
        **common_strings(),
        "replay": _("Replay of the final"),
        "buzz_ready": _("Buzzers ready…"),
        "buzz_now": _("Buzz now!"),
        "answer_label": _("Answer"),
        "explanation_label": _("Explanation"),
        "time_up": _("Time is up"),
        "ready": _("Next question coming…"),
        "pick_tile_for": _("{team}: pick a tile"),
        "choose_tier_for": _("{team}: choose the stake"),
        "all_answer": _("Every team answers on its device"),
        "answered_n": _("{n} of {total} teams answered"),
    }


# Pages -----------------------------------------------------------------------------------------


@bp.route("/<int:round_id>/host")
@organizer_required
def host(round_id: int) -> Any:
    """The host's console (a laptop, keyboard first): every action, the key, the buzz order."""
    round_ = service.live_round(round_id)
    urls = {
        **api_urls(round_id, "host"),
        "actions": url_for("api.host_action", round_id=round_id),
        "timeline": url_for("api.export_live_timeline", round_id=round_id),
        "screen": url_for("live_pages.screen", round_id=round_id),
        "overlay": url_for("live_pages.screen", round_id=round_id, layout="overlay"),
    }
    page = render_template(
        "live/host.html",
        round=round_,
        contest=round_.contest,
        urls=urls,
        csrf=generate_csrf(),
        strings=host_strings(),
        draft=not contest_service.is_visible(round_.contest),
    )
    return page, PRIVATE


@bp.route("/<int:round_id>/team")
@login_required
def team(round_id: int) -> Any:
    """A team's phone: the question and its buttons when the team may act, the buzzer in 抢答."""
    if current_user.is_organizer:
        abort(403)
    round_ = visible_round(round_id)
    team_id = service.team_of(round_id, current_user.id)
    if team_id is None:
        raise NotFound(_("You are not in a team of this live round."), code="not_in_team")
    state = service.current(round_id)
    mine = next(t for t in state["teams"] if t["id"] == team_id)
    captain = any(m["user_id"] == current_user.id and m["captain"] for m in mine["members"])
    view = views.team_view(state, team_id)
    urls = {
        **api_urls(round_id, "team"),
        "buzz": url_for("api.buzz", round_id=round_id),
        "answer": url_for("api.submit_live_answer", round_id=round_id),
        "tier": url_for("api.choose_tier", round_id=round_id),
        "tile": url_for("api.pick_tile", round_id=round_id),
        "pong": url_for("api.answer_live_ping", round_id=round_id),
    }
    page = render_template(
        "live/team.html",
        round=round_,
        team=mine,
        view=view,
        # With every member's phone connected only the captain's device answers.
        answers=state.get("devices") != "members" or captain,
        urls=urls,
        csrf=generate_csrf(),
        strings=team_strings(),
    )
    return page, PRIVATE


@bp.route("/<int:round_id>/screen")
def screen(round_id: int) -> Any:
    """The big screen (1920×1080) or, with ``?layout=overlay``, the stream's lower third on a
    transparent background."""
    round_ = visible_round(round_id)
    layout = request.args.get("layout", "full")
    if layout not in LAYOUTS:
        layout = "full"
    view = views.screen_view(service.current(round_id))
    return render_template(
        "live/screen.html",
        round=round_,
        contest=round_.contest,
        view=view,
        layout=layout,
        urls=api_urls(round_id, "screen"),
        strings=screen_strings(),
    )
