"""Accounts, contests, rounds and attempts. Thin typed models; services do the writing."""

from __future__ import annotations

import enum
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from contest.columns import UTCDateTime, str_enum, utcnow
from contest.extensions import db


class Role(enum.StrEnum):
    """``admin``: everything, accounts included. ``organizer``: contests and banks, no account
    administration (a district's own organizer). ``contestant``: takes part."""

    ADMIN = "admin"
    ORGANIZER = "organizer"
    CONTESTANT = "contestant"


ORGANIZER_ROLES = (Role.ADMIN, Role.ORGANIZER)


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
    # A tree where the organizers made one: a unit under its district (区县 → 单位).
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    members: Mapped[list[User]] = relationship(back_populates="organization")


class SessionUser(NamedTuple):
    """Who a signed session names: the account and the session generation it was signed in."""

    id: int
    generation: int


_DIGITS = re.compile(r"[0-9]{1,18}")


def parse_session_user(raw: object) -> SessionUser | None:
    """``"42:3"`` (what :meth:`User.get_id` writes) as a :class:`SessionUser`. None: anything
    else, a bare ``"42"`` from before generations existed included (those sessions end)."""
    if not isinstance(raw, str):
        return None
    user_id, colon, generation = raw.partition(":")
    if not colon or not _DIGITS.fullmatch(user_id) or not _DIGITS.fullmatch(generation):
        return None
    return SessionUser(int(user_id), int(generation))


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
    # Raised by logout, a password change or reset and deactivation: a session cookie remembers
    # the generation it was signed in, so every earlier session of the account stops working.
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    organization: Mapped[Organization | None] = relationship(back_populates="members")

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        """What a session keeps (Flask-Login): the id and the session generation, ``"42:3"``."""
        return f"{self.id}:{self.session_generation}"

    @property
    def is_organizer(self) -> bool:
        """An admin or an organizer: contests and banks."""
        return self.role in ORGANIZER_ROLES

    @property
    def is_admin(self) -> bool:
        """Account administration too."""
        return self.role is Role.ADMIN


# Contests and rounds ----------------------------------------------------------------------------


class RegistrationMode(enum.StrEnum):
    OPEN = "open"  # any contestant account may take part
    INVITE = "invite"  # contestants join with the contest's invite code
    ROSTER = "roster"  # only contestants the organizers enrolled


class ContestStatus(enum.StrEnum):
    """Draft → published → finished → archived. A draft is seen by organizers only."""

    DRAFT = "draft"
    PUBLISHED = "published"
    FINISHED = "finished"
    ARCHIVED = "archived"


class BoardVisibility(enum.StrEnum):
    PUBLIC = "public"
    ORGANIZERS = "organizers"


class Contest(db.Model):  # type: ignore[name-defined]
    __tablename__ = "contest"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    schedule: Mapped[str] = mapped_column(Text, default="")
    registration_mode: Mapped[RegistrationMode] = mapped_column(
        str_enum(RegistrationMode), default=RegistrationMode.OPEN
    )
    invite_code: Mapped[str | None] = mapped_column(String(64))
    board_visibility: Mapped[BoardVisibility] = mapped_column(
        str_enum(BoardVisibility), default=BoardVisibility.PUBLIC
    )
    mask_names: Mapped[bool] = mapped_column(default=True)
    status: Mapped[ContestStatus] = mapped_column(
        str_enum(ContestStatus), default=ContestStatus.DRAFT
    )
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Public sign-up (注册) for an open contest: whether it is taking sign-ups, the extra fields
    # it asks for ([{"key", "label", "required"}]) and the rules and privacy notice consented to.
    signup_open: Mapped[bool] = mapped_column(default=False)
    signup_fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    signup_notice: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    rounds: Mapped[list[Round]] = relationship(back_populates="contest", order_by="Round.position")
    organizations: Mapped[list[Organization]] = relationship(secondary="contest_organization")


class ContestOrganization(db.Model):  # type: ignore[name-defined]
    __tablename__ = "contest_organization"

    contest_id: Mapped[int] = mapped_column(
        ForeignKey("contest.id", ondelete="CASCADE"), primary_key=True
    )
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True
    )


class Registration(db.Model):  # type: ignore[name-defined]
    """A contestant taking part in a contest."""

    __tablename__ = "registration"
    __table_args__ = (UniqueConstraint("contest_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contest.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(String(20))  # open, invite, roster, signup
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Sign-up only: the unit typed under "其他" (until an organizer maps it to an organization)
    # and the answers to the contest's extra fields. Never on a public page or response.
    unit_other: Mapped[str | None] = mapped_column(String(120))
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ScorePolicy(enum.StrEnum):
    BEST = "best"
    LAST = "last"


class ReviewPolicy(enum.StrEnum):
    AFTER_SUBMIT = "after_submit"
    AFTER_CLOSE = "after_close"
    NEVER = "never"


class ScoreVisibility(enum.StrEnum):
    """When a contestant sees an attempt's score: with unlimited attempts, a score shown at once
    lets a contestant change one answer per attempt and read off whether it was right."""

    AFTER_SUBMIT = "after_submit"
    AFTER_CLOSE = "after_close"


class IntegrityAction(enum.StrEnum):
    WARN = "warn"
    SUBMIT = "submit"
    VOID = "void"


class Round(db.Model):  # type: ignore[name-defined]
    """A timed paper round (the online preliminary) of a contest."""

    __tablename__ = "round"
    __table_args__ = (UniqueConstraint("contest_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contest.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)  # 1 初赛, 2 复赛, 3 决赛 …
    title: Mapped[str] = mapped_column(String(200))
    mode: Mapped[str] = mapped_column(String(10), default="paper")
    bank_id: Mapped[int] = mapped_column(ForeignKey("bank.id"))
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # None: always
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    duration_s: Mapped[int] = mapped_column(Integer)
    attempts_allowed: Mapped[int] = mapped_column(Integer, default=1)  # 0: unlimited
    score_policy: Mapped[ScorePolicy] = mapped_column(
        str_enum(ScorePolicy), default=ScorePolicy.BEST
    )
    blueprint: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    shuffle_questions: Mapped[bool] = mapped_column(default=True)
    shuffle_options: Mapped[bool] = mapped_column(default=True)
    multiple_rule: Mapped[str] = mapped_column(String(20), default="all_or_nothing")
    # After the round closes by default: early finishers must not be able to pass the key on.
    review_policy: Mapped[ReviewPolicy] = mapped_column(
        str_enum(ReviewPolicy), default=ReviewPolicy.AFTER_CLOSE
    )
    score_visibility: Mapped[ScoreVisibility] = mapped_column(
        str_enum(ScoreVisibility), default=ScoreVisibility.AFTER_SUBMIT
    )
    integrity_threshold: Mapped[int] = mapped_column(Integer, default=0)  # 0: not enforced
    integrity_action: Mapped[IntegrityAction] = mapped_column(
        str_enum(IntegrityAction), default=IntegrityAction.WARN
    )
    focus_grace_s: Mapped[int] = mapped_column(Integer, default=3)
    grace_s: Mapped[int] = mapped_column(Integer, default=10)
    qualification: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # 封榜: from freeze_at on, public boards show only what was submitted before it, until the
    # organizers reveal (revealed_at); organizers always see live standings.
    freeze_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # 申诉: hours after review opens (the close plus grace; a round without a close: the
    # submission) during which contestants may appeal an item. 0: no appeals.
    appeal_window_h: Mapped[int] = mapped_column(Integer, default=72, server_default="72")
    # A live round (mode "live", contest/live_models.py): {"devices": "team" | "members"}.
    live: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    contest: Mapped[Contest] = relationship(back_populates="rounds")


# Attempts ---------------------------------------------------------------------------------------


class AttemptStatus(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    SCORED = "scored"
    VOID = "void"


class Attempt(db.Model):  # type: ignore[name-defined]
    """One contestant's sitting of a round, with the paper drawn for it."""

    __tablename__ = "attempt"
    __table_args__ = (
        UniqueConstraint("round_id", "user_id", "number"),
        Index("ix_attempt_open_deadline", "status", "deadline_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[AttemptStatus] = mapped_column(
        str_enum(AttemptStatus), default=AttemptStatus.IN_PROGRESS
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_by: Mapped[str | None] = mapped_column(String(20))  # contestant/deadline/integrity
    device_id: Mapped[str | None] = mapped_column(String(64))
    focus_losses: Mapped[int] = mapped_column(Integer, default=0)  # counted ones
    focus_lost_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    flagged: Mapped[bool] = mapped_column(default=False)
    score: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    max_score: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=0)
    time_used_s: Mapped[int | None] = mapped_column(Integer)
    scored_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Organizer actions: seconds the deadline was moved by hand, and the status a voided attempt
    # had (restoring it brings that back).
    extended_s: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    voided_from: Mapped[str | None] = mapped_column(String(20))

    items: Mapped[list[AttemptItem]] = relationship(order_by="AttemptItem.position")


class AttemptItem(db.Model):  # type: ignore[name-defined]
    """One question of a paper and the contestant's saved answer to it."""

    __tablename__ = "attempt_item"

    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("attempt.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    question_version_id: Mapped[int] = mapped_column(ForeignKey("question_version.id"))
    points: Mapped[int] = mapped_column(Integer)
    option_order: Mapped[list[int]] = mapped_column(JSON, default=list)
    option_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    answer: Mapped[Any] = mapped_column(JSON)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    flagged: Mapped[bool] = mapped_column(default=False)
    saved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    earned: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    correct: Mapped[bool | None] = mapped_column()


class IntegrityEvent(db.Model):  # type: ignore[name-defined]
    """Append-only log of focus losses and what the rules did about them."""

    __tablename__ = "integrity_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("attempt.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(30))  # hidden, visible, action_warn, action_submit …
    counted: Mapped[bool] = mapped_column(default=False)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    detail: Mapped[str] = mapped_column(String(200), default="")


# Organizer records -------------------------------------------------------------------------------


class AuditEvent(db.Model):  # type: ignore[name-defined]
    """Append-only record of an organizer's action: who, what, on what, when, before and after,
    and the reason given. Written in the same transaction as the change it records. The actor's
    name and the contest id are copied, so the record outlives both."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    actor_name: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(40), index=True)  # e.g. attempt.extend
    target_type: Mapped[str] = mapped_column(String(20))  # user, contest, round, attempt, site …
    target_id: Mapped[int | None] = mapped_column(Integer)
    contest_id: Mapped[int | None] = mapped_column(Integer, index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class SiteSetting(db.Model):  # type: ignore[name-defined]
    """A site-wide text the organizers set (e.g. whom to ask for a forgotten password)."""

    __tablename__ = "site_setting"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RosterImport(db.Model):  # type: ignore[name-defined]
    """One roster upload, run on the ``imports`` queue. ``content`` is dropped once processed;
    the generated passwords are kept only sealed (encrypted) in ``passwords_sealed`` until their
    one download or ``passwords_expire_at``, then dropped."""

    __tablename__ = "roster_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20), default="queued")  # queued/running/…
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    passwords_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    passwords_expire_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# Awards (评奖) and the public winners list (公示) -------------------------------------------------


class AwardPlan(db.Model):  # type: ignore[name-defined]
    """A contest's awards: the tier rules, the unit award rule, the organizers' adjustments, the
    locked result and the public winners list (公示).

    ``tiers``: [{"key", "label", "mode" ("count"/"percent"), "value", "per_unit", "min_score"}]
    in order (the first tier is the highest). ``unit_rule``: {"label", "metric" ("rate"/"mean"),
    "top", "min_enrolled"} or None. ``adjustments``: user id (as text) → {"tier": a tier key, or
    "" for removed, "reason"}. ``snapshot`` (set while locked): {"awardees": [...],
    "units": [...]}, never recomputed until unlocked. ``review_reason``: set when scores changed
    after locking (the awards need a second look), cleared on re-locking or confirming.
    """

    __tablename__ = "award_plan"

    contest_id: Mapped[int] = mapped_column(
        ForeignKey("contest.id", ondelete="CASCADE"), primary_key=True
    )
    tiers: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    unit_rule: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    adjustments: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    locked_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    review_reason: Mapped[str] = mapped_column(Text, default="")
    review_flagged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    publish_from: Mapped[date | None] = mapped_column(Date)
    publish_until: Mapped[date | None] = mapped_column(Date)
    objection_contact: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# Exports ----------------------------------------------------------------------------------------


class ExportJob(db.Model):  # type: ignore[name-defined]
    """A file generated on the ``default`` queue for a contest (results, certificates …): its
    status and progress, then the file itself until ``expires_at`` (24 h), when ``content`` is
    dropped and the status becomes ``expired``."""

    __tablename__ = "export_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # results, certificates, report …
    contest_id: Mapped[int] = mapped_column(
        ForeignKey("contest.id", ondelete="CASCADE"), index=True
    )
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="queued")  # running/done/failed/expired
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    filename: Mapped[str] = mapped_column(String(255), default="")
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    mimetype: Mapped[str] = mapped_column(String(120), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


# Appeals (申诉) and item rulings ------------------------------------------------------------------


class AppealStatus(enum.StrEnum):
    OPEN = "open"
    REJECTED = "rejected"
    ACCEPTED = "accepted"


class AppealDecision(enum.StrEnum):
    REJECT = "reject"
    ACCEPT_ANSWER = "accept_answer"  # another answer also earns full points
    CHANGE_KEY = "change_key"  # the key was wrong: graded with the corrected one
    VOID_ITEM = "void_item"  # the item is void: every attempt holding it gets its points


class Appeal(db.Model):  # type: ignore[name-defined]
    """A contestant's appeal of one item of their attempt, with the organizers' decision."""

    __tablename__ = "appeal"
    __table_args__ = (
        UniqueConstraint("attempt_id", "position"),
        Index("ix_appeal_item", "round_id", "question_version_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"))
    contest_id: Mapped[int] = mapped_column(
        ForeignKey("contest.id", ondelete="CASCADE"), index=True
    )
    question_version_id: Mapped[int] = mapped_column(ForeignKey("question_version.id"))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[AppealStatus] = mapped_column(str_enum(AppealStatus), default=AppealStatus.OPEN)
    decision: Mapped[AppealDecision | None] = mapped_column(str_enum(AppealDecision))
    reply: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )


class ItemRuling(db.Model):  # type: ignore[name-defined]
    """How one question version is graded in one round after accepted appeals; every grading
    of the round's attempts consults it (``contest.services.scoring``, ``rulings``).

    ``key``: the corrected key (the version's answer JSON, in the version's own option indexes),
    None: the version's own; ``accepted``: further answers that earn full points (same form);
    ``voided``: every attempt holding the item gets its points. ``new_version_id``: the bank
    version that carries the corrected key (the attempts keep showing the version they saw)."""

    __tablename__ = "item_ruling"
    __table_args__ = (UniqueConstraint("round_id", "question_version_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"))
    question_version_id: Mapped[int] = mapped_column(ForeignKey("question_version.id"))
    key: Mapped[Any] = mapped_column(JSON)
    accepted: Mapped[list[Any]] = mapped_column(JSON, default=list)
    voided: Mapped[bool] = mapped_column(default=False)
    new_version_id: Mapped[int | None] = mapped_column(ForeignKey("question_version.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# Award certificates (contest/certificate_models.py) and the live final (contest/live_models.py)

from contest.certificate_models import Certificate, CertificateSettings  # noqa: E402,F401
from contest.live_models import (  # noqa: E402,F401
    LiveEvent,
    LiveSegment,
    LiveTeam,
    LiveTeamMember,
    SegmentKind,
)
