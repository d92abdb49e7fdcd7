"""Accounts: organizations and users. Thin typed models; services do the writing."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from flask_login import UserMixin
from sqlalchemy import DateTime, Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from contest.extensions import db


def utcnow() -> datetime:
    return datetime.now(UTC)


def str_enum(enum_class: type[enum.StrEnum]) -> Enum:
    """A portable VARCHAR column storing the enum's values (not its member names)."""
    return Enum(
        enum_class,
        native_enum=False,
        length=20,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Role(enum.StrEnum):
    ORGANIZER = "organizer"
    CONTESTANT = "contestant"


class OrganizationKind(enum.StrEnum):
    DISTRICT = "district"
    UNIT = "unit"
    SCHOOL = "school"


class Organization(db.Model):  # type: ignore[name-defined]
    """A district, unit or school whose members are ranked together."""

    __tablename__ = "organization"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[OrganizationKind] = mapped_column(
        str_enum(OrganizationKind), default=OrganizationKind.UNIT
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    members: Mapped[list[User]] = relationship(back_populates="organization")


class User(UserMixin, db.Model):  # type: ignore[name-defined]
    """An organizer or a contestant. Spectators need no account."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", ondelete="SET NULL"), index=True
    )
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(254))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    organization: Mapped[Organization | None] = relationship(back_populates="members")

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_organizer(self) -> bool:
        return self.role is Role.ORGANIZER
