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
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, false, func, select

from contest.extensions import db
from contest.i18n import local_time
from contest.models import AuditEvent, User

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
    "contest.copy": _l("Contest copied"),
    "contest.delete": _l("Contest deleted"),
    "contest.enroll": _l("Organizations enrolled"),
    "contest.signup_settings": _l("Sign-up settings changed"),
    "round.create": _l("Round created"),
    "round.update": _l("Round changed"),
    "round.reveal": _l("Board revealed"),
    "attempt.extend": _l("Attempt time extended"),
    "attempt.void": _l("Attempt voided"),
    "attempt.restore": _l("Voided attempt restored"),
    "attempt.rescore": _l("Attempt rescored"),
    "registration.map_unit": _l("Sign-up unit mapped"),
    "roster.import": _l("Roster imported"),
    "user.create": _l("Account created"),
    "user.update": _l("Account changed"),
    "user.deactivate": _l("Account deactivated"),
    "user.reactivate": _l("Account reactivated"),
    "user.reset_password": _l("Password reset"),
    "site.update": _l("Site settings changed"),
}

_TARGETS = {
    "contest": _l("Contest"),
    "round": _l("Round"),
    "attempt": _l("Attempt"),
    "registration": _l("Registration"),
    "user": _l("Account"),
    "roster": _l("Roster"),
    "site": _l("Site"),
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


@dataclass(frozen=True)
class Change:
    """One key of before/after: its old and new value as text ("" when absent)."""

    key: str
    before: str
    after: str


def changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[Change]:
    """The keys whose values differ between before and after, in key order."""
    old, new = before or {}, after or {}
    keys = sorted(set(old) | set(new))
    return [
        Change(key, _text(old.get(key)), _text(new.get(key)))
        for key in keys
        if key not in old or key not in new or old[key] != new[key]
    ]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def diff_text(event: AuditEvent) -> str:
    """The changed keys on one line each: ``key: before → after``."""
    return "\n".join(f"{c.key}: {c.before} → {c.after}" for c in changes(event.before, event.after))


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


def export_row(event: AuditEvent) -> list[str]:
    return [
        local_time(event.at, seconds=True),
        event.actor_name or _("System"),
        action_label(event.action),
        event.action,
        target_label(event.target_type),
        "" if event.target_id is None else str(event.target_id),
        "" if event.contest_id is None else str(event.contest_id),
        event.reason,
        diff_text(event),
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
    for event in events:
        writer.writerow([neutralize(cell) for cell in export_row(event)])
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
    for event in events:
        sheet.append([cell(text) for text in export_row(event)])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def export_name(kind: str, now: datetime) -> str:
    return f"audit-{local_time(now, '%Y%m%d-%H%M')}.{kind}"
