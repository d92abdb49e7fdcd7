"""Organizer pages for question banks: authoring, preview, history, bulk status, access."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from contest.extensions import db
from contest.models import User
from contest.services import bank as bank_service
from question_bank.domain import QuestionData, QuestionType
from question_bank.models import Question, QuestionStatus
from tests.conftest import csrf_token

NOW = datetime(2026, 11, 29, tzinfo=UTC)


@pytest.fixture
def bank_id(app: Flask) -> int:
    with app.app_context():
        bank = bank_service.create_bank("演示题库")
        q = bank_service.add_question(
            bank.id,
            QuestionData(QuestionType.TRUE_FALSE, "公共Wi-Fi可以放心登录网银。", False),
            actor_id=None,
            now=NOW,
        )
        db.session.commit()
        app.config["TEST_QUESTION_ID"] = q.id
        return bank.id


def bank_urls(bank_id: int, question_id: int) -> list[str]:
    return [
        "/admin/banks",
        f"/admin/banks/{bank_id}",
        f"/admin/banks/{bank_id}/questions/new",
        f"/admin/questions/{question_id}",
        f"/admin/questions/{question_id}/edit",
        f"/admin/questions/{question_id}/diff?a=1&b=1",
        f"/admin/banks/{bank_id}/import",
        f"/admin/banks/{bank_id}/export/json",
    ]


def test_bank_pages_refuse_anonymous_users_and_contestants(
    app: Flask, client: FlaskClient, bank_id: int, contestant: User
) -> None:
    urls = bank_urls(bank_id, app.config["TEST_QUESTION_ID"])
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    client.post(
        "/api/v1/session",
        json={"username": "alice", "password": "correct-horse-battery"},
        headers={"X-CSRFToken": csrf_token(client)},
    )
    for url in urls:
        assert client.get(url).status_code == 403, url
    token = csrf_token(client)
    assert (
        client.post(
            "/admin/preview", json={"stem": "x"}, headers={"X-CSRFToken": token}
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"/admin/banks/{bank_id}/status",
            data={
                "csrf_token": token,
                "to": "published",
                "question_id": app.config["TEST_QUESTION_ID"],
            },
        ).status_code
        == 403
    )


def test_bank_api_operations_refuse_anonymous_users_and_contestants(
    client: FlaskClient, bank_id: int, contestant: User
) -> None:
    calls = [
        ("GET", "/api/v1/banks"),
        ("GET", "/api/v1/imports/1"),
        ("GET", f"/api/v1/banks/{bank_id}/export?format=json"),
        ("POST", f"/api/v1/banks/{bank_id}/imports"),
    ]
    token = csrf_token(client)
    for method, url in calls:
        response = client.open(url, method=method, headers={"X-CSRFToken": token})
        assert response.status_code == 401, url
        assert response.get_json()["error"]["code"] == "not_logged_in"
    client.post(
        "/api/v1/session",
        json={"username": "alice", "password": "correct-horse-battery"},
        headers={"X-CSRFToken": token},
    )
    token = csrf_token(client)
    for method, url in calls:
        response = client.open(url, method=method, headers={"X-CSRFToken": token})
        assert response.status_code == 403, url


def test_all_pages_open_for_organizers(
    app: Flask, organizer_client: FlaskClient, bank_id: int
) -> None:
    for url in bank_urls(bank_id, app.config["TEST_QUESTION_ID"]):
        assert organizer_client.get(url).status_code == 200, url


def question_form(**overrides: str) -> dict[str, str]:
    form = {
        "type": "single",
        "stem": "发现**钓鱼邮件**后应当？",
        "option_a": "点开链接看看",
        "option_b": "向安全部门报告",
        "option_c": "转发给同事",
        "option_d": "回复询问",
        "answer": "B",
        "explanation": "应及时报告。",
        "difficulty": "easy",
        "category": "基础知识/钓鱼",
        "tags": "钓鱼, 邮件",
    }
    form.update(overrides)
    return form


def test_create_edit_history_and_diff(
    app: Flask, organizer_client: FlaskClient, bank_id: int
) -> None:
    form = question_form(csrf_token=csrf_token(organizer_client))
    response = organizer_client.post(f"/admin/banks/{bank_id}/questions/new", data=form)
    assert response.status_code == 302
    question_url = response.headers["Location"]
    page = organizer_client.get(question_url).get_data(as_text=True)
    assert "<strong>钓鱼邮件</strong>" in page and "基础知识/钓鱼" in page
    question_id = int(question_url.rstrip("/").split("/")[-1])

    form["stem"] = "收到可疑的钓鱼邮件后应当？"
    form["csrf_token"] = csrf_token(organizer_client)
    assert (
        organizer_client.post(f"/admin/questions/{question_id}/edit", data=form).status_code == 302
    )
    with app.app_context():
        versions = bank_service.versions(question_id)
        assert [v.number for v in versions] == [2, 1]
    diff = organizer_client.get(f"/admin/questions/{question_id}/diff?a=1&b=2")
    text = diff.get_data(as_text=True)
    assert "-发现**钓鱼邮件**后应当？" in text and "+收到可疑的钓鱼邮件后应当？" in text


def test_bad_form_input_shows_every_reason_and_saves_nothing(
    app: Flask, organizer_client: FlaskClient, bank_id: int
) -> None:
    form = question_form(answer="E", option_c="", csrf_token=csrf_token(organizer_client))
    response = organizer_client.post(f"/admin/banks/{bank_id}/questions/new", data=form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'role="alert"' in page
    with app.app_context():
        assert len(db.session.scalars(select(Question)).all()) == 1


def test_duplicates_warn_and_need_confirmation(
    app: Flask, organizer_client: FlaskClient, bank_id: int
) -> None:
    form = question_form(
        type="true_false",
        stem="公共Wi-Fi可以放心登录网银。",
        answer="对",
        option_a="",
        option_b="",
        option_c="",
        option_d="",
        csrf_token=csrf_token(organizer_client),
    )
    response = organizer_client.post(f"/admin/banks/{bank_id}/questions/new", data=form)
    assert response.status_code == 422
    assert 'data-testid="duplicate-warning"' in response.get_data(as_text=True)
    form["confirm_duplicate"] = "1"
    assert (
        organizer_client.post(f"/admin/banks/{bank_id}/questions/new", data=form).status_code == 302
    )


def test_stored_markdown_cannot_run_script(organizer_client: FlaskClient, bank_id: int) -> None:
    evil = 'x <script>alert(1)</script><img src=x onerror="alert(2)"> [a](javascript:alert(3))'
    form = question_form(stem=evil, csrf_token=csrf_token(organizer_client))
    response = organizer_client.post(f"/admin/banks/{bank_id}/questions/new", data=form)
    page = organizer_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<script>alert" not in page and "onerror" not in page
    assert 'href="javascript' not in page
    preview = organizer_client.post(
        "/admin/preview",
        json={"stem": evil, "options": [evil]},
        headers={"X-CSRFToken": csrf_token(organizer_client)},
    )
    rendered = str(preview.get_json())
    assert "<script" not in rendered and "onerror" not in rendered


def test_bulk_status_change(app: Flask, organizer_client: FlaskClient, bank_id: int) -> None:
    question_id = app.config["TEST_QUESTION_ID"]
    token = csrf_token(organizer_client)
    organizer_client.post(
        f"/admin/banks/{bank_id}/status",
        data={"csrf_token": token, "to": "in_review", "question_id": question_id},
    )
    response = organizer_client.post(
        f"/admin/banks/{bank_id}/status",
        data={"csrf_token": token, "to": "published", "question_id": question_id},
    )
    assert response.status_code == 302
    with app.app_context():
        question = db.session.get(Question, question_id)
        assert question is not None and question.status is QuestionStatus.PUBLISHED


def test_list_filters_and_paging(app: Flask, organizer_client: FlaskClient, bank_id: int) -> None:
    with app.app_context():
        for n in range(60):
            bank_service.add_question(
                bank_id,
                QuestionData(
                    QuestionType.TRUE_FALSE, f"第{n}题：密码应定期更换吗", True, tags=("密码",)
                ),
                actor_id=None,
                now=NOW,
            )
        db.session.commit()
    first = organizer_client.get(f"/admin/banks/{bank_id}?tag=密码").get_data(as_text=True)
    assert "60" in first and "page=2" in first
    only_wifi = organizer_client.get(f"/admin/banks/{bank_id}?q=Wi-Fi").get_data(as_text=True)
    assert "公共Wi-Fi" in only_wifi and "第1题" not in only_wifi
