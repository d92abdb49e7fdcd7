"""A round may keep the score until its close, so that unlimited attempts cannot be used to learn,
one changed answer at a time, which answers are right; the practice round shows it at once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from contest.demo import PRACTICE_CONTEST, load_demo_bank
from contest.errors import InvalidInput
from contest.extensions import db, redis_hub
from contest.models import BoardVisibility, Contest
from contest.services import contests as contest_service
from contest.services import leaderboards
from tests.conftest import csrf_token
from tests.support.contests import BLUEPRINT, NOW, paper_round, published_bank, round_form
from tests.support.players import Contestant, answer_for
from workers import queues
from workers.runner import make_worker

SCORED_TEXT = "20 / 20 分"  # an attempt's score as the lobby and the result page write it


def play_once(app: Flask, me: Contestant, round_id: int) -> int:
    """Start, answer everything right, submit and let the worker score; the attempt id."""
    attempt_id = me.start(round_id)
    attempt = me.api("GET", f"/api/v1/attempts/{attempt_id}").get_json()
    for n, item in enumerate(attempt["items"], start=1):
        url = f"/api/v1/attempts/{attempt_id}/items/{item['position']}"
        assert me.api("PUT", url, {"answer": answer_for(item), "seq": n}).status_code == 200
    assert me.api("POST", f"/api/v1/attempts/{attempt_id}/submission").status_code == 200
    make_worker(app, [queues.SCORING]).work(burst=True)
    return attempt_id


def test_the_score_waits_for_the_close_when_the_round_says_so(app: Flask) -> None:
    with app.app_context():
        round_id = paper_round(
            published_bank(),
            attempts_allowed=0,
            review_policy="after_close",
            score_visibility="after_close",
            freeze_at=NOW - timedelta(hours=1),  # the public board is frozen from the opening
        ).id
    me = Contestant(app, "oracle")
    attempt_id = play_once(app, me, round_id)
    result = me.api("GET", f"/api/v1/attempts/{attempt_id}/result").get_json()
    assert result["status"] == "scored" and result["score"] is None and result["items"] == []
    page = me.page(f"/attempts/{attempt_id}/result").get_data(as_text=True)
    assert 'data-testid="score-later"' in page and SCORED_TEXT not in page
    assert 'data-pending="false"' in page  # nothing to wait for on this page
    lobby = me.page(f"/rounds/{round_id}").get_data(as_text=True)
    assert SCORED_TEXT not in lobby
    with app.app_context():  # nor does the public board tell it
        contest_id = contest_service.get_round(round_id).contest_id
        leaderboards.render_contest(redis_hub.client, contest_id)
    board = me.client.get(f"/api/v1/rounds/{round_id}/leaderboard").get_json()
    assert board["frozen"] is True and board["entries"] == []
    with app.app_context():  # the close and its grace are over
        round_ = contest_service.get_round(round_id)
        round_.closes_at = datetime.now(UTC) - timedelta(seconds=round_.grace_s + 1)
        db.session.commit()
    shown = me.api("GET", f"/api/v1/attempts/{attempt_id}/result").get_json()
    assert shown["score"] == 20 and shown["review"] is True
    page = me.page(f"/attempts/{attempt_id}/result").get_data(as_text=True)
    assert 'data-testid="score-later"' not in page
    assert SCORED_TEXT in me.page(f"/rounds/{round_id}").get_data(as_text=True)


def test_the_score_is_shown_after_submit_by_default(app: Flask) -> None:
    with app.app_context():
        round_id = paper_round(published_bank(), attempts_allowed=0).id
        assert contest_service.get_round(round_id).score_visibility == "after_submit"
    me = Contestant(app, "practice")
    attempt_id = play_once(app, me, round_id)
    assert me.api("GET", f"/api/v1/attempts/{attempt_id}/result").get_json()["score"] == 20
    assert 'data-testid="score-later"' not in me.page(f"/attempts/{attempt_id}/result").get_data(
        as_text=True
    )


def test_the_demo_practice_round_shows_the_score_after_submit(app: Flask) -> None:
    with app.app_context():
        load_demo_bank(datetime.now(UTC))  # the demo's bank, then its contests
        contest = db.session.scalars(select(Contest).where(Contest.title == PRACTICE_CONTEST)).one()
        (practice,) = contest.rounds
        assert practice.attempts_allowed == 0 and practice.closes_at is None
        assert practice.score_visibility == "after_submit"


def test_the_setting_through_the_api(app: Flask, organizer_client: FlaskClient) -> None:
    with app.app_context():
        bank_id = published_bank()
    token = {"X-CSRFToken": csrf_token(organizer_client)}
    contest_id = organizer_client.post(
        "/api/v1/contests", json={"title": "复赛"}, headers=token
    ).get_json()["id"]
    closes = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    body = {"title": "复赛", "bank_id": bank_id, "duration_s": 600, "blueprint": BLUEPRINT}
    url = f"/api/v1/contests/{contest_id}/rounds"
    no_close = organizer_client.post(
        url, json={**body, "score_visibility": "after_close"}, headers=token
    )
    assert no_close.status_code == 422
    answers_first = organizer_client.post(
        url,
        json={**body, "closes_at": closes, "review_policy": "after_submit",
              "score_visibility": "after_close"},
        headers=token,
    )  # fmt: skip
    assert answers_first.status_code == 422
    created = organizer_client.post(url, json={**body, "closes_at": closes}, headers=token)
    assert created.status_code == 201 and created.get_json()["score_visibility"] == "after_submit"
    round_id = created.get_json()["id"]
    updated = organizer_client.patch(
        f"{url}/{round_id}", json={"score_visibility": "after_close"}, headers=token
    )
    assert updated.status_code == 200 and updated.get_json()["score_visibility"] == "after_close"
    got = organizer_client.get(f"/api/v1/contests/{contest_id}").get_json()
    assert got["rounds"][0]["score_visibility"] == "after_close"
    spec = organizer_client.get("/api/v1/openapi.json").get_json()
    setting = spec["components"]["schemas"]["RoundIn"]["properties"]["score_visibility"]
    assert setting["enum"] == ["after_submit", "after_close"]


def test_the_setting_on_the_round_form_and_in_the_cli(
    app: Flask, organizer_client: FlaskClient, tmp_path: Path
) -> None:
    with app.app_context():
        bank_id = published_bank()
        contest_id = contest_service.create_contest("决赛").id
        db.session.commit()
    client = organizer_client
    assert "score_visibility" in client.get(f"/admin/contests/{contest_id}/rounds/new").get_data(
        as_text=True
    )
    closes = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    rows = [{k: str(v or "") for k, v in row.items()} for row in BLUEPRINT]
    form = round_form(
        csrf_token(client),
        bank_id,
        rows,
        closes_at=closes,
        review_policy="after_close",
        score_visibility="after_close",
    )
    response = client.post(f"/admin/contests/{contest_id}/rounds/new", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        (round_,) = contest_service.get_contest(contest_id).rounds
        assert round_.score_visibility == "after_close"
        round_id = round_.id
    edit = client.get(f"/admin/rounds/{round_id}/edit").get_data(as_text=True)
    assert '<option selected value="after_close">' in edit.split('name="score_visibility"')[1]
    settings = tmp_path / "round.json"
    settings.write_text(
        json.dumps({"score_visibility": "after_submit", "review_policy": "after_close"}),
        encoding="utf-8",
    )
    result = app.test_cli_runner().invoke(
        args=["contests", "round", str(contest_id), str(settings), "--round", str(round_id)]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert contest_service.get_round(round_id).score_visibility == "after_submit"


def test_a_public_board_that_would_tell_the_score_is_refused(app: Flask) -> None:
    """With several attempts, a board that moves after each one is the oracle the setting
    closes: such a round needs its board frozen from the opening, or boards for organizers."""
    with app.app_context():
        bank_id = published_bank()
        with pytest.raises(InvalidInput) as refused:
            paper_round(
                bank_id,
                attempts_allowed=0,
                review_policy="after_close",
                score_visibility="after_close",
            )
        assert refused.value.code == "board_tells_score"
        db.session.rollback()
        # one attempt: the board tells nothing a second attempt could use
        paper_round(
            bank_id,
            contest_title="一次作答",
            review_policy="after_close",
            score_visibility="after_close",
        )
        hidden = contest_service.create_contest(
            "仅组织者可见", board_visibility=BoardVisibility.ORGANIZERS
        )
        values = {
            "title": "初赛",
            "bank_id": bank_id,
            "duration_s": 600,
            "attempts_allowed": 0,
            "blueprint": BLUEPRINT,
            "opens_at": NOW - timedelta(hours=1),
            "closes_at": NOW + timedelta(days=1),
            "review_policy": "after_close",
            "score_visibility": "after_close",
        }
        contest_service.save_round(hidden.id, **values)
        db.session.commit()
        # and such a contest cannot make its boards public later
        with pytest.raises(InvalidInput) as refused:
            contest_service.update_contest(hidden, {"board_visibility": BoardVisibility.PUBLIC})
        assert refused.value.code == "board_tells_score"
