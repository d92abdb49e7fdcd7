"""The live final: createLiveRound, updateLiveRound and deleteLiveRound (organizers, before the
day), getLiveState and streamLiveState (the host, a team's device or the big screen), hostAction
(organizers), and a team's buzz, submitLiveAnswer, chooseTier and pickTile; exportLiveTimeline
(organizers).

Who sees what: ``view=host`` is for organizers and carries the key; ``view=team`` is for a
member of one of the round's teams (the team comes from the login, never from the request);
``view=screen`` is public once the contest is published, as its boards are. A team's actions
are its own devices' only: the team is the one the signed-in contestant plays for.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response, current_app, jsonify
from flask_babel import gettext as _
from flask_login import current_user, login_required

from contest.api.blueprint import blp
from contest.errors import Conflict, InvalidInput, NotFound
from contest.extensions import db, login_manager, redis_hub
from contest.live_final import compensation, service, setup, timeline, views
from contest.live_final import hub as live_hub
from contest.live_final import state as reducer
from contest.models import Round
from contest.security import organizer_required
from contest.services import contests as contest_service

VIEWS = ("host", "team", "screen")


# Schemas ---------------------------------------------------------------------------------------


class LiveRoundInSchema(ma.Schema):
    title = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    bank_id = ma.fields.Integer(required=True)
    compensation_ms = ma.fields.Integer(
        load_default=0,
        validate=ma.validate.Range(min=0, max=compensation.MAX_MS),
        metadata={
            "description": "buzz order: credit each phone up to this much of half its "
            "measured smallest round trip (0: off, the default)"
        },
    )
    devices = ma.fields.String(
        load_default="team",
        validate=ma.validate.OneOf(setup.DEVICE_MODES),
        metadata={
            "description": "team: one device per team; members: every member's phone, "
            "the captain's answer counts"
        },
    )
    individual = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "every registered contestant is a team of one (teams ignored)"},
    )
    teams = ma.fields.List(
        ma.fields.Dict(),
        load_default=list,
        validate=ma.validate.Length(max=setup.MAX_TEAMS),
        metadata={"description": "[{name, organization_id?, members: [{user_id, captain?}]}]"},
    )
    segments = ma.fields.List(
        ma.fields.Dict(),
        required=True,
        validate=ma.validate.Length(min=1, max=50),
        metadata={
            "description": "[{kind: required|choice|buzz|risk|all|tiebreak, title?, points?, "
            "deduction?, time_limit_s?, questions?: [version ids] | pool?: {category?, type, "
            "count}, tiers?, pass_on_wrong?, speed_points?}]"
        },
    )


class LiveRoundSchema(ma.Schema):
    id = ma.fields.Integer()
    contest_id = ma.fields.Integer()
    title = ma.fields.String()
    mode = ma.fields.String()


class ViewQuerySchema(ma.Schema):
    view = ma.fields.String(load_default="screen", validate=ma.validate.OneOf(VIEWS))


class StateQuerySchema(ViewQuerySchema):
    at = ma.fields.Integer(
        validate=ma.validate.Range(min=0),
        metadata={
            "description": "the state as it was after this event (a replay of the "
            "timeline); the answer then carries replay: {version, last}"
        },
    )


class HostActionSchema(ma.Schema):
    action = ma.fields.String(required=True, validate=ma.validate.OneOf(reducer.HOST_ACTIONS))
    segment_id = ma.fields.Integer()
    order = ma.fields.List(ma.fields.Integer(), validate=ma.validate.Length(max=50))
    team_id = ma.fields.Integer(allow_none=True)
    teams = ma.fields.List(ma.fields.Integer(), validate=ma.validate.Length(max=200))
    correct = ma.fields.Boolean(
        allow_none=True,
        metadata={
            "description": "judge: true/false for a spoken answer; null grades the device answer"
        },
    )
    points = ma.fields.Integer(validate=ma.validate.Range(min=-10_000, max=10_000))
    reason = ma.fields.String(validate=ma.validate.Length(max=200))
    tile = ma.fields.Integer(validate=ma.validate.Range(min=1, max=1000))
    tier = ma.fields.Integer(validate=ma.validate.Range(min=1, max=10_000))


class StepSchema(ma.Schema):
    step = ma.fields.Integer(
        required=True,
        validate=ma.validate.Range(min=1),
        metadata={"description": "the step (question) the device acts on, from its state"},
    )


class LiveAnswerSchema(StepSchema):
    answer = ma.fields.Raw(
        required=True,
        allow_none=True,
        metadata={
            "description": "option index (from 0, bank order), list of indexes, "
            "true/false, or a list of blank texts"
        },
    )


class PongSchema(ma.Schema):
    nonce = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))


class TierSchema(StepSchema):
    tier = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=10_000))


class TileSchema(StepSchema):
    tile = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=1000))


# Helpers -----------------------------------------------------------------------------------------


def _visible_round(round_id: int) -> Round:
    """The live round if its contest is visible to contestants and spectators; 404 otherwise."""
    round_ = service.live_round(round_id)
    if not contest_service.is_visible(round_.contest):
        raise NotFound(_("No such live round."))
    return round_


def _my_team(round_id: int) -> int:
    """The signed-in contestant's team in the round; 404 for anyone else."""
    _visible_round(round_id)
    team_id = None
    if current_user.is_authenticated and not current_user.is_organizer:
        team_id = service.team_of(round_id, current_user.id)
    if team_id is None:
        raise NotFound(_("You are not in a team of this live round."), code="not_in_team")
    return team_id


def _audience(round_id: int, view: str) -> tuple[str, Any]:
    """(cache key, view function) for the requester, after checking they may see it."""
    if view == "host":
        if not current_user.is_organizer:
            raise NotFound(_("No such live round."))
        service.live_round(round_id)
        return "host", lambda state: views.host_view(
            state, live_hub.connected(redis_hub.client, round_id)
        )
    if view == "team":
        team_id = _my_team(round_id)
        return f"team:{team_id}", lambda state: views.team_view(state, team_id)
    _visible_round(round_id)
    return "screen", views.screen_view


def _with_now(body: dict[str, Any]) -> Response:
    body["server_now"] = views.iso(service.now_ms())
    return jsonify(body)


# Operations ------------------------------------------------------------------------------------


@blp.route("/contests/<int:contest_id>/live-rounds", methods=["POST"])
@blp.doc(
    operationId="createLiveRound",
    summary="Add a live round (the final on stage) with its teams and run sheet (organizers)",
)
@organizer_required
@blp.arguments(LiveRoundInSchema)
@blp.response(201, LiveRoundSchema)
def create_live_round(body: dict[str, Any], contest_id: int) -> Any:
    return setup.create_live_round(contest_id, actor=current_user, **body)


@blp.route("/rounds/<int:round_id>/live-round", methods=["PUT"])
@blp.doc(
    operationId="updateLiveRound",
    summary="Replace a live round's settings, teams and run sheet before the day (organizers)",
    description="The body is createLiveRound's; every segment's questions are picked or drawn "
    "again. 409 live_started once the host has started the round (its event log refers to the "
    "teams and segments), contest_closed for a finished or archived contest.",
)
@organizer_required
@blp.arguments(LiveRoundInSchema)
@blp.response(200, LiveRoundSchema)
@blp.alt_response(409, description="The round has started, or the contest is closed")
def update_live_round(body: dict[str, Any], round_id: int) -> Any:
    return setup.update_live_round(round_id, actor=current_user, **body)


@blp.route("/rounds/<int:round_id>/live-round", methods=["DELETE"])
@blp.doc(
    operationId="deleteLiveRound",
    summary="Delete a live round with its teams and run sheet before the day (organizers)",
    description="409 live_started once the host has started the round, contest_closed for a "
    "finished or archived contest.",
)
@organizer_required
@blp.response(204)
@blp.alt_response(409, description="The round has started, or the contest is closed")
def delete_live_round(round_id: int) -> Response:
    setup.delete_live_round(round_id, actor=current_user)
    return Response(status=204)


@blp.route("/rounds/<int:round_id>/live", methods=["GET"])
@blp.doc(
    operationId="getLiveState",
    summary="The live round now, as the host, a team's device or the big screen sees it",
    description="view=host (organizers) carries the current question's key; view=team (a member "
    "of one of the round's teams) adds the team's own answer and whether it may act; "
    "view=screen (public once the contest is published) shows the key only after the reveal.",
)
@blp.arguments(StateQuerySchema, location="query", as_kwargs=True)
@blp.alt_response(200, description="The state for that audience, with server_now")
@blp.alt_response(404, description="No such live round, or not for this requester")
def get_live_state(round_id: int, view: str, at: int | None = None) -> Response:
    if view != "screen" and not current_user.is_authenticated:
        return login_manager.unauthorized()
    _key, cut = _audience(round_id, view)
    if at is None:
        return _with_now(cut(service.current(round_id)))
    last = int(service.current(round_id)["version"])
    body = cut(service.state_after(round_id, min(at, last)))
    body["replay"] = {"version": min(at, last), "last": last}
    return _with_now(body)


@blp.route("/rounds/<int:round_id>/live/stream", methods=["GET"])
@blp.doc(
    operationId="streamLiveState",
    summary="Server-sent events: the live round's state for one audience at once and on every "
    "change (event: state)",
)
@blp.arguments(ViewQuerySchema, location="query", as_kwargs=True)
@blp.alt_response(200, description="text/event-stream of `state` events")
def stream_live_state(round_id: int, view: str) -> Response:
    if view != "screen" and not current_user.is_authenticated:
        return login_manager.unauthorized()
    key, cut = _audience(round_id, view)
    state = service.current(round_id)  # 404 and a live copy before streaming
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    hub = live_hub.hub_for(app)

    def read() -> dict[str, Any]:
        with app.app_context():
            try:
                return service.current(round_id)
            finally:
                db.session.remove()

    def cut_in_app(state: dict[str, Any]) -> dict[str, Any]:
        with app.app_context():
            return cut(state)

    ping = None
    if view == "team" and state.get("compensation_ms"):
        client, user_id = redis_hub.client, current_user.id

        def ping() -> str:
            return compensation.ping(client, round_id, user_id)

    return Response(
        hub.stream(
            round_id,
            read,
            key,
            cut_in_app,
            presence=key if key.startswith("team:") else f"{key}:-",
            ping=ping,
        ),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@blp.route("/rounds/<int:round_id>/live/actions", methods=["POST"])
@blp.doc(
    operationId="hostAction",
    summary="The host's next action (open, arm, judge, reveal, undo, pause …) (organizers)",
    description="Every action is an event in the round's append-only log; 409 when the round's "
    "state does not allow it now (the message says why).",
)
@organizer_required
@blp.arguments(HostActionSchema)
@blp.alt_response(200, description="The host's view after the action")
def host_action(body: dict[str, Any], round_id: int) -> Response:
    action = body.pop("action")
    team_id = body.pop("team_id", None)
    if action == "adjust" and team_id is None:
        raise InvalidInput(_("Name the team whose score changes."), code="no_team")
    if action == "next":
        body["team_id"] = team_id  # the team on turn, when the host chooses it
    # Only a change by hand names its team on the event: a tile or tier the host picks is
    # picked for the team on turn.
    state = service.act(
        round_id,
        action,
        body,
        team_id=team_id if action == "adjust" else None,
        actor_id=current_user.id,
    )
    return _with_now(views.host_view(state, live_hub.connected(redis_hub.client, round_id)))


@blp.route("/rounds/<int:round_id>/live/buzz", methods=["POST"])
@blp.doc(
    operationId="buzz",
    summary="A team's buzz in 抢答: decided at once, in one order for every device",
    description="outcome: buzzed (rank 0 is first), again (the team had buzzed), early (before "
    "arming: the team is out of this question). 409 locked_out, not_armed.",
)
@login_required
@blp.arguments(StepSchema)
@blp.alt_response(200, description="The outcome and the team's view")
def buzz(body: dict[str, Any], round_id: int) -> Response:
    team_id = _my_team(round_id)
    done = service.buzz(round_id, team_id, body["step"], current_user.id)
    return _with_now(
        {
            "outcome": done["outcome"],
            "rank": done["rank"],
            "first_team_id": done["first_team_id"],
            "state": views.team_view(done["state"], team_id),
        }
    )


def _team_act(round_id: int, kind: str, payload: dict[str, Any]) -> Response:
    team_id = _my_team(round_id)
    state = service.current(round_id)
    service.may_answer(state, team_id, current_user.id)
    step = payload.pop("step")
    if not state.get("step") or state["step"]["number"] != step:
        raise Conflict(_("That question is no longer open."), code="wrong_step")
    state = service.act(round_id, kind, payload, team_id=team_id, actor_id=current_user.id)
    return _with_now(views.team_view(state, team_id))


@blp.route("/rounds/<int:round_id>/live/answer", methods=["POST"])
@blp.doc(operationId="submitLiveAnswer", summary="A team's answer on its device")
@login_required
@blp.arguments(LiveAnswerSchema)
@blp.alt_response(200, description="The team's view")
def submit_live_answer(body: dict[str, Any], round_id: int) -> Response:
    return _team_act(round_id, "answer", body)


@blp.route("/rounds/<int:round_id>/live/tier", methods=["POST"])
@blp.doc(operationId="chooseTier", summary="风险: the team on turn chooses its stake")
@login_required
@blp.arguments(TierSchema)
@blp.alt_response(200, description="The team's view")
def choose_tier(body: dict[str, Any], round_id: int) -> Response:
    return _team_act(round_id, "choose_tier", body)


@blp.route("/rounds/<int:round_id>/live/tile", methods=["POST"])
@blp.doc(operationId="pickTile", summary="选答: the team on turn picks a question tile")
@login_required
@blp.arguments(TileSchema)
@blp.alt_response(200, description="The team's view")
def pick_tile(body: dict[str, Any], round_id: int) -> Response:
    return _team_act(round_id, "pick_tile", body)


@blp.route("/rounds/<int:round_id>/live/pong", methods=["POST"])
@blp.doc(
    operationId="answerLivePing",
    summary="A team phone answers its stream's ping at once (the server measures the round trip)",
    description="Only when the round compensates network delay in the buzz order. The server "
    "times the round trip on its own clock; 404 for a nonce unknown, expired, used or sent "
    "to someone else.",
)
@login_required
@blp.arguments(PongSchema)
@blp.response(204)
def answer_live_ping(body: dict[str, Any], round_id: int) -> None:
    _my_team(round_id)
    if compensation.pong(redis_hub.client, round_id, body["nonce"], current_user.id) is None:
        raise NotFound(_("No such ping."), code="no_ping")


@blp.route("/rounds/<int:round_id>/live/timeline", methods=["GET"])
@blp.doc(
    operationId="exportLiveTimeline",
    summary="The live round's event log as an XLSX workbook (organizers)",
)
@organizer_required
@blp.alt_response(200, description="An XLSX workbook")
def export_live_timeline(round_id: int) -> Response:
    service.live_round(round_id)
    data = timeline.xlsx(round_id)
    return Response(
        data,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="live-{round_id}-timeline.xlsx"'},
    )
