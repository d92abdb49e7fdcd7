"""What each screen of a live round is shown: the host, a team's device, the big screen.

One state (:mod:`contest.live_final.state`) holds everything, the answer keys included; these
functions cut it per audience. Only the host's view carries a question's key and explanation
before the reveal; a team sees its own device answer, and everyone sees which teams answered
and, once judged, whether they were right. Pure functions, JSON in and out.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from contest.live_final.state import standings

PUBLIC_TEAM_FIELDS = ("id", "name", "organization")


def iso(ms: int | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def host_view(state: dict[str, Any], connected: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything, the current question's key and explanation included, with the run sheet's
    questions left out but for the current one; ``connected``: the devices seen lately."""
    view = _common(state, revealed=True)
    view["audience"] = "host"
    view["teams"] = [{**_public_team(team), "members": team["members"]} for team in state["teams"]]
    view["changes"] = state["changes"]
    view["undone"] = state["undone"]
    view["connected"] = connected or {}
    if state["step"]:
        view["step"]["answers"] = {
            team: {"answer": given["answer"], "at": iso(given["at_ms"])}
            for team, given in state["step"]["answers"].items()
        }
    view["segments"] = [
        {**_public_segment(state, segment), "questions_left": _left(state, segment)}
        for segment in _ordered_segments(state)
    ]
    return view


def team_view(state: dict[str, Any], team_id: int) -> dict[str, Any]:
    """A team's device: the public view, its own answer and whether it may act now."""
    view = screen_view(state)
    view["audience"] = "team"
    view["team_id"] = team_id
    step = state["step"]
    own = step["answers"].get(str(team_id)) if step else None
    view["my_answer"] = own["answer"] if own else None
    view["my_turn"] = bool(
        step
        and (
            step["team_id"] == team_id
            or (step["kind"] in ("all", "tiebreak") and team_id in step["eligible"])
        )
    )
    view["locked_out"] = bool(step and team_id in step["early"])
    return view


def screen_view(state: dict[str, Any]) -> dict[str, Any]:
    """The big screen and the stream overlay: no key before the reveal."""
    view = _common(state, revealed=bool(state["step"] and state["step"]["phase"] == "revealed"))
    view["audience"] = "screen"
    view["teams"] = [_public_team(team) for team in state["teams"]]
    view["segments"] = [_public_segment(state, segment) for segment in _ordered_segments(state)]
    return view


def _common(state: dict[str, Any], *, revealed: bool) -> dict[str, Any]:
    step = state["step"]
    return {
        "round_id": state["round_id"],
        "title": state.get("title", ""),
        "version": state["version"],
        "status": state["status"],
        "screen": state["screen"],
        "paused": state["paused"],
        "devices": state.get("devices", "team"),
        "segment_id": state["segment_id"],
        "scores": state["scores"],
        "standings": standings(state),
        "step": _step(state, step, revealed) if step else None,
    }


def _step(state: dict[str, Any], step: dict[str, Any], revealed: bool) -> dict[str, Any]:
    question = state["questions"].get(str(step["question"])) if step["question"] else None
    shown = step["phase"] not in ("choosing", "ready") or revealed
    return {
        "number": step["number"],
        "segment_id": step["segment_id"],
        "kind": step["kind"],
        "phase": step["phase"],
        "team_id": step["team_id"],
        "eligible": step["eligible"],
        "tier": step["tier"],
        "tile": step["tile"],
        "opened_at": iso(step["opened_at_ms"]),
        "armed_at": iso(step["armed_at_ms"]),
        "deadline_at": iso(step["deadline_at_ms"]),
        "remaining_ms": step["remaining_ms"],
        "buzzes": [
            {"team_id": b["team_id"], "rank": b["rank"], "at": iso(b["at_ms"])}
            for b in step["buzzes"]
        ],
        "early": step["early"],
        "tried": step["tried"],
        "answered": sorted(int(team) for team in step["answers"]),
        "answers": (
            {team: {"answer": a["answer"]} for team, a in step["answers"].items()}
            if step["phase"] in ("judged", "revealed")
            else {}
        ),
        "results": step["results"],
        "question": _question(question, revealed) if question and shown else None,
    }


def _question(question: dict[str, Any], revealed: bool) -> dict[str, Any]:
    shown = {
        "id": question["id"],
        "type": question["type"],
        "stem_html": question["stem_html"],
        "options_html": question["options_html"],
        "area": question["area"],
    }
    if revealed:
        shown.update(
            answer=question["answer"],
            explanation_html=question["explanation_html"],
            citation=question["citation"],
        )
    return shown


def _public_team(team: dict[str, Any]) -> dict[str, Any]:
    return {field: team[field] for field in PUBLIC_TEAM_FIELDS}


def _ordered_segments(state: dict[str, Any]) -> list[dict[str, Any]]:
    by_id = {segment["id"]: segment for segment in state["segments"]}
    return [by_id[segment_id] for segment_id in state["order"]]


def _public_segment(state: dict[str, Any], segment: dict[str, Any]) -> dict[str, Any]:
    used = state["used"].get(str(segment["id"]), [])
    return {
        "id": segment["id"],
        "kind": segment["kind"],
        "title": segment["title"],
        "points": segment["points"],
        "deduction": segment["deduction"],
        "time_limit_s": segment["time_limit_s"],
        "tiers": segment["tiers"],
        "speed_points": segment["speed_points"],
        "pass_on_wrong": segment["pass_on_wrong"],
        "tiles": len(segment["questions"]) if segment["kind"] == "choice" else 0,
        "tiles_taken": sorted(index + 1 for index in used) if segment["kind"] == "choice" else [],
    }


def _left(state: dict[str, Any], segment: dict[str, Any]) -> int:
    return len(segment["questions"]) - len(state["used"].get(str(segment["id"]), []))
