"""Running a live round: every action becomes an event in the log, then the live copy follows.

An action (the host's, a team device's or a buzz) is checked against the current state by the
reducer (:func:`contest.live_final.state.apply`) inside a transaction that holds the round's row
(PostgreSQL: ``FOR UPDATE``; SQLite: every writing transaction takes the write lock), so actions
on one round take turns and each sees the state the last one left. The event is inserted, the
transaction commits, and the new state is written to Redis and announced
(:func:`contest.live_final.store.store`). The database is the truth: when the live copy is
missing or behind the log, it is derived again from the log (:func:`rebuild`), so a restarted
web process or Redis resumes exactly where the round is.

A buzz is decided in Redis first (:func:`contest.live_final.store.buzz`: one order for every
buzz, whoever sends it and however many at once), then recorded as an event like any action.
"""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime
from typing import Any

import redis
from flask_babel import gettext as _
from sqlalchemy import func, select

from contest.errors import Conflict, Forbidden, NotFound
from contest.extensions import db, redis_hub
from contest.live_final import compensation, results, setup, store
from contest.live_final import state as reducer
from contest.models import (
    LiveEvent,
    LiveSegment,
    LiveTeam,
    LiveTeamMember,
    Organization,
    Round,
    User,
)
from question_bank.models import Question, QuestionVersion
from question_bank.numerals import int_to_chinese


def now_ms() -> int:
    return int(time.time() * 1000)


def live_round(round_id: int) -> Round:
    """The live round, or 404."""
    round_ = db.session.get(Round, round_id)
    if round_ is None or round_.mode != "live":
        raise NotFound(_("No such live round."))
    return round_


# The setup and the log ---------------------------------------------------------------------------


def setup_for(round_id: int) -> dict[str, Any]:
    """What the reducer needs that does not change on the day: teams, segments, questions."""
    round_ = live_round(round_id)
    teams = db.session.scalars(
        select(LiveTeam).where(LiveTeam.round_id == round_id).order_by(LiveTeam.position)
    ).all()
    units = dict(db.session.execute(select(Organization.id, Organization.name)).all())
    names = setup.member_names(round_id, User.display_name)
    segments = db.session.scalars(
        select(LiveSegment).where(LiveSegment.round_id == round_id).order_by(LiveSegment.position)
    ).all()
    wanted = {version for segment in segments for version in segment.questions}
    return {
        "round_id": round_id,
        "title": round_.title,
        "devices": (round_.live or {}).get("devices", "team"),
        "compensation_ms": int((round_.live or {}).get("compensation_ms") or 0),
        "teams": [
            {
                "id": team.id,
                "name": team.name,
                "organization": units.get(team.organization_id) if team.organization_id else None,
                "members": [
                    {"user_id": m.user_id, "name": names.get(m.user_id, ""), "captain": m.captain}
                    for m in team.members
                ],
            }
            for team in teams
        ],
        "segments": [
            {
                "id": segment.id,
                "kind": segment.kind.value,
                "title": segment.title,
                "points": segment.points,
                "deduction": segment.deduction,
                "time_limit_s": segment.time_limit_s,
                "questions": list(segment.questions),
                "tiers": list(segment.options.get("tiers") or []),
                "pass_on_wrong": bool(segment.options.get("pass_on_wrong")),
                "speed_points": int(segment.options.get("speed_points") or 0),
            }
            for segment in segments
        ],
        "questions": questions(wanted),
    }


def questions(version_ids: set[int]) -> dict[str, dict[str, Any]]:
    """The questions of a final as the screens show them (stems and options as the bank holds
    them), with the key and explanation that only the host sees before the reveal."""
    from question_bank import markdown

    rows = db.session.execute(
        select(QuestionVersion, Question)
        .join(Question, Question.id == QuestionVersion.question_id)
        .where(QuestionVersion.id.in_(version_ids))
    ).all()
    found: dict[str, dict[str, Any]] = {}
    for version, question in rows:
        citation = None
        if version.citation_law and version.citation_article:
            citation = f"《{version.citation_law}》第{int_to_chinese(version.citation_article)}条"
        found[str(version.id)] = {
            "id": version.id,
            "type": version.type.value,
            "stem_html": markdown.render(version.stem),
            "stem": version.stem,
            "options_html": [markdown.render_inline(option) for option in version.options],
            "options": list(version.options),
            "answer": version.answer,
            "explanation_html": markdown.render(version.explanation or ""),
            "area": (question.category.path.split("/")[0] if question.category else ""),
            "citation": citation,
        }
    return found


def events_for(round_id: int, after: int = 0) -> list[dict[str, Any]]:
    """The round's events after ``after``, in order, as the reducer reads them."""
    rows = db.session.scalars(
        select(LiveEvent)
        .where(LiveEvent.round_id == round_id, LiveEvent.seq > after)
        .order_by(LiveEvent.seq)
    ).all()
    return [event_dict(row) for row in rows]


def event_dict(row: LiveEvent) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "kind": row.kind,
        "team_id": row.team_id,
        "payload": row.payload,
        "at_ms": int(row.at.timestamp() * 1000),
    }


def rebuild(round_id: int, client: redis.Redis | None = None) -> dict[str, Any]:
    """The state derived from the log, written to Redis as the live copy."""
    state = reducer.replay(setup_for(round_id), events_for(round_id))
    client = client or redis_hub.client
    # Forward only: a rebuild that read the log a moment ago must not replace what an action
    # stored since (it would put an older state and closed buzzers back).
    with contextlib.suppress(redis.RedisError):  # the log stays the truth; next time tries again
        store.store(client, round_id, state)
    return state


def round_status(round_id: int) -> str:
    """A live round as the contest listings name rounds: scheduled until the host starts it,
    open while it runs, closed once finished (two small queries on the log)."""
    started = db.session.scalar(select(LiveEvent.id).where(LiveEvent.round_id == round_id).limit(1))
    if started is None:
        return "scheduled"
    finished = db.session.scalar(
        select(LiveEvent.id)
        .where(LiveEvent.round_id == round_id, LiveEvent.kind == "finish")
        .limit(1)
    )
    return "open" if finished is None else "closed"


def state_after(round_id: int, version: int) -> dict[str, Any]:
    """The state as it was after event ``version`` (a replay of the timeline)."""
    events = [event for event in events_for(round_id) if event["seq"] <= version]
    return reducer.replay(setup_for(round_id), events)


def current(round_id: int) -> dict[str, Any]:
    """The round's state: the live copy, or the log's when Redis has none."""
    try:
        found = store.read(redis_hub.client, round_id)
    except redis.RedisError:
        found = None
    if found is not None:
        return found
    live_round(round_id)
    return rebuild(round_id)


# Actions -----------------------------------------------------------------------------------------


def act(
    round_id: int,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    team_id: int | None = None,
    actor_id: int | None = None,
) -> dict[str, Any]:
    """Apply one action to the round and record it; committed. The new state is returned (and
    is the live copy). Conflict when the state does not allow it now."""
    payload = dict(payload or {})
    _hold(round_id)
    last = _last_seq(round_id)
    state = _state_at(round_id, last)
    at_ms = now_ms()
    event = {"seq": last + 1, "kind": kind, "team_id": team_id, "payload": payload, "at_ms": at_ms}
    if kind == "undo":
        target = reducer.undoable(state, events_for(round_id))
        if target is None:
            raise Conflict(
                _("There is no judgement or score change to undo."), code="nothing_to_undo"
            )
        event["payload"] = {"seq": target}
        new_state = None
    else:
        new_state = reducer.apply(state, event)
    at = datetime.fromtimestamp(at_ms / 1000, UTC)
    if kind == "finish":
        assert new_state is not None
        first = db.session.scalar(
            select(func.min(LiveEvent.at)).where(LiveEvent.round_id == round_id)
        )
        results.record(round_id, new_state, started=first or at, at=at)
    db.session.add(
        LiveEvent(
            round_id=round_id,
            seq=event["seq"],
            kind=kind,
            team_id=team_id,
            payload=event["payload"],
            actor_id=actor_id,
            at=at,
        )
    )
    db.session.commit()
    if new_state is None:
        return rebuild(round_id)
    _publish(round_id, new_state)
    return new_state


def _publish(round_id: int, state: dict[str, Any]) -> None:
    """Write the new state to the live copy and announce it; without Redis the log has it and
    the next read or action derives it again."""
    with contextlib.suppress(redis.RedisError):
        store.store(redis_hub.client, round_id, state)


def _hold(round_id: int) -> None:
    """Take the round's row for this transaction, so actions on one round take turns."""
    db.session.execute(select(Round.id).where(Round.id == round_id).with_for_update())


def _last_seq(round_id: int) -> int:
    """The seq of the round's last event (0: none yet)."""
    found = db.session.scalar(select(func.max(LiveEvent.seq)).where(LiveEvent.round_id == round_id))
    return int(found or 0)


def _state_at(round_id: int, version: int) -> dict[str, Any]:
    """The state after event ``version``: the live copy when it is exactly there, else the log's."""
    try:
        found = store.read(redis_hub.client, round_id)
    except redis.RedisError:
        found = None
    if found is not None and found["version"] == version:
        return found
    live_round(round_id)
    return reducer.replay(setup_for(round_id), events_for(round_id))


def buzz(round_id: int, team_id: int, step: int, user_id: int) -> dict[str, Any]:
    """A team's buzz for step ``step`` from ``user_id``'s phone: decided in Redis, recorded in
    the log. Returns ``{"outcome", "rank", "first_team_id", "state"}``; Conflict when no 抢答
    question is open, or the team buzzed early and is locked out. With compensation on
    (:mod:`contest.live_final.compensation`), the first buzzes wait out the window, then all
    learn one order."""
    client = redis_hub.client
    state = current(round_id)
    live_step = state.get("step")
    if not live_step or live_step["number"] != step or live_step["kind"] != "buzz":
        raise Conflict(_("There is nothing to buzz for."), code="not_armed")
    cap = int(state.get("compensation_ms") or 0)
    try:
        if not client.exists(f"live:{round_id}:arm"):
            store.sync_buzzers(client, round_id, state)  # Redis lost them: put them back
        outcome, rank, at_ms = "decided", -1, 0
        if cap:
            outcome, at_ms, window_end, _credit = compensation.buzz(
                client, round_id, step, team_id, user_id, cap
            )
            if outcome in ("pending", "again"):
                return _after_window(round_id, step, team_id, at_ms, window_end)
        if outcome == "decided":  # no compensation, or its window is over: by arrival
            outcome, rank, at_ms = store.buzz(client, round_id, step, team_id)
    except redis.RedisError:
        raise Conflict(
            _("The buzzers are not reachable: try again."), code="buzzers_down"
        ) from None
    _refuse(outcome)
    if outcome in ("buzzed", "early"):
        payload = {"step": step, "rank": rank, "early": outcome == "early"}
        state = _record_buzzes(round_id, [(team_id, payload, at_ms)])
    return _answer(outcome, rank, state)


def _refuse(outcome: str) -> None:
    if outcome == "closed":
        raise Conflict(_("There is nothing to buzz for."), code="not_armed")
    if outcome == "locked":
        raise Conflict(
            _("Your team buzzed too early and is out of this question."), code="locked_out"
        )


def _answer(outcome: str, rank: int, state: dict[str, Any]) -> dict[str, Any]:
    first = next(iter(state["step"]["buzzes"]), None) if state.get("step") else None
    return {
        "outcome": outcome,
        "rank": rank,
        "first_team_id": first["team_id"] if first else None,
        "state": state,
    }


def _after_window(
    round_id: int, step: int, team_id: int, at_ms: int, window_end: int
) -> dict[str, Any]:
    """Wait for the window of compensated buzzes to close, then fix its order (whoever gets
    there first records every buzz of it, in one transaction); this buzz's place in it."""
    db.session.rollback()  # nothing written yet: hold no database lock while others buzz
    time.sleep(max(0.0, (window_end - at_ms) / 1000) + 0.002)
    client = redis_hub.client
    mine, order = compensation.decide(client, round_id, step)
    if mine:
        state = _record_buzzes(
            round_id,
            [
                (team, {"step": step, "rank": rank, "early": False}, ms)
                for rank, (team, ms) in enumerate(order)
            ],
        )
    else:
        state = current(round_id)
    rank = next(index for index, (team, _ms) in enumerate(order) if team == team_id)
    result = _answer("buzzed", rank, state)
    result["first_team_id"] = order[0][0]
    return result


def _record_buzzes(round_id: int, buzzes: list[tuple[int, dict[str, Any], int]]) -> dict[str, Any]:
    """Append buzzes Redis decided, (team, payload, time in ms on Redis's clock) each, in one
    transaction; a buzz the state no longer takes (the host moved on meanwhile) is left out."""
    _hold(round_id)
    last = _last_seq(round_id)
    state = _state_at(round_id, last)
    new_state = state
    for team_id, payload, at_ms in buzzes:
        event = {
            "seq": last + 1,
            "kind": "buzz",
            "team_id": team_id,
            "payload": payload,
            "at_ms": at_ms,
        }
        try:
            new_state = reducer.apply(new_state, event)
        except Conflict:
            continue
        last += 1
        db.session.add(
            LiveEvent(
                round_id=round_id,
                seq=event["seq"],
                kind="buzz",
                team_id=team_id,
                payload=payload,
                at=datetime.fromtimestamp(at_ms / 1000, UTC),
            )
        )
    if new_state is state:
        db.session.rollback()
        return state
    db.session.commit()
    _publish(round_id, new_state)
    return new_state


# Who may act for a team ------------------------------------------------------------------------


def team_of(round_id: int, user_id: int) -> int | None:
    """The team the user plays for in this round, if any."""
    return db.session.scalar(
        select(LiveTeamMember.team_id)
        .join(LiveTeam, LiveTeam.id == LiveTeamMember.team_id)
        .where(LiveTeam.round_id == round_id, LiveTeamMember.user_id == user_id)
    )


def may_answer(state: dict[str, Any], team_id: int, user_id: int) -> None:
    """With every member's phone connected only the captain answers, picks and chooses for the
    team; with one device per team, any member's login does."""
    if state.get("devices") != "members":
        return
    for team in state["teams"]:
        if team["id"] == team_id and not any(
            m["user_id"] == user_id and m["captain"] for m in team["members"]
        ):
            raise Forbidden(_("Only your team's captain answers for the team."), code="not_captain")
