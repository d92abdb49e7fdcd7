"""The form of the organizer's live-round pages: the round, its teams and its run sheet, what it
becomes for :func:`contest.live_final.setup.create_live_round` (or ``update_live_round``), and
what a stored round shows in it.

Team and segment rows are numbered as the page shows them: the view compacts the posted rows
(filled ones first, in their order) before the form reads them, so "segment 3" in a message of
the set-up service is the third segment on the page.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.i18n import translations as wtf_translations
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    Field,
    FieldList,
    Form,
    FormField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from contest.admin.forms import _type_choices as type_choices
from contest.extensions import db
from contest.live_final import compensation
from contest.live_final.setup import (
    DEVICE_MODES,
    MAX_MEMBERS,
    MAX_TEAMS,
    captain_first,
    member_names,
)
from contest.models import (
    LiveSegment,
    LiveTeam,
    Role,
    Round,
    SegmentKind,
    User,
)
from contest.services.accounts import normalize_username
from question_bank.models import Category, Question, QuestionVersion

TEAM_ROWS = 4  # team rows shown at least
SEGMENT_ROWS = 4
BLANK_ROWS = 1  # blank rows after the filled ones (the script copies the last one to add a row)
MORE_ROWS = 4  # rows the "more rows" button adds without script
MAX_SEGMENTS = 50
ROW_NAME = re.compile(r"^(teams|segments)-(\d+)-(\w+)$")
# A row counts as filled when one of these has a value (defaults such as points do not count).
FILLED_BY = {
    "teams": ("name", "organization_id", "members"),
    "segments": ("kind", "title", "count", "tiers"),
}
SEPARATORS = re.compile(r"[\s,，、;；]+")


class _RowForm(Form):
    class Meta:
        # Rows carry no CSRF token of their own; WTForms' messages in the page's language.
        def get_translations(self, form: Any) -> Any:
            return wtf_translations


def _kind_choices() -> list[tuple[str, str]]:
    return [
        ("", str(_l("(empty row)"))),
        (SegmentKind.REQUIRED.value, str(_l("Turn questions"))),
        (SegmentKind.CHOICE.value, str(_l("Tile questions"))),
        (SegmentKind.BUZZ.value, str(_l("Buzz-in questions"))),
        (SegmentKind.RISK.value, str(_l("Stake questions"))),
        (SegmentKind.ALL.value, str(_l("All-team questions"))),
        (SegmentKind.TIEBREAK.value, str(_l("Play-off"))),
    ]


class TeamRowForm(_RowForm):
    name = StringField(_l("Team name"), validators=[Length(max=60)])
    # Choices are the organizations, set by the view; "" is none.
    organization_id = SelectField(_l("Unit (optional)"), choices=[], default="")
    members = StringField(
        _l("Members' usernames (the first is captain)"), validators=[Length(max=400)]
    )


class SegmentRowForm(_RowForm):
    kind = SelectField(_l("Kind"), choices=_kind_choices, default="")
    title = StringField(_l("Title (optional)"), validators=[Length(max=60)])
    points = IntegerField(
        _l("Points"), default=10, validators=[Optional(), NumberRange(min=0, max=10_000)]
    )
    deduction = IntegerField(
        _l("Deduction for a wrong answer"),
        default=0,
        validators=[Optional(), NumberRange(min=0, max=10_000)],
    )
    time_limit_s = IntegerField(
        _l("Time limit (seconds)"),
        default=30,
        validators=[Optional(), NumberRange(min=5, max=10_000)],
    )
    count = IntegerField(
        _l("Number of questions"), validators=[Optional(), NumberRange(min=1, max=500)]
    )
    type = SelectField(_l("Question type"), choices=type_choices, default="single")
    # Choices of the category are the bank's paths, set by the view; "" is every category.
    category = SelectField(
        _l("Category"), choices=[], default="", validate_choice=False, validators=[Length(max=500)]
    )
    tiers = StringField(_l("Stakes (stake questions only)"), validators=[Length(max=100)])
    pass_on_wrong = BooleanField(_l("A wrong answer passes to the next buzz (buzz-in only)"))
    speed_points = IntegerField(
        _l("Extra points for the first correct answer (all-team only)"),
        default=0,
        validators=[Optional(), NumberRange(min=0, max=10_000)],
    )


def _device_choices() -> list[tuple[str, str]]:
    labels = {
        "team": str(_l("One device per team")),
        "members": str(_l("Every member's phone (the captain's answer counts)")),
    }
    return [(mode, labels[mode]) for mode in DEVICE_MODES]


def _team_mode_choices() -> list[tuple[str, str]]:
    return [
        ("teams", str(_l("The teams below"))),
        ("individual", str(_l("Every registered contestant is a team of one"))),
    ]


MAX_COMPENSATION_MS = compensation.MAX_MS


class LiveRoundForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    bank_id = SelectField(_l("Question bank"), coerce=int, choices=[])
    devices = RadioField(_l("Devices"), choices=_device_choices, default="team")
    compensation_ms = IntegerField(
        _l("Delay compensation in the buzz order (ms, 0: off)"),
        default=0,
        validators=[Optional(), NumberRange(min=0, max=MAX_COMPENSATION_MS)],
    )
    team_mode = RadioField(_l("Teams"), choices=_team_mode_choices, default="teams")
    teams = FieldList(FormField(TeamRowForm), min_entries=TEAM_ROWS, max_entries=MAX_TEAMS + 1)
    segments = FieldList(
        FormField(SegmentRowForm), min_entries=SEGMENT_ROWS, max_entries=MAX_SEGMENTS + 1
    )


# Posted rows ---------------------------------------------------------------------------------


def compacted(formdata: MultiDict[str, str]) -> MultiDict[str, str]:
    """The posted form with its team and segment rows renumbered from 0, filled rows only, in
    their order (blank rows come back as padding)."""
    rows: dict[str, dict[int, list[tuple[str, str]]]] = {"teams": {}, "segments": {}}
    kept: list[tuple[str, str]] = []
    for key, value in formdata.items(multi=True):
        match = ROW_NAME.match(key)
        if match is None:
            kept.append((key, value))
        else:
            group, index, field = match.groups()
            rows[group].setdefault(int(index), []).append((field, value))
    for group, by_index in rows.items():
        filled = [
            values
            for _index, values in sorted(by_index.items())
            if any(field in FILLED_BY[group] and value.strip() for field, value in values)
        ]
        for number, values in enumerate(filled):
            kept.extend((f"{group}-{number}-{field}", value) for field, value in values)
    return MultiDict(kept)


def is_filled(row: Form, group: str) -> bool:
    return any(str(row[field].data or "").strip() for field in FILLED_BY[group])


def pad(entries: FieldList, minimum: int, extra: int = BLANK_ROWS) -> None:
    """Blank rows after the filled ones: at least ``minimum`` rows, and ``extra`` blank."""
    filled = sum(1 for entry in entries if is_filled(entry.form, entries.name))
    wanted = max(minimum, filled + extra)
    if entries.max_entries:
        wanted = min(wanted, entries.max_entries)
    while len(entries) < wanted:
        entries.append_entry()


def _flag(field: Field, message: str, errors: list[str]) -> None:
    field.errors = [*field.errors, message]
    errors.append(message)


# The specs for the set-up service ----------------------------------------------------------------


def team_specs(form: LiveRoundForm) -> tuple[list[dict[str, Any]], list[str]]:
    """Teams as ``create_live_round`` takes them, members resolved from their usernames, and
    what is wrong with the rows (also said beside each field)."""
    rows = [entry.form for entry in form.teams if is_filled(entry.form, "teams")]
    errors: list[str] = []
    if len(rows) > MAX_TEAMS:
        errors.append(_("A live round has at most %(n)d teams.", n=MAX_TEAMS))
        return [], errors
    named = [SEPARATORS.split((row.members.data or "").strip()) for row in rows]
    users = _users(name for names in named for name in names if name)
    specs: list[dict[str, Any]] = []
    team_names: dict[str, int] = {}
    member_of: dict[str, int] = {}
    for number, (row, typed) in enumerate(zip(rows, named, strict=True), start=1):
        name = (row.name.data or "").strip()
        names = [normalize_username(n) for n in typed if n]
        if not name:
            _flag(row.name, _("Team %(n)d needs a name.", n=number), errors)
        elif name in team_names:
            message = _("Teams %(a)d and %(b)d have the same name.", a=team_names[name], b=number)
            _flag(row.name, message, errors)
        team_names.setdefault(name, number)
        if not names:
            _flag(row.members, _("Team %(n)d needs at least one member.", n=number), errors)
        elif len(names) > MAX_MEMBERS:
            message = _(
                "Team %(n)d names %(count)d members; a team has one to %(max)d.",
                n=number,
                count=len(names),
                max=MAX_MEMBERS,
            )
            _flag(row.members, message, errors)
        for username in names:
            if (problem := _member_problem(username, users.get(username), number)) is not None:
                _flag(row.members, problem, errors)
            elif member_of.get(username) == number:
                message = _("Team %(n)d names %(name)s twice.", n=number, name=username)
                _flag(row.members, message, errors)
            elif username in member_of:
                message = _(
                    "%(name)s is named in team %(a)d and in team %(b)d.",
                    name=username,
                    a=member_of[username],
                    b=number,
                )
                _flag(row.members, message, errors)
            member_of.setdefault(username, number)
        unit = row.organization_id.data
        specs.append(
            {
                "name": name,
                "organization_id": int(unit) if unit else None,
                "members": [{"user_id": users[n].id} for n in names if n in users],
            }
        )
    if not rows:
        errors.append(_("Add the teams, or make every registered contestant a team of one."))
    return specs, errors


def _users(usernames: Iterable[str]) -> dict[str, User]:
    wanted = {normalize_username(name) for name in usernames}
    if not wanted:
        return {}
    return {
        u.username: u for u in db.session.scalars(select(User).where(User.username.in_(wanted)))
    }


def _member_problem(username: str, user: User | None, number: int) -> str | None:
    if user is None:
        return _(
            "Team %(n)d: there is no account with the username %(name)s.", n=number, name=username
        )
    if user.role is not Role.CONTESTANT:
        return _("Team %(n)d: %(name)s is an organizer, not a contestant.", n=number, name=username)
    if not user.active:
        return _("Team %(n)d: the account %(name)s is deactivated.", n=number, name=username)
    return None


def segment_specs(form: LiveRoundForm) -> tuple[list[dict[str, Any]], list[str]]:
    """The run sheet as ``create_live_round`` takes it, and what is wrong with the rows."""
    rows = [entry.form for entry in form.segments if is_filled(entry.form, "segments")]
    errors: list[str] = []
    if len(rows) > MAX_SEGMENTS:
        errors.append(_("A live round has at most %(n)d segments.", n=MAX_SEGMENTS))
        return [], errors
    specs: list[dict[str, Any]] = []
    for number, row in enumerate(rows, start=1):
        kind = row.kind.data or ""
        if not kind:
            _flag(row.kind, _("Segment %(n)d needs a kind.", n=number), errors)
        if row.count.data is None:
            _flag(row.count, _("Segment %(n)d needs a number of questions.", n=number), errors)
        spec: dict[str, Any] = {
            "kind": kind,
            "title": (row.title.data or "").strip(),
            "pool": {
                "type": row.type.data,
                "count": row.count.data,
                "category": row.category.data or "",
            },
        }
        for key, value in (
            ("points", row.points.data),
            ("deduction", row.deduction.data),
            ("time_limit_s", row.time_limit_s.data),
        ):
            if value is not None:  # left empty: the service's default
                spec[key] = value
        if kind == SegmentKind.RISK.value and (row.tiers.data or "").strip():
            tiers = _tiers(row.tiers.data or "")
            if tiers is None:
                message = _("Segment %(n)d: stakes are whole points, e.g. 10,20,30.", n=number)
                _flag(row.tiers, message, errors)
            spec["tiers"] = tiers
        if kind == SegmentKind.BUZZ.value:
            spec["pass_on_wrong"] = bool(row.pass_on_wrong.data)
        if kind == SegmentKind.ALL.value and row.speed_points.data is not None:
            spec["speed_points"] = row.speed_points.data
        specs.append(spec)
    if not rows:
        errors.append(_("A live round needs at least one segment."))
    return specs, errors


def _tiers(text: str) -> list[int] | None:
    parts = [p for p in SEPARATORS.split(text.strip()) if p]
    if not parts or not all(p.isdecimal() and 0 < int(p) <= 10_000 for p in parts):
        return None
    return [int(p) for p in parts]


# A stored round, as the form shows it ------------------------------------------------------------


def stored_data(round_: Round) -> dict[str, Any]:
    """The form's data for a stored live round: its teams as usernames (the captain first) and
    its segments. A segment's number of questions, type and category are read from the
    questions it holds (the most common type; the category they all share, subcategories
    included), as a save draws them again with those."""
    teams = db.session.scalars(
        select(LiveTeam).where(LiveTeam.round_id == round_.id).order_by(LiveTeam.position)
    ).all()
    usernames = member_names(round_.id)
    segments = db.session.scalars(
        select(LiveSegment).where(LiveSegment.round_id == round_.id).order_by(LiveSegment.position)
    ).all()
    drawn = _drawn({v for segment in segments for v in segment.questions or []})
    live = round_.live or {}
    return {
        "title": round_.title,
        "bank_id": round_.bank_id,
        "devices": live.get("devices", "team"),
        "compensation_ms": int(live.get("compensation_ms") or 0),
        "team_mode": "teams",
        "teams": [
            {
                "name": team.name,
                "organization_id": str(team.organization_id or ""),
                "members": ", ".join(
                    usernames.get(member.user_id, "") for member in captain_first(team)
                ),
            }
            for team in teams
        ],
        "segments": [_segment_data(segment, drawn) for segment in segments],
    }


def _drawn(version_ids: set[int]) -> dict[int, tuple[str, str]]:
    """Each question version's type and category path ("" when it has none)."""
    if not version_ids:
        return {}
    rows = db.session.execute(
        select(QuestionVersion.id, QuestionVersion.type, Category.path)
        .join(Question, Question.id == QuestionVersion.question_id)
        .outerjoin(Category, Category.id == Question.category_id)
        .where(QuestionVersion.id.in_(version_ids))
    )
    return {version: (kind.value, path or "") for version, kind, path in rows}


def _segment_data(segment: LiveSegment, drawn: dict[int, tuple[str, str]]) -> dict[str, Any]:
    found = [drawn[v] for v in segment.questions or [] if v in drawn]
    types = Counter(kind for kind, _path in found)
    options = segment.options or {}
    return {
        "kind": segment.kind.value,
        "title": segment.title,
        "points": segment.points,
        "deduction": segment.deduction,
        "time_limit_s": segment.time_limit_s,
        "count": len(segment.questions or []) or None,
        "type": types.most_common(1)[0][0] if types else "single",
        "category": _shared_category([path for _kind, path in found]),
        "tiers": ",".join(str(t) for t in options.get("tiers") or []),
        "pass_on_wrong": bool(options.get("pass_on_wrong")),
        "speed_points": int(options.get("speed_points") or 0),
    }


def _shared_category(paths: list[str]) -> str:
    """The deepest category every path is in ("": none shared, or a question without one)."""
    if not paths or not all(paths):
        return ""
    parts = [path.strip("/").split("/") for path in paths]
    shared: list[str] = []
    for level in zip(*parts, strict=False):
        if len(set(level)) != 1:
            break
        shared.append(level[0])
    return "/".join(shared)
