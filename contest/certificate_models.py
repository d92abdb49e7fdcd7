"""Award certificates (获奖证书): each contest's certificate settings and the certificates issued.

Imported at the end of :mod:`contest.models`, so ``from contest.models import Certificate`` works
like any other model.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from contest.columns import UTCDateTime, utcnow
from contest.extensions import db


class CertificateSettings(db.Model):  # type: ignore[name-defined]
    """How a contest's certificates look: the design, who issues them, the date printed and an
    optional seal or logo (a PNG re-encoded on upload)."""

    __tablename__ = "certificate_settings"

    contest_id: Mapped[int] = mapped_column(
        ForeignKey("contest.id", ondelete="CASCADE"), primary_key=True
    )
    design: Mapped[str] = mapped_column(String(20), default="classic")
    issuer: Mapped[str] = mapped_column(String(120), default="")
    issue_date: Mapped[date | None] = mapped_column(Date)
    seal: Mapped[bytes | None] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Certificate(db.Model):  # type: ignore[name-defined]
    """One certificate issued to an awardee. What it says is copied when it is issued, so that its
    verification keeps saying what the paper says; a certificate whose awardee or award changed is
    revoked (``revoked_at``) and a new one issued under a new number."""

    __tablename__ = "certificate"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    contest_id: Mapped[int] = mapped_column(
        ForeignKey("contest.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    full_name: Mapped[str] = mapped_column(String(120))
    organization: Mapped[str] = mapped_column(String(120), default="")
    tier_key: Mapped[str] = mapped_column(String(40))
    tier_label: Mapped[str] = mapped_column(String(60))
    rank: Mapped[int | None] = mapped_column(Integer)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
