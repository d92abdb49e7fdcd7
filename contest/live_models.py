"""The live final (现场决赛): teams, the run sheet's segments and the append-only event log.

A round whose ``mode`` is ``live`` is run by a host instead of a timer. Its teams and segments are
set up before the day; everything that happens on the day is a :class:`LiveEvent`, and the
round's state is derived from those events (:mod:`contest.live_final.state`). Imported at the end
of :mod:`contest.models`.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from contest.columns import UTCDateTime, str_enum, utcnow
from contest.extensions import db


class SegmentKind(enum.StrEnum):
    REQUIRED = "required"  # 必答: each team in turn gets its own question
    CHOICE = "choice"  # 选答: a team picks a tile
    BUZZ = "buzz"  # 抢答: the first valid buzz after arming answers
    RISK = "risk"  # 风险: a team chooses a tier, then gains or loses it
    ALL = "all"  # 全员: every team answers the same question on its device
    TIEBREAK = "tiebreak"  # 加赛: the teams the host names answer one question


class LiveTeam(db.Model):  # type: ignore[name-defined]
    """A team of a live round: a display name, its unit and its members (one for an individual
    final). ``position`` is the team's turn in 必答 and 选答."""

    __tablename__ = "live_team"
    __table_args__ = (UniqueConstraint("round_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(60))
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", ondelete="SET NULL")
    )

    members: Mapped[list[LiveTeamMember]] = relationship(
        back_populates="team", cascade="all, delete-orphan", order_by="LiveTeamMember.id"
    )


class LiveTeamMember(db.Model):  # type: ignore[name-defined]
    """A contestant of a team; the captain's device answers for the team when every member's
    phone is connected."""

    __tablename__ = "live_team_member"
    __table_args__ = (UniqueConstraint("team_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("live_team.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    captain: Mapped[bool] = mapped_column(default=False)

    team: Mapped[LiveTeam] = relationship(back_populates="members")


class LiveSegment(db.Model):  # type: ignore[name-defined]
    """One segment of the run sheet: its kind, points, deduction, time limit and questions.

    ``questions``: the question version ids, drawn or picked when the segment is saved, so that
    the day plays what was prepared. ``options``: ``tiers`` (风险, e.g. [10, 20, 30]),
    ``pass_on_wrong`` (抢答: a wrong answer passes the question to the next buzz),
    ``speed_points`` (全员: extra for the first correct answer)."""

    __tablename__ = "live_segment"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[SegmentKind] = mapped_column(str_enum(SegmentKind))
    title: Mapped[str] = mapped_column(String(60))
    points: Mapped[int] = mapped_column(Integer, default=10)
    deduction: Mapped[int] = mapped_column(Integer, default=0)
    time_limit_s: Mapped[int] = mapped_column(Integer, default=30)
    questions: Mapped[list[int]] = mapped_column(JSON, default=list)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class LiveEvent(db.Model):  # type: ignore[name-defined]
    """One thing that happened in a live round, in order (``seq`` from 1, no gaps needed).

    Append-only: nothing updates or deletes a row; an undo is an event naming the one it undoes.
    ``at`` is the server's time; ``payload`` holds what the event says (see the reducer)."""

    __tablename__ = "live_event"
    __table_args__ = (UniqueConstraint("round_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    team_id: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
