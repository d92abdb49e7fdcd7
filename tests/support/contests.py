"""Builders for contest tests: a bank of published questions, a contest with a paper round, and
the round form as an organizer's browser posts it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from contest.extensions import db
from contest.models import ContestStatus, Round
from contest.services import bank as bank_service
from contest.services import contests as contest_service
from question_bank.domain import QuestionData, QuestionType
from question_bank.models import QuestionStatus

NOW = datetime.now(UTC)


def published_bank(per_type: int = 4) -> int:
    """A bank with ``per_type`` published questions of each type in 基础知识 (app context)."""
    bank = bank_service.create_bank(f"测试题库{NOW.timestamp()}")
    for n in range(per_type):
        for data in (
            QuestionData(
                QuestionType.SINGLE,
                f"单选{n}",
                1,
                ("甲", "乙", "丙", "丁"),
                explanation=f"单选解析{n}",
                category="基础知识",
            ),
            QuestionData(
                QuestionType.MULTIPLE,
                f"多选{n}",
                (0, 2),
                ("甲", "乙", "丙", "丁"),
                explanation=f"多选解析{n}",
                category="基础知识",
            ),
            QuestionData(
                QuestionType.TRUE_FALSE,
                f"判断{n}",
                True,
                explanation=f"判断解析{n}",
                category="基础知识",
            ),
            QuestionData(
                QuestionType.FILL_BLANK,
                f"填空{n}：____",
                (("六", "6"),),
                explanation=f"填空解析{n}",
                category="基础知识",
            ),
            QuestionData(
                QuestionType.ORDERING,
                f"排序{n}",
                (2, 0, 1),
                ("一", "二", "三"),
                explanation=f"排序解析{n}",
                category="基础知识",
            ),
        ):
            bank_service.add_question(
                bank.id, data, actor_id=None, now=NOW, status=QuestionStatus.PUBLISHED
            )
    db.session.commit()
    return bank.id


BLUEPRINT = [
    {"category": "基础知识", "type": t, "difficulty": None, "count": 2, "points": p}
    for t, p in (
        ("single", 2),
        ("multiple", 3),
        ("true_false", 1),
        ("fill_blank", 2),
        ("ordering", 2),
    )
]


def paper_round(bank_id: int, **settings: Any) -> Round:
    """A contest with one open paper round over ``bank_id`` (app context; committed)."""
    contest = contest_service.create_contest(
        settings.pop("contest_title", "网络安全知识竞赛"),
        status=settings.pop("contest_status", ContestStatus.PUBLISHED),
    )
    values: dict[str, Any] = {
        "title": "初赛",
        "bank_id": bank_id,
        "duration_s": 600,
        "attempts_allowed": 1,
        "blueprint": BLUEPRINT,
        "opens_at": NOW - timedelta(hours=1),
        "closes_at": NOW + timedelta(days=1),
        "review_policy": "after_submit",
    }
    values.update(settings)
    round_ = contest_service.save_round(contest.id, **values)
    db.session.commit()
    return round_


def round_form(
    token: str, bank_id: int, rows: list[dict[str, Any]], **fields: Any
) -> dict[str, Any]:
    """The round form as a browser posts it: eight blueprint rows, empty ones included."""
    form: dict[str, Any] = {
        "csrf_token": token,
        "action": "save",
        "title": "初赛",
        "bank_id": bank_id,
        "opens_at": "",
        "closes_at": "",
        "duration_min": "30",
        "attempts_allowed": "1",
        "score_policy": "best",
        "shuffle_questions": "y",
        "shuffle_options": "y",
        "multiple_rule": "all_or_nothing",
        "review_policy": "after_submit",
        "integrity_threshold": "0",
        "integrity_action": "warn",
        "focus_grace_s": "3",
        "grace_s": "10",
        "qualification_rule": "",
        "qualification_value": "",
    }
    padded = rows + [{}] * (8 - len(rows))
    for n, row in enumerate(padded):
        for key in ("category", "type", "difficulty", "count", "points"):
            form[f"blueprint-{n}-{key}"] = row.get(key, "")
    for key, value in fields.items():
        if value is None:
            form.pop(key, None)
        else:
            form[key] = value
    return form
