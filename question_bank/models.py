"""Database models of the question bank and the law library. Thin and typed; services write.

A :class:`Question` is a stable identity (bank, category, status); its content lives in immutable
:class:`QuestionVersion` rows. Editing adds a version and moves ``current_version_id``; nothing that
references a version (a paper, an attempt) ever sees it change.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from contest.extensions import db
from contest.models import UTCDateTime, str_enum, utcnow
from question_bank.domain import Difficulty, QuestionType

DEFAULT_CATEGORIES = ("法律法规", "基础知识", "事件处置")


class QuestionStatus(enum.StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    PUBLISHED = "published"
    RETIRED = "retired"


# Which status a question may move to from each status.
TRANSITIONS: dict[QuestionStatus, frozenset[QuestionStatus]] = {
    QuestionStatus.DRAFT: frozenset({QuestionStatus.IN_REVIEW, QuestionStatus.RETIRED}),
    QuestionStatus.IN_REVIEW: frozenset({QuestionStatus.PUBLISHED, QuestionStatus.DRAFT}),
    QuestionStatus.PUBLISHED: frozenset({QuestionStatus.RETIRED, QuestionStatus.DRAFT}),
    QuestionStatus.RETIRED: frozenset({QuestionStatus.DRAFT}),
}


class Bank(db.Model):  # type: ignore[name-defined]
    __tablename__ = "bank"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    categories: Mapped[list[Category]] = relationship(
        back_populates="bank", cascade="all, delete-orphan"
    )


class Category(db.Model):  # type: ignore[name-defined]
    """A node of a bank's category tree; ``path`` is the full name, e.g. ``法律法规/网络安全法``."""

    __tablename__ = "category"
    __table_args__ = (UniqueConstraint("bank_id", "path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("bank.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("category.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    path: Mapped[str] = mapped_column(String(500))

    bank: Mapped[Bank] = relationship(back_populates="categories")


class Question(db.Model):  # type: ignore[name-defined]
    __tablename__ = "question"
    __table_args__ = (Index("ix_question_bank_status", "bank_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("bank.id", ondelete="CASCADE"))
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("category.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[QuestionStatus] = mapped_column(
        str_enum(QuestionStatus), default=QuestionStatus.DRAFT
    )
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("question_version.id", use_alter=True, name="fk_question_current_version"),
        index=True,  # the list page joins versions to questions through it
    )
    # Hash of duplicate_key(): the same normalised stem and option set.
    duplicate_hash: Mapped[str] = mapped_column(String(64), index=True)
    # Set when a newer version of a cited law is imported; the question stays in live rounds.
    needs_review: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    category: Mapped[Category | None] = relationship()
    current_version: Mapped[QuestionVersion | None] = relationship(
        foreign_keys=[current_version_id], post_update=True
    )


class QuestionVersion(db.Model):  # type: ignore[name-defined]
    """One immutable version of a question's content."""

    __tablename__ = "question_version"
    __table_args__ = (
        UniqueConstraint("question_id", "number"),
        Index("ix_question_version_filters", "type", "difficulty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    type: Mapped[QuestionType] = mapped_column(str_enum(QuestionType))
    stem: Mapped[str] = mapped_column(Text)
    options: Mapped[list[str]] = mapped_column(JSON, default=list)
    answer: Mapped[Any] = mapped_column(JSON)
    explanation: Mapped[str] = mapped_column(Text, default="")
    difficulty: Mapped[Difficulty] = mapped_column(str_enum(Difficulty))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags_text: Mapped[str] = mapped_column(Text, default="")  # ",tag1,tag2," for filtering
    citation_law: Mapped[str | None] = mapped_column(String(120), index=True)
    citation_version: Mapped[str | None] = mapped_column(String(10))
    citation_article: Mapped[int | None] = mapped_column(Integer)
    citation_quote: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )


class StatusChange(db.Model):  # type: ignore[name-defined]
    """Append-only record of who moved a question to which status, and when."""

    __tablename__ = "question_status_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("question.id", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[QuestionStatus | None] = mapped_column(str_enum(QuestionStatus))
    to_status: Mapped[QuestionStatus] = mapped_column(str_enum(QuestionStatus))
    changed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(String(200), default="")


class ImportStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ImportJob(db.Model):  # type: ignore[name-defined]
    """One import of a file into a bank; the worker fills in progress and the report."""

    __tablename__ = "import_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("bank.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    format: Mapped[str] = mapped_column(String(20))
    on_duplicate: Mapped[str] = mapped_column(String(10), default="skip")
    initial_status: Mapped[QuestionStatus] = mapped_column(
        str_enum(QuestionStatus), default=QuestionStatus.DRAFT
    )
    status: Mapped[ImportStatus] = mapped_column(
        str_enum(ImportStatus), default=ImportStatus.QUEUED
    )
    content: Mapped[bytes | None] = mapped_column(LargeBinary)  # dropped once processed
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class QuestionImage(db.Model):  # type: ignore[name-defined]
    """An image question texts link to as ``/media/<sha256>.<ext>``; immutable, named by the
    SHA-256 of ``content`` (the bytes kept, see :mod:`question_bank.images`)."""

    __tablename__ = "question_image"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    ext: Mapped[str] = mapped_column(String(4))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )


class Law(db.Model):  # type: ignore[name-defined]
    __tablename__ = "law"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    short_title: Mapped[str] = mapped_column(String(200), unique=True)

    versions: Mapped[list[LawVersion]] = relationship(
        back_populates="law", order_by="LawVersion.version"
    )


class LawVersion(db.Model):  # type: ignore[name-defined]
    __tablename__ = "law_version"
    __table_args__ = (UniqueConstraint("law_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    law_id: Mapped[int] = mapped_column(ForeignKey("law.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(10))  # adoption date, ISO
    # the date it takes effect, ISO; None where neither the file nor an organizer gave one (it
    # then counts from its adoption date). ``in_force_source``: "file", "decision", "organizer".
    in_force: Mapped[str | None] = mapped_column(String(10))
    in_force_source: Mapped[str | None] = mapped_column(String(20))
    # whether the questions citing older versions were flagged once this one came into force
    review_flagged: Mapped[bool] = mapped_column(default=False)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    law: Mapped[Law] = relationship(back_populates="versions")


class LawArticle(db.Model):  # type: ignore[name-defined]
    __tablename__ = "law_article"
    __table_args__ = (UniqueConstraint("law_version_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    law_version_id: Mapped[int] = mapped_column(ForeignKey("law_version.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    chapter: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text)
