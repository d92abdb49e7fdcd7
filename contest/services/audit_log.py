"""Reading the audit log: who may see which events, filters, labels, key diffs and exports.

Admins see every event. Other organizers see every event except account events — accounts,
rosters and site settings (:data:`ACCOUNT_TARGETS`) — which only admins administer. The log is
written by :func:`contest.services.audit.record`; nothing here writes.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, false, func, select

from contest.extensions import db
from contest.i18n import local_time
from contest.models import AuditEvent, Organization, User

# Target types (and action prefixes) of account events: only admins see them.
ACCOUNT_TARGETS = ("user", "roster", "site")
EXPORT_LIMIT = 50_000  # rows in one export; narrow the filters for more
_FORMULA_START = re.compile(r"^[=+\-@\t\r]")
# What XML 1.0 cannot carry (openpyxl refuses it): control characters but tab and newlines.
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

_ACTIONS = {
    "contest.create": _l("Contest created"),
    "contest.update": _l("Contest changed"),
    "contest.publish": _l("Contest published"),
    "contest.unpublish": _l("Contest withdrawn to draft"),
    "contest.finish": _l("Contest finished"),
    "contest.reopen": _l("Contest reopened"),
    "contest.archive": _l("Contest archived"),
    "contest.unarchive": _l("Contest unarchived"),
    "contest.copy": _l("Contest copied"),
    "contest.delete": _l("Contest deleted"),
    "contest.enroll": _l("Organizations enrolled"),
    "contest.signup_settings": _l("Sign-up settings changed"),
    "round.create": _l("Round created"),
    "round.update": _l("Round changed"),
    "round.reveal": _l("Board revealed"),
    "round.create_live": _l("Live round created"),
    "round.update_live": _l("Live round changed"),
    "round.delete_live": _l("Live round deleted"),
    "attempt.extend": _l("Attempt time extended"),
    "attempt.void": _l("Attempt voided"),
    "attempt.restore": _l("Voided attempt restored"),
    "attempt.rescore": _l("Attempt rescored"),
    "appeal.reject": _l("Appeal rejected"),
    "appeal.accept_answer": _l("Appeal accepted: another answer earns full points"),
    "appeal.change_key": _l("Appeal accepted: answer key corrected"),
    "appeal.void_item": _l("Appeal accepted: question voided"),
    "awards.rules": _l("Award rules saved"),
    "awards.adjust": _l("Award adjusted by hand"),
    "awards.lock": _l("Awards locked"),
    "awards.unlock": _l("Awards unlocked"),
    "awards.flag": _l("Awards flagged for a second look"),
    "awards.confirm": _l("Locked awards confirmed"),
    "awards.publish": _l("Winners list published"),
    "awards.unpublish": _l("Winners list withdrawn"),
    "export.start": _l("Export started"),
    "registration.map_unit": _l("Sign-up unit mapped"),
    "roster.import": _l("Roster imported"),
    "user.create": _l("Account created"),
    "user.update": _l("Account changed"),
    "user.deactivate": _l("Account deactivated"),
    "user.reactivate": _l("Account reactivated"),
    "user.reset_password": _l("Password reset"),
    "site.update": _l("Site settings changed"),
    "law.import": _l("Law file imported"),
    "law_version.in_force": _l("In-force date of a law version set"),
    "question.cite_in_force": _l("Citation moved to the version in force"),
}

_TARGETS = {
    "contest": _l("Contest"),
    "round": _l("Round"),
    "attempt": _l("Answer sheet"),
    "appeal": _l("Appeal"),
    "registration": _l("Registration record"),
    "user": _l("Account"),
    "roster": _l("Roster"),
    "site": _l("Site"),
    "law": _l("Law"),
    "law_version": _l("Law version"),
    "question": _l("Question"),
}


def action_label(action: str) -> str:
    """The action in the interface language; an action without a label shows as it is."""
    label = _ACTIONS.get(action)
    return str(label) if label is not None else action


def target_label(target_type: str) -> str:
    label = _TARGETS.get(target_type)
    return str(label) if label is not None else target_type


def known_actions() -> list[str]:
    return sorted(_ACTIONS)


def is_account_event(event: AuditEvent) -> bool:
    return event.target_type in ACCOUNT_TARGETS or event.action.split(".", 1)[0] in ACCOUNT_TARGETS


@dataclass(frozen=True)
class AuditFilter:
    """What to list; empty fields do not filter. ``action`` ending in a dot is a prefix
    (``attempt.``); ``since`` is inclusive and ``until`` exclusive (UTC)."""

    contest_id: int | None = None
    action: str = ""
    actor: str = ""
    target_type: str = ""
    target_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


def events_query(filters: AuditFilter, *, viewer: User) -> Select[tuple[AuditEvent]]:
    """The events ``viewer`` may see that match ``filters``, newest first."""
    query = select(AuditEvent)
    if not viewer.is_organizer:
        query = query.where(false())
    elif not viewer.is_admin:
        query = query.where(
            AuditEvent.target_type.not_in(ACCOUNT_TARGETS),
            *[AuditEvent.action.not_like(f"{prefix}.%") for prefix in ACCOUNT_TARGETS],
        )
    if filters.contest_id is not None:
        query = query.where(AuditEvent.contest_id == filters.contest_id)
    if filters.action.endswith("."):
        query = query.where(AuditEvent.action.startswith(filters.action, autoescape=True))
    elif filters.action:
        query = query.where(AuditEvent.action == filters.action)
    if filters.actor:
        query = query.where(func.lower(AuditEvent.actor_name) == filters.actor.strip().lower())
    if filters.target_type:
        query = query.where(AuditEvent.target_type == filters.target_type)
    if filters.target_id is not None:
        query = query.where(AuditEvent.target_id == filters.target_id)
    if filters.since is not None:
        query = query.where(AuditEvent.at >= filters.since)
    if filters.until is not None:
        query = query.where(AuditEvent.at < filters.until)
    return query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


def actions_seen(viewer: User) -> list[str]:
    """Every action in the log the viewer may see, with the labelled ones, for a filter's
    choices."""
    query = events_query(AuditFilter(), viewer=viewer).order_by(None)
    seen = db.session.scalars(query.with_only_columns(AuditEvent.action).distinct()).all()
    known = [a for a in known_actions() if viewer.is_admin or not _account_action(a)]
    return sorted(set(seen) | set(known))


def _account_action(action: str) -> bool:
    return action.split(".", 1)[0] in ACCOUNT_TARGETS


# What the keys of before/after are called, as the services record them.
_FIELDS = {
    "status": _l("Status"),
    "voided_from": _l("Status before the void"),
    "score": _l("Score"),
    "deadline_at": _l("Deadline"),
    "extended_s": _l("Time extended"),
    "minutes": _l("Minutes added"),
    "beyond_close": _l("Beyond the round's close"),
    "username": _l("Username"),
    "display_name": _l("Name"),
    "role": _l("Role"),
    "organization_id": _l("Organization"),
    "active": _l("Enabled"),
    "filename": _l("File"),
    "created": _l("Accounts created"),
    "password_help": _l("Forgotten-password help"),
    "published_at": _l("Published at"),
    "finished_at": _l("Finished at"),
    "archived_at": _l("Archived at"),
    "source_id": _l("Copied from"),
    "title": _l("Title"),
    "rounds": _l("Rounds"),
    "signup_open": _l("Taking sign-ups"),
    "signup_fields": _l("Sign-up fields"),
    "signup_notice": _l("Sign-up notice"),
    "unit_other": _l("Unit typed by the contestant"),
    "organization_created": _l("Unit created"),
    # Contest and round settings, named as their forms name them.
    "description": _l("Description"),
    "schedule": _l("Schedule"),
    "registration_mode": _l("Registration"),
    "invite_code": _l("Invite code"),
    "board_visibility": _l("Leaderboard visible to"),
    "mask_names": _l("Mask names on public boards (张*三)"),
    "bank_id": _l("Question bank"),
    "opens_at": _l("Opens at"),
    "closes_at": _l("Closes at"),
    "freeze_at": _l("Board frozen at"),
    "duration_s": _l("Time per attempt"),
    "attempts_allowed": _l("Attempts allowed"),
    "score_policy": _l("Which attempt counts"),
    "blueprint": _l("Paper"),
    "shuffle_questions": _l("Shuffle questions"),
    "shuffle_options": _l("Shuffle options"),
    "multiple_rule": _l("Multiple-choice scoring"),
    "review_policy": _l("Review opens"),
    "score_visibility": _l("Score shown"),
    "integrity_threshold": _l("Focus losses allowed"),
    "integrity_action": _l("Action when the limit is exceeded"),
    "focus_grace_s": _l("Focus losses shorter than this are not counted"),
    "grace_s": _l("Grace for answers in flight after the deadline"),
    "qualification": _l("Qualification"),
    # A live round (现场决赛).
    "devices": _l("Devices"),
    "compensation_ms": _l("Delay compensation in the buzz order (ms, 0: off)"),
    "teams": _l("Teams"),
    "segments": _l("Run sheet"),
    # Awards (评奖) and the winners list (公示).
    "tiers": _l("Award tiers"),
    "unit_rule": _l("Unit award rule"),
    "adjustment": _l("Award adjustment"),
    "awardees": _l("Awardees"),
    "counts": _l("Awardees per tier"),
    "locked_at": _l("Locked at"),
    "published": _l("Winners list public"),
    "review_reason": _l("Needs a second look because"),
    "publish_from": _l("Publication starts"),
    "publish_until": _l("Publication ends"),
    "objection_contact": _l("Objections to"),
}
# Keys whose meaning depends on the target: a roster counts units, a contest lists them.
_TARGET_FIELDS = {
    ("roster", "organizations"): _l("Units in the file"),
    ("contest", "organizations"): _l("Organizations taking part"),
}
_SECONDS = ("extended_s", "duration_s", "focus_grace_s", "grace_s")
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def field_label(key: str, target_type: str = "") -> str:
    """A before/after key in the interface language; an unknown key shows as it is."""
    label = _TARGET_FIELDS.get((target_type, key)) or _FIELDS.get(key)
    return str(label) if label is not None else key


@dataclass(frozen=True)
class Change:
    """One key of before/after: its old and new value as stored text ("" when absent), and
    the same in words: the key's label and the values as pages show them."""

    key: str
    before: str
    after: str
    label: str = ""
    before_text: str = ""
    after_text: str = ""


def changes(
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    *,
    target_type: str = "",
    names: dict[int, str] | None = None,
) -> list[Change]:
    """The keys whose values differ between before and after, in key order. ``target_type``
    tells whose status a ``status`` is; ``names`` holds organization names by id
    (:func:`organization_names`)."""
    old, new = before or {}, after or {}
    keys = sorted(set(old) | set(new))
    return [
        Change(
            key,
            _text(old.get(key)),
            _text(new.get(key)),
            field_label(key, target_type),
            value_text(key, old.get(key), target_type=target_type, names=names),
            value_text(key, new.get(key), target_type=target_type, names=names),
        )
        for key in keys
        if key not in old or key not in new or old[key] != new[key]
    ]


def organization_names(events: Iterable[AuditEvent]) -> dict[int, str]:
    """The names of the organizations the events' before/after mention, in one query."""
    ids: set[int] = set()
    for event in events:
        for values in (event.before or {}, event.after or {}):
            found = values.get("organization_id")
            listed = values.get("organizations") if event.target_type == "contest" else None
            for value in [found, *(listed if isinstance(listed, list) else [])]:
                if isinstance(value, int) and not isinstance(value, bool):
                    ids.add(value)
    if not ids:
        return {}
    rows = db.session.execute(
        select(Organization.id, Organization.name).where(Organization.id.in_(ids))
    )
    return {id_: name for id_, name in rows}


def value_text(
    key: str, value: Any, *, target_type: str = "", names: dict[int, str] | None = None
) -> str:
    """A recorded value as pages show it: statuses and roles by their labels, seconds as
    minutes, an organization by its name, times in the site's time zone; other values as
    :func:`_readable` writes them."""
    # The labels live with the organizer pages that show them; imported here, when used.
    from contest.admin import contest_labels as labels
    from contest.admin.users import role_label

    if value is None or value == "":
        return ""
    enums: dict[str, Callable[[Any], str]] = {
        "role": role_label,
        "registration_mode": labels.registration_mode_label,
        "review_policy": labels.review_policy_label,
        "score_visibility": labels.score_visibility_label,
        "integrity_action": labels.integrity_action_label,
        "multiple_rule": labels.multiple_rule_label,
    }
    if target_type == "contest":
        enums["status"] = labels.contest_status_label
    elif target_type == "attempt":
        enums["status"] = enums["voided_from"] = labels.attempt_status_label
    try:
        if key in enums:
            return enums[key](value)
        if key == "qualification" and isinstance(value, dict):
            return labels.qualification_text(value)
    except (KeyError, ValueError, TypeError):
        return _readable(value)
    whole = isinstance(value, int) and not isinstance(value, bool)
    if key in _SECONDS and whole:
        return labels.duration_text(value)
    if key == "organizations" and isinstance(value, list):
        return "、".join((names or {}).get(v) or f"#{v}" for v in value)
    if key == "bank_id" and whole:
        return f"#{value}"
    if key == "minutes" and whole:
        return labels.duration_text(value * 60)
    if key == "organization_id" and whole:
        return (names or {}).get(value) or f"#{value}"
    if key == "source_id" and whole:
        return f"#{value}"
    return _readable(value)


def _readable(value: Any) -> str:
    """Yes/no for booleans, ISO times in the site's time zone, lists joined with 、 (a sign-up
    field by its label), anything else as :func:`_text` writes it."""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, str) and _ISO_TIME.match(value):
        try:
            return local_time(datetime.fromisoformat(value), seconds=True)
        except ValueError:
            return value
    if isinstance(value, list):
        return "、".join(_readable(_item_name(item)) for item in value)
    if isinstance(value, dict) and _item_name(value) is not value:
        return _readable(_item_name(value))
    return _text(value)


def _item_name(item: Any) -> Any:
    """A sign-up field by its label, a unit by its name; anything else as it is."""
    if isinstance(item, dict):
        for key in ("label", "name"):
            if isinstance(item.get(key), str):
                return item[key]
    return item


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def diff_text(event: AuditEvent, names: dict[int, str] | None = None) -> str:
    """The changed keys on one line each, in words: ``状态: 作答中 → 已作废``."""
    return "\n".join(
        f"{c.label}: {c.before_text or '—'} → {c.after_text or '—'}"
        for c in changes(event.before, event.after, target_type=event.target_type, names=names)
    )


# Exports -----------------------------------------------------------------------------------------


def export_header() -> list[str]:
    return [
        _("Time"),
        _("Actor"),
        _("Action"),
        _("Action code"),
        _("Target"),
        _("Target id"),
        _("Contest id"),
        _("Reason"),
        _("Changes"),
    ]


def export_row(event: AuditEvent, names: dict[int, str] | None = None) -> list[str]:
    return [
        local_time(event.at, seconds=True),
        event.actor_name or _("System"),
        action_label(event.action),
        event.action,
        target_label(event.target_type),
        "" if event.target_id is None else str(event.target_id),
        "" if event.contest_id is None else str(event.contest_id),
        event.reason,
        diff_text(event, names),
    ]


def neutralize(text: str) -> str:
    """A cell a spreadsheet program will not run as a formula: a leading ``= + - @`` (or tab,
    carriage return) gets an apostrophe in front."""
    return "'" + text if _FORMULA_START.match(text) else text


def export_events(query: Select[tuple[AuditEvent]]) -> Iterable[AuditEvent]:
    return db.session.scalars(query.limit(EXPORT_LIMIT))


def export_csv(events: Iterable[AuditEvent]) -> bytes:
    """UTF-8 with a BOM (Excel then reads it as UTF-8), every cell neutralized."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(export_header())
    rows = list(events)
    names = organization_names(rows)
    for event in rows:
        writer.writerow([neutralize(cell) for cell in export_row(event, names)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def export_xlsx(events: Iterable[AuditEvent]) -> bytes:
    """One sheet, every cell text (never a formula) and neutralized as in the CSV."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Audit log"))
    for letter, width in (("A", 20), ("B", 16), ("C", 20), ("E", 10), ("H", 40), ("I", 60)):
        sheet.column_dimensions[letter].width = width
    bold = Font(bold=True)

    def cell(text: str, font: Font | None = None) -> WriteOnlyCell:
        value = WriteOnlyCell(sheet, _ILLEGAL_XML.sub("", neutralize(text)))
        value.data_type = "s"
        if font is not None:
            value.font = font
        return value

    sheet.append([cell(name, bold) for name in export_header()])
    rows = list(events)
    names = organization_names(rows)
    for event in rows:
        sheet.append([cell(text) for text in export_row(event, names)])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def export_name(kind: str, now: datetime) -> str:
    return f"audit-{local_time(now, '%Y%m%d-%H%M')}.{kind}"
