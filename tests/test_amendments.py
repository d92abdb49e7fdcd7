"""After a law is amended: matching old articles to the new version, the diff, the review queue,
moving citations to the version in force, and the rounds whose pools still cite the old text."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from contest.errors import Conflict, NotFound
from contest.extensions import db
from contest.models import AuditEvent
from contest.services import amendments
from contest.services import bank as bank_service
from contest.services.laws import import_laws
from question_bank.amendments import diff, propose, rewrite_article_numbers, similarity, tokens
from question_bank.domain import Citation, QuestionData, QuestionType
from question_bank.laws import LawText, read_law_directory
from question_bank.models import Question, QuestionStatus, QuestionVersion
from tests.conftest import SHARED, needs_shared
from tests.support.contests import BLUEPRINT, paper_round, published_bank

LAWS = SHARED / "laws"
MAP = LAWS / "网络安全法条文对照(2016-2025).tsv"
NOW = datetime(2026, 12, 5, 3, tzinfo=UTC)
TODAY = date(2026, 12, 5)  # the 2025 text is in force (from 2026-01-01)
BEFORE = date(2025, 12, 31)  # the 2016 text still is
LOG_QUOTE = "留存相关的网络日志不少于六个月"
# Old 62 was rewritten as new 65: this sentence of the old text is gone.
CHANGED_QUOTE = "拒不改正或者情节严重的，处一万元以上十万元以下罚款"


def cyber() -> tuple[LawText, LawText]:
    laws, _problems = read_law_directory(LAWS)
    old, new = sorted(
        (law for law in laws if law.short_title == "网络安全法"), key=lambda x: x.version
    )
    return old, new


def mapping() -> list[dict[str, str]]:
    with MAP.open(encoding="utf-8") as file:
        return list(csv.DictReader(file, delimiter="\t"))


def cites(article: int, quote: str | None, stem: str, explanation: str = "") -> QuestionData:
    return QuestionData(
        QuestionType.TRUE_FALSE,
        stem,
        True,
        explanation=explanation,
        category="法律法规",
        citation=Citation("网络安全法", article, "2016-11-07", quote),
    )


# Pure: matching, diff, article numbers ------------------------------------------------------------


@needs_shared
def test_every_unchanged_article_is_found_with_its_new_number() -> None:
    old, new = cyber()
    same = [row for row in mapping() if row["status"] == "same"]
    assert len(same) > 50
    for row in same:
        proposal = propose(old.articles[int(row["old"])], new.articles, None)
        assert proposal is not None
        assert (proposal.new.number, proposal.identical) == (int(row["new"]), True), row
        assert proposal.similarity == 1.0 and proposal.one_click


@needs_shared
def test_a_changed_article_is_matched_by_similarity_and_never_by_one_click() -> None:
    old, new = cyber()
    changed = {int(r["old"]): int(r["new"]) for r in mapping() if r["status"] == "changed"}
    proposal = propose(old.articles[62], new.articles, CHANGED_QUOTE)
    assert proposal is not None and proposal.new.number == changed[62] == 65
    assert not proposal.identical and 0.5 < proposal.similarity < 1
    assert proposal.quote_found is False and not proposal.one_click
    # Only cross-references renumbered (21->23): the quoted words are still there verbatim.
    kept = propose(old.articles[34], new.articles, "对重要系统和数据库进行容灾备份")
    assert kept is not None and kept.new.number == changed[34] == 36
    assert not kept.identical and kept.quote_found and kept.one_click
    # Without a quote, a changed wording is for an author to read.
    bare = propose(old.articles[34], new.articles, None)
    assert bare is not None and not bare.one_click
    # Articles that are not merges find the number the map gives.
    singles = {o: n for o, n in changed.items() if list(changed.values()).count(n) == 1}
    for number, expected in singles.items():
        found = propose(old.articles[number], new.articles, None)
        assert found is not None and found.new.number == expected, number


def test_the_diff_groups_characters_into_runs_and_keeps_latin_words_whole() -> None:
    assert tokens("留存IP日志 2017年") == ["留", "存", "IP", "日", "志", " ", "2017", "年"]
    runs = diff("处一万元以上十万元以下罚款", "可以处一万元以上五万元以下罚款")
    assert runs == [
        ("insert", "可以"),
        ("equal", "处一万元以上"),
        ("delete", "十"),
        ("insert", "五"),
        ("equal", "万元以下罚款"),
    ]
    assert "".join(t for op, t in runs if op != "insert") == "处一万元以上十万元以下罚款"
    assert "".join(t for op, t in runs if op != "delete") == "可以处一万元以上五万元以下罚款"
    # a lone unchanged character between two changes joins them
    assert diff("甲乙丙", "丁乙戊") == [("delete", "甲乙丙"), ("insert", "丁乙戊")]
    assert similarity("甲 乙", "甲乙") == 1.0


def test_article_numbers_are_rewritten_only_after_the_laws_name() -> None:
    names = ["中华人民共和国网络安全法", "网络安全法"]
    text = (
        "依据《中华人民共和国网络安全法》第二十一条和网络安全法第21条；"
        "另见第二十一条、数据安全法第二十一条。"
    )
    rewritten, count = rewrite_article_numbers(text, names, 21, 23)
    assert count == 2
    assert rewritten == (
        "依据《中华人民共和国网络安全法》第二十三条和网络安全法第23条；"
        "另见第二十一条、数据安全法第二十一条。"
    )
    assert rewrite_article_numbers("网络安全法第二十一条", names, 2, 3) == (
        "网络安全法第二十一条",
        0,
    )


# The service: the queue, one click, the bulk action, rounds ------------------------------------


@pytest.fixture
def library(app: Flask) -> Flask:
    if not LAWS.is_dir():
        pytest.skip("the shared law texts are not here")
    with app.app_context():
        report = import_laws(LAWS, today=TODAY)
        assert ("中华人民共和国网络安全法", "2025-10-28", "2026-01-01") in report.dated
    return app


def add(data: QuestionData) -> int:
    bank = bank_service.get_or_create_bank("法规题库")
    question = bank_service.add_question(
        bank.id, data, actor_id=None, now=NOW, status=QuestionStatus.PUBLISHED
    )
    db.session.commit()
    return question.id


def test_a_question_citing_the_old_text_is_queued_and_moved_in_one_click(library: Flask) -> None:
    with library.app_context():
        question_id = add(
            cites(
                21,
                LOG_QUOTE,
                "根据《网络安全法》第二十一条，网络运营者应当留存网络日志不少于六个月。",
                "见第二十一条。",
            )
        )
        assert amendments.review_queue(BEFORE) == []  # the 2016 text is still in force then
        rows = amendments.review_queue(TODAY)
        db.session.commit()
        assert [row.question.id for row in rows] == [question_id]
        row = rows[0]
        assert row.old is not None and row.proposal is not None
        assert (row.old.number, row.proposal.new.number) == (21, 23)
        assert row.proposal.identical and row.proposal.similarity == 1.0 and row.one_click
        assert row.changes == [("equal", row.old.text)]
        assert db.session.get(Question, question_id).needs_review  # type: ignore[union-attr]

        applied = amendments.apply_update(question_id, today=TODAY, actor=None, now=NOW)
        db.session.commit()
        assert applied.version_number == 2 and applied.rewritten == 1
        assert applied.left == ["explanation"]  # a bare 第二十一条: left for an author
        question = db.session.get(Question, question_id)
        # the explanation still names the old number: it stays flagged for an author to look at
        assert question is not None and question.needs_review
        current = question.current_version
        assert current is not None and current.number == 2
        assert (current.citation_version, current.citation_article, current.citation_quote) == (
            "2025-10-28",
            23,
            LOG_QUOTE,
        )
        assert (
            current.stem == "根据《网络安全法》第二十三条，网络运营者应当留存网络日志不少于六个月。"
        )
        assert current.explanation == "见第二十一条。"
        assert question.duplicate_hash == bank_service.duplicate_hash(
            bank_service.question_data(question)
        )
        first = db.session.scalars(
            select(QuestionVersion).where(
                QuestionVersion.question_id == question_id, QuestionVersion.number == 1
            )
        ).one()
        assert (first.citation_version, first.citation_article) == ("2016-11-07", 21)
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "question.cite_in_force")
        ).one()
        assert event.target_id == question_id and event.after is not None
        assert event.after["citation"].endswith("第二十三条")
        assert amendments.review_queue(TODAY) == []
        with pytest.raises(NotFound):
            amendments.apply_update(question_id, today=TODAY, actor=None, now=NOW)


def test_the_bulk_action_moves_the_unchanged_and_leaves_the_changed(library: Flask) -> None:
    with library.app_context():
        same = [add(cites(21, LOG_QUOTE, "判断一")), add(cites(41, None, "判断二"))]
        changed = add(cites(62, CHANGED_QUOTE, "判断三"))
        rows = {row.question.id: row for row in amendments.review_queue(TODAY)}
        assert set(rows) == {*same, changed}
        row = rows[changed]
        assert row.proposal is not None and row.proposal.new.number == 65
        assert not row.one_click and not row.unchanged
        assert 0.5 < row.proposal.similarity < 1
        assert any(op == "insert" for op, _text in row.changes)
        with pytest.raises(Conflict):
            amendments.apply_update(changed, today=TODAY, actor=None, now=NOW)
        db.session.rollback()

        applied = amendments.apply_unchanged(today=TODAY, actor=None, now=NOW)
        db.session.commit()
        assert sorted(a.question_id for a in applied) == same
        assert [row.question.id for row in amendments.review_queue(TODAY)] == [changed]
        moved = db.session.get(Question, same[1])
        assert moved is not None and moved.current_version is not None
        assert moved.current_version.citation_article == 43


def test_a_question_without_a_version_or_an_imported_text_is_listed_for_the_editor(
    library: Flask,
) -> None:
    with library.app_context():
        data = cites(21, None, "未写版本")
        question_id = add(
            QuestionData(
                data.type,
                data.stem,
                data.answer,
                category=data.category,
                citation=Citation("中华人民共和国网络安全法", 21, None, None),
            )
        )
        rows = amendments.review_queue(TODAY)
        assert [(r.question.id, r.old, r.one_click) for r in rows] == [(question_id, None, False)]
        with pytest.raises(Conflict):
            amendments.apply_update(question_id, today=TODAY, actor=None, now=NOW)


def test_a_rounds_pool_counts_questions_citing_text_superseded_when_it_opens(
    library: Flask,
) -> None:
    with library.app_context():
        bank_id = published_bank(per_type=2)
        bank = bank_service.get_bank(bank_id)
        for article in (21, 22):
            bank_service.add_question(
                bank.id,
                QuestionData(
                    QuestionType.TRUE_FALSE,
                    f"基础知识法条题{article}",
                    True,
                    category="基础知识",
                    citation=Citation("网络安全法", article, "2016-11-07", None),
                ),
                actor_id=None,
                now=NOW,
                status=QuestionStatus.PUBLISHED,
            )
        db.session.commit()
        after = paper_round(bank_id, opens_at=datetime(2026, 3, 1, tzinfo=UTC))
        assert amendments.superseded_in_pool(after, date(2026, 3, 1)) == 2
        assert amendments.superseded_in_pool(after, date(2025, 12, 1)) == 0
        # a row that does not draw true/false questions has none in its pool
        singles = [row for row in BLUEPRINT if row["type"] == "single"]
        other = paper_round(bank_id, contest_title="另一赛", blueprint=singles)
        assert amendments.superseded_in_pool(other, date(2026, 3, 1)) == 0


def test_setting_a_versions_in_force_date_is_audited_and_refuses_a_day_before_adoption(
    library: Flask,
) -> None:
    from question_bank.models import LawVersion

    with library.app_context():
        question_id = add(cites(21, LOG_QUOTE, "判断"))
        version = db.session.scalars(
            select(LawVersion).where(LawVersion.version == "2025-10-28")
        ).one()
        with pytest.raises(amendments.InvalidInput):
            amendments.set_version_in_force(version.id, date(2025, 1, 1), today=TODAY)
        later = TODAY + timedelta(days=10)
        amendments.set_version_in_force(version.id, later, today=TODAY)
        db.session.commit()
        assert amendments.review_queue(TODAY) == []
        states = {s.version.version: s.state for s in amendments.version_states(version.law, TODAY)}
        assert states == {"2025-10-28": amendments.PENDING, "2016-11-07": amendments.CURRENT}
        assert [r.question.id for r in amendments.review_queue(later)] == [question_id]
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "law_version.in_force")
        ).one()
        assert event.before == {"in_force": "2026-01-01", "in_force_source": "decision"}
        assert event.after == {"in_force": later.isoformat(), "in_force_source": "organizer"}


def test_an_uploaded_law_file_is_imported_from_a_temporary_copy(app: Flask, tmp_path: Path) -> None:
    if not LAWS.is_dir():
        pytest.skip("the shared law texts are not here")
    content = (LAWS / "密码法(2019-10-26).md").read_bytes()
    with app.app_context():
        report = amendments.import_upload(
            "../密码法(2019-10-26).md", content, in_force=None, today=TODAY
        )
        assert [(v, n) for _t, v, n in report.imported] == [("2019-10-26", 44)]
        with pytest.raises(amendments.InvalidInput):
            amendments.import_upload("law.txt", content, in_force=None, today=TODAY)
        with pytest.raises(amendments.InvalidInput):
            amendments.import_upload(
                "big(2020-01-01).md",
                b"x" * (amendments.LAW_FILE_MAX + 1),
                in_force=None,
                today=TODAY,
            )
