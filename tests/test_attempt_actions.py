"""Organizer actions on one attempt: extend, void, restore, rescore — each with a reason, in the
audit log, with the contestant's clock and the boards (a real RQ worker) following."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from contest.extensions import db, redis_hub
from contest.models import (
    Attempt,
    AttemptItem,
    AttemptStatus,
    AuditEvent,
    IntegrityEvent,
    User,
)
from contest.services import contests as contest_service
from tests.conftest import api_login, csrf_token
from tests.support.boards import board, settle, sit
from tests.support.contests import paper_round, published_bank
from tests.support.players import Player, answer_for
from workers import queues

HOUR = timedelta(hours=1)


@pytest.fixture
def round_id(app: Flask) -> int:
    """Open for five more hours; ten-minute attempts."""
    with app.app_context():
        return paper_round(published_bank(), closes_at=datetime.now(UTC) + 5 * HOUR).id


def boss(client: FlaskClient) -> FlaskClient:
    """The organizer client with its CSRF token on every call."""
    client.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token(client)
    return client


def started(app: Flask, round_id: int, name: str = "wang", device: str = "phone-1") -> Any:
    player = Player(app, name, device)
    body = player.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    return player, body


def stored(app: Flask, attempt_id: int) -> Attempt:
    with app.app_context():
        attempt = db.session.get_one(Attempt, attempt_id)
        db.session.expunge(attempt)
        return attempt


def audit_events(app: Flask, attempt_id: int) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.target_type == "attempt", AuditEvent.target_id == attempt_id)
            .order_by(AuditEvent.id)
        ).all()
        for row in rows:
            db.session.expunge(row)
        return list(rows)


def clock(player: Player, attempt_id: int) -> datetime:
    body = player.call("GET", f"/api/v1/attempts/{attempt_id}/clock").get_json()
    return datetime.fromisoformat(body["deadline_at"])


# Extend -------------------------------------------------------------------------------------------


def test_an_extension_moves_the_deadline_and_the_contestants_clock_follows(
    app: Flask, organizer_client: FlaskClient, round_id: int
) -> None:
    client = boss(organizer_client)
    player, attempt = started(app, round_id)
    before = clock(player, attempt["id"])
    response = client.post(
        f"/api/v1/attempts/{attempt['id']}/extension",
        json={"minutes": 15, "reason": "手机没电了"},
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["extended_s"] == 900
    after = clock(player, attempt["id"])
    assert after - before == timedelta(minutes=15)
    # The page's other source of the deadline, a save, says the same.
    saved = player.call(
        "PUT", f"/api/v1/attempts/{attempt['id']}/items/1", {"answer": None, "seq": 1}
    )
    assert datetime.fromisoformat(saved.get_json()["deadline_at"]) == after
    (event,) = audit_events(app, attempt["id"])
    assert event.action == "attempt.extend" and event.reason == "手机没电了"
    assert event.actor_name == "boss" and event.before and event.after
    assert event.before["extended_s"] == 0 and event.after["extended_s"] == 900
    assert event.after["beyond_close"] is False and event.after["minutes"] == 15
    # The close job is scheduled again for the new deadline (plus grace and a second).
    with app.app_context():
        from workers.runner import get_queue

        queue = get_queue(app, queues.DEFAULT)
        job = queue.fetch_job(f"close-{attempt['id']}")
        assert job is not None
        registry = queue.scheduled_job_registry
        when = registry.get_scheduled_time(job)
        assert abs(when.replace(tzinfo=UTC) - (after + timedelta(seconds=11))) < timedelta(
            seconds=1
        )


def test_the_round_close_bounds_an_extension_unless_the_organizer_says_beyond(
    app: Flask, organizer_client: FlaskClient
) -> None:
    with app.app_context():
        close = datetime.now(UTC) + timedelta(minutes=5)  # before the ten minutes are up
        round_id = paper_round(published_bank(), closes_at=close).id
    client = boss(organizer_client)
    player, attempt = started(app, round_id)
    assert abs(clock(player, attempt["id"]) - close) < timedelta(milliseconds=1)
    url = f"/api/v1/attempts/{attempt['id']}/extension"
    bounded = client.post(url, json={"minutes": 10, "reason": "断网"})
    assert bounded.status_code == 409
    assert bounded.get_json()["error"]["code"] == "round_close_bounds"
    assert stored(app, attempt["id"]).extended_s == 0 and audit_events(app, attempt["id"]) == []
    beyond = client.post(url, json={"minutes": 10, "reason": "断网", "beyond_close": True})
    assert beyond.status_code == 200, beyond.get_json()
    assert clock(player, attempt["id"]) - close == timedelta(minutes=10)
    # Past the round's close, the contestant still saves until the extended deadline.
    with app.app_context():
        round_ = contest_service.get_round(round_id)
        round_.closes_at = datetime.now(UTC) - timedelta(minutes=1)  # the round closed
        db.session.commit()
    saved = player.call(
        "PUT", f"/api/v1/attempts/{attempt['id']}/items/1", {"answer": True, "seq": 3}
    )
    assert saved.status_code in (200, 422)  # any answer check aside, not refused as closed
    assert saved.get_json().get("error", {}).get("code") != "attempt_closed"


def test_an_extension_past_a_day_is_refused_and_changes_nothing(
    app: Flask, organizer_client: FlaskClient, round_id: int
) -> None:
    client = boss(organizer_client)
    player, attempt = started(app, round_id)
    url = f"/api/v1/attempts/{attempt['id']}/extension"
    assert (
        client.post(url, json={"minutes": 1000, "reason": "停电", "beyond_close": True}).status_code
        == 200
    )
    before = clock(player, attempt["id"])
    refused = client.post(url, json={"minutes": 441, "reason": "再延", "beyond_close": True})
    assert refused.status_code == 422
    body = refused.get_json()["error"]
    assert body["code"] == "extension_too_long" and "1000" in body["message"]
    assert clock(player, attempt["id"]) == before
    assert stored(app, attempt["id"]).extended_s == 60_000
    assert len(audit_events(app, attempt["id"])) == 1
    # Exactly a day in all is allowed.
    assert (
        client.post(url, json={"minutes": 440, "reason": "再延", "beyond_close": True}).status_code
        == 200
    )
    # More than a day in one go is refused by the schema.
    assert client.post(url, json={"minutes": 1441, "reason": "x"}).status_code == 422


def test_only_an_attempt_in_progress_is_extended(
    app: Flask, organizer_client: FlaskClient, round_id: int
) -> None:
    client = boss(organizer_client)
    player, attempt = started(app, round_id)
    player.call("POST", f"/api/v1/attempts/{attempt['id']}/submission")
    refused = client.post(
        f"/api/v1/attempts/{attempt['id']}/extension", json={"minutes": 5, "reason": "晚了"}
    )
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "attempt_closed"
    assert stored(app, attempt["id"]).extended_s == 0


def test_moving_the_round_keeps_each_attempts_extension(
    app: Flask, organizer_client: FlaskClient, round_id: int
) -> None:
    client = boss(organizer_client)
    player, attempt = started(app, round_id)
    other_player, other = started(app, round_id, "li")
    url = f"/api/v1/attempts/{attempt['id']}/extension"
    assert client.post(url, json={"minutes": 20, "reason": "停电"}).status_code == 200
    with app.app_context():
        round_ = contest_service.get_round(round_id)
        contest_id = round_.contest_id
    started_at = stored(app, attempt["id"]).started_at
    response = client.patch(
        f"/api/v1/contests/{contest_id}/rounds/{round_id}", json={"duration_s": 1800}
    )
    assert response.status_code == 200, response.get_json()
    assert clock(player, attempt["id"]) == started_at + timedelta(minutes=30 + 20)
    other_start = stored(app, other["id"]).started_at
    assert clock(other_player, other["id"]) == other_start + timedelta(minutes=30)
    # A close moved before the extended deadline bounds it (no "beyond" was given) …
    close = started_at + timedelta(minutes=40)
    response = client.patch(
        f"/api/v1/contests/{contest_id}/rounds/{round_id}",
        json={"closes_at": close.isoformat()},
    )
    assert response.status_code == 200, response.get_json()
    assert clock(player, attempt["id"]) == close
    assert stored(app, attempt["id"]).extended_s == 1200


def test_an_extension_beyond_the_close_stays_beyond_when_the_round_moves(
    app: Flask, organizer_client: FlaskClient
) -> None:
    with app.app_context():
        close = datetime.now(UTC) + timedelta(minutes=5)
        round_ = paper_round(published_bank(), closes_at=close)
        round_id, contest_id = round_.id, round_.contest_id
    client = boss(organizer_client)
    player, attempt = started(app, round_id)
    url = f"/api/v1/attempts/{attempt['id']}/extension"
    body = {"minutes": 10, "reason": "断网", "beyond_close": True}
    assert client.post(url, json=body).status_code == 200
    new_close = close + timedelta(minutes=1)
    response = client.patch(
        f"/api/v1/contests/{contest_id}/rounds/{round_id}",
        json={"closes_at": new_close.isoformat()},
    )
    assert response.status_code == 200
    assert clock(player, attempt["id"]) == new_close + timedelta(minutes=10)


def test_every_action_needs_a_reason(
    app: Flask, organizer_client: FlaskClient, round_id: int
) -> None:
    client = boss(organizer_client)
    _, attempt = started(app, round_id)
    base = f"/api/v1/attempts/{attempt['id']}"
    for path, extra in (
        ("extension", {"minutes": 5}),
        ("void", {}),
        ("restore", {}),
        ("rescore", {}),
    ):
        for reason in (None, "", "   "):
            body = extra | ({} if reason is None else {"reason": reason})
            response = client.post(f"{base}/{path}", json=body)
            assert response.status_code == 422, (path, reason, response.get_json())
    assert audit_events(app, attempt["id"]) == []
    assert stored(app, attempt["id"]).status is AttemptStatus.IN_PROGRESS


# Void, restore, rescore: the boards follow --------------------------------------------------------


def names(app: Flask, round_id: int) -> list[str]:
    entries = board(app, f"/api/v1/rounds/{round_id}/leaderboard?view=public")["entries"]
    return [e["name"] for e in entries]


def test_void_and_restore_take_an_attempt_off_the_boards_and_back(
    app: Flask, organizer_client: FlaskClient
) -> None:
    with app.app_context():
        round_id = paper_round(published_bank(), attempts_allowed=0).id
    client = boss(organizer_client)
    wang, zhao = Player(app, "wang"), Player(app, "zhao")
    mine = sit(app, wang, round_id, right=6)
    sit(app, zhao, round_id, right=2)
    settle(app)
    assert names(app, round_id) == ["w****名", "z****名"]

    voided = client.post(f"/api/v1/attempts/{mine}/void", json={"reason": "代答"})
    assert voided.status_code == 200, voided.get_json()
    assert voided.get_json()["status"] == "void"
    assert stored(app, mine).voided_from == "scored"
    settle(app)
    assert names(app, round_id) == ["z****名"]
    again = client.post(f"/api/v1/attempts/{mine}/void", json={"reason": "再作废"})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_void"

    restored = client.post(f"/api/v1/attempts/{mine}/restore", json={"reason": "核实无误"})
    assert restored.status_code == 200 and restored.get_json()["status"] == "scored"
    assert stored(app, mine).voided_from is None
    settle(app)
    assert names(app, round_id) == ["w****名", "z****名"]
    actions = [(e.action, e.before["status"], e.after["status"]) for e in audit_events(app, mine)]
    assert actions == [("attempt.void", "scored", "void"), ("attempt.restore", "void", "scored")]
    assert [e.reason for e in audit_events(app, mine)] == ["代答", "核实无误"]


def status_text(page: str) -> str:
    """The paper page's status line."""
    found = re.search(r'data-testid="attempt-status">(.*?)</dd>', page, re.S)
    assert found is not None
    return re.sub(r"<[^>]+>", "", found.group(1))


def close_job_time(app: Flask, attempt_id: int) -> datetime:
    """When the attempt's close job is scheduled to run."""
    with app.app_context():
        from workers.runner import get_queue

        queue = get_queue(app, queues.DEFAULT)
        job = queue.fetch_job(f"close-{attempt_id}")
        assert job is not None
        when: datetime = queue.scheduled_job_registry.get_scheduled_time(job)
        return when.replace(tzinfo=UTC)


def test_voiding_an_attempt_in_progress_ends_it_unsubmitted_and_a_restore_in_time_reopens_it(
    app: Flask, organizer_client: FlaskClient, round_id: int
) -> None:
    client = boss(organizer_client)
    player, attempt = started(app, round_id)
    base = f"/api/v1/attempts/{attempt['id']}"
    first = attempt["items"][0]
    saved = player.call("PUT", f"{base}/items/1", {"answer": answer_for(first), "seq": 1})
    assert saved.status_code == 200
    page = client.get(f"/admin/attempts/{attempt['id']}").get_data(as_text=True)
    warning = "该选手正在作答：作废会立即结束其作答。恢复之前它不会出现在排行榜上。"
    assert 'data-testid="void-warning"' in page and f'data-confirm="{warning}"' in page

    voided = client.post(f"{base}/void", json={"reason": "替考嫌疑"})
    assert voided.status_code == 200, voided.get_json()
    assert voided.get_json()["shown_status"] == "voided"
    row = stored(app, attempt["id"])
    assert row.status is AttemptStatus.VOID and row.voided_from == "in_progress"
    assert row.submitted_by is None and row.submitted_at is None and row.time_used_s is None
    # The sitting is over: the page takes no more saves.
    assert player.call("PUT", f"{base}/items/2", {"answer": None, "seq": 2}).status_code == 409
    assert player.call("GET", f"{base}/clock").get_json()["status"] == "void"
    settle(app)  # graded for review, still void and off the boards
    assert stored(app, attempt["id"]).status is AttemptStatus.VOID
    assert names(app, round_id) == []
    page = client.get(f"/admin/attempts/{attempt['id']}").get_data(as_text=True)
    assert "作废前：作答中" in status_text(page)
    assert 'data-testid="restore-effect"' in page and "恢复后选手可继续作答" in page
    result = player.client.get(f"/attempts/{attempt['id']}/result").get_data(as_text=True)
    assert 'data-testid="void-notice"' in result

    restored = client.post(f"{base}/restore", json={"reason": "误判，继续作答"})
    assert restored.status_code == 200, restored.get_json()
    body = restored.get_json()
    assert body["status"] == "in_progress" and body["shown_status"] == "answering"
    assert body["submitted_by"] is None and body["score"] is None
    row = stored(app, attempt["id"])
    assert row.voided_from is None and row.submitted_at is None and row.scored_at is None
    with app.app_context():
        earned = db.session.scalars(
            select(AttemptItem.earned).where(AttemptItem.attempt_id == attempt["id"])
        ).all()
    assert earned and all(e is None for e in earned)  # the review grade is gone
    # The close job runs again at the deadline plus grace (and a second).
    deadline = clock(player, attempt["id"])
    assert abs(close_job_time(app, attempt["id"]) - (deadline + timedelta(seconds=11))) < (
        timedelta(seconds=1)
    )
    # The contestant continues where they were.
    assert player.call("GET", f"{base}/clock").get_json()["status"] == "in_progress"
    again = player.call(
        "PUT", f"{base}/items/2", {"answer": answer_for(attempt["items"][1]), "seq": 3}
    )
    assert again.status_code == 200, again.get_json()
    settle(app)
    assert names(app, round_id) == []  # not on the boards until it is submitted
    assert player.call("POST", f"{base}/submission").status_code == 200
    settle(app)
    row = stored(app, attempt["id"])
    assert row.status is AttemptStatus.SCORED and row.submitted_by == "contestant"
    assert float(row.score or 0) == first["points"] + attempt["items"][1]["points"]
    assert names(app, round_id) == ["w****名"]
    actions = [
        (e.action, (e.before or {})["status"], (e.after or {})["status"])
        for e in audit_events(app, attempt["id"])
    ]
    assert actions == [
        ("attempt.void", "in_progress", "void"),
        ("attempt.restore", "void", "in_progress"),
    ]


def test_an_attempt_voided_in_progress_is_submitted_by_the_organizer_when_restored_too_late(
    app: Flask, organizer_client: FlaskClient, round_id: int
) -> None:
    client = boss(organizer_client)
    player, attempt = started(app, round_id)
    base = f"/api/v1/attempts/{attempt['id']}"
    first = attempt["items"][0]
    player.call("PUT", f"{base}/items/1", {"answer": answer_for(first), "seq": 1})
    assert client.post(f"{base}/void", json={"reason": "替考嫌疑"}).status_code == 200
    # As if the void came 9½ minutes into the ten, an hour ago.
    with app.app_context():
        row = db.session.get_one(Attempt, attempt["id"])
        voided_at = datetime.now(UTC) - HOUR
        row.started_at = voided_at - timedelta(seconds=570)
        row.deadline_at = row.started_at + timedelta(minutes=10)
        event = db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.target_type == "attempt",
                AuditEvent.target_id == attempt["id"],
                AuditEvent.action == "attempt.void",
            )
        ).one()
        event.at = voided_at
        db.session.commit()
    page = client.get(f"/admin/attempts/{attempt['id']}").get_data(as_text=True)
    assert "作答时间已过" in page
    restored = client.post(f"{base}/restore", json={"reason": "核实无误"})
    assert restored.status_code == 200, restored.get_json()
    assert restored.get_json()["shown_status"] == "ended_by_organizer"
    settle(app)
    row = stored(app, attempt["id"])
    assert row.status is AttemptStatus.SCORED and row.submitted_by == "organizer"
    assert row.time_used_s == 570  # to the void, when the answering ended
    assert float(row.score or 0) == first["points"]
    assert names(app, round_id) == ["w****名"]
    assert player.call("PUT", f"{base}/items/2", {"answer": None, "seq": 2}).status_code == 409
    page = client.get(f"/admin/attempts/{attempt['id']}").get_data(as_text=True)
    assert "组织者结束" in status_text(page) and "自动交卷" not in status_text(page)
    assert "由组织者结束" in page  # the submission, in the facts and the timeline
    listing = client.get(f"/admin/rounds/{round_id}/attempts").get_data(as_text=True)
    cell = re.search(
        r'data-status="ended_by_organizer">.*?data-testid="status">([^<]*)<', listing, re.S
    )
    assert cell is not None and cell.group(1).strip() == "组织者结束"
    result = player.client.get(f"/attempts/{attempt['id']}/result").get_data(as_text=True)
    assert 'data-testid="ended-by-organizer"' in result and "组织者已结束本次作答" in result


def test_a_restore_does_not_reopen_an_attempt_while_another_of_the_contestants_is_open(
    app: Flask, organizer_client: FlaskClient
) -> None:
    with app.app_context():
        round_id = paper_round(
            published_bank(), attempts_allowed=0, closes_at=datetime.now(UTC) + 5 * HOUR
        ).id
    client = boss(organizer_client)
    player, first = started(app, round_id)
    assert (
        client.post(f"/api/v1/attempts/{first['id']}/void", json={"reason": "核查"}).status_code
        == 200
    )
    second = player.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    assert second["id"] != first["id"]  # a new paper while the first is void
    page = client.get(f"/admin/attempts/{first['id']}").get_data(as_text=True)
    assert "该选手此后已开始另一次作答" in page
    restored = client.post(f"/api/v1/attempts/{first['id']}/restore", json={"reason": "误判"})
    assert restored.status_code == 200, restored.get_json()
    assert restored.get_json()["shown_status"] == "ended_by_organizer"
    assert stored(app, first["id"]).submitted_by == "organizer"
    assert stored(app, second["id"]).status is AttemptStatus.IN_PROGRESS
    again = player.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    assert again["id"] == second["id"]  # the contestant answers one attempt at a time


def test_an_attempt_voided_by_the_integrity_rule_is_restored_to_the_boards(
    app: Flask, organizer_client: FlaskClient
) -> None:
    with app.app_context():
        round_id = paper_round(published_bank(), integrity_threshold=1, integrity_action="void").id
    client = boss(organizer_client)
    player, attempt = started(app, round_id)
    with app.app_context():
        row = db.session.get_one(Attempt, attempt["id"])
        row.started_at = datetime.now(UTC) - timedelta(minutes=5)
        db.session.commit()
    url = f"/api/v1/attempts/{attempt['id']}/integrity-events"
    player.call("POST", url, {"kind": "visible", "duration_ms": 8000})
    assert (
        player.call("POST", url, {"kind": "visible", "duration_ms": 8000}).get_json()["action"]
        == "void"
    )
    settle(app)
    assert names(app, round_id) == []
    restored = client.post(f"/api/v1/attempts/{attempt['id']}/restore", json={"reason": "网络抖动"})
    assert restored.status_code == 200 and restored.get_json()["status"] == "scored"
    settle(app)
    assert names(app, round_id) == ["w****名"]


def test_rescoring_grades_again_on_the_worker_and_the_boards_follow(
    app: Flask, organizer_client: FlaskClient
) -> None:
    with app.app_context():
        round_id = paper_round(published_bank(), attempts_allowed=0).id
    client = boss(organizer_client)
    wang = Player(app, "wang")
    mine = sit(app, wang, round_id, right=10)
    settle(app)
    assert board(app, f"/api/v1/rounds/{round_id}/leaderboard")["entries"][0]["score"] == 20
    with app.app_context():  # a wrong score stored (what a grading fix would correct)
        row = db.session.get_one(Attempt, mine)
        row.score = 3
        db.session.commit()
        from contest.services import leaderboards

        leaderboards.record_attempts(redis_hub.client, [(round_id, row.user_id)])
    settle(app)
    assert board(app, f"/api/v1/rounds/{round_id}/leaderboard")["entries"][0]["score"] == 3
    response = client.post(f"/api/v1/attempts/{mine}/rescore", json={"reason": "复核"})
    assert response.status_code == 200, response.get_json()
    # Until the worker grades it, the attempt keeps its place on the board.
    assert board(app, f"/api/v1/rounds/{round_id}/leaderboard")["entries"][0]["score"] == 3
    settle(app)
    assert stored(app, mine).status is AttemptStatus.SCORED
    assert float(stored(app, mine).score or 0) == 20
    assert board(app, f"/api/v1/rounds/{round_id}/leaderboard")["entries"][0]["score"] == 20
    (event,) = audit_events(app, mine)
    assert event.action == "attempt.rescore" and event.before["score"] == "3.00"


def test_an_attempt_in_progress_is_not_rescored(
    app: Flask, organizer_client: FlaskClient, round_id: int
) -> None:
    client = boss(organizer_client)
    _, attempt = started(app, round_id)
    response = client.post(f"/api/v1/attempts/{attempt['id']}/rescore", json={"reason": "复核"})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "attempt_open"


# Device changes -----------------------------------------------------------------------------------


def test_continuing_on_another_device_is_an_integrity_event(app: Flask, round_id: int) -> None:
    player, attempt = started(app, round_id, device="phone-1")
    player.call("POST", f"/api/v1/rounds/{round_id}/attempts")  # the same phone again
    player.device = "phone-2"
    resumed = player.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    assert resumed["id"] == attempt["id"]
    with app.app_context():
        kinds = db.session.scalars(
            select(IntegrityEvent.kind).where(IntegrityEvent.attempt_id == attempt["id"])
        ).all()
    assert kinds == ["device_changed"]


# Pages --------------------------------------------------------------------------------------------


def test_the_attempt_page_acts_with_a_reason_and_says_why_it_refuses(
    app: Flask, organizer_client: FlaskClient, round_id: int
) -> None:
    player, attempt = started(app, round_id)
    url = f"/admin/attempts/{attempt['id']}"
    page = organizer_client.get(url).get_data(as_text=True)
    assert 'data-testid="extend-form"' in page and 'data-testid="void-form"' in page
    token = _form_token(page)
    missing = organizer_client.post(
        f"{url}/extend", data={"extend-csrf_token": token, "extend-minutes": "5"}
    )
    assert missing.status_code == 422
    assert stored(app, attempt["id"]).extended_s == 0
    done = organizer_client.post(
        f"{url}/extend",
        data={"extend-csrf_token": token, "extend-minutes": "5", "extend-reason": "手机没电"},
        follow_redirects=True,
    )
    assert done.status_code == 200
    assert stored(app, attempt["id"]).extended_s == 300
    text = done.get_data(as_text=True)
    assert "手机没电" in text and 'data-action="attempt.extend"' in text
    too_long = organizer_client.post(
        f"{url}/extend",
        data={
            "extend-csrf_token": token,
            "extend-minutes": "1440",
            "extend-reason": "x",
            "extend-beyond_close": "y",
        },
        follow_redirects=True,
    )
    assert stored(app, attempt["id"]).extended_s == 300
    assert 'class="flash flash-error"' in too_long.get_data(as_text=True)
    # Without the form's token nothing happens.
    forged = organizer_client.post(f"{url}/void", data={"void-reason": "x"})
    assert forged.status_code in (400, 403)
    assert stored(app, attempt["id"]).status is AttemptStatus.IN_PROGRESS
    voided = organizer_client.post(
        f"{url}/void", data={"void-csrf_token": token, "void-reason": "代答"}
    )
    assert voided.status_code == 302
    assert stored(app, attempt["id"]).status is AttemptStatus.VOID
    del player


def _form_token(page: str) -> str:
    import re

    found = re.search(r'name="extend-csrf_token" type="hidden" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


# Who may act --------------------------------------------------------------------------------------


def test_organizers_act_contestants_are_refused_and_anonymous_callers_must_log_in(
    app: Flask, round_id: int, organizer: User, district_organizer: User
) -> None:
    player, attempt = started(app, round_id)
    base = f"/api/v1/attempts/{attempt['id']}"
    calls = [
        ("GET", f"/api/v1/rounds/{round_id}/attempts", None),
        ("GET", f"{base}/paper", None),
        ("POST", f"{base}/extension", {"minutes": 1, "reason": "r"}),
        ("POST", f"{base}/rescore", {"reason": "r"}),  # 409 for organizers: still open
        ("POST", f"{base}/void", {"reason": "r"}),
        ("POST", f"{base}/restore", {"reason": "r"}),
    ]
    anonymous = app.test_client()
    token = csrf_token(anonymous)
    for method, url, body in calls:
        response = anonymous.open(url, method=method, json=body, headers={"X-CSRFToken": token})
        assert response.status_code == 401, url
        assert response.get_json()["error"]["code"]
        refused = player.call(method, url, body)
        assert refused.status_code == 403, url
        assert refused.get_json()["error"]["code"] == "forbidden"
    assert stored(app, attempt["id"]).status is AttemptStatus.IN_PROGRESS
    for who in ("boss", "district"):
        client = app.test_client()
        assert api_login(client, who).status_code == 200
        client.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token(client)
        statuses = [client.open(u, method=m, json=b).status_code for m, u, b in calls]
        # The boss's void and restore give the attempt back in progress: the same again.
        assert statuses == [200, 200, 200, 409, 200, 200], who
    for url in (
        f"/admin/rounds/{round_id}/attempts",
        f"/admin/rounds/{round_id}/attempts/rows",
        f"/admin/rounds/{round_id}/flagged",
        f"/admin/attempts/{attempt['id']}",
    ):
        assert player.client.get(url).status_code == 403, url
        assert anonymous.get(url).status_code == 302, url
    assert player.client.post(
        f"/admin/attempts/{attempt['id']}/void", data={"void-reason": "x"}
    ).status_code in (400, 403)
