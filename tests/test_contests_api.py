"""Organizer operations on contests and rounds through the API."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from contest.models import Role
from tests.conftest import PASSWORD, add_user, api_login, csrf_token
from tests.support.contests import BLUEPRINT, published_bank


def test_create_contest_and_round_then_patch_and_list_attempts(
    app: Flask, organizer_client: FlaskClient
) -> None:
    with app.app_context():
        bank_id = published_bank()
    headers = {"X-CSRFToken": csrf_token(organizer_client)}
    created = organizer_client.post("/api/v1/contests", json={"title": "区赛"}, headers=headers)
    assert created.status_code == 201
    contest_id = created.get_json()["id"]
    round_body = {
        "title": "初赛",
        "bank_id": bank_id,
        "duration_s": 900,
        "blueprint": BLUEPRINT,
        "opens_at": "2026-12-01T09:00:00+08:00",
        "closes_at": "2026-12-01T11:00:00+08:00",
    }
    made = organizer_client.post(
        f"/api/v1/contests/{contest_id}/rounds", json=round_body, headers=headers
    )
    assert made.status_code == 201, made.get_json()
    round_id = made.get_json()["id"]
    assert made.get_json()["opens_at"].startswith("2026-12-01T01:00:00")  # stored as UTC
    patched = organizer_client.patch(
        f"/api/v1/contests/{contest_id}/rounds/{round_id}",
        json={"attempts_allowed": 3},
        headers=headers,
    )
    assert patched.status_code == 200 and patched.get_json()["attempts_allowed"] == 3
    contest = organizer_client.get(f"/api/v1/contests/{contest_id}").get_json()
    assert [r["title"] for r in contest["rounds"]] == ["初赛"]
    listed = organizer_client.get(f"/api/v1/rounds/{round_id}/attempts").get_json()
    assert listed["attempts"] == [] and listed["total"] == 0


def test_a_blueprint_the_bank_cannot_fill_lists_every_short_row(
    app: Flask, organizer_client: FlaskClient
) -> None:
    with app.app_context():
        bank_id = published_bank(per_type=2)
    headers = {"X-CSRFToken": csrf_token(organizer_client)}
    contest_id = organizer_client.post(
        "/api/v1/contests", json={"title": "区赛"}, headers=headers
    ).get_json()["id"]
    blueprint = [
        {"category": "基础知识", "type": "multiple", "difficulty": "hard", "count": 5, "points": 3},
        {"category": "法律法规", "type": "single", "count": 1, "points": 2},
        {"category": "基础知识", "type": "true_false", "count": 2, "points": 1},
    ]
    response = organizer_client.post(
        f"/api/v1/contests/{contest_id}/rounds",
        json={"title": "初赛", "bank_id": bank_id, "duration_s": 600, "blueprint": blueprint},
        headers=headers,
    )
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "blueprint_shortfall"
    assert "基础知识 / 多选题 / 难" in error["message"] and "法律法规 / 单选题" in error["message"]
    assert "判断题" not in error["message"]
    assert organizer_client.get(f"/api/v1/contests/{contest_id}").get_json()["rounds"] == []


def test_contest_operations_are_for_organizers_only(app: Flask, client: FlaskClient) -> None:
    assert (
        client.post(
            "/api/v1/contests", json={"title": "x"}, headers={"X-CSRFToken": csrf_token(client)}
        ).status_code
        == 401
    )
    with app.app_context():
        add_user("someone", Role.CONTESTANT)
    api_login(client, "someone", PASSWORD)
    headers = {"X-CSRFToken": csrf_token(client)}
    for method, url in (
        ("POST", "/api/v1/contests"),
        ("GET", "/api/v1/contests/1"),
        ("POST", "/api/v1/contests/1/rounds"),
        ("PATCH", "/api/v1/contests/1/rounds/1"),
        ("GET", "/api/v1/rounds/1/attempts"),
    ):
        response = client.open(url, method=method, json={"title": "x"}, headers=headers)
        assert response.status_code == 403, url


def test_overlapping_rows_are_checked_together(app: Flask, organizer_client: FlaskClient) -> None:
    with app.app_context():
        bank_id = published_bank(per_type=4)
    headers = {"X-CSRFToken": csrf_token(organizer_client)}
    contest_id = organizer_client.post(
        "/api/v1/contests", json={"title": "区赛"}, headers=headers
    ).get_json()["id"]
    blueprint = [
        {"category": "基础知识", "type": "single", "count": 3, "points": 2},
        {"category": "", "type": "single", "count": 2, "points": 2},
    ]
    response = organizer_client.post(
        f"/api/v1/contests/{contest_id}/rounds",
        json={"title": "初赛", "bank_id": bank_id, "duration_s": 600, "blueprint": blueprint},
        headers=headers,
    )
    assert response.status_code == 422
    assert "基础知识 / 单选题" in response.get_json()["error"]["message"]
    blueprint[0]["count"] = 2  # 2 + 2 of 4: drawable whichever row goes first
    ok = organizer_client.post(
        f"/api/v1/contests/{contest_id}/rounds",
        json={"title": "初赛", "bank_id": bank_id, "duration_s": 600, "blueprint": blueprint},
        headers=headers,
    )
    assert ok.status_code == 201


def test_settings_out_of_range_are_422(app: Flask, organizer_client: FlaskClient) -> None:
    with app.app_context():
        bank_id = published_bank()
    headers = {"X-CSRFToken": csrf_token(organizer_client)}
    contest_id = organizer_client.post(
        "/api/v1/contests", json={"title": "区赛"}, headers=headers
    ).get_json()["id"]
    base = {"title": "初赛", "bank_id": bank_id, "duration_s": 600, "blueprint": BLUEPRINT}
    for bad in (
        {"score_policy": "bogus"},
        {"attempts_allowed": -3},
        {"grace_s": -5},
        {"qualification": {"whatever": 1}},
        {"duration_s": 5},
    ):
        response = organizer_client.post(
            f"/api/v1/contests/{contest_id}/rounds", json={**base, **bad}, headers=headers
        )
        assert response.status_code == 422, bad


def test_review_policy_defaults_follow_the_window(
    app: Flask, organizer_client: FlaskClient
) -> None:
    with app.app_context():
        bank_id = published_bank()
    headers = {"X-CSRFToken": csrf_token(organizer_client)}
    contest_id = organizer_client.post(
        "/api/v1/contests", json={"title": "区赛"}, headers=headers
    ).get_json()["id"]
    base = {"title": "初赛", "bank_id": bank_id, "duration_s": 600, "blueprint": BLUEPRINT}
    url = f"/api/v1/contests/{contest_id}/rounds"
    practice = organizer_client.post(url, json=base, headers=headers).get_json()
    assert practice["review_policy"] == "after_submit"
    timed = organizer_client.post(
        url, json={**base, "closes_at": "2026-12-01T11:00:00+08:00"}, headers=headers
    ).get_json()
    assert timed["review_policy"] == "after_close"
    never_opens = organizer_client.post(
        url, json={**base, "review_policy": "after_close"}, headers=headers
    )
    assert never_opens.status_code == 422
