"""The law library in the database: import, citation checks, review flags, the article on a page."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from contest.extensions import db
from contest.services import bank as bank_service
from contest.services.laws import import_laws
from question_bank.domain import Citation, QuestionData, QuestionType
from question_bank.models import Law, LawArticle, LawVersion, Question, QuestionStatus
from tests.conftest import SHARED, needs_shared

pytestmark = needs_shared

LAWS = SHARED / "laws"
CYBER_2016 = LAWS / "网络安全法(2016-11-07).md"
CYBER_2025 = LAWS / "网络安全法(2025-10-28).md"
NOW = datetime(2026, 11, 29, tzinfo=UTC)
CITED = QuestionData(
    QuestionType.TRUE_FALSE,
    "网络运营者应当留存相关的网络日志不少于六个月。",
    True,
    citation=Citation("网络安全法", 21, "2016-11-07", "留存相关的网络日志不少于六个月"),
)


@pytest.fixture
def library(app: Flask) -> Flask:
    result = app.test_cli_runner().invoke(args=["laws", "import", str(LAWS)])
    assert result.exit_code == 0, result.output
    assert "网络安全法 (2016-11-07): 79 articles" in result.output
    assert "网络安全法 (2025-10-28): 81 articles" in result.output
    assert "skipped" in result.output  # the template, the README and the amending decision
    return app


@pytest.fixture
def original_only(app: Flask) -> Flask:
    """A library that holds the 2016 网络安全法 alone, as deployments did before the amendment."""
    result = app.test_cli_runner().invoke(args=["laws", "import", str(CYBER_2016)])
    assert result.exit_code == 0, result.output
    return app


def test_import_stores_every_law_and_is_idempotent(library: Flask) -> None:
    with library.app_context():
        # 网络安全法 is one law with two versions
        assert db.session.scalar(select(func.count()).select_from(Law)) == 9
        assert db.session.scalar(select(func.count()).select_from(LawVersion)) == 10
        assert db.session.scalar(select(func.count()).select_from(LawArticle)) == 508 + 81
        again = import_laws(LAWS)
        assert again.imported == [] and len(again.unchanged) == 10


def test_citations_are_checked_against_the_library(library: Flask) -> None:
    with library.app_context():
        bank = bank_service.create_bank("法规题库")
        bank_service.add_question(bank.id, CITED, actor_id=None, now=NOW)
        wrong_quote = Citation(
            "中华人民共和国网络安全法", 21, "2016-11-07", "留存网络日志不少于一年"
        )
        wrong_article = Citation("网络安全法", 210, "2016-11-07", None)
        for citation in (wrong_quote, wrong_article):
            data = QuestionData(
                QuestionType.TRUE_FALSE, f"题 {citation.article}", True, citation=citation
            )
            with pytest.raises(bank_service.QuestionInvalid):
                bank_service.add_question(bank.id, data, actor_id=None, now=NOW)
        unknown = QuestionData(
            QuestionType.TRUE_FALSE,
            "未收录的法规",
            True,
            citation=Citation("某地方条例", 3, None, "任意"),
        )
        bank_service.add_question(bank.id, unknown, actor_id=None, now=NOW)


def test_a_newer_version_flags_citing_questions_but_keeps_them_live(
    original_only: Flask,
) -> None:
    library = original_only
    with library.app_context():
        bank = bank_service.create_bank("法规题库")
        question = bank_service.add_question(
            bank.id, CITED, actor_id=None, now=NOW, status=QuestionStatus.PUBLISHED
        )
        db.session.commit()
        question_id = question.id
    result = library.test_cli_runner().invoke(args=["laws", "import", str(CYBER_2025)])
    assert "网络安全法 (2025-10-28): 81 articles" in result.output
    assert "1 question(s) cite an older version" in result.output
    with library.app_context():
        question = db.session.get(Question, question_id)
        assert question is not None and question.needs_review
        assert question.status is QuestionStatus.PUBLISHED


def test_organizers_clear_the_review_flag(
    original_only: Flask, organizer_client: FlaskClient, tmp_path: Path
) -> None:
    library = original_only
    with library.app_context():
        bank = bank_service.create_bank("法规题库")
        question = bank_service.add_question(bank.id, CITED, actor_id=None, now=NOW)
        db.session.commit()
        question_id = question.id
    newer = tmp_path / "中华人民共和国网络安全法(2025-10-28).md"
    shutil.copy(LAWS / "网络安全法(2016-11-07).md", newer)
    library.test_cli_runner().invoke(args=["laws", "import", str(newer)])
    page = organizer_client.get(f"/admin/questions/{question_id}").get_data(as_text=True)
    assert "/reviewed" in page
    token = organizer_client.get("/api/v1/session").get_json()["csrf_token"]
    organizer_client.post(f"/admin/questions/{question_id}/reviewed", data={"csrf_token": token})
    with library.app_context():
        question = db.session.get(Question, question_id)
        assert question is not None and not question.needs_review
        assert bank_service.status_changes(question_id)[0].changed_by_id is not None


def test_question_page_shows_the_cited_article(
    library: Flask, organizer_client: FlaskClient
) -> None:
    with library.app_context():
        bank = bank_service.create_bank("法规题库")
        question = bank_service.add_question(bank.id, CITED, actor_id=None, now=NOW)
        db.session.commit()
        question_id = question.id
    page = organizer_client.get(f"/admin/questions/{question_id}").get_data(as_text=True)
    assert 'data-testid="article-text"' in page
    assert "网络运营者应当按照网络安全等级保护制度的要求" in page
