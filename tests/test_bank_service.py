"""Question bank services: versions are immutable, status moves by the workflow, search filters."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import func, select

from contest.extensions import db
from contest.services import bank as bank_service
from question_bank.domain import Citation, Difficulty, QuestionData, QuestionType
from question_bank.models import QuestionStatus, QuestionVersion

NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
SINGLE = QuestionData(
    QuestionType.SINGLE,
    "网络日志至少留存多久？",
    2,
    ("一个月", "三个月", "六个月", "一年"),
    explanation="网络安全法第二十一条。",
    difficulty=Difficulty.EASY,
    category="法律法规/网络安全法",
    tags=("日志", "留存"),
    citation=Citation("网络安全法", 21, "2016-11-07", "不少于六个月"),
)


@pytest.fixture
def ctx(app: Flask):  # type: ignore[no-untyped-def]
    with app.app_context():
        yield


def make_bank() -> int:
    bank = bank_service.create_bank("测试题库")
    db.session.commit()
    return bank.id


def test_a_new_bank_has_the_default_categories(ctx: None) -> None:
    bank_id = make_bank()
    bank = bank_service.get_bank(bank_id)
    assert sorted(c.path for c in bank.categories) == sorted(["法律法规", "基础知识", "事件处置"])
    assert bank_service.get_bank("测试题库").id == bank_id


def test_editing_adds_a_version_and_never_changes_the_old_one(ctx: None) -> None:
    bank_id = make_bank()
    question = bank_service.add_question(bank_id, SINGLE, actor_id=None, now=NOW)
    db.session.commit()
    first = question.current_version_id
    edited = QuestionData(**{**SINGLE.__dict__, "stem": "网络日志依法至少留存多长时间？"})
    version = bank_service.edit_question(question.id, edited, actor_id=None, now=NOW)
    db.session.commit()
    assert version is not None and version.number == 2
    assert question.current_version_id == version.id != first
    old = db.session.get(QuestionVersion, first)
    assert old is not None and old.stem == SINGLE.stem
    assert bank_service.version_data(old, SINGLE.category) == SINGLE
    assert bank_service.question_data(question) == edited
    # Saving the same content again adds nothing.
    assert bank_service.edit_question(question.id, edited, actor_id=None, now=NOW) is None
    assert db.session.scalar(select(func.count()).select_from(QuestionVersion)) == 2


def test_status_follows_the_workflow_and_is_recorded(ctx: None) -> None:
    bank_id = make_bank()
    q = bank_service.add_question(bank_id, SINGLE, actor_id=None, now=NOW)
    db.session.commit()
    refused = bank_service.change_status(
        [q.id], QuestionStatus.PUBLISHED, bank_id=bank_id, actor_id=None, now=NOW
    )
    assert refused.changed == [] and refused.refused == [(q.id, QuestionStatus.DRAFT)]
    for target in (QuestionStatus.IN_REVIEW, QuestionStatus.PUBLISHED, QuestionStatus.RETIRED):
        result = bank_service.change_status([q.id], target, bank_id=bank_id, actor_id=None, now=NOW)
        assert result.changed == [q.id]
    db.session.commit()
    history = [(c.from_status, c.to_status) for c in bank_service.status_changes(q.id)]
    assert (None, QuestionStatus.DRAFT) in history
    assert (QuestionStatus.PUBLISHED, QuestionStatus.RETIRED) in history
    assert len(history) == 4


def test_duplicates_are_found_by_normalised_stem_and_option_set(ctx: None) -> None:
    bank_id = make_bank()
    q = bank_service.add_question(bank_id, SINGLE, actor_id=None, now=NOW)
    db.session.commit()
    same = QuestionData(
        QuestionType.SINGLE, " 网络日志至少留存多久？ ", 0, ("六个月", "一年", "三个月", "一个月")
    )
    assert bank_service.find_duplicates(bank_id, same) == [q.id]
    other = QuestionData(QuestionType.SINGLE, SINGLE.stem, 0, ("一周", "一年"))
    assert bank_service.find_duplicates(bank_id, other) == []


def test_invalid_questions_are_refused_with_every_problem(ctx: None) -> None:
    bank_id = make_bank()
    bad = QuestionData(QuestionType.SINGLE, "", 5, ("同", "同"))
    with pytest.raises(bank_service.QuestionInvalid) as caught:
        bank_service.add_question(bank_id, bad, actor_id=None, now=NOW)
    assert len(caught.value.problems) >= 3


def test_search_filters_combine(ctx: None) -> None:
    bank_id = make_bank()
    bank_service.add_question(bank_id, SINGLE, actor_id=None, now=NOW)
    tf = QuestionData(
        QuestionType.TRUE_FALSE,
        "可以在公共Wi-Fi下登录网银。",
        False,
        difficulty=Difficulty.HARD,
        category="基础知识/无线网络",
        tags=("Wi-Fi",),
    )
    bank_service.add_question(bank_id, tf, actor_id=None, now=NOW)
    db.session.commit()

    def count(**kwargs: object) -> int:
        query = bank_service.search_query(bank_id, bank_service.QuestionFilter(**kwargs))
        return len(db.session.scalars(query).all())

    assert count() == 2
    assert count(text="Wi-Fi") == 1
    assert count(category="法律法规") == 1
    assert count(category="基础知识/无线网络") == 1
    assert count(type=QuestionType.TRUE_FALSE, difficulty=Difficulty.HARD) == 1
    assert count(tag="留存") == 1 and count(tag="留") == 0
    assert count(law="网络安全法") == 1
    assert count(missing_explanation=True) == 1
    assert count(status=QuestionStatus.PUBLISHED) == 0
    assert count(text="%") == 0 and count(text="_") == 0  # LIKE wildcards are literal text
