"""Names of the bank's and rounds' values in the interface language."""

from __future__ import annotations

from flask_babel import gettext as _

from question_bank.domain import Difficulty, QuestionType
from question_bank.models import QuestionStatus
from question_bank.papers import BlueprintRow


def type_label(kind: QuestionType) -> str:
    return {
        QuestionType.SINGLE: _("Single choice"),
        QuestionType.MULTIPLE: _("Multiple choice"),
        QuestionType.TRUE_FALSE: _("True/false"),
        QuestionType.FILL_BLANK: _("Fill in the blank"),
        QuestionType.ORDERING: _("Ordering"),
    }[kind]


def difficulty_label(level: Difficulty) -> str:
    return {Difficulty.EASY: _("Easy"), Difficulty.MEDIUM: _("Medium"), Difficulty.HARD: _("Hard")}[
        level
    ]


def status_label(status: QuestionStatus) -> str:
    return {
        QuestionStatus.DRAFT: _("Draft"),
        QuestionStatus.IN_REVIEW: _("In review"),
        QuestionStatus.PUBLISHED: _("Published"),
        QuestionStatus.RETIRED: _("Retired"),
    }[status]


def blueprint_row_label(row: BlueprintRow) -> str:
    """``法律法规 / 多选题 / 难`` (category, type, difficulty when set)."""
    parts = [row.category or _("All categories"), type_label(row.type)]
    if row.difficulty:
        parts.append(difficulty_label(row.difficulty))
    return " / ".join(parts)
