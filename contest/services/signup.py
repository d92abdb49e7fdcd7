"""Public sign-up (注册) for open contests, and the organizers' side of it.

A published contest with ``registration_mode`` open and ``signup_open`` takes sign-ups: a visitor
gives a display name, a mobile number (it becomes the username; nothing verifies it), a unit
(one of the contest's organizations, or "其他" with free text), a password, the contest's extra
fields and consent to its notice; :func:`sign_up` creates the contestant account and registers it
(source ``signup``). Mobile numbers and extra fields are private: they reach the organizers'
pages and exports only, never a board or a public response.

Organizers open and close sign-up, edit the extra fields and the notice
(:func:`update_settings`) and map units typed under "其他" to an organization
(:func:`map_unit`); both are audited. Nothing here commits: the caller does.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from contest.errors import Conflict, InvalidInput, NotFound
from contest.extensions import db
from contest.i18n import local_time, zone
from contest.models import (
    Contest,
    ContestStatus,
    Organization,
    OrganizationKind,
    Registration,
    RegistrationMode,
    Role,
    User,
)
from contest.services import audit, leaderboards
from contest.services.accounts import check_password, hash_password

MOBILE_RE = re.compile(r"^1[0-9]{10}$")
# A display name is public (boards, the big screen): it must not carry a phone number, however
# spaced ("138 0013 8000", full-width digits): at most MAX_NAME_DIGITS digits in all.
MAX_NAME_DIGITS = 4
FIELD_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MAX_NAME = 40
MAX_UNIT_OTHER = 120
MAX_EXTRA_VALUE = 100
MAX_FIELDS = 8
MAX_LABEL = 40
MAX_NOTICE = 5000
MAX_PASSWORD = 256
BEIJING_ZONES = {"Asia/Shanghai", "Asia/Chongqing", "Asia/Harbin", "PRC"}
OTHER_UNIT = "other"  # the form's value for "其他"


class SignupClosed(Conflict):
    """The contest exists and is public but takes no sign-ups (now or any more)."""

    code = "signup_closed"


class SignupInvalid(InvalidInput):
    """One or more fields are not acceptable; :attr:`problems` maps each field to its reason."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__(next(iter(problems.values())))


class MobileTaken(Conflict):
    code = "mobile_registered"


@dataclass
class SignupData:
    """What a visitor submits. ``organization_id`` None with ``unit_other`` means "其他"."""

    display_name: str
    mobile: str
    password: str
    password_again: str
    organization_id: int | None = None
    unit_other: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    consent: bool = False


@dataclass(frozen=True)
class UnitGroup:
    """One group of the unit list: a district (区县) with its units, or (``name`` "") the
    units belonging to no district."""

    name: str
    units: list[Organization]


# The contest ------------------------------------------------------------------------------------


def signup_contest(contest_id: int) -> Contest:
    """The contest if its sign-up page exists: a published, finished or archived open contest.
    A draft, an unknown id or an invite or roster contest is :class:`NotFound`."""
    contest = db.session.get(Contest, contest_id)
    if (
        contest is None
        or contest.status is ContestStatus.DRAFT
        or contest.registration_mode is not RegistrationMode.OPEN
    ):
        raise NotFound(_("No contest %(id)s.", id=contest_id))
    return contest


def takes_signups(contest: Contest) -> bool:
    """Published, open to all, and sign-up switched on by the organizers."""
    return (
        contest.status is ContestStatus.PUBLISHED
        and contest.registration_mode is RegistrationMode.OPEN
        and contest.signup_open
    )


def ensure_open(contest: Contest) -> None:
    """:class:`SignupClosed` unless :func:`takes_signups`."""
    if not takes_signups(contest):
        raise SignupClosed(_("Sign-up for this contest is closed."))


def open_contests(limit: int = 10) -> list[Contest]:
    """The newest contests taking sign-ups (for links on the login and landing pages)."""
    return list(
        db.session.scalars(
            select(Contest)
            .where(
                Contest.status == ContestStatus.PUBLISHED,
                Contest.registration_mode == RegistrationMode.OPEN,
                Contest.signup_open.is_(True),
            )
            .order_by(Contest.created_at.desc(), Contest.id.desc())
            .limit(limit)
        )
    )


def signup_fields(contest: Contest) -> list[dict[str, Any]]:
    """The contest's extra fields, each ``{"key", "label", "required"}`` (bad rows skipped)."""
    fields = []
    for row in contest.signup_fields or []:
        if isinstance(row, dict) and FIELD_KEY_RE.match(str(row.get("key") or "")):
            fields.append(
                {
                    "key": str(row["key"]),
                    "label": str(row.get("label") or row["key"])[:MAX_LABEL],
                    "required": bool(row.get("required")),
                }
            )
    return fields[:MAX_FIELDS]


# Units ------------------------------------------------------------------------------------------


def offered_units(contest: Contest) -> list[Organization]:
    """The organizations a visitor may choose: the contest's own and their units (a district
    listed brings the units under it); every organization when the contest lists none."""
    listed = list(contest.organizations)
    if not listed:
        return list(db.session.scalars(select(Organization).order_by(Organization.name)))
    ids = {o.id for o in listed}
    children = db.session.scalars(
        select(Organization).where(Organization.parent_id.in_(ids), Organization.id.not_in(ids))
    )
    return sorted([*listed, *children], key=lambda o: o.name)


def unit_tree(units: Sequence[Organization]) -> list[UnitGroup]:
    """``units`` as 区县 → 单位: one group per district (the district itself first, when it is
    offered), then the units of no district (group name "")."""
    by_id = {o.id: o for o in units}
    parents = {o.parent_id for o in units if o.parent_id is not None}
    groups: dict[int, list[Organization]] = {}
    loose: list[Organization] = []
    for org in units:
        if org.id in parents:
            groups.setdefault(org.id, []).insert(0, org)
        elif org.parent_id is not None:
            groups.setdefault(org.parent_id, []).append(org)
        else:
            loose.append(org)
    names = _names(set(groups) - set(by_id)) | {i: o.name for i, o in by_id.items()}
    tree = [UnitGroup(names.get(i, ""), members) for i, members in groups.items()]
    tree.sort(key=lambda g: g.name)
    if loose:
        tree.append(UnitGroup("", loose))
    return tree


def _names(ids: Iterable[int]) -> dict[int, str]:
    wanted = list(ids)
    if not wanted:
        return {}
    rows = db.session.execute(
        select(Organization.id, Organization.name).where(Organization.id.in_(wanted))
    )
    return {row.id: row.name for row in rows}


# Checking and signing up ------------------------------------------------------------------------


def normalize_mobile(text: str) -> str:
    """Digits only, full-width digits and spaces or dashes forgiven, a leading +86 dropped."""
    value = unicodedata.normalize("NFKC", text or "")
    value = re.sub(r"[\s\-]", "", value)
    if value.startswith("+86"):
        value = value[3:]
    elif value.startswith("0086"):
        value = value[4:]
    return value


def _clean(text: str | None) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


def _has_control(text: str) -> bool:
    return any(unicodedata.category(c).startswith("C") for c in text)


def check(contest: Contest, data: SignupData) -> dict[str, str]:
    """Every field's problem (field name → reason); empty when the sign-up may go ahead. Reads
    only the offered units; the mobile number's uniqueness is checked by :func:`sign_up`."""
    problems: dict[str, str] = {}
    name = _clean(data.display_name)
    if not name or len(name) > MAX_NAME or _has_control(name):
        problems["display_name"] = _("Give your name (at most %(n)d characters).", n=MAX_NAME)
    elif sum(c.isdigit() for c in unicodedata.normalize("NFKC", name)) > MAX_NAME_DIGITS:
        problems["display_name"] = _("A name must not contain a phone number or other digits.")
    if not MOBILE_RE.match(normalize_mobile(data.mobile)):
        problems["mobile"] = _("A mobile number has 11 digits and starts with 1.")
    if data.organization_id is not None:
        if data.organization_id not in {o.id for o in offered_units(contest)}:
            problems["organization_id"] = _("Choose your unit from the list.")
    else:
        other = _clean(data.unit_other)
        if not other or len(other) > MAX_UNIT_OTHER or _has_control(other):
            problems["unit_other"] = _(
                "Choose your unit, or choose Other and type its name (at most %(n)d characters).",
                n=MAX_UNIT_OTHER,
            )
    problem = check_password(data.password or "")
    if problem or len(data.password or "") > MAX_PASSWORD:
        problems["password"] = problem or _("The password is too long.")
    elif data.password != data.password_again:
        problems["password_again"] = _("The two passwords differ.")
    for row in signup_fields(contest):
        value = _clean(data.extra.get(row["key"]))
        if len(value) > MAX_EXTRA_VALUE or _has_control(value):
            problems[f"extra.{row['key']}"] = _("At most %(n)d characters.", n=MAX_EXTRA_VALUE)
        elif row["required"] and not value:
            problems[f"extra.{row['key']}"] = _("%(label)s is required.", label=row["label"])
    if not data.consent:
        problems["consent"] = _("Agree to the contest's rules and privacy notice to sign up.")
    return problems


def ensure_valid(contest: Contest, data: SignupData) -> None:
    """:class:`SignupInvalid` naming every problem :func:`check` finds."""
    problems = check(contest, data)
    if problems:
        raise SignupInvalid(problems)


def mobile_taken(mobile: str) -> bool:
    return (
        db.session.scalar(select(User.id).where(User.username == normalize_mobile(mobile)))
        is not None
    )


def sign_up(contest_id: int, data: SignupData, *, now: datetime) -> User:
    """Create the contestant account (username: the mobile number) and register it for the
    contest (source ``signup``, consent time ``now``); not committed.

    :class:`SignupClosed` unless the contest takes sign-ups, :class:`SignupInvalid` for bad
    fields, :class:`MobileTaken` when an account already has this mobile number.
    """
    contest = signup_contest(contest_id)
    ensure_open(contest)
    ensure_valid(contest, data)
    mobile = normalize_mobile(data.mobile)
    if mobile_taken(mobile):
        raise _taken()
    organization = (
        db.session.get(Organization, data.organization_id) if data.organization_id else None
    )
    user = User(
        username=mobile,
        display_name=_clean(data.display_name),
        password_hash=hash_password(data.password),
        role=Role.CONTESTANT,
        organization_id=organization.id if organization else None,
        phone=mobile,
    )
    extra = {row["key"]: _clean(data.extra.get(row["key"])) for row in signup_fields(contest)}
    try:
        with db.session.begin_nested():  # a savepoint: a concurrent twin may take the mobile
            db.session.add(user)
            db.session.flush()
            db.session.add(
                Registration(
                    contest_id=contest.id,
                    user_id=user.id,
                    source="signup",
                    registered_at=now,
                    unit_other=None if organization else _clean(data.unit_other),
                    extra=extra or None,
                    consented_at=now,
                )
            )
    except IntegrityError:
        raise _taken() from None
    leaderboards.render_after_commit(contest.id)  # the unit's enrolled count moves
    return user


def _taken() -> MobileTaken:
    return MobileTaken(
        _("This mobile number is already registered: log in with it instead."),
    )


# Organizers -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldRow:
    """One row of the settings form's field editor: ``key`` is the stored key of an existing
    field ("" for a new row), ``label`` what contestants see."""

    key: str
    label: str
    required: bool = False


def build_fields(rows: Sequence[FieldRow], *, taken: Iterable[str] = ()) -> list[dict[str, Any]]:
    """The contest's extra fields from the editor's rows (rows without a label are dropped).

    An existing field keeps its key, so answers stored under it still match; a new field gets
    ``field<n>`` with the first number neither another field nor ``taken`` (the keys of
    answers already stored, see :func:`answer_keys`) uses. :class:`InvalidInput` names the
    first bad row (1-based): a label too long or with control characters, a key that is not a
    key, a key twice, or more than :data:`MAX_FIELDS` fields.
    """
    filled = [(n, row) for n, row in enumerate(rows, start=1) if _clean(row.label)]
    if len(filled) > MAX_FIELDS:
        raise InvalidInput(_("At most %(n)d extra fields.", n=MAX_FIELDS))
    used = {row.key for _n, row in filled if row.key} | set(taken)
    fields: list[dict[str, Any]] = []
    for number, row in filled:
        label = _clean(row.label)
        if len(label) > MAX_LABEL or _has_control(label):
            raise InvalidInput(
                _("Field %(n)d: a name has at most %(max)d characters.", n=number, max=MAX_LABEL)
            )
        key = row.key or _new_key(used)
        if not FIELD_KEY_RE.match(key) or any(f["key"] == key for f in fields):
            raise InvalidInput(_("Field %(n)d: reload the page and try again.", n=number))
        used.add(key)
        fields.append({"key": key, "label": label, "required": bool(row.required)})
    return fields


def answer_keys(contest: Contest) -> set[str]:
    """The keys of the contest's fields and of every answer its sign-ups stored, so a new field
    never takes the key of a removed one (its old answers would show under the new name)."""
    keys = {f["key"] for f in signup_fields(contest)}
    for extra in db.session.scalars(
        select(Registration.extra).where(
            Registration.contest_id == contest.id, Registration.extra.is_not(None)
        )
    ):
        keys.update(str(k) for k in (extra or {}))
    return keys


def _new_key(used: set[str]) -> str:
    number = 1
    while f"field{number}" in used:
        number += 1
    return f"field{number}"


def _settings(contest: Contest) -> dict[str, Any]:
    return {
        "signup_open": contest.signup_open,
        "signup_fields": signup_fields(contest),
        "signup_notice": contest.signup_notice or "",
    }


def update_settings(
    contest_id: int,
    *,
    signup_open: bool,
    fields: list[dict[str, Any]],
    notice: str,
    actor: User | None = None,
) -> Contest:
    """Open or close sign-up, set the extra fields and the notice (audited
    ``contest.signup_settings``; not committed). Opening needs an open contest and a notice."""
    contest = db.session.get(Contest, contest_id)
    if contest is None:
        raise NotFound(_("No contest %(id)s.", id=contest_id))
    notice = (notice or "").strip()
    if len(notice) > MAX_NOTICE:
        raise InvalidInput(_("The notice has at most %(n)d characters.", n=MAX_NOTICE))
    if signup_open and contest.registration_mode is not RegistrationMode.OPEN:
        raise InvalidInput(_("Only a contest open to all can take sign-ups."))
    if signup_open and not notice:
        raise InvalidInput(_("Sign-up needs the rules and privacy notice contestants agree to."))
    before = _settings(contest)
    contest.signup_open = signup_open
    contest.signup_fields = fields
    contest.signup_notice = notice
    after = _settings(contest)
    if after != before:
        audit.record(
            "contest.signup_settings",
            target_type="contest",
            target_id=contest.id,
            contest_id=contest.id,
            before=before,
            after=after,
            actor=actor,
        )
    return contest


def map_unit(
    contest_id: int, registration_id: int, organization_id: int, *, actor: User | None = None
) -> Registration:
    """Give a sign-up that typed its unit under "其他" the organization it means: the account's
    organization becomes it and ``unit_other`` is cleared (audited ``registration.map_unit``;
    not committed)."""
    registration, user = _waiting(contest_id, registration_id)
    organization = db.session.get(Organization, organization_id)
    if organization is None:
        raise InvalidInput(_("Choose an organization."))
    _set_unit(registration, user, organization, actor=actor)
    return registration


def map_to_new_unit(
    contest_id: int,
    registration_id: int,
    name: str,
    *,
    parent_id: int | None = None,
    actor: User | None = None,
) -> Organization:
    """Create the unit ``name`` (under the district ``parent_id``, if given) and map the sign-up
    waiting under "其他" to it, as :func:`map_unit` does; the audit event names the unit created.
    :class:`Conflict` when a unit of that name exists (choose it from the list instead);
    not committed."""
    registration, user = _waiting(contest_id, registration_id)
    name = _clean(name)
    if not name or len(name) > MAX_UNIT_OTHER or _has_control(name):
        raise InvalidInput(_("A unit's name has 1 to %(n)d characters.", n=MAX_UNIT_OTHER))
    if db.session.scalar(select(Organization.id).where(Organization.name == name)) is not None:
        raise Conflict(
            _("The unit %(name)s exists already: choose it from the list.", name=name),
            code="organization_exists",
        )
    if parent_id is not None and parent_id not in {o.id for o in districts()}:
        raise InvalidInput(_("Choose a district from the list."))
    organization = Organization(name=name, kind=OrganizationKind.UNIT, parent_id=parent_id)
    db.session.add(organization)
    db.session.flush()
    _set_unit(
        registration,
        user,
        organization,
        actor=actor,
        created={"id": organization.id, "name": name, "parent_id": parent_id},
    )
    return organization


def districts() -> list[Organization]:
    """The districts (区县) a new unit may go under, by name."""
    return list(
        db.session.scalars(
            select(Organization)
            .where(Organization.kind == OrganizationKind.DISTRICT)
            .order_by(Organization.name)
        )
    )


def _waiting(contest_id: int, registration_id: int) -> tuple[Registration, User]:
    """The sign-up and its account if it still waits under "其他", else :class:`NotFound`."""
    registration = db.session.get(Registration, registration_id)
    if (
        registration is None
        or registration.contest_id != contest_id
        or registration.source != "signup"
        or registration.unit_other is None
    ):  # only a sign-up still waiting under "其他": units of other accounts are the admins'
        raise NotFound(_("No registration %(id)s.", id=registration_id))
    user = db.session.get(User, registration.user_id)
    if user is None:
        raise NotFound(_("No registration %(id)s.", id=registration_id))
    return registration, user


def _set_unit(
    registration: Registration,
    user: User,
    organization: Organization,
    *,
    actor: User | None,
    created: dict[str, Any] | None = None,
) -> None:
    before = {"unit_other": registration.unit_other, "organization_id": user.organization_id}
    after: dict[str, Any] = {"unit_other": None, "organization_id": organization.id}
    if created is not None:
        after["organization_created"] = created
    user.organization_id = organization.id
    registration.unit_other = None
    audit.record(
        "registration.map_unit",
        target_type="registration",
        target_id=registration.id,
        contest_id=registration.contest_id,
        before=before,
        after=after,
        actor=actor,
    )
    leaderboards.render_after_commit(registration.contest_id)  # the member moves to the unit


@dataclass(frozen=True)
class SignupRow:
    """One sign-up as organizers see it (private: mobile and extra fields)."""

    registration_id: int
    registered_at: datetime
    display_name: str
    mobile: str
    organization: str
    unit_other: str
    extra: dict[str, str]


def _signups(contest_id: int, other_only: bool) -> Any:
    query = select(Registration).where(
        Registration.contest_id == contest_id, Registration.source == "signup"
    )
    if other_only:
        query = query.where(Registration.unit_other.is_not(None))
    return query


def count_signups(contest_id: int, *, other_only: bool = False) -> int:
    """How many sign-ups the contest has (``other_only``: still waiting for a unit)."""
    subquery = _signups(contest_id, other_only).subquery()
    return int(db.session.scalar(select(func.count()).select_from(subquery)) or 0)


def signup_rows(
    contest_id: int, *, other_only: bool = False, offset: int = 0, limit: int | None = None
) -> list[SignupRow]:
    """The contest's sign-ups, oldest first; ``other_only``: those still waiting for a unit."""
    query = (
        _signups(contest_id, other_only)
        .add_columns(User.display_name, User.username, Organization.name)
        .join(User, User.id == Registration.user_id)
        .outerjoin(Organization, Organization.id == User.organization_id)
        .order_by(Registration.registered_at, Registration.id)
        .offset(offset)
        .limit(limit)
    )
    return [
        SignupRow(
            registration_id=reg.id,
            registered_at=reg.registered_at,
            display_name=name,
            mobile=username,
            organization=org or "",
            unit_other=reg.unit_other or "",
            extra={str(k): str(v) for k, v in (reg.extra or {}).items()},
        )
        for reg, name, username, org in db.session.execute(query)
    ]


# Exports ----------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralize(cell: str) -> str:
    """A cell spreadsheets will not run as a formula: one starting with = + - @ (or a tab or
    carriage return) gets a leading apostrophe."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def export_table(contest: Contest, rows: Sequence[SignupRow]) -> list[list[str]]:
    """Header and rows of the sign-up export, every cell neutralized."""
    fields = signup_fields(contest)
    keys = [f["key"] for f in fields]
    for row in rows:  # answers to fields removed since still belong in the export
        for key in row.extra:
            if key not in keys:
                keys.append(key)
    labels = {f["key"]: f["label"] for f in fields}
    header = [
        _registered_at_header(),
        _("Name"),
        _("Mobile"),
        _("Unit"),
        _("Unit (other)"),
        *[labels.get(k, k) for k in keys],
    ]
    table = [header]
    for row in rows:
        table.append(
            [
                local_time(row.registered_at, seconds=True),
                row.display_name,
                row.mobile,
                row.organization,
                row.unit_other,
                *[row.extra.get(k, "") for k in keys],
            ]
        )
    return [[neutralize(cell) for cell in line] for line in table]


def _registered_at_header() -> str:
    """The time column's header names the site's time zone the times are in."""
    name = zone().key
    if name in BEIJING_ZONES:
        return _("Registered at (Beijing time)")
    return _("Registered at (%(zone)s)", zone=name)


def export_csv(table: Sequence[Sequence[str]]) -> bytes:
    """UTF-8 with a BOM (Excel reads it as UTF-8), CRLF lines."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(table)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def export_xlsx(table: Sequence[Sequence[str]]) -> bytes:
    """One sheet, every cell a string (never a formula)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("报名")
    for line in table:
        cells = []
        for text in line:
            cell = WriteOnlyCell(sheet, _xml_safe(text))
            cell.data_type = "s"
            cells.append(cell)
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xml_safe(text: str) -> str:
    """XML cannot carry most control characters: they are dropped (names and units are checked
    on the way in; this guards older rows)."""
    return "".join(c for c in text if c in "\t\n" or not unicodedata.category(c).startswith("C"))
