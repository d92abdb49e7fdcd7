"""Imports through the API and a real RQ worker: all or nothing, row-numbered reports."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from contest.extensions import db
from contest.services import bank as bank_service
from question_bank.domain import QuestionData, QuestionType
from question_bank.formats.json_format import export as json_export
from question_bank.models import Question, QuestionStatus
from tests.conftest import csrf_token
from tests.support.imports import run_worker, upload

GOOD = [
    QuestionData(
        QuestionType.SINGLE,
        "勒索软件感染后首先应当？",
        1,
        ("立即支付赎金", "断开受感染主机的网络", "重装系统", "删除日志"),
        explanation="先隔离，防止扩散。",
        category="事件处置/遏制与根除",
    ),
    QuestionData(QuestionType.TRUE_FALSE, "可以用生日作为密码。", False, category="基础知识"),
    QuestionData(QuestionType.FILL_BLANK, "备份的3-2-1原则：____份副本。", (("3", "三"),)),
]


@pytest.fixture
def bank_id(app: Flask) -> int:
    with app.app_context():
        bank = bank_service.create_bank("导入测试")
        db.session.commit()
        return bank.id


def question_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Question)) or 0


def test_import_through_the_api_and_a_worker(
    app: Flask, organizer_client: FlaskClient, bank_id: int
) -> None:
    response = upload(organizer_client, bank_id, json_export(GOOD), "bank.json", status="published")
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "queued" and response.headers["Location"].endswith(f"/{body['id']}")
    run_worker(app)
    result = organizer_client.get(f"/api/v1/imports/{body['id']}").get_json()
    assert result["status"] == "succeeded", result
    assert result["report"]["created"] == 3 and result["done"] == 3
    with app.app_context():
        statuses = set(db.session.scalars(select(Question.status)))
        assert statuses == {QuestionStatus.PUBLISHED}


def test_one_bad_question_imports_nothing_and_names_its_line(
    app: Flask, organizer_client: FlaskClient, bank_id: int
) -> None:
    document = json.loads(json_export(GOOD))
    document["questions"][1]["answer"] = "maybe"
    document["questions"].append({"type": "essay", "stem": "?"})
    response = upload(organizer_client, bank_id, json.dumps(document).encode(), "bad.json")
    run_worker(app)
    result = organizer_client.get(f"/api/v1/imports/{response.get_json()['id']}").get_json()
    assert result["status"] == "failed"
    assert [p["line"] for p in result["report"]["problems"]] == [2, 4]
    assert all(p["message"] for p in result["report"]["problems"])
    assert question_count(app) == 0


def test_duplicates_are_skipped_or_update_as_chosen(
    app: Flask, organizer_client: FlaskClient, bank_id: int
) -> None:
    upload(organizer_client, bank_id, json_export(GOOD), "a.json")
    run_worker(app)
    changed = [GOOD[0].__class__(**{**GOOD[0].__dict__, "explanation": "隔离优先。"}), *GOOD[1:]]
    skip = upload(organizer_client, bank_id, json_export(changed), "b.json").get_json()["id"]
    run_worker(app)
    report = organizer_client.get(f"/api/v1/imports/{skip}").get_json()["report"]
    assert report["created"] == 0 and len(report["duplicates"]) == 3
    update = upload(
        organizer_client, bank_id, json_export(changed), "c.json", on_duplicate="update"
    ).get_json()["id"]
    run_worker(app)
    report = organizer_client.get(f"/api/v1/imports/{update}").get_json()["report"]
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 1, 2)
    assert question_count(app) == 3
    with app.app_context():
        question_id = report["duplicates"][0]["question_id"]
        versions = bank_service.versions(question_id)
        assert [v.number for v in versions] == [2, 1]
        assert (
            versions[0].explanation == "隔离优先。"
            and versions[1].explanation == "先隔离，防止扩散。"
        )


def test_updating_from_a_poorer_format_keeps_what_it_cannot_carry(
    app: Flask, organizer_client: FlaskClient, bank_id: int
) -> None:
    from question_bank.formats.aiken import export as aiken_export

    upload(organizer_client, bank_id, json_export(GOOD), "a.json")
    run_worker(app)
    changed = GOOD[0].__class__(
        **{
            **GOOD[0].__dict__,
            "options": ("立即支付赎金", "断开受感染主机的网络", "重装系统", "联系攻击者"),
        }
    )
    job = upload(
        organizer_client,
        bank_id,
        aiken_export([changed]),
        "b.txt",
        on_duplicate="update",
        format="aiken",
    ).get_json()["id"]
    run_worker(app)
    report = organizer_client.get(f"/api/v1/imports/{job}").get_json()["report"]
    assert report["created"] == 1  # other options: not a duplicate by the rule
    same_options = upload(
        organizer_client,
        bank_id,
        aiken_export([GOOD[0]]),
        "c.txt",
        on_duplicate="update",
        format="aiken",
    ).get_json()["id"]
    run_worker(app)
    report = organizer_client.get(f"/api/v1/imports/{same_options}").get_json()["report"]
    assert report["unchanged"] == 1  # Aiken carries no explanation: it is kept, not erased
    with app.app_context():
        question = bank_service.get_question(report["duplicates"][0]["question_id"])
        assert bank_service.question_data(question).explanation == "先隔离，防止扩散。"


def test_unknown_format_and_missing_file_are_422(
    organizer_client: FlaskClient, bank_id: int
) -> None:
    response = upload(organizer_client, bank_id, b"whatever", "questions.pdf")
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "unknown_format"
    response = organizer_client.post(
        f"/api/v1/banks/{bank_id}/imports",
        data={},
        headers={"X-CSRFToken": csrf_token(organizer_client)},
    )
    assert response.status_code == 422


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "json", "gift", "moodle-xml", "aiken"])
def test_export_then_import_gives_the_same_bank(
    app: Flask, organizer_client: FlaskClient, bank_id: int, fmt: str
) -> None:
    from question_bank.formats import get_format

    with app.app_context():
        for data in GOOD:
            bank_service.add_question(
                bank_id, data, actor_id=None, now=datetime(2026, 1, 1, tzinfo=UTC)
            )
        db.session.commit()
        carried = [q for q in GOOD if q.type in get_format(fmt).types]
    response = organizer_client.get(f"/api/v1/banks/{bank_id}/export?format={fmt}")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    parsed = get_format(fmt).parse(response.data)
    assert parsed.ok, parsed.problems
    assert [p.question.stem for p in parsed.questions] == [q.stem for q in carried]


def test_cli_import_export_list(app: Flask, tmp_path: Path) -> None:
    source = tmp_path / "bank.json"
    source.write_bytes(json_export(GOOD))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["bank", "import", str(source), "--bank", "命令行题库"])
    assert result.exit_code == 0, result.output
    assert "created 3" in result.output
    listed = runner.invoke(args=["bank", "list"])
    assert "命令行题库" in listed.output and "3 questions" in listed.output
    out = tmp_path / "out.json"
    result = runner.invoke(
        args=["bank", "export", "命令行题库", "--format", "json", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert len(json.loads(out.read_text())["questions"]) == 3

    bad = tmp_path / "bad.json"
    bad.write_text('{"questions": [{"type": "single", "stem": "", "options": [], "answer": 0}]}')
    result = runner.invoke(args=["bank", "import", str(bad), "--bank", "命令行题库"])
    assert result.exit_code == 1
    assert "bad.json:1:" in result.output
