"""The contestant's attempt through the JSON API, with a real worker scoring it."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text

from contest.extensions import db
from contest.models import Attempt, AttemptItem, AttemptStatus, IntegrityEvent, Role, User
from contest.services import attempts as attempt_service
from contest.services import blueprints
from contest.services import contests as contest_service
from question_bank.models import Question, QuestionStatus
from question_bank.papers import draw_paper
from tests.conftest import PASSWORD, add_user, api_login, csrf_token
from tests.support.contests import paper_round, published_bank
from tests.support.players import Player, answer_for
from workers import queues
from workers.deadlines import close_overdue_attempts
from workers.runner import make_worker

KEY_FIELDS = {"correct", "correct_answer", "explanation", "explanation_html", "earned"}


@pytest.fixture
def round_id(app: Flask) -> int:
    with app.app_context():
        return paper_round(published_bank()).id


def test_a_full_attempt_scores_and_never_leaks_the_key_before_review(
    app: Flask, round_id: int
) -> None:
    with app.app_context():
        round_ = contest_service.get_round(round_id)
        round_.review_policy = "after_close"  # type: ignore[assignment]
        db.session.commit()
    me = Player(app, "zhang")
    contests = me.call("GET", "/api/v1/contests").get_json()["contests"]
    assert contests[0]["rounds"][0]["status"] == "open"
    started = me.call("POST", f"/api/v1/rounds/{round_id}/attempts")
    assert started.status_code == 201
    attempt = started.get_json()
    assert len(attempt["items"]) == 10 and attempt["server_now"] and attempt["deadline_at"]
    resumed = me.call("POST", f"/api/v1/rounds/{round_id}/attempts")
    assert resumed.status_code == 200 and resumed.get_json()["id"] == attempt["id"]
    for n, item in enumerate(attempt["items"]):
        right = n % 2 == 0
        saved = me.call(
            "PUT",
            f"/api/v1/attempts/{attempt['id']}/items/{item['position']}",
            {"answer": answer_for(item, right), "seq": n + 1},
        )
        assert saved.get_json() == {
            "saved": True,
            "seq": n + 1,
            "deadline_at": attempt["deadline_at"],
        }
    me.call("GET", f"/api/v1/attempts/{attempt['id']}")
    submitted = me.call("POST", f"/api/v1/attempts/{attempt['id']}/submission")
    assert submitted.get_json()["status"] == "submitted"
    assert me.call("POST", f"/api/v1/attempts/{attempt['id']}/submission").status_code == 200
    pending = me.call("GET", f"/api/v1/attempts/{attempt['id']}/result").get_json()
    assert pending["score"] is None and pending["review"] is False
    make_worker(app, [queues.SCORING]).work(burst=True)
    result = me.call("GET", f"/api/v1/attempts/{attempt['id']}/result").get_json()
    expected = sum(i["points"] for n, i in enumerate(attempt["items"]) if n % 2 == 0)
    assert result["score"] == expected and result["max_score"] == 20
    assert result["review"] is False and result["items"] == []
    text = json.dumps(me.seen, ensure_ascii=False)
    for field in KEY_FIELDS:
        assert f'"{field}"' not in text, field
    assert "解析" not in text  # explanations are never sent before review


def test_review_after_submit_shows_key_and_explanations(app: Flask, round_id: int) -> None:
    me = Player(app, "li")
    attempt = me.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    single = next(i for i in attempt["items"] if i["type"] == "single")
    me.call(
        "PUT",
        f"/api/v1/attempts/{attempt['id']}/items/{single['position']}",
        {"answer": answer_for(single), "seq": 1},
    )
    me.call("POST", f"/api/v1/attempts/{attempt['id']}/submission")
    make_worker(app, [queues.SCORING]).work(burst=True)
    result = me.call("GET", f"/api/v1/attempts/{attempt['id']}/result").get_json()
    assert result["review"] is True and len(result["items"]) == 10
    reviewed = result["items"][single["position"] - 1]
    assert reviewed["correct"] is True and reviewed["earned"] == 2
    assert reviewed["correct_answer"] == answer_for(single)
    assert "解析" in reviewed["explanation_html"]
    assert sum(1 for i in result["items"] if i["correct"] is False) == 9


def test_review_after_close_waits_for_the_grace_of_the_last_saves(
    app: Flask, round_id: int
) -> None:
    early, late = Player(app, "early"), Player(app, "late")
    first = early.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    second = late.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    early.call("POST", f"/api/v1/attempts/{first['id']}/submission")
    make_worker(app, [queues.SCORING]).work(burst=True)

    def close(seconds_ago: int) -> None:
        with app.app_context():
            round_ = contest_service.get_round(round_id)
            round_.review_policy = "after_close"  # type: ignore[assignment]
            round_.closes_at = datetime.now(UTC) - timedelta(seconds=seconds_ago)
            row = db.session.get(Attempt, second["id"])
            assert row is not None and round_.grace_s == 10
            row.deadline_at = round_.closes_at  # an attempt still open when the round closed
            db.session.commit()

    close(seconds_ago=5)  # inside the 10 s grace: the late contestant may still save
    saved = late.call("PUT", f"/api/v1/attempts/{second['id']}/items/1", {"answer": None, "seq": 1})
    assert saved.status_code == 200
    hidden = early.call("GET", f"/api/v1/attempts/{first['id']}/result").get_json()
    assert hidden["review"] is False and hidden["items"] == []
    again = early.call("POST", f"/api/v1/attempts/{first['id']}/submission").get_json()
    assert again["review"] is False
    close(seconds_ago=11)  # the grace is over: no save can land any more
    refused = late.call(
        "PUT", f"/api/v1/attempts/{second['id']}/items/1", {"answer": None, "seq": 2}
    )
    assert refused.status_code == 409
    shown = early.call("GET", f"/api/v1/attempts/{first['id']}/result").get_json()
    assert shown["review"] is True and len(shown["items"]) == 10


def test_others_cannot_read_or_change_an_attempt(app: Flask, round_id: int) -> None:
    me, other = Player(app, "wang"), Player(app, "zhao")
    attempt = me.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    url = f"/api/v1/attempts/{attempt['id']}"
    # The owner's save makes the process know the paper (the one-statement save path).
    assert me.call("PUT", url + "/items/1", {"answer": None, "seq": 1}).status_code == 200
    for method, path, body in (
        ("GET", url, None),
        ("GET", url + "/result", None),
        ("PUT", url + "/items/1", {"answer": None, "seq": 2}),
        ("PUT", url + "/items/2", {"answer": None, "seq": 3}),
        ("PUT", url + "/items/2", {"answer": "not-an-option", "seq": 4}),  # 404, not 422
        ("POST", url + "/submission", None),
        ("POST", url + "/integrity-events", {"kind": "hidden"}),
    ):
        response = other.call(method, path, body)
        assert response.status_code == 404, (path, body)
        assert response.get_json()["error"]["code"] == "not_found"
    anonymous = app.test_client()
    assert anonymous.get(url).status_code == 401
    assert anonymous.post(url + "/submission").status_code in (401, 403)  # no session, no CSRF
    token = csrf_token(anonymous)  # a CSRF token for an anonymous session
    for method, path in (("PUT", url + "/items/1"), ("POST", url + "/submission")):
        response = anonymous.open(
            path, method=method, json={"answer": None, "seq": 9}, headers={"X-CSRFToken": token}
        )
        assert response.status_code == 401, path
    mine = me.call("GET", url).get_json()
    assert mine["status"] == "in_progress" and mine["items"][0]["seq"] == 1


def test_option_ids_are_random_per_attempt(app: Flask, round_id: int) -> None:
    first = Player(app, "a1").call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    second = Player(app, "a2").call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    ids_1 = {o["id"] for i in first["items"] for o in i["options"]}
    ids_2 = {o["id"] for i in second["items"] for o in i["options"]}
    assert ids_1 and not ids_1 & ids_2


def test_older_saves_never_overwrite_newer_ones(app: Flask, round_id: int) -> None:
    me = Player(app, "sun")
    attempt = me.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    url = f"/api/v1/attempts/{attempt['id']}/items/1"
    item = attempt["items"][0]
    assert me.call("PUT", url, {"answer": answer_for(item), "seq": 5}).get_json()["saved"]
    late = me.call("PUT", url, {"answer": None, "seq": 3}).get_json()
    assert late == {"saved": False, "seq": 5, "deadline_at": attempt["deadline_at"]}
    again = me.call("PUT", url, {"answer": answer_for(item), "seq": 5}).get_json()
    assert again == {"saved": False, "seq": 5, "deadline_at": attempt["deadline_at"]}
    current = me.call("GET", f"/api/v1/attempts/{attempt['id']}").get_json()
    assert current["items"][0]["answer"] == answer_for(item)


def test_bad_answers_are_422(app: Flask, round_id: int) -> None:
    me = Player(app, "qian")
    attempt = me.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    url = f"/api/v1/attempts/{attempt['id']}/items"
    for position, item in enumerate(attempt["items"], start=1):
        bad = {
            "single": "no-such-id",
            "multiple": "x",
            "true_false": "yes",
            "fill_blank": [1],
            "ordering": ["x"],
        }[item["type"]]
        response = me.call("PUT", f"{url}/{position}", {"answer": bad, "seq": position})
        assert response.status_code == 422, item["type"]
    assert me.call("PUT", f"{url}/99", {"answer": None, "seq": 1}).status_code == 404
    assert me.call("PUT", f"{url}/1", {"seq": 1}).status_code == 422


def test_moving_the_close_moves_open_attempts_deadlines(app: Flask, round_id: int) -> None:
    """The organizers move the close while attempts are open: earlier, and saves stop at the new
    close plus grace (and ``after_close`` review waits for that, not the old close); later, and
    the open attempts get the time their duration allows."""
    me, other = Player(app, "zhou"), Player(app, "wu")
    mine = me.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    theirs = other.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    other.call("POST", f"/api/v1/attempts/{theirs['id']}/submission")
    make_worker(app, [queues.SCORING]).work(burst=True)
    with app.app_context():
        round_ = contest_service.get_round(round_id)
        contest_id, duration_s = round_.contest_id, round_.duration_s
        started = db.session.get_one(Attempt, mine["id"]).started_at
        add_user("boss", Role.ORGANIZER)
    boss = app.test_client()
    assert api_login(boss, "boss").status_code == 200
    token = csrf_token(boss)

    def move_close(to: datetime) -> None:
        response = boss.patch(
            f"/api/v1/contests/{contest_id}/rounds/{round_id}",
            json={"closes_at": to.isoformat(), "review_policy": "after_close"},
            headers={"X-CSRFToken": token},
        )
        assert response.status_code == 200, response.get_json()

    def deadline() -> datetime:
        body = me.call("GET", f"/api/v1/attempts/{mine['id']}").get_json()
        return datetime.fromisoformat(body["deadline_at"])

    url = f"/api/v1/attempts/{mine['id']}/items/1"
    earlier = datetime.now(UTC) - timedelta(seconds=5)  # inside the 10 s grace
    move_close(earlier)
    assert abs(deadline() - earlier) < timedelta(milliseconds=1)
    saved = me.call("PUT", url, {"answer": None, "seq": 1})
    assert saved.status_code == 200  # and the page's timer learns the new deadline from it
    assert datetime.fromisoformat(saved.get_json()["deadline_at"]) == deadline()
    review = other.call("GET", f"/api/v1/attempts/{theirs['id']}/result").get_json()
    assert review["review"] is False  # a contestant still saves: no key yet

    later = datetime.now(UTC) + timedelta(days=1)
    move_close(later)  # reopened in time: the duration decides again
    assert abs(deadline() - (started + timedelta(seconds=duration_s))) < timedelta(milliseconds=1)

    move_close(datetime.now(UTC) - timedelta(seconds=11))  # past the grace: closed
    refused = me.call("PUT", url, {"answer": None, "seq": 2})
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "attempt_closed"
    review = other.call("GET", f"/api/v1/attempts/{theirs['id']}/result").get_json()
    assert review["review"] is True


def test_deadline_grace_and_client_times(app: Flask, round_id: int) -> None:
    me = Player(app, "zhou")
    attempt = me.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    url = f"/api/v1/attempts/{attempt['id']}/items/1"
    # A client claiming an earlier time changes nothing: the server's clock decides.
    body = {"answer": None, "seq": 1, "saved_at": "2000-01-01T00:00:00Z", "deadline_at": "2099"}
    assert me.call("PUT", url, body).status_code == 200
    with app.app_context():
        row = db.session.get(Attempt, attempt["id"])
        assert row is not None
        row.deadline_at = datetime.now(UTC) - timedelta(seconds=5)  # within the 10 s grace
        db.session.commit()
    assert me.call("PUT", url, {"answer": None, "seq": 2}).status_code == 200
    with app.app_context():
        row = db.session.get(Attempt, attempt["id"])
        assert row is not None
        row.deadline_at = datetime.now(UTC) - timedelta(seconds=11)
        db.session.commit()
    late = me.call("PUT", url, {"answer": None, "seq": 3})
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "attempt_closed"
    assert me.call("GET", f"/api/v1/attempts/{attempt['id']}").get_json()["status"] == "submitted"


def test_attempts_allowed_are_enforced(app: Flask, round_id: int) -> None:
    me = Player(app, "wu")
    attempt = me.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    me.call("POST", f"/api/v1/attempts/{attempt['id']}/submission")
    again = me.call("POST", f"/api/v1/rounds/{round_id}/attempts")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "attempts_used_up"


def test_a_second_device_takes_over(app: Flask, round_id: int) -> None:
    phone = Player(app, "zheng", device="phone")
    attempt = phone.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    first = phone.call(
        "PUT", f"/api/v1/attempts/{attempt['id']}/items/1", {"answer": None, "seq": 1}
    )
    assert first.status_code == 200  # the process now knows the item: the next save is one trip
    laptop = app.test_client()
    api_login(laptop, "zheng", PASSWORD)
    token = csrf_token(laptop)
    took = laptop.post(
        f"/api/v1/rounds/{round_id}/attempts",
        headers={"X-CSRFToken": token, "X-Device-Id": "laptop"},
    )
    assert took.status_code == 200 and took.get_json()["id"] == attempt["id"]
    stale = phone.call(
        "PUT", f"/api/v1/attempts/{attempt['id']}/items/1", {"answer": None, "seq": 2}
    )
    assert stale.status_code == 409 and stale.get_json()["error"]["code"] == "device_replaced"
    # The paper says which device holds it, so a page opened elsewhere can tell at once.
    assert attempt["held_here"] is True and took.get_json()["held_here"] is True
    assert phone.call("GET", f"/api/v1/attempts/{attempt['id']}").get_json()["held_here"] is False
    seen_by_laptop = laptop.get(
        f"/api/v1/attempts/{attempt['id']}", headers={"X-Device-Id": "laptop"}
    ).get_json()
    assert seen_by_laptop["held_here"] is True
    unnamed = laptop.get(f"/api/v1/attempts/{attempt['id']}").get_json()
    assert unnamed["held_here"] is True  # a request naming no device is not told apart


def test_focus_losses_count_after_grace_and_trigger_the_action(app: Flask) -> None:
    with app.app_context():
        round_id = paper_round(
            published_bank(), integrity_threshold=1, integrity_action="submit", focus_grace_s=3
        ).id
    me = Player(app, "feng")
    attempt = me.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    url = f"/api/v1/attempts/{attempt['id']}/integrity-events"
    me.call("POST", url, {"kind": "hidden"})
    short = me.call("POST", url, {"kind": "visible"}).get_json()  # a notification: under 3 s
    assert short["counted"] is False and short["remaining"] == 1
    with app.app_context():
        row = db.session.get(Attempt, attempt["id"])
        assert row is not None
        row.started_at = datetime.now(UTC) - timedelta(minutes=5)
        db.session.commit()
    # The "hidden" report got lost: the client's measure counts, capped by the time elapsed.
    first = me.call("POST", url, {"kind": "visible", "duration_ms": 8000}).get_json()
    assert first["counted"] is True and first["remaining"] == 0 and first["action"] is None
    second = me.call("POST", url, {"kind": "visible", "duration_ms": 9000}).get_json()
    assert second["action"] == "submit" and second["status"] == "submitted"
    with app.app_context():
        row = db.session.get(Attempt, attempt["id"])
        assert row is not None and row.flagged and row.submitted_by == "integrity"


def test_a_repeated_hidden_report_neither_restarts_the_absence_nor_adds_rows(
    app: Flask,
) -> None:
    with app.app_context():
        round_id = paper_round(published_bank(), integrity_threshold=3, focus_grace_s=3).id
    me = Player(app, "wei")
    attempt = me.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    url = f"/api/v1/attempts/{attempt['id']}/integrity-events"
    me.call("POST", url, {"kind": "hidden"})
    with app.app_context():
        row = db.session.get(Attempt, attempt["id"])
        assert row is not None and row.focus_lost_at is not None
        row.focus_lost_at -= timedelta(seconds=10)  # the page has been hidden for 10 s
        db.session.commit()
    for _ in range(5):  # a page (or a script) reporting again and again
        me.call("POST", url, {"kind": "hidden"})
    back = me.call("POST", url, {"kind": "visible"}).get_json()
    assert back["counted"] is True and back["focus_losses"] == 1
    with app.app_context():
        kinds = db.session.scalars(
            select(IntegrityEvent.kind).where(IntegrityEvent.attempt_id == attempt["id"])
        ).all()
    assert sorted(kinds) == ["hidden", "visible"]


def test_abandoned_attempts_are_closed_and_scored(app: Flask, round_id: int) -> None:
    me = Player(app, "chen")
    attempt = me.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    with app.app_context():
        row = db.session.get(Attempt, attempt["id"])
        assert row is not None
        row.deadline_at = datetime.now(UTC) - timedelta(minutes=1)
        db.session.commit()
        assert close_overdue_attempts() == 1
    make_worker(app, [queues.SCORING]).work(burst=True)
    with app.app_context():
        row = db.session.get(Attempt, attempt["id"])
        assert row is not None and row.status is AttemptStatus.SCORED
        assert row.submitted_by == "deadline" and row.score == 0


def test_the_sweep_passes_over_attempts_still_in_their_grace(
    app: Flask, round_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from workers import deadlines

    monkeypatch.setattr(deadlines, "SWEEP_PAGE", 2)  # more attempts in grace than one page
    ids = []
    for n in range(3):
        started = Player(app, f"grace{n}").call("POST", f"/api/v1/rounds/{round_id}/attempts")
        ids.append(started.get_json()["id"])
    late = Player(app, "grace-late").call("POST", f"/api/v1/rounds/{round_id}/attempts")
    now = datetime.now(UTC)
    with app.app_context():
        for attempt_id in ids:  # past the deadline, inside the 10 s grace: still open
            row = db.session.get(Attempt, attempt_id)
            assert row is not None
            row.deadline_at = now - timedelta(seconds=2)
        row = db.session.get(Attempt, late.get_json()["id"])
        assert row is not None
        row.deadline_at = now - timedelta(minutes=1)
        db.session.commit()
    closed: list[int] = []

    def sweep() -> None:
        with app.app_context():
            closed.append(deadlines.close_overdue_attempts(now))

    worker = threading.Thread(target=sweep, daemon=True)
    worker.start()
    worker.join(30)
    assert not worker.is_alive(), "the sweep kept finding the same attempts in their grace"
    assert closed == [1]


def test_the_stored_seed_reproduces_the_paper(app: Flask, round_id: int) -> None:
    me = Player(app, "han")
    attempt = me.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    with app.app_context():
        row = db.session.get(Attempt, attempt["id"])
        round_ = contest_service.get_round(round_id)
        assert row is not None
        rows = blueprints.blueprint_rows(round_.blueprint)
        pools = [blueprints.candidates(round_.bank_id, r) for r in rows]
        again = draw_paper(rows, [list(reversed(p)) for p in pools], row.seed)
        stored = [(i.question_version_id, i.option_order, i.option_ids) for i in row.items]
        assert [(p.version_id, list(p.option_order), list(p.option_ids)) for p in again] == stored
        other = draw_paper(rows, pools, row.seed + 1)
        assert [p.version_id for p in other] != [s[0] for s in stored]


def test_organizers_do_not_take_attempts(app: Flask, round_id: int) -> None:
    client = app.test_client()
    with app.app_context():
        add_user("host", Role.ORGANIZER)
    api_login(client, "host", PASSWORD)
    response = client.post(
        f"/api/v1/rounds/{round_id}/attempts", headers={"X-CSRFToken": csrf_token(client)}
    )
    assert response.status_code == 403
    with app.app_context():
        assert db.session.query(User).count() == 1


def test_starting_schedules_the_close_at_deadline_plus_grace(app: Flask, round_id: int) -> None:
    from workers.deadlines import close_attempt
    from workers.runner import get_queue

    me = Player(app, "jiang")
    attempt = me.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    registry = get_queue(app, queues.DEFAULT).scheduled_job_registry
    job_id = f"close-{attempt['id']}"
    assert job_id in registry.get_job_ids()
    scheduled = registry.get_scheduled_time(job_id)
    deadline = datetime.fromisoformat(attempt["deadline_at"])
    assert abs((scheduled - deadline).total_seconds() - 11) < 1  # grace 10 s + 1 s
    with app.app_context():
        assert close_attempt(attempt["id"]) == "in_progress"  # not due yet: nothing happens
        row = db.session.get(Attempt, attempt["id"])
        assert row is not None
        row.deadline_at = datetime.now(UTC) - timedelta(seconds=30)
        db.session.commit()
        assert close_attempt(attempt["id"]) == "submitted"
        assert close_attempt(attempt["id"]) == "submitted"  # idempotent


def test_the_next_round_admits_only_qualifiers(app: Flask) -> None:
    from contest.services import contests as service

    with app.app_context():
        bank_id = published_bank()
        first = paper_round(bank_id, qualification={"kind": "top_n", "value": 1})
        second = service.save_round(
            first.contest_id,
            title="复赛",
            bank_id=bank_id,
            duration_s=600,
            blueprint=first.blueprint,
        )
        db.session.commit()
        first_id, second_id = first.id, second.id
    good, weak = Player(app, "gao"), Player(app, "di")
    for player, right in ((good, True), (weak, False)):
        attempt = player.call("POST", f"/api/v1/rounds/{first_id}/attempts").get_json()
        for n, item in enumerate(attempt["items"], start=1):
            player.call(
                "PUT",
                f"/api/v1/attempts/{attempt['id']}/items/{item['position']}",
                {"answer": answer_for(item, right), "seq": n},
            )
        player.call("POST", f"/api/v1/attempts/{attempt['id']}/submission")
    make_worker(app, [queues.SCORING]).work(burst=True)
    early = good.call("POST", f"/api/v1/rounds/{second_id}/attempts")
    assert early.status_code == 409  # qualifiers are known once the first round has closed
    assert early.get_json()["error"]["code"] == "qualification_pending"
    with app.app_context():
        service.get_round(first_id).closes_at = datetime.now(UTC) - timedelta(minutes=1)
        db.session.commit()
    assert good.call("POST", f"/api/v1/rounds/{second_id}/attempts").status_code == 201
    refused = weak.call("POST", f"/api/v1/rounds/{second_id}/attempts")
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "not_qualified"


def test_two_starts_at_once_give_one_attempt(app: Flask, round_id: int) -> None:
    """A double tap: concurrent starts over a real threaded server give one attempt."""
    import http.cookiejar
    import threading
    import urllib.request

    from werkzeug.serving import make_server

    with app.app_context():
        user_id = add_user("double", Role.CONTESTANT).id
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    base = f"http://127.0.0.1:{server.port}/api/v1"
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )

    def call(method: str, path: str, token: str = "", body: Any = None) -> Any:
        request = urllib.request.Request(
            base + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={
                "Content-Type": "application/json",
                "X-CSRFToken": token,
                "X-Device-Id": "phone",
            },
        )
        with opener.open(request) as response:
            return response.status, json.load(response)

    statuses: list[int] = []
    try:
        token = call("GET", "/session")[1]["csrf_token"]
        token = call("POST", "/session", token, {"username": "double", "password": PASSWORD})[1][
            "csrf_token"
        ]
        threads = [
            threading.Thread(
                target=lambda: statuses.append(
                    call("POST", f"/rounds/{round_id}/attempts", token)[0]
                )
            )
            for _ in range(4)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert sorted(statuses) == [200, 200, 200, 201]
    with app.app_context():
        assert db.session.query(Attempt).filter_by(user_id=user_id).count() == 1


def test_an_attempt_closed_by_a_late_request_is_still_scored(app: Flask, round_id: int) -> None:
    from workers.deadlines import close_attempt

    me = Player(app, "late")
    attempt = me.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    with app.app_context():
        row = db.session.get(Attempt, attempt["id"])
        assert row is not None
        row.deadline_at = datetime.now(UTC) - timedelta(minutes=1)
        db.session.commit()
    # The phone wakes up after the deadline: its report closes the attempt, queueing nothing.
    me.call("POST", f"/api/v1/attempts/{attempt['id']}/integrity-events", {"kind": "visible"})
    with app.app_context():
        assert close_attempt(attempt["id"]) == "submitted"  # the scheduled job runs later
    make_worker(app, [queues.SCORING]).work(burst=True)
    result = me.call("GET", f"/api/v1/attempts/{attempt['id']}/result").get_json()
    assert result["status"] == "scored" and result["score"] == 0


def test_a_deactivated_account_can_no_longer_save(app: Flask, round_id: int) -> None:
    me = Player(app, "gone")
    attempt = me.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    item = attempt["items"][0]
    url = f"/api/v1/attempts/{attempt['id']}/items/{item['position']}"
    assert me.call("PUT", url, {"answer": answer_for(item), "seq": 1}).status_code == 200
    with app.app_context():
        user = db.session.scalars(db.select(User).filter_by(username="gone")).one()
        user.active = False
        db.session.commit()
    refused = me.call("PUT", url, {"answer": answer_for(item), "seq": 2})
    assert refused.status_code == 401
    with app.app_context():
        stored = db.session.scalars(
            db.select(AttemptItem.seq).filter_by(
                attempt_id=attempt["id"], position=item["position"]
            )
        ).one()
    assert stored == 1


def test_submissions_answer_alike_on_the_fast_and_the_general_path(
    app: Flask, round_id: int
) -> None:
    me = Player(app, "twice")
    attempt = me.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    url = f"/api/v1/attempts/{attempt['id']}/submission"
    first = me.call("POST", url)  # in time, on its device: the fast path
    again = me.call("POST", url)  # already submitted: the general path answers
    assert first.status_code == again.status_code == 200
    assert first.get_json() == again.get_json()
    assert first.get_json()["status"] == "submitted" and first.get_json()["score"] is None
    with app.app_context():
        row = db.session.get(Attempt, attempt["id"])
        assert row is not None and row.submitted_by == "contestant"
        assert row.submitted_at is not None and row.time_used_s == first.get_json()["time_used_s"]


def test_a_late_submission_is_closed_at_the_deadline(app: Flask, round_id: int) -> None:
    me = Player(app, "tardy")
    attempt = me.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    deadline = datetime.now(UTC) - timedelta(minutes=1)
    with app.app_context():
        row = db.session.get(Attempt, attempt["id"])
        assert row is not None
        row.deadline_at = deadline
        db.session.commit()
    late = me.call("POST", f"/api/v1/attempts/{attempt['id']}/submission")
    assert late.status_code == 200 and late.get_json()["status"] == "submitted"
    with app.app_context():
        row = db.session.get(Attempt, attempt["id"])
        assert row is not None and row.submitted_by == "deadline"
        assert abs((row.submitted_at - deadline).total_seconds()) < 0.01  # type: ignore[operator]


def test_a_deactivated_account_can_no_longer_submit(app: Flask, round_id: int) -> None:
    me = Player(app, "left")
    attempt = me.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    with app.app_context():
        user = db.session.scalars(db.select(User).filter_by(username="left")).one()
        user.active = False
        db.session.commit()
    refused = me.call("POST", f"/api/v1/attempts/{attempt['id']}/submission")
    assert refused.status_code == 401
    with app.app_context():
        row = db.session.get(Attempt, attempt["id"])
        assert row is not None and row.status.value == "in_progress"


def test_no_save_lands_after_the_submission(app: Flask, round_id: int) -> None:
    me = Player(app, "done")
    attempt = me.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    item = attempt["items"][0]
    url = f"/api/v1/attempts/{attempt['id']}/items/{item['position']}"
    assert me.call("PUT", url, {"answer": answer_for(item, False), "seq": 1}).get_json()["saved"]
    assert me.call("POST", f"/api/v1/attempts/{attempt['id']}/submission").status_code == 200
    late = me.call("PUT", url, {"answer": answer_for(item), "seq": 2})
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "attempt_closed"
    with app.app_context():
        stored = db.session.scalars(
            db.select(AttemptItem.answer).filter_by(
                attempt_id=attempt["id"], position=item["position"]
            )
        ).one()
    assert stored == answer_for(item, False)


def statements_during(app: Flask, call: Any) -> list[str]:
    """The SQL statements the database driver ran during ``call()``."""
    from sqlalchemy import event

    with app.app_context():
        engine = db.engine
    ran: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        ran.append(statement.split(None, 1)[0].upper())

    event.listen(engine, "before_cursor_execute", record)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return [s for s in ran if s not in ("BEGIN", "PRAGMA")]


def test_the_fast_paths_take_one_statement_per_save_and_two_per_submission(
    app: Flask, round_id: int
) -> None:
    me = Player(app, "fast")
    attempt = me.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    url = f"/api/v1/attempts/{attempt['id']}"
    items = attempt["items"]
    first = statements_during(
        app, lambda: me.call("PUT", f"{url}/items/1", {"answer": answer_for(items[0]), "seq": 1})
    )
    assert first == ["SELECT", "UPDATE"]  # the check brings the whole paper's shape along
    for n, item in enumerate(items[1:], start=2):  # every other item: one statement each
        saved = statements_during(
            app,
            lambda item=item, n=n: me.call(
                "PUT", f"{url}/items/{item['position']}", {"answer": answer_for(item), "seq": n}
            ),
        )
        assert saved == ["UPDATE"], item["position"]
    submitted = statements_during(app, lambda: me.call("POST", f"{url}/submission"))
    assert submitted == ["SELECT", "UPDATE"]
    assert me.seen[-1]["status"] == "submitted"
    make_worker(app, [queues.SCORING]).work(burst=True)
    result = me.call("GET", f"{url}/result").get_json()
    assert result["score"] == sum(item["points"] for item in items)  # every one-statement save held


def test_papers_are_drawn_from_pools_each_process_keeps_for_seconds(
    app: Flask, round_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    with app.app_context():
        round_ = contest_service.get_round(round_id)
        rows = blueprints.blueprint_rows(round_.blueprint)
        kept = blueprints.drawing_pools(round_.bank_id, rows)
        retired = kept[0][0].question_id
        db.session.get(Question, retired).status = QuestionStatus.RETIRED  # type: ignore[union-attr]
        db.session.commit()
        again = blueprints.drawing_pools(round_.bank_id, rows)
        assert all(a is b for a, b in zip(again, kept, strict=True))  # no read: the same pools
        monkeypatch.setattr(blueprints, "DRAWING_POOLS_TTL_S", -1.0)  # they have expired
        fresh = blueprints.drawing_pools(round_.bank_id, rows)
        for new, old in zip(fresh, kept, strict=True):
            assert new == tuple(c for c in old if c.question_id != retired)


def test_invite_codes_cannot_be_guessed_without_limit(app: Flask) -> None:
    with app.app_context():
        round_ = paper_round(published_bank())
        round_.contest.registration_mode = "invite"  # type: ignore[assignment]
        round_.contest.invite_code = "4821"
        db.session.commit()
        url = f"/api/v1/contests/{round_.contest_id}/registration"
    guesser, other = Player(app, "guesser"), Player(app, "other")
    for guess in range(10):  # INVITE_LIMIT_ACCOUNT: 10 wrong codes per 5 minutes
        wrong = guesser.call("POST", url, {"invite_code": f"{guess:04d}"})
        assert wrong.status_code == 403, wrong.get_json()
        assert wrong.get_json()["error"]["code"] == "bad_invite_code"
    stopped = guesser.call("POST", url, {"invite_code": "4821"})  # even the right one, for now
    assert stopped.status_code == 429 and stopped.get_json()["error"]["code"] == "rate_limited"
    assert 0 < int(stopped.headers["Retry-After"]) <= 300
    assert other.call("POST", url, {"invite_code": "4821"}).status_code == 200  # per account


def test_a_roster_only_contest_is_not_found_by_those_not_on_its_roster(app: Flask) -> None:
    """The API answers as the pages do (404): a contestant cannot even learn that a
    roster-only contest or its rounds exist; one on the roster takes part."""
    with app.app_context():
        round_ = paper_round(published_bank())
        round_.contest.registration_mode = "roster"  # type: ignore[assignment]
        db.session.commit()
        round_id, contest_id = round_.id, round_.contest_id
    outsider, listed = Player(app, "outsider"), Player(app, "listed")
    with app.app_context():
        listed_id = db.session.scalar(select(User.id).where(User.username == "listed"))
        assert listed_id is not None
        contest_service.register(contest_id, listed_id, now=datetime.now(UTC), by_organizer=True)
        db.session.commit()
    for url in (
        f"/api/v1/contests/{contest_id}/registration",
        f"/api/v1/rounds/{round_id}/attempts",
    ):
        refused = outsider.call("POST", url, {})
        assert refused.status_code == 404, (url, refused.get_json())
        assert refused.get_json()["error"]["code"] == "not_found"
    listed_contests = listed.call("GET", "/api/v1/contests").get_json()["contests"]
    assert [c["id"] for c in listed_contests] == [contest_id]
    assert outsider.call("GET", "/api/v1/contests").get_json()["contests"] == []
    assert listed.call("POST", f"/api/v1/rounds/{round_id}/attempts").status_code in (200, 201)


def test_moving_the_close_later_does_not_reopen_an_attempt_past_its_grace(
    app: Flask, round_id: int
) -> None:
    """An attempt past its deadline plus grace that no sweep has closed yet is over: the answer
    keys may be out (``after_close``), so a close moved later again does not reopen it."""
    me = Player(app, "zhou")
    mine = me.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    with app.app_context():
        round_ = contest_service.get_round(round_id)
        contest_service.save_round(
            round_.contest_id,
            round_id,
            closes_at=datetime.now(UTC) - timedelta(seconds=60),
            review_policy="after_close",
        )
        db.session.commit()
        assert db.session.get_one(Attempt, mine["id"]).status is AttemptStatus.IN_PROGRESS
        contest_service.save_round(
            round_.contest_id, round_id, closes_at=datetime.now(UTC) + timedelta(days=1)
        )
        db.session.commit()
    refused = me.call("PUT", f"/api/v1/attempts/{mine['id']}/items/1", {"answer": None, "seq": 1})
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "attempt_closed"


def test_a_start_during_a_change_of_the_close_gets_the_new_deadline(
    app: Flask, round_id: int
) -> None:
    """PostgreSQL runs them at once: the organizers' change has retimed the open attempts but
    not committed when a contestant starts. The start waits for the round's row and takes the
    new close, instead of committing an attempt with the old one that no retime will see.
    (SQLite runs one writer at a time.)"""
    import threading

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite serialises the two transactions")
        contest_id = contest_service.get_round(round_id).contest_id
    me = Player(app, "zhou")
    new_close = datetime.now(UTC) + timedelta(minutes=2)  # before start + duration
    retimed, release = threading.Event(), threading.Event()

    def organizer() -> None:
        with app.app_context():
            contest_service.save_round(contest_id, round_id, closes_at=new_close)
            retimed.set()
            release.wait(20)
            db.session.commit()

    started: list[Any] = []
    change = threading.Thread(target=organizer)
    change.start()
    assert retimed.wait(20)
    start = threading.Thread(
        target=lambda: started.append(me.call("POST", f"/api/v1/rounds/{round_id}/attempts"))
    )
    start.start()
    with app.app_context():  # until the start waits for a lock, or is done without waiting
        waiting = text(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        deadline = time.monotonic() + 20
        while start.is_alive() and time.monotonic() < deadline:
            if db.session.execute(waiting).scalar():
                break
            db.session.rollback()
            time.sleep(0.02)
    release.set()
    change.join(20)
    start.join(20)
    assert started and started[0].status_code == 201
    body = me.call("GET", f"/api/v1/attempts/{started[0].get_json()['id']}").get_json()
    assert abs(datetime.fromisoformat(body["deadline_at"]) - new_close) < timedelta(milliseconds=1)


def test_the_clock_tells_an_attempt_its_deadline_and_nobody_else(app: Flask, round_id: int) -> None:
    me, other = Player(app, "zhou"), Player(app, "wu")
    mine = me.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    url = f"/api/v1/attempts/{mine['id']}/clock"
    clock = me.call("GET", url).get_json()
    assert clock["status"] == "in_progress" and clock["deadline_at"] == mine["deadline_at"]
    assert abs(datetime.fromisoformat(clock["server_now"]) - datetime.now(UTC)) < timedelta(
        seconds=5
    )
    assert set(clock) == {"status", "deadline_at", "server_now"}  # no paper, no key
    assert other.call("GET", url).status_code == 404
    assert app.test_client().get(url).status_code == 401
    with app.app_context():
        row = db.session.get_one(Attempt, mine["id"])
        row.deadline_at = datetime.now(UTC) - timedelta(seconds=11)  # past the 10 s grace
        db.session.commit()
    assert me.call("GET", url).get_json()["status"] == "submitted"  # asking closes it


def test_a_start_that_first_closes_an_overdue_attempt_still_waits_for_a_change_of_the_close(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Closing the contestant's overdue attempt commits, which lets go of the round's timing
    lock: the start takes it again before drawing, so the organizers' change still waits for it
    and then retimes the new attempt. (PostgreSQL; SQLite runs one writer at a time.)"""
    import threading

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite serialises the two transactions")
        round_ = paper_round(published_bank(), attempts_allowed=0)
        round_id, contest_id = round_.id, round_.contest_id
    me = Player(app, "zhou")
    first = me.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    with app.app_context():  # open past its deadline plus grace, not swept yet
        db.session.get_one(Attempt, first["id"]).deadline_at = datetime.now(UTC) - timedelta(
            seconds=60
        )
        db.session.commit()
    drawing, changed = threading.Event(), threading.Event()
    draw = attempt_service._new_attempt
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )

    def draw_once_the_change_waits(*args: Any, **kwargs: Any) -> Any:
        drawing.set()
        give_up = time.monotonic() + 20
        with db.engine.connect() as connection:  # until the change waits, or is done (no lock)
            while not changed.is_set() and time.monotonic() < give_up:
                if connection.execute(waiting).scalar():
                    break
                connection.rollback()
                time.sleep(0.02)
        return draw(*args, **kwargs)

    monkeypatch.setattr(attempt_service, "_new_attempt", draw_once_the_change_waits)
    new_close = datetime.now(UTC) + timedelta(minutes=2)  # before start + duration

    def organizer() -> None:
        assert drawing.wait(20)
        with app.app_context():
            contest_service.save_round(contest_id, round_id, closes_at=new_close)
            db.session.commit()
        changed.set()

    change = threading.Thread(target=organizer)
    change.start()
    second = me.call("POST", f"/api/v1/rounds/{round_id}/attempts")
    change.join(20)
    assert second.status_code == 201, second.get_json()
    with app.app_context():
        stored = db.session.get_one(Attempt, second.get_json()["id"]).deadline_at
    assert abs(stored - new_close) < timedelta(milliseconds=1)
