"""A live round's state, derived from its event log. Pure: no database, no Redis, no clock.

``initial(setup)`` is the state before the first event; ``apply(state, event)`` is the state after
one more event, or raises :class:`~contest.errors.Conflict` when the event is not allowed now —
the service asks this before it appends an event, so the log only holds events that applied.
``replay(setup, events)`` folds a whole log, leaving out what an ``undo`` took back (and any event
that no longer applies without it). A state is plain JSON (it is also the live copy in Redis).

An event is ``{"seq", "kind", "team_id", "payload", "at_ms"}``. The kinds, by who sends them:

- host: ``start``, ``segment`` {segment_id}, ``reorder`` {order}, ``next`` {team_id?, teams?},
  ``open``, ``arm``, ``judge`` {correct: true | false | null (grade the device answer)},
  ``reveal``, ``standings``, ``undo`` {seq}, ``pause``, ``resume``, ``adjust`` {points, reason},
  ``finish``; the host may also pick a tile or a tier for a team that answers aloud;
- a team's device: ``pick_tile`` {tile}, ``choose_tier`` {tier}, ``answer`` {answer};
- the buzzers (decided in Redis first): ``buzz`` {step, rank, early}.

A step is one question of a segment: ``choosing`` (选答: the team on turn picks a tile; 风险: it
picks a tier) → ``ready`` → ``open`` (the question shows, the countdown runs) → ``armed`` (抢答
only) → ``answering`` (抢答: a team won the buzz) → ``judged`` → ``revealed`` (the key and
explanation show on every screen).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from fractions import Fraction
from typing import Any

from flask_babel import gettext as _

from contest.errors import Conflict, InvalidInput
from question_bank.domain import QuestionData, QuestionType, answer_from_json
from question_bank.grading import grade

State = dict[str, Any]
Event = dict[str, Any]

TURN_KINDS = ("required", "choice", "risk")  # a team on turn answers
SHARED_KINDS = ("all", "tiebreak")  # several teams answer on their devices
UNDOABLE = ("judge", "adjust")


def initial(setup: dict[str, Any]) -> State:
    """The state before anything happened: ``setup`` holds ``round_id``, ``devices``, ``teams``
    [{id, name, organization, members}], ``segments`` [{id, kind, title, points, deduction,
    time_limit_s, questions, tiers, pass_on_wrong, speed_points}] and ``questions`` {id: {type,
    stem, options, answer, explanation, category, citation}} (keys are strings)."""
    return {
        **copy.deepcopy(setup),
        "version": 0,
        "status": "lobby",
        "screen": "lobby",
        "paused": False,
        "order": [segment["id"] for segment in setup["segments"]],
        "segment_id": None,
        "used": {},  # segment id → question indexes played
        "turns": {},  # segment id → steps played (whose turn is next)
        "step": None,
        "steps": 0,  # steps begun in the round: a step's number
        "scores": {str(team["id"]): 0 for team in setup["teams"]},
        "changes": [],  # [{seq, team_id, points, reason}] every score change, in order
        "undone": [],
    }


def replay(setup: dict[str, Any], events: Iterable[Event]) -> State:
    """The state after ``events`` (in ``seq`` order), without what an ``undo`` took back."""
    events = list(events)
    undone = {event["payload"]["seq"] for event in events if event["kind"] == "undo"}
    state = initial(setup)
    for event in events:
        if event["kind"] == "undo":
            state["version"] = event["seq"]
            state["undone"].append(event["payload"]["seq"])
            continue
        if event["seq"] in undone:
            continue
        try:
            state = apply(state, event)
        except (Conflict, InvalidInput):
            state["version"] = event["seq"]  # no longer applies without what was undone
    return state


def apply(state: State, event: Event) -> State:
    """The state after ``event``; raises Conflict (or InvalidInput) when it is not allowed now.
    ``undo`` is not applied here: the service replays the log (:func:`replay`)."""
    kind = event["kind"]
    handler = _HANDLERS.get(kind)
    if handler is None:
        raise InvalidInput(_("Unknown action."), code="unknown_action")
    if state["status"] == "finished" and kind not in ("standings",):
        raise Conflict(_("The final is over."), code="live_finished")
    if state["status"] == "lobby" and kind not in ("start", "reorder"):
        raise Conflict(_("The final has not started yet."), code="live_not_started")
    if state["paused"] and kind not in ("resume", "adjust", "standings", "finish"):
        raise Conflict(_("The final is paused."), code="live_paused")
    new = copy.deepcopy(state)
    handler(new, event)
    new["version"] = event["seq"]
    return new


def undoable(state: State, events: list[Event]) -> int | None:
    """The seq of the score change an ``undo`` takes back now: the last judgement or change by
    hand not already undone. A judgement is undone only before its question is revealed (the
    host then judges again); after the reveal, or once the round moved on, a correction is a
    change by hand with its reason. None: nothing to undo."""
    undone = set(state["undone"])
    for event in reversed(events):
        if event["seq"] in undone or event["kind"] == "undo":
            continue
        if event["kind"] in UNDOABLE:
            return int(event["seq"])
        if event["kind"] in ("reveal", "next", "segment", "finish"):
            return None
    return None


# The handlers ----------------------------------------------------------------------------------


def _start(state: State, event: Event) -> None:
    if state["status"] != "lobby":
        raise Conflict(_("The final has already started."), code="live_started")
    state["status"] = "running"


def _segment(state: State, event: Event) -> None:
    segment_id = event["payload"].get("segment_id")
    if segment_id not in state["order"]:
        raise InvalidInput(_("No such segment in this final."), code="no_segment")
    _require_no_open_step(state)
    state["segment_id"] = segment_id
    state["step"] = None


def _reorder(state: State, event: Event) -> None:
    order = event["payload"].get("order")
    if not isinstance(order, list) or sorted(order) != sorted(state["order"]):
        raise InvalidInput(_("The new order must name every segment once."), code="bad_order")
    state["order"] = order


def _next(state: State, event: Event) -> None:
    segment = _current_segment(state)
    _require_no_open_step(state)
    key = str(segment["id"])
    turns = state["turns"].get(key, 0)
    teams = [team["id"] for team in state["teams"]]
    step: dict[str, Any] = {
        "number": state["steps"] + 1,
        "segment_id": segment["id"],
        "kind": segment["kind"],
        "phase": "ready",
        "question": None,
        "team_id": None,
        "eligible": teams,
        "tier": None,
        "tile": None,
        "opened_at_ms": None,
        "armed_at_ms": None,
        "deadline_at_ms": None,
        "remaining_ms": None,
        "buzzes": [],
        "early": [],
        "tried": [],
        "answers": {},
        "results": [],
    }
    chosen = event["payload"].get("team_id")
    if segment["kind"] in TURN_KINDS:
        team_id = chosen if chosen is not None else teams[turns % len(teams)]
        if team_id not in teams:
            raise InvalidInput(_("No such team in this final."), code="no_team")
        step["team_id"] = team_id
        step["eligible"] = [team_id]
    if segment["kind"] == "tiebreak":
        named = event["payload"].get("teams") or []
        if not named or any(team not in teams for team in named):
            raise InvalidInput(_("Name the teams of the tie-break."), code="no_team")
        step["eligible"] = list(named)
    if segment["kind"] in ("choice", "risk"):
        step["phase"] = "choosing"
        if segment["kind"] == "choice" and _free_tiles(state, segment) == []:
            raise Conflict(_("Every tile of this segment is taken."), code="no_questions")
    if segment["kind"] != "choice":
        step["question"] = _next_question(state, segment)
    state["turns"][key] = turns + 1
    state["steps"] += 1
    state["step"] = step
    state["screen"] = "question"


def _pick_tile(state: State, event: Event) -> None:
    step = _step(state, "choosing", "choice")
    _require_team(step, event)
    segment = _current_segment(state)
    tile = event["payload"].get("tile")
    if tile not in _free_tiles(state, segment):
        raise Conflict(_("That tile is taken or does not exist."), code="tile_taken")
    index = tile - 1
    state["used"].setdefault(str(segment["id"]), []).append(index)
    step["tile"] = tile
    step["question"] = segment["questions"][index]
    step["phase"] = "ready"


def _choose_tier(state: State, event: Event) -> None:
    step = _step(state, "choosing", "risk")
    _require_team(step, event)
    tier = event["payload"].get("tier")
    if tier not in _current_segment(state)["tiers"]:
        raise InvalidInput(_("Choose one of the segment's tiers."), code="bad_tier")
    step["tier"] = tier
    step["phase"] = "ready"


def _open(state: State, event: Event) -> None:
    step = _step(state, "ready")
    step["phase"] = "open"
    step["opened_at_ms"] = event["at_ms"]
    if step["kind"] != "buzz":
        limit = _current_segment(state)["time_limit_s"]
        step["deadline_at_ms"] = event["at_ms"] + limit * 1000
    state["screen"] = "question"


def _arm(state: State, event: Event) -> None:
    step = _step(state, "open", "buzz")
    step["phase"] = "armed"
    step["armed_at_ms"] = event["at_ms"]
    step["deadline_at_ms"] = event["at_ms"] + _current_segment(state)["time_limit_s"] * 1000


def _buzz(state: State, event: Event) -> None:
    step = state["step"]
    team_id = event["team_id"]
    payload = event["payload"]
    if step is None or step["kind"] != "buzz" or payload.get("step") != step["number"]:
        raise Conflict(_("There is nothing to buzz for."), code="not_armed")
    if payload.get("early"):
        if team_id not in step["early"]:
            step["early"].append(team_id)
        return
    if team_id in step["early"]:
        raise Conflict(
            _("Your team buzzed too early and is out of this question."), code="locked_out"
        )
    if any(buzz["team_id"] == team_id for buzz in step["buzzes"]):
        return
    step["buzzes"].append({"team_id": team_id, "rank": payload["rank"], "at_ms": event["at_ms"]})
    step["buzzes"].sort(key=lambda buzz: buzz["rank"])
    if step["phase"] == "armed":
        step["phase"] = "answering"
    if step["phase"] == "answering":
        step["team_id"] = _next_buzzer(step)


def _answer(state: State, event: Event) -> None:
    step = state["step"]
    team_id = event["team_id"]
    if step is None or step["phase"] not in ("open", "answering"):
        raise Conflict(_("No question is open for answers."), code="not_open")
    if step["kind"] == "buzz":
        if step["phase"] != "answering" or step["team_id"] != team_id:
            raise Conflict(_("Only the team that won the buzz answers now."), code="not_your_turn")
    elif team_id not in step["eligible"]:
        raise Conflict(_("This question is not your team's."), code="not_your_turn")
    if step["deadline_at_ms"] is not None and event["at_ms"] > step["deadline_at_ms"]:
        raise Conflict(_("Time is up for this question."), code="time_up")
    if str(team_id) in step["answers"] and step["kind"] != "buzz":
        raise Conflict(_("Your team has already answered."), code="answered")
    step["answers"][str(team_id)] = {
        "answer": event["payload"].get("answer"),
        "at_ms": event["at_ms"],
    }


def _judge(state: State, event: Event) -> None:
    step = state["step"]
    if step is None or step["phase"] not in ("open", "answering"):
        raise Conflict(_("There is no answer to judge."), code="nothing_to_judge")
    segment = _current_segment(state)
    question = state["questions"][str(step["question"])]
    if step["kind"] in SHARED_KINDS:
        _judge_shared(state, step, segment, question, event)
        return
    team_id = step["team_id"]
    if team_id is None:
        raise Conflict(_("No team is answering."), code="nothing_to_judge")
    correct = event["payload"].get("correct")
    if correct is None:
        given = step["answers"].get(str(team_id))
        if given is None:
            raise Conflict(_("The team has not answered on its device."), code="no_device_answer")
        correct = _is_correct(question, given["answer"])
    stake = step["tier"] if step["kind"] == "risk" else segment["points"]
    loss = step["tier"] if step["kind"] == "risk" else segment["deduction"]
    points = stake if correct else -loss
    _score(state, event, team_id, points, "judge")
    step["results"].append(
        {"team_id": team_id, "correct": bool(correct), "points": points, "seq": event["seq"]}
    )
    if step["kind"] == "buzz" and not correct and segment.get("pass_on_wrong"):
        step["tried"].append(team_id)
        following = _next_buzzer(step)
        if following is not None:
            step["team_id"] = following
            return
    step["phase"] = "judged"


def _judge_shared(
    state: State,
    step: dict[str, Any],
    segment: dict[str, Any],
    question: dict[str, Any],
    event: Event,
) -> None:
    """全员 and 加赛: every eligible team's device answer graded at once; the first correct
    answer by server time earns the segment's speed points too."""
    correct = [
        (given["at_ms"], int(team))
        for team, given in step["answers"].items()
        if _is_correct(question, given["answer"])
    ]
    fastest = min(correct)[1] if correct else None
    for team_id in step["eligible"]:
        right = any(team == team_id for _at, team in correct)
        points = segment["points"] if right else -segment["deduction"]
        if right and team_id == fastest:
            points += segment.get("speed_points") or 0
        if points:
            _score(state, event, team_id, points, "judge")
        step["results"].append(
            {"team_id": team_id, "correct": right, "points": points, "seq": event["seq"]}
        )
    step["phase"] = "judged"


def _reveal(state: State, event: Event) -> None:
    step = state["step"]
    if step is None or step["phase"] in ("choosing", "ready", "revealed"):
        raise Conflict(_("There is no question to reveal."), code="nothing_to_reveal")
    step["phase"] = "revealed"
    state["screen"] = "question"


def _standings(state: State, event: Event) -> None:
    _require_no_open_step(state)
    state["screen"] = "standings"


def _pause(state: State, event: Event) -> None:
    state["paused"] = True
    step = state["step"]
    if step and step["deadline_at_ms"] is not None:
        step["remaining_ms"] = max(0, step["deadline_at_ms"] - event["at_ms"])
        step["deadline_at_ms"] = None


def _resume(state: State, event: Event) -> None:
    if not state["paused"]:
        raise Conflict(_("The final is not paused."), code="not_paused")
    state["paused"] = False
    step = state["step"]
    if step and step["remaining_ms"] is not None:
        step["deadline_at_ms"] = event["at_ms"] + step["remaining_ms"]
        step["remaining_ms"] = None


def _adjust(state: State, event: Event) -> None:
    team_id = event["team_id"]
    points = event["payload"].get("points")
    reason = (event["payload"].get("reason") or "").strip()
    if str(team_id) not in state["scores"]:
        raise InvalidInput(_("No such team in this final."), code="no_team")
    if not isinstance(points, int) or isinstance(points, bool) or points == 0:
        raise InvalidInput(_("Give the points to add or take away."), code="bad_points")
    if not reason:
        raise InvalidInput(_("A change by hand needs a reason."), code="reason_required")
    _score(state, event, team_id, points, reason)


def _finish(state: State, event: Event) -> None:
    _require_no_open_step(state)
    state["status"] = "finished"
    state["screen"] = "standings"
    state["step"] = None


_HANDLERS = {
    "start": _start,
    "segment": _segment,
    "reorder": _reorder,
    "next": _next,
    "pick_tile": _pick_tile,
    "choose_tier": _choose_tier,
    "open": _open,
    "arm": _arm,
    "buzz": _buzz,
    "answer": _answer,
    "judge": _judge,
    "reveal": _reveal,
    "standings": _standings,
    "pause": _pause,
    "resume": _resume,
    "adjust": _adjust,
    "finish": _finish,
}
HOST_ACTIONS = tuple(kind for kind in (*_HANDLERS, "undo") if kind not in ("buzz", "answer"))


# Helpers ---------------------------------------------------------------------------------------


def _current_segment(state: State) -> dict[str, Any]:
    for segment in state["segments"]:
        if segment["id"] == state["segment_id"]:
            return segment
    raise Conflict(_("Choose a segment first."), code="no_segment")


def _step(state: State, phase: str, kind: str | None = None) -> dict[str, Any]:
    step = state["step"]
    if step is None or step["phase"] != phase or (kind is not None and step["kind"] != kind):
        raise Conflict(_("That is not the next step of this question."), code="wrong_step")
    return step


def _require_team(step: dict[str, Any], event: Event) -> None:
    if event["team_id"] is not None and event["team_id"] != step["team_id"]:
        raise Conflict(_("It is another team's turn."), code="not_your_turn")


def _require_no_open_step(state: State) -> None:
    step = state["step"]
    if step is not None and step["phase"] in ("open", "armed", "answering"):
        raise Conflict(
            _("Finish the open question first (judge or reveal it)."), code="question_open"
        )


def _free_tiles(state: State, segment: dict[str, Any]) -> list[int]:
    used = set(state["used"].get(str(segment["id"]), []))
    return [index + 1 for index in range(len(segment["questions"])) if index not in used]


def _next_question(state: State, segment: dict[str, Any]) -> int:
    used = state["used"].setdefault(str(segment["id"]), [])
    for index, version_id in enumerate(segment["questions"]):
        if index not in used:
            used.append(index)
            return int(version_id)
    raise Conflict(_("This segment has no question left."), code="no_questions")


def _next_buzzer(step: dict[str, Any]) -> int | None:
    for buzz in step["buzzes"]:
        if buzz["team_id"] not in step["tried"]:
            return int(buzz["team_id"])
    return None


def _score(state: State, event: Event, team_id: int, points: int, reason: str) -> None:
    state["scores"][str(team_id)] += points
    state["changes"].append(
        {"seq": event["seq"], "team_id": team_id, "points": points, "reason": reason}
    )


def _is_correct(question: dict[str, Any], answer: Any) -> bool:
    kind = QuestionType(question["type"])
    data = QuestionData(
        kind,
        question["stem"],
        answer_from_json(kind, question["answer"]),
        tuple(question["options"]),
    )
    try:
        return grade(data, answer, Fraction(1)).correct
    except (TypeError, ValueError):
        return False


def standings(state: State) -> list[dict[str, Any]]:
    """Teams by score, highest first; equal scores share a rank."""
    ordered = sorted(state["teams"], key=lambda team: -state["scores"][str(team["id"])])
    ranked: list[dict[str, Any]] = []
    for index, team in enumerate(ordered):
        score = state["scores"][str(team["id"])]
        rank = ranked[-1]["rank"] if ranked and ranked[-1]["score"] == score else index + 1
        ranked.append(
            {
                "rank": rank,
                "team_id": team["id"],
                "name": team["name"],
                "organization": team["organization"],
                "score": score,
            }
        )
    return ranked
