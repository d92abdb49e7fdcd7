"""The live final through its API: a whole run sheet, the buzzers under a rush, what each
audience may see, and the state rebuilt from the event log. Real SQLite, a real Redis."""

from __future__ import annotations

import io
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from contest.extensions import db, redis_hub
from contest.live_final import compensation, service, store
from contest.live_final import state as reducer
from contest.models import ContestStatus, LiveEvent, Role, User
from contest.services import award_results, awards, lifecycle
from tests.conftest import add_user, api_login, csrf_token, make_app
from tests.support.boards import board, settle
from tests.support.live import SINGLE_KEY, WRONG, LiveFinal, live_final


def signed_in(app: Flask, username: str) -> tuple[FlaskClient, dict[str, str]]:
    client = app.test_client()
    assert api_login(client, username).status_code == 200
    return client, {"X-CSRFToken": csrf_token(client)}


class Stage:
    """The host and the teams' devices, each its own signed-in client."""

    def __init__(self, app: Flask, final: LiveFinal) -> None:
        self.final = final
        self.url = f"/api/v1/rounds/{final.round_id}/live"
        self.host = signed_in(app, final.organizer)
        self.devices = [signed_in(app, names[0]) for names in final.usernames]

    def act(self, action: str, expect: int = 200, **fields: Any) -> dict[str, Any]:
        client, headers = self.host
        response = client.post(
            f"{self.url}/actions", json={"action": action, **fields}, headers=headers
        )
        assert response.status_code == expect, response.get_json()
        return response.get_json()

    def team(self, number: int, op: str, expect: int = 200, **body: Any) -> dict[str, Any]:
        client, headers = self.devices[number - 1]
        step = self.view("screen")["step"]["number"]
        response = client.post(f"{self.url}/{op}", json={"step": step, **body}, headers=headers)
        assert response.status_code == expect, response.get_json()
        return response.get_json()

    def view(self, audience: str, number: int = 1) -> dict[str, Any]:
        client = self.host[0] if audience == "host" else self.devices[number - 1][0]
        response = client.get(f"{self.url}?view={audience}")
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def scores(self) -> list[int]:
        found = self.view("screen")["scores"]
        return [found[str(team)] for team in self.final.teams]


@pytest.fixture
def stage(app: Flask) -> Stage:
    with app.app_context():
        final = live_final(teams=3)
    return Stage(app, final)


def test_a_whole_run_sheet_scores_the_same_on_every_screen_and_in_the_log(
    app: Flask, stage: Stage
) -> None:
    required, choice, buzz, risk, everyone, _tiebreak = stage.final.segments
    stage.act("start")
    # 必答: each team in turn; a device answer graded, a wrong one, a spoken one judged.
    stage.act("segment", segment_id=required)
    for number, (answer, spoken) in enumerate(((SINGLE_KEY, None), (WRONG, None), (None, True)), 1):
        ready = stage.act("next")
        assert ready["step"]["team_id"] == stage.final.teams[number - 1]
        opened = stage.act("open")
        assert opened["step"]["deadline_at"] is not None
        screen = stage.view("screen")
        assert "answer" not in screen["step"]["question"]  # no key before the reveal
        if answer is not None:
            stage.team(number, "answer", answer=answer)
            if number != 1:  # another team's device may not answer
                stage.team(1, "answer", expect=409, answer=SINGLE_KEY)
        stage.act("judge", correct=spoken)
        revealed = stage.act("reveal")
        assert revealed["step"]["phase"] == "revealed"
        assert stage.view("screen")["step"]["question"]["answer"] == SINGLE_KEY
    assert stage.scores() == [10, 0, 10]
    # 选答: team 1 picks tile 2; the tile is taken on every screen.
    stage.act("segment", segment_id=choice)
    assert stage.act("next")["step"]["phase"] == "choosing"
    stage.team(1, "tile", tile=2)
    stage.team(2, "tile", expect=409, tile=3)  # not its turn
    stage.act("open")
    stage.team(1, "answer", answer=SINGLE_KEY)
    stage.act("judge", correct=None)
    stage.act("reveal")
    tiles = next(s for s in stage.view("screen")["segments"] if s["id"] == choice)
    assert tiles["tiles_taken"] == [2]
    assert stage.scores() == [20, 0, 10]
    # 抢答: team 2 buzzes before arming and is out; team 3 wins, answers wrong (−5), the
    # question passes to team 1, which answers right.
    stage.act("segment", segment_id=buzz)
    stage.act("next")
    stage.act("open")
    assert stage.team(2, "buzz")["outcome"] == "early"
    stage.act("arm")
    locked = stage.team(2, "buzz", expect=409)
    assert locked["error"]["code"] == "locked_out"
    first = stage.team(3, "buzz")
    assert (first["outcome"], first["rank"]) == ("buzzed", 0)
    second = stage.team(1, "buzz")
    assert (second["outcome"], second["rank"], second["first_team_id"]) == (
        "buzzed",
        1,
        stage.final.teams[2],
    )
    stage.team(1, "answer", expect=409, answer=SINGLE_KEY)  # team 3 answers first
    stage.team(3, "answer", answer=WRONG)
    passed = stage.act("judge", correct=None)
    assert passed["step"]["team_id"] == stage.final.teams[0]
    stage.team(1, "answer", answer=SINGLE_KEY)
    stage.act("judge", correct=None)
    stage.act("reveal")
    assert stage.scores() == [30, 0, 5]
    # 风险: team 1 stakes 20 and wins it.
    stage.act("segment", segment_id=risk)
    stage.act("next")
    stage.team(1, "tier", tier=20)
    stage.act("open")
    stage.team(1, "answer", answer=True)
    stage.act("judge", correct=None)
    stage.act("reveal")
    assert stage.scores() == [50, 0, 5]
    # 全员: team 2 right first (10 + 5 speed points), team 1 right, team 3 wrong.
    stage.act("segment", segment_id=everyone)
    stage.act("next")
    stage.act("open")
    stage.team(2, "answer", answer=SINGLE_KEY)
    stage.team(1, "answer", answer=SINGLE_KEY)
    stage.team(3, "answer", answer=WRONG)
    stage.team(3, "answer", expect=409, answer=SINGLE_KEY)  # one answer per team
    stage.act("judge")
    stage.act("reveal")
    assert stage.scores() == [60, 15, 5]
    # A change by hand, undone; then the standings.
    stage.act("adjust", team_id=stage.final.teams[2], points=3, reason="复核加分")
    assert stage.scores() == [60, 15, 8]
    stage.act("undo")
    assert stage.scores() == [60, 15, 5]
    stage.act("undo", expect=409)  # the last judgement's question was revealed: not undone
    shown = stage.act("standings")
    assert [row["team_id"] for row in shown["standings"]] == stage.final.teams
    stage.act("finish")
    # Every audience shows the same scores; the log alone gives them again.
    for audience in ("host", "team", "screen"):
        assert [stage.view(audience)["scores"][str(t)] for t in stage.final.teams] == [60, 15, 5]
    with app.app_context():
        store.forget(redis_hub.client, stage.final.round_id)
        rebuilt = service.current(stage.final.round_id)
        assert [rebuilt["scores"][str(t)] for t in stage.final.teams] == [60, 15, 5]
        assert rebuilt["status"] == "finished"
    # The timeline replays: the screen as it was after the first judgement, and at the end.
    first_judged = stage.view("host")["changes"][0]["seq"]
    then = stage.host[0].get(f"{stage.url}?view=screen&at={first_judged}").get_json()
    assert [then["scores"][str(t)] for t in stage.final.teams] == [10, 0, 0]
    assert then["replay"]["version"] == first_judged
    assert then["replay"]["last"] == stage.view("screen")["version"]
    assert "answer" not in then["step"]["question"]  # judged, not yet revealed then
    # The final counts on the boards like any round.
    settle(app)
    shown = board(app, f"/api/v1/rounds/{stage.final.round_id}/leaderboard")
    assert [(row["rank"], row["score"]) for row in shown["entries"]] == [(1, 60), (2, 15), (3, 5)]
    assert [row["organization"] for row in shown["entries"]] == ["第1区", "第2区", "第3区"]


def test_the_team_view_and_the_screen_never_carry_the_key_before_the_reveal(
    app: Flask, stage: Stage
) -> None:
    required = stage.final.segments[0]
    stage.act("start")
    stage.act("segment", segment_id=required)
    host = stage.act("next")
    assert host["step"]["question"]["answer"] == SINGLE_KEY  # the host reads it beforehand
    assert stage.view("screen")["step"]["question"] is None  # not shown until opened
    stage.act("open")
    for audience in ("screen", "team"):
        body = stage.view(audience)
        assert "answer" not in body["step"]["question"]
        assert "explanation_html" not in body["step"]["question"]
        assert "questions" not in body
        assert "members" not in str(body)


def test_a_hundred_simultaneous_buzzes_have_exactly_one_winner(app: Flask) -> None:
    with app.app_context():
        final = live_final(
            teams=100,
            run_sheet=[{"kind": "buzz", "points": 10, "pool": {"type": "single", "count": 1}}],
        )
    host, host_headers = signed_in(app, final.organizer)
    url = f"/api/v1/rounds/{final.round_id}/live"
    devices = [signed_in(app, names[0]) for names in final.usernames]
    for body in (
        {"action": "start"},
        {"action": "segment", "segment_id": final.segments[0]},
        {"action": "next"},
        {"action": "open"},
    ):
        response = host.post(f"{url}/actions", json=body, headers=host_headers)
        assert response.status_code == 200, response.get_json()
    step = host.get(f"{url}?view=host").get_json()["step"]["number"]
    early_client, early_headers = devices[-1]
    early = early_client.post(f"{url}/buzz", json={"step": step}, headers=early_headers)
    assert early.get_json()["outcome"] == "early"
    assert (
        host.post(f"{url}/actions", json={"action": "arm"}, headers=host_headers).status_code == 200
    )

    results: list[tuple[int, int, dict[str, Any]]] = []
    barrier = threading.Barrier(len(devices))

    def press(number: int) -> None:
        client, headers = devices[number]
        barrier.wait()
        response = client.post(f"{url}/buzz", json={"step": step}, headers=headers)
        results.append((number, response.status_code, response.get_json()))

    threads = [threading.Thread(target=press, args=(n,)) for n in range(len(devices))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    accepted = [r for r in results if r[1] == 200]
    assert len(accepted) == 99
    assert [r[2]["error"]["code"] for r in results if r[1] != 200] == ["locked_out"]
    winners = [r for r in accepted if r[2]["rank"] == 0]
    assert len(winners) == 1
    assert sorted(r[2]["rank"] for r in accepted) == list(range(99))
    winner_team = final.teams[winners[0][0]]
    state = host.get(f"{url}?view=host").get_json()
    assert state["step"]["team_id"] == winner_team
    buzzes = state["step"]["buzzes"]
    assert [b["rank"] for b in buzzes] == list(range(99))
    assert buzzes[0]["team_id"] == winner_team
    assert buzzes[0]["at"] == min(b["at"] for b in buzzes)  # the earliest by the server's clock
    assert final.teams[-1] in state["step"]["early"]
    with app.app_context():
        recorded = db.session.scalar(
            select(func.count()).where(
                LiveEvent.round_id == final.round_id, LiveEvent.kind == "buzz"
            )
        )
        assert recorded == 100  # 99 buzzes and the early one, each once


def test_the_state_resumes_from_the_log_after_redis_lost_everything(
    app: Flask, stage: Stage
) -> None:
    stage.act("start")
    stage.act("segment", segment_id=stage.final.segments[2])
    stage.act("next")
    stage.act("open")
    stage.act("arm")
    stage.team(2, "buzz")
    before = stage.view("host")
    with app.app_context():
        redis_hub.client.flushdb()
    after = stage.view("host")
    assert after["step"] == before["step"]
    assert after["version"] == before["version"]
    # The buzzers come back with it: team 2 is still first, team 1 queues behind it.
    second = stage.team(1, "buzz")
    assert (second["rank"], second["first_team_id"]) == (1, stage.final.teams[1])


def test_pause_stops_the_countdown_and_resume_gives_back_what_was_left() -> None:
    setup = {
        "round_id": 1,
        "teams": [{"id": 1, "name": "一队", "organization": None, "members": []}],
        "segments": [
            {
                "id": 5,
                "kind": "required",
                "title": "必答",
                "points": 10,
                "deduction": 0,
                "time_limit_s": 30,
                "questions": [9],
                "tiers": [],
                "pass_on_wrong": False,
                "speed_points": 0,
            }
        ],
        "questions": {"9": {"type": "true_false", "stem": "?", "options": [], "answer": True}},
    }
    events = [
        ("start", {}, 0),
        ("segment", {"segment_id": 5}, 0),
        ("next", {}, 0),
        ("open", {}, 1_000),
        ("pause", {}, 11_000),
        ("resume", {}, 100_000),
    ]
    state = reducer.initial(setup)
    for seq, (kind, payload, at_ms) in enumerate(events, start=1):
        state = reducer.apply(
            state, {"seq": seq, "kind": kind, "team_id": None, "payload": payload, "at_ms": at_ms}
        )
        if kind == "pause":
            assert state["step"]["remaining_ms"] == 20_000
            assert state["step"]["deadline_at_ms"] is None
    assert state["step"]["deadline_at_ms"] == 120_000
    late = {"seq": 9, "kind": "answer", "team_id": 1, "payload": {"answer": True}, "at_ms": 120_001}
    with pytest.raises(Exception, match="Time is up"):
        reducer.apply(state, late)


def test_who_may_do_what(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        final = live_final(teams=2)
        add_user("outsider", Role.CONTESTANT)
        draft = live_final(
            teams=1, contest_status=ContestStatus.DRAFT, prefix="d", bank_id=final.extra["bank"]
        )
    url = f"/api/v1/rounds/{final.round_id}/live"
    # Anonymous: the screen only.
    assert client.get(f"{url}?view=screen").status_code == 200
    assert client.get(f"{url}?view=host").status_code == 401
    assert client.get(f"{url}?view=team").status_code == 401
    token = csrf_token(client)
    assert (
        client.post(
            f"{url}/actions", json={"action": "start"}, headers={"X-CSRFToken": token}
        ).status_code
        == 401
    )
    # A contestant outside the teams: no host view, no team, no buzz.
    outsider, headers = signed_in(app, "outsider")
    assert outsider.get(f"{url}?view=host").status_code == 404
    assert outsider.get(f"{url}?view=team").status_code == 404
    assert outsider.post(f"{url}/buzz", json={"step": 1}, headers=headers).status_code == 404
    for op, body in (
        ("answer", {"step": 1, "answer": 1}),
        ("tier", {"step": 1, "tier": 10}),
        ("tile", {"step": 1, "tile": 1}),
        ("pong", {"nonce": "abc"}),
    ):
        assert outsider.post(f"{url}/{op}", json=body, headers=headers).status_code == 404, op
        assert (
            client.post(f"{url}/{op}", json=body, headers={"X-CSRFToken": token}).status_code == 401
        )
    assert outsider.get(f"{url}/stream?view=team").status_code == 404
    assert outsider.get(f"{url}/stream?view=host").status_code == 404
    assert client.get(f"{url}/stream?view=host").status_code == 401
    assert outsider.get(f"{url}/timeline").status_code == 403
    assert (
        outsider.post(f"{url}/actions", json={"action": "start"}, headers=headers).status_code
        == 403
    )
    # A team member acts for its own team only; the team comes from the login.
    member, member_headers = signed_in(app, final.usernames[0][0])
    assert member.get(f"{url}?view=team").get_json()["team_id"] == final.teams[0]
    assert (
        member.post(f"{url}/actions", json={"action": "start"}, headers=member_headers).status_code
        == 403
    )
    # A draft's live round exists for nobody but organizers.
    draft_url = f"/api/v1/rounds/{draft.round_id}/live"
    assert client.get(f"{draft_url}?view=screen").status_code == 404
    host, _headers = signed_in(app, final.organizer)
    assert host.get(f"{draft_url}?view=host").status_code == 200
    # Without the CSRF token nothing changes.
    assert host.post(f"{url}/actions", json={"action": "start"}).status_code in (400, 403)
    # createLiveRound is for organizers.
    body = {"title": "决赛", "bank_id": 1, "segments": [{"kind": "all"}], "individual": True}
    refused = member.post(
        f"/api/v1/contests/{final.contest_id}/live-rounds", json=body, headers=member_headers
    )
    assert refused.status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LiveEvent)) == 0


def test_a_copied_contest_keeps_its_final_s_teams_and_run_sheet(app: Flask) -> None:
    with app.app_context():
        final = live_final(teams=2)
        copied = lifecycle.copy_contest(final.contest_id, now=datetime.now(UTC))
        db.session.commit()
        [round_] = copied.rounds
        setup = service.setup_for(round_.id)
        original = service.setup_for(final.round_id)
    assert round_.mode == "live"
    for key in ("segments", "teams"):
        strip = [{k: v for k, v in item.items() if k != "id"} for item in setup[key]]
        assert strip == [{k: v for k, v in item.items() if k != "id"} for item in original[key]]


def test_a_rebuild_that_read_the_log_earlier_never_puts_an_older_state_back(
    app: Flask, stage: Stage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stream that found no live copy rebuilds it from the log; when an action stored a newer
    state meanwhile, the rebuild must leave it (and the armed buzzers) alone."""
    stage.act("start")
    stage.act("segment", segment_id=stage.final.segments[2])
    stage.act("next")
    stage.act("open")
    armed = stage.act("arm")
    with app.app_context():
        events = service.events_for(stage.final.round_id)
        monkeypatch.setattr(service, "events_for", lambda round_id, after=0: events[:-2])
        stale = service.rebuild(stage.final.round_id)
        assert stale["version"] < armed["version"]
    monkeypatch.undo()
    assert stage.view("host")["version"] == armed["version"]
    first = stage.team(1, "buzz")
    assert (first["outcome"], first["rank"]) == ("buzzed", 0)


def test_delay_compensation_orders_buzzes_by_the_server_measured_round_trip(app: Flask) -> None:
    """Team 1's phone is slow (a 300 ms round trip, measured by the server between the ping it
    sent and the answer), team 2's is fast. Team 2's buzz arrives first, team 1's just after:
    with compensation (capped at 150 ms) team 1 comes first, and both are told the same order.
    A phone cannot answer another's ping, nor claim a smaller round trip than it showed."""
    with app.app_context():
        final = live_final(
            teams=2,
            compensation_ms=150,
            run_sheet=[{"kind": "buzz", "points": 10, "pool": {"type": "single", "count": 1}}],
        )
    stage = Stage(app, final)
    client = redis_hub.client_for_app(app)
    users = {}
    with app.app_context():
        for number, names in enumerate(final.usernames, start=1):
            users[number] = db.session.scalars(
                select(User.id).where(User.username == names[0])
            ).one()
    # The server measures each phone: a ping, then its answer (team 1's comes 300 ms later).
    pongs = {}
    for number, delay in ((1, 0.3), (2, 0.0)):
        nonce = compensation.ping(client, final.round_id, users[number])
        if delay:
            time.sleep(delay)  # the slow phone's network, not a wait for a condition
        phone, headers = stage.devices[number - 1]
        pongs[number] = phone.post(f"{stage.url}/pong", json={"nonce": nonce}, headers=headers)
        assert pongs[number].status_code == 204
    # Another phone's nonce, or one answered already, is refused.
    stolen = compensation.ping(client, final.round_id, users[1])
    phone2, headers2 = stage.devices[1]
    assert (
        phone2.post(f"{stage.url}/pong", json={"nonce": stolen}, headers=headers2).status_code
        == 404
    )
    trips = compensation.round_trips(client, final.round_id)
    assert trips[users[1]] >= 300 and trips[users[2]] < 100
    stage.act("start")
    stage.act("segment", segment_id=final.segments[0])
    step = stage.act("next")["step"]["number"]
    stage.act("open")
    stage.act("arm")
    answers: dict[int, dict[str, Any]] = {}

    def press(number: int) -> None:
        phone, headers = stage.devices[number - 1]
        answers[number] = phone.post(
            f"{stage.url}/buzz", json={"step": step}, headers=headers
        ).get_json()

    fast = threading.Thread(target=press, args=(2,))
    fast.start()
    pending = f"live:{final.round_id}:pending:{step}"
    deadline = time.monotonic() + 5
    while client.zcard(pending) < 1:  # team 2's buzz is in: now team 1's
        assert time.monotonic() < deadline
        time.sleep(0.001)
    press(1)
    fast.join()
    assert (answers[1]["rank"], answers[2]["rank"]) == (0, 1)
    assert answers[1]["first_team_id"] == answers[2]["first_team_id"] == final.teams[0]
    shown = stage.view("screen")["step"]["buzzes"]
    assert [b["team_id"] for b in shown] == final.teams[:2]


def finished_final(stage: Stage) -> None:
    """One 必答 question each: team 1 right (10), team 2 wrong, team 3 right by voice; finish."""
    stage.act("start")
    stage.act("segment", segment_id=stage.final.segments[0])
    for correct in (True, False, True):  # teams 1, 2, 3 in turn
        stage.act("next")
        stage.act("open")
        stage.act("judge", correct=correct)
        stage.act("reveal")
    stage.act("adjust", team_id=stage.final.teams[2], points=-3, reason="违规")
    stage.act("finish")


def test_the_timeline_exports_every_event_with_the_scores_after_it(
    app: Flask, stage: Stage
) -> None:
    finished_final(stage)
    response = stage.host[0].get(f"{stage.url}/timeline")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    with app.app_context():
        events = service.events_for(stage.final.round_id)
    assert len(rows) == len(events) + 1  # a header, then one row per event
    assert [row[2] for row in rows[1:]] == [event["kind"] for event in events]
    assert rows[-1][-3:] == (10, 0, 7)  # the scores after the last event, per team
    adjusted = next(row for row in rows if row[2] == "adjust")
    assert "reason=违规" in adjusted[4]
    # Only organizers get it.
    phone = stage.devices[0][0]
    assert phone.get(f"{stage.url}/timeline").status_code == 403


def test_the_final_counts_for_the_contest_s_awards(app: Flask, stage: Stage) -> None:
    finished_final(stage)
    with app.app_context():
        awards.set_rules(
            stage.final.contest_id,
            [{"key": "first", "label": "一等奖", "mode": "count", "value": "1"}],
            None,
        )
        awards.lock(stage.final.contest_id)
        db.session.commit()
        winners = award_results.awardees(stage.final.contest_id)
        team_1 = db.session.scalar(
            select(User.id).where(User.username == stage.final.usernames[0][0])
        )
    assert [(a.user_id, a.tier_label) for a in winners] == [(team_1, "一等奖")]


def test_another_web_process_resumes_exactly_where_the_round_is(
    app: Flask, stage: Stage, tmp_path: Path, redis_url: str
) -> None:
    """A web process started anew (a new app on the same database and Redis) shows the same
    state, and so does one that finds Redis emptied."""
    stage.act("start")
    stage.act("segment", segment_id=stage.final.segments[2])
    stage.act("next")
    stage.act("open")
    stage.act("arm")
    stage.team(3, "buzz")
    before = stage.view("screen")
    fresh = make_app(tmp_path, redis_url)
    try:
        body = fresh.test_client().get(f"{stage.url}?view=screen").get_json()
        for key in ("version", "step", "scores", "standings"):
            assert body[key] == before[key]
        with fresh.app_context():
            redis_hub.client.flushdb()
        body = fresh.test_client().get(f"{stage.url}?view=screen").get_json()
        for key in ("version", "step", "scores", "standings"):
            assert body[key] == before[key]
    finally:
        with fresh.app_context():
            redis_hub.close(fresh)
            db.engine.dispose()


@pytest.mark.parametrize(
    "change",
    [
        {"bank_id": 2**40},
        {"bank_id": 0},
        {"teams": [{"name": "一队", "organization_id": 2**40, "members": [{"user_id": 1}]}]},
        {"teams": [{"name": "一队", "members": [{"user_id": 2**40}]}]},
        {"segments": [{"kind": "buzz", "questions": [2**40]}]},
    ],
)
def test_ids_out_of_range_are_refused_as_invalid_not_failed(
    app: Flask, change: dict[str, Any]
) -> None:
    """PostgreSQL refuses a query with an integer beyond its column: such ids are answered 422
    before any query (the fuzzer found a bank id of 15 digits)."""
    with app.app_context():
        final = live_final(teams=1)
    host, headers = signed_in(app, final.organizer)
    body: dict[str, Any] = {
        "title": "决赛",
        "bank_id": final.extra["bank"],
        "segments": [{"kind": "all", "pool": {"type": "single", "count": 1}}],
        "individual": True,
        **change,
    }
    if "teams" in change:
        body["individual"] = False
    response = host.post(
        f"/api/v1/contests/{final.contest_id}/live-rounds", json=body, headers=headers
    )
    assert response.status_code == 422, response.get_json()
