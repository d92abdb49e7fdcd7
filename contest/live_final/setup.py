"""Preparing a live round before the day: the round, its teams and its run sheet.

Questions are fixed when a segment is saved — picked by version id, or drawn from the bank's
published questions by area (category) and type — so the day plays what was prepared and the
event log needs no randomness to be replayed.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from contest.errors import Conflict, InvalidInput
from contest.extensions import db
from contest.live_final import compensation
from contest.models import (
    ContestStatus,
    LiveSegment,
    LiveTeam,
    LiveTeamMember,
    Registration,
    Round,
    SegmentKind,
    User,
)
from contest.services import audit
from contest.services import contests as contest_service
from contest.services.blueprints import blueprint_rows, candidates
from question_bank.models import Question, QuestionStatus, QuestionVersion

DEVICE_MODES = ("team", "members")
MAX_TEAMS = 200
MAX_MEMBERS = 4


def create_live_round(
    contest_id: int,
    *,
    title: str,
    bank_id: int,
    segments: Sequence[dict[str, Any]],
    teams: Sequence[dict[str, Any]] | None = None,
    individual: bool = False,
    devices: str = "team",
    compensation_ms: int = 0,
    actor: User | None = None,
    seed: int | None = None,
) -> Round:
    """A live round with its teams and run sheet (committed).

    ``teams``: [{name, organization_id?, members: [{user_id, captain?}]}] (one to four members;
    the first is captain unless one is named). ``individual``: instead, every contestant
    registered for the contest is a team of one. ``segments``: [{kind, title?, points?,
    deduction?, time_limit_s?, questions?: [version ids] | pool?: {category?, type, count},
    tiers?, pass_on_wrong?, speed_points?}]."""
    contest = contest_service.get_contest(contest_id)
    if contest.status in (ContestStatus.FINISHED, ContestStatus.ARCHIVED):
        raise Conflict(
            _("A finished or archived contest takes no new round."), code="contest_closed"
        )
    if not title.strip():
        raise InvalidInput(_("A round needs a title."))
    if devices not in DEVICE_MODES:
        raise InvalidInput(_("Devices are one per team or every member's phone."))
    if not segments:
        raise InvalidInput(_("A live round needs at least one segment."))
    if not 0 <= compensation_ms <= compensation.MAX_MS:
        raise InvalidInput(
            _("Delay compensation is from 0 to %(max)d ms.", max=compensation.MAX_MS)
        )
    position = (
        db.session.scalar(select(func.max(Round.position)).where(Round.contest_id == contest_id))
        or 0
    ) + 1
    round_ = Round(
        contest_id=contest_id,
        position=position,
        title=title.strip(),
        mode="live",
        bank_id=bank_id,
        duration_s=0,
        blueprint=[],
        live={"devices": devices, "compensation_ms": compensation_ms},
    )
    db.session.add(round_)
    db.session.flush()
    rng = random.Random(seed)  # noqa: S311 (which questions, not a secret)
    for number, spec in enumerate(segments, start=1):
        db.session.add(_segment(round_, number, spec, rng))
    team_specs = _individual_teams(contest_id) if individual else list(teams or [])
    _add_teams(round_, team_specs)
    audit.record(
        "round.create_live",
        target_type="round",
        target_id=round_.id,
        contest_id=contest_id,
        after={"title": round_.title, "segments": len(segments), "teams": len(team_specs)},
        actor=actor,
    )
    db.session.commit()
    return round_


def _segment(round_: Round, number: int, spec: dict[str, Any], rng: random.Random) -> LiveSegment:
    try:
        kind = SegmentKind(str(spec.get("kind")))
    except ValueError:
        raise InvalidInput(_("Segment %(n)d has no valid kind.", n=number)) from None
    points = _whole(spec.get("points", 10), number, minimum=0)
    deduction = _whole(spec.get("deduction", 0), number, minimum=0)
    time_limit = _whole(spec.get("time_limit_s", 30), number, minimum=5)
    questions = _questions(round_.bank_id, spec, number, rng)
    options: dict[str, Any] = {}
    if kind is SegmentKind.RISK:
        tiers = spec.get("tiers") or [10, 20, 30]
        if not isinstance(tiers, list) or not all(
            isinstance(t, int) and not isinstance(t, bool) and t > 0 for t in tiers
        ):
            raise InvalidInput(_("Segment %(n)d: tiers are positive whole points.", n=number))
        options["tiers"] = sorted(set(tiers))
    if kind is SegmentKind.BUZZ:
        options["pass_on_wrong"] = bool(spec.get("pass_on_wrong"))
    if kind is SegmentKind.ALL:
        options["speed_points"] = _whole(spec.get("speed_points", 0), number, minimum=0)
    return LiveSegment(
        round_id=round_.id,
        position=number,
        kind=kind,
        title=(spec.get("title") or "").strip()[:60] or _default_title(kind),
        points=points,
        deduction=deduction,
        time_limit_s=time_limit,
        questions=questions,
        options=options,
    )


def _whole(value: Any, number: int, *, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= 10_000:
        raise InvalidInput(
            _(
                "Segment %(n)d: points and times are whole numbers from %(min)d.",
                n=number,
                min=minimum,
            )
        )
    return value


def _questions(bank_id: int, spec: dict[str, Any], number: int, rng: random.Random) -> list[int]:
    picked = spec.get("questions")
    if picked:
        if not isinstance(picked, list) or not all(isinstance(v, int) for v in picked):
            raise InvalidInput(_("Segment %(n)d: questions are version ids.", n=number))
        found = set(
            db.session.scalars(
                select(QuestionVersion.id)
                .join(Question, Question.id == QuestionVersion.question_id)
                .where(
                    QuestionVersion.id.in_(picked),
                    Question.bank_id == bank_id,
                    Question.status == QuestionStatus.PUBLISHED,
                )
            )
        )
        missing = [v for v in picked if v not in found]
        if missing:
            raise InvalidInput(
                _(
                    "Segment %(n)d: no published question %(id)d in the bank.",
                    n=number,
                    id=missing[0],
                )
            )
        return list(picked)
    pool = spec.get("pool") or {}
    rows = blueprint_rows([{**pool, "points": 1}])
    found_candidates = candidates(bank_id, rows[0])
    if len(found_candidates) < rows[0].count:
        raise InvalidInput(
            _(
                "Segment %(n)d asks for %(count)d questions; the bank has %(found)d that fit.",
                n=number,
                count=rows[0].count,
                found=len(found_candidates),
            )
        )
    return [c.version_id for c in rng.sample(found_candidates, rows[0].count)]


def _default_title(kind: SegmentKind) -> str:
    return {
        SegmentKind.REQUIRED: _("Required questions"),
        SegmentKind.CHOICE: _("Chosen questions"),
        SegmentKind.BUZZ: _("Buzzer questions"),
        SegmentKind.RISK: _("Risk questions"),
        SegmentKind.ALL: _("Everyone answers"),
        SegmentKind.TIEBREAK: _("Tie-break"),
    }[kind]


def _individual_teams(contest_id: int) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(User.id, User.display_name, User.organization_id)
        .join(Registration, Registration.user_id == User.id)
        .where(Registration.contest_id == contest_id, User.active.is_(True))
        .order_by(User.id)
    ).all()
    return [
        {"name": name, "organization_id": unit, "members": [{"user_id": user_id}]}
        for user_id, name, unit in rows
    ]


def _add_teams(round_: Round, specs: Sequence[dict[str, Any]]) -> None:
    if not specs:
        raise InvalidInput(_("A live round needs at least one team."))
    if len(specs) > MAX_TEAMS:
        raise InvalidInput(_("A live round has at most %(n)d teams.", n=MAX_TEAMS))
    seen_users: set[int] = set()
    names: set[str] = set()
    for position, spec in enumerate(specs, start=1):
        name = (spec.get("name") or "").strip()[:60]
        members = spec.get("members") or []
        if not name or name in names:
            raise InvalidInput(_("Team %(n)d needs a name of its own.", n=position))
        if not 1 <= len(members) <= MAX_MEMBERS:
            raise InvalidInput(_("Team %(n)d needs one to four members.", n=position))
        names.add(name)
        team = LiveTeam(
            round_id=round_.id,
            position=position,
            name=name,
            organization_id=spec.get("organization_id"),
        )
        captains = [m for m in members if m.get("captain")]
        for index, member in enumerate(members):
            user_id = member.get("user_id")
            user = db.session.get(User, user_id) if isinstance(user_id, int) else None
            if user is None or user_id in seen_users:
                raise InvalidInput(
                    _("Team %(n)d: a member is unknown or already in a team.", n=position)
                )
            seen_users.add(user_id)
            captain = bool(member.get("captain")) if captains else index == 0
            team.members.append(LiveTeamMember(user_id=user_id, captain=captain))
        db.session.add(team)


def copy_run_sheet(source_id: int, target_id: int) -> None:
    """Give a copied live round the source's segments (the same questions) and teams (not
    committed): a contest copied for next year's final starts from this year's preparation."""
    for segment in db.session.scalars(
        select(LiveSegment).where(LiveSegment.round_id == source_id).order_by(LiveSegment.position)
    ):
        db.session.add(
            LiveSegment(
                round_id=target_id,
                position=segment.position,
                kind=segment.kind,
                title=segment.title,
                points=segment.points,
                deduction=segment.deduction,
                time_limit_s=segment.time_limit_s,
                questions=list(segment.questions),
                options=dict(segment.options),
            )
        )
    for team in db.session.scalars(
        select(LiveTeam).where(LiveTeam.round_id == source_id).order_by(LiveTeam.position)
    ):
        copied = LiveTeam(
            round_id=target_id,
            position=team.position,
            name=team.name,
            organization_id=team.organization_id,
        )
        copied.members = [
            LiveTeamMember(user_id=member.user_id, captain=member.captain)
            for member in team.members
        ]
        db.session.add(copied)
