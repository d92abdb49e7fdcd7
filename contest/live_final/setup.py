"""Preparing a live round before the day: the round, its teams and its run sheet, which can be
replaced or deleted until the host's first action (the event log then refers to them).

Questions are fixed when a segment is saved — picked by version id, or drawn from the bank's
published questions by area (category) and type — so the day plays what was prepared and the
event log needs no randomness to be replayed.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Sequence
from typing import Any

import redis
from flask_babel import gettext as _
from sqlalchemy import delete, func, select

from contest.errors import Conflict, InvalidInput, NotFound
from contest.extensions import db, redis_hub
from contest.input_checks import MAX_ID
from contest.live_final import compensation, store
from contest.models import (
    ContestStatus,
    LiveEvent,
    LiveSegment,
    LiveTeam,
    LiveTeamMember,
    Organization,
    Registration,
    Round,
    SegmentKind,
    User,
)
from contest.services import audit
from contest.services import contests as contest_service
from contest.services.blueprints import blueprint_rows, candidates
from question_bank.models import Bank, Question, QuestionStatus, QuestionVersion

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
    _check_settings(title, devices, segments, compensation_ms, bank_id)
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
    team_count = _fill(round_, segments, teams, individual=individual, seed=seed)
    audit.record(
        "round.create_live",
        target_type="round",
        target_id=round_.id,
        contest_id=contest_id,
        after={"title": round_.title, "segments": len(segments), "teams": team_count},
        actor=actor,
    )
    db.session.commit()
    return round_


def update_live_round(
    round_id: int,
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
    """Replace a live round's settings, teams and run sheet before the day (committed).

    Takes what :func:`create_live_round` takes; every segment's questions are picked or drawn
    again. 404 for a round that is not live; 409 ``live_started`` once the host has started it
    (the event log names its teams and segments), ``contest_closed`` for a finished or archived
    contest."""
    round_ = editable_round(round_id)
    _check_settings(title, devices, segments, compensation_ms, bank_id)
    before = _summary(round_)
    _clear(round_.id)
    round_.title = title.strip()
    round_.bank_id = bank_id
    round_.live = {"devices": devices, "compensation_ms": compensation_ms}
    db.session.flush()
    _fill(round_, segments, teams, individual=individual, seed=seed)
    db.session.flush()
    audit.record(
        "round.update_live",
        target_type="round",
        target_id=round_.id,
        contest_id=round_.contest_id,
        before=before,
        after=_summary(round_),
        actor=actor,
    )
    db.session.commit()
    _forget_live_copy(round_.id)
    return round_


def delete_live_round(round_id: int, *, actor: User | None = None) -> None:
    """Delete a live round with its teams, members and segments before the day (committed);
    the contest's later rounds move up one place. Refused as :func:`update_live_round` is."""
    round_ = editable_round(round_id)
    contest_id, position = round_.contest_id, round_.position
    audit.record(
        "round.delete_live",
        target_type="round",
        target_id=round_.id,
        contest_id=contest_id,
        before=_summary(round_),
        actor=actor,
    )
    _clear(round_.id)
    db.session.delete(round_)
    db.session.flush()
    # One row at a time, in order: each moves into the place the one before it left.
    for later in db.session.scalars(
        select(Round)
        .where(Round.contest_id == contest_id, Round.position > position)
        .order_by(Round.position)
    ):
        later.position -= 1
        db.session.flush()
    db.session.commit()
    _forget_live_copy(round_id)


def editable_round(round_id: int) -> Round:
    """The live round, locked for this transaction, if its teams and run sheet may still
    change: 404 for a round that is not live, 409 once the host has started it or when the
    contest is finished or archived."""
    round_ = db.session.scalar(select(Round).where(Round.id == round_id).with_for_update())
    if round_ is None or round_.mode != "live":
        raise NotFound(_("No such live round."))
    if round_.contest.status in (ContestStatus.FINISHED, ContestStatus.ARCHIVED):
        raise Conflict(
            _("The contest is finished or archived: its live rounds can no longer be changed."),
            code="contest_closed",
        )
    if has_started(round_id):
        raise Conflict(
            _(
                "The host has started this live round: its teams and run sheet can no longer "
                "be changed or deleted, as the day's record refers to them."
            ),
            code="live_started",
        )
    return round_


def has_started(round_id: int) -> bool:
    """Whether the round's event log has begun (the host's first action)."""
    found = db.session.scalar(select(LiveEvent.id).where(LiveEvent.round_id == round_id).limit(1))
    return found is not None


def _check_settings(
    title: str,
    devices: str,
    segments: Sequence[dict[str, Any]],
    compensation_ms: int,
    bank_id: int,
) -> None:
    if not title.strip():
        raise InvalidInput(_("A round needs a title."))
    if not _known(Bank, bank_id):
        raise InvalidInput(_("No such question bank."), code="no_bank")
    if devices not in DEVICE_MODES:
        raise InvalidInput(_("Devices are one per team or every member's phone."))
    if not segments:
        raise InvalidInput(_("A live round needs at least one segment."))
    if not 0 <= compensation_ms <= compensation.MAX_MS:
        raise InvalidInput(
            _("Delay compensation is from 0 to %(max)d ms.", max=compensation.MAX_MS)
        )


def _known(model: Any, key: Any) -> bool:
    """Whether ``key`` is the id of a row of ``model`` (a number out of the id column's range is
    not asked: the database would refuse the query)."""
    if not isinstance(key, int) or isinstance(key, bool) or not 0 < key <= MAX_ID:
        return False
    return db.session.get(model, key) is not None


def _fill(
    round_: Round,
    segments: Sequence[dict[str, Any]],
    teams: Sequence[dict[str, Any]] | None,
    *,
    individual: bool,
    seed: int | None,
) -> int:
    """Add the round's segments (their questions picked or drawn) and teams; how many teams."""
    rng = random.Random(seed)  # noqa: S311 (which questions, not a secret)
    for number, spec in enumerate(segments, start=1):
        db.session.add(_segment(round_, number, spec, rng))
    team_specs = _individual_teams(round_.contest_id) if individual else list(teams or [])
    _add_teams(round_, team_specs)
    return len(team_specs)


def _clear(round_id: int) -> None:
    """Delete the round's members, teams and segments (explicitly: SQLite applies the foreign
    keys' ON DELETE only when told to)."""
    teams = select(LiveTeam.id).where(LiveTeam.round_id == round_id)
    db.session.execute(delete(LiveTeamMember).where(LiveTeamMember.team_id.in_(teams)))
    db.session.execute(delete(LiveTeam).where(LiveTeam.round_id == round_id))
    db.session.execute(delete(LiveSegment).where(LiveSegment.round_id == round_id))
    db.session.expire_all()


def member_names(round_id: int, column: Any = User.username) -> dict[int, str]:
    """A ``User`` column (the username unless told) of the round's team members, by user id."""
    return dict(
        db.session.execute(
            select(User.id, column)
            .join(LiveTeamMember, LiveTeamMember.user_id == User.id)
            .join(LiveTeam, LiveTeam.id == LiveTeamMember.team_id)
            .where(LiveTeam.round_id == round_id)
        ).all()
    )


def _summary(round_: Round) -> dict[str, Any]:
    """The round as the audit log keeps it: settings, teams with their members' usernames
    (captain first) and segments."""
    usernames = member_names(round_.id)
    teams = db.session.scalars(
        select(LiveTeam).where(LiveTeam.round_id == round_.id).order_by(LiveTeam.position)
    )
    segments = db.session.scalars(
        select(LiveSegment).where(LiveSegment.round_id == round_.id).order_by(LiveSegment.position)
    )
    live = round_.live or {}
    return {
        "title": round_.title,
        "bank_id": round_.bank_id,
        "devices": live.get("devices", "team"),
        "compensation_ms": int(live.get("compensation_ms") or 0),
        "teams": [
            f"{team.name}: "
            + ", ".join(usernames.get(m.user_id, str(m.user_id)) for m in captain_first(team))
            for team in teams
        ],
        "segments": [
            f"{s.title} [{s.kind.value}] {s.points}/-{s.deduction} {s.time_limit_s}s "
            f"x{len(s.questions or [])}"
            for s in segments
        ],
    }


def captain_first(team: LiveTeam) -> list[LiveTeamMember]:
    """The team's members, the captain first, then in the order they were added."""
    return sorted(team.members, key=lambda member: not member.captain)


def _forget_live_copy(round_id: int) -> None:
    """Drop the state Redis holds for the round (a console opened before the change showed the
    old teams): the next read derives it from the database again."""
    with contextlib.suppress(redis.RedisError):
        store.forget(redis_hub.client, round_id)


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
        if not isinstance(picked, list) or not all(
            isinstance(v, int) and 0 < v <= MAX_ID for v in picked
        ):
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
        unit = spec.get("organization_id")
        if unit is not None and not _known(Organization, unit):
            raise InvalidInput(_("Team %(n)d: no such unit.", n=position))
        team = LiveTeam(round_id=round_.id, position=position, name=name, organization_id=unit)
        captains = [m for m in members if m.get("captain")]
        for index, member in enumerate(members):
            user_id = member.get("user_id")
            user = db.session.get(User, user_id) if _known(User, user_id) else None
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
