"""The law library in the database: import, citation checks, review flags, the article on a page."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from contest.extensions import db
from contest.services import bank as bank_service
from contest.services import laws as laws_service
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
    assert "skipped" in result.output  # the template and the README
    # the amending decision is no law text: it dates the version it made
    assert "网络安全法 (2025-10-28) in force from 2026-01-01" in result.output
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
    assert "1 question(s) cite a superseded version" in result.output
    with library.app_context():
        question = db.session.get(Question, question_id)
        assert question is not None and question.needs_review
        assert question.status is QuestionStatus.PUBLISHED


def test_versions_know_when_they_take_effect_from_the_file_or_the_decision(
    library: Flask,
) -> None:
    with library.app_context():
        dates = {
            (v.law.short_title, v.version): (v.in_force, v.in_force_source)
            for v in db.session.scalars(select(LawVersion))
        }
    assert dates[("网络安全法", "2016-11-07")] == ("2017-06-01", "file")
    assert dates[("网络安全法", "2025-10-28")] == ("2026-01-01", "decision")
    assert dates[("计算机信息系统安全保护条例", "2011-01-08")] == (None, None)


def test_a_version_not_yet_in_force_flags_nothing_until_its_date(original_only: Flask) -> None:
    library = original_only
    with library.app_context():
        bank = bank_service.create_bank("法规题库")
        question = bank_service.add_question(bank.id, CITED, actor_id=None, now=NOW)
        db.session.commit()
        question_id = question.id
    later = (date.today() + timedelta(days=30)).isoformat()
    result = library.test_cli_runner().invoke(
        args=["laws", "import", str(CYBER_2025), "--in-force", later]
    )
    assert result.exit_code == 0, result.output
    assert "superseded" not in result.output
    with library.app_context():
        question = db.session.get(Question, question_id)
        assert question is not None and not question.needs_review
        version = db.session.scalars(
            select(LawVersion).where(LawVersion.version == "2025-10-28")
        ).one()
        assert (version.in_force, version.in_force_source) == (later, "organizer")
        # the day comes: the same check flags the question
        assert laws_service.flag_superseded(date.fromisoformat(later)) == 1
        db.session.commit()
        question = db.session.get(Question, question_id)
        assert question is not None and question.needs_review


def test_a_question_reviewed_and_kept_is_not_flagged_again(library: Flask) -> None:
    with library.app_context():
        bank = bank_service.create_bank("法规题库")
        question = bank_service.add_question(bank.id, CITED, actor_id=None, now=NOW)
        assert question.needs_review  # it cites the superseded 2016 text
        question.needs_review = False  # reviewed and kept
        db.session.commit()
        # the 2025 version was flagged for when it came into force; later checks leave it
        assert laws_service.flag_superseded(date(2026, 12, 5)) == 0
        version = db.session.scalars(
            select(LawVersion).where(LawVersion.version == "2025-10-28")
        ).one()
        assert version.review_flagged


def test_a_decision_imported_later_dates_the_version_it_made(app: Flask, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    assert runner.invoke(args=["laws", "import", str(CYBER_2025)]).exit_code == 0
    result = runner.invoke(args=["laws", "import", str(LAWS / "网络安全法修改决定(2025-10-28).md")])
    assert "网络安全法 (2025-10-28) in force from 2026-01-01" in result.output
    with app.app_context():
        version = db.session.scalars(select(LawVersion)).one()
        assert version.in_force == "2026-01-01"


def test_an_in_force_date_is_given_for_one_file_not_a_folder(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=["laws", "import", str(LAWS), "--in-force", "2026-01-01"]
    )
    assert result.exit_code == 2
    assert "one file" in result.output


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
