"""Results export (成绩导出): a contest's standings as XLSX or CSV, built on the ``default`` queue.

Scopes (``params["scope"]``):

- ``contest``: the contest board (the sum over rounds), a score column per round and the total;
- ``round``: one round's board (``round_id``);
- ``unit``: the contest board limited to one organization and its units (``organization_id``):
  the file a district sends a unit, with the ranks the whole board gives its members.

An XLSX may also get one sheet per unit after the whole list (``split_units``): a district's
organizers cut it up per unit without filtering by hand.

Ranks are the organizers' live board's: :func:`contest.services.leaderboards.ranked` over
:func:`~contest.services.leaderboards.counting_entries` (and
:func:`~contest.services.leaderboards.contest_standings` for the contest). Contestants whose
attempts were all voided follow the ranked ones, without a rank. Every text cell is neutralized
(a leading ``= + - @`` gets an apostrophe); times are in the site's zone (Beijing time).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import or_, select

from contest.errors import InvalidInput, NotFound
from contest.extensions import db
from contest.i18n import local_time
from contest.models import (
    Attempt,
    AttemptStatus,
    Contest,
    ExportJob,
    Organization,
    Round,
    User,
)
from contest.services import exports
from contest.services.leaderboards import contest_standings, counting_entries, ranked
from contest.services.signup import neutralize

SCOPES = ("contest", "round", "unit")
FORMATS = ("xlsx", "csv")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
PROGRESS_EVERY = 2000  # rows between progress reports
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SHEET_UNSAFE = re.compile(r"[\[\]:*?/\\]")


@dataclass
class Line:
    """One contestant's row: the standing and what their counting attempts say."""

    user_id: int
    rank: int | None
    name: str
    organization_id: int | None
    organization: str
    total: Decimal | None
    time_used_s: int | None
    submitted_at: Any
    scores: dict[int, Decimal] = field(default_factory=dict)
    submitted_by: list[str] = field(default_factory=list)
    focus_losses: int = 0
    flags: list[str] = field(default_factory=list)


def validate_params(contest_id: int, params: dict[str, Any]) -> dict[str, Any]:
    """The export's parameters checked against the contest: scope, format, round, unit."""
    contest = db.session.get(Contest, contest_id)
    if contest is None:
        raise NotFound(_("Contest not found."))
    scope, fmt = params.get("scope", "contest"), params.get("format", "xlsx")
    if scope not in SCOPES:
        raise InvalidInput(_("Choose what to export."), code="invalid_scope")
    if fmt not in FORMATS:
        raise InvalidInput(_("Choose XLSX or CSV."), code="invalid_format")
    clean: dict[str, Any] = {"scope": scope, "format": fmt}
    if fmt == "xlsx" and params.get("split_units"):
        clean["split_units"] = True
    if scope == "round":
        round_ = db.session.get(Round, params.get("round_id") or 0)
        if round_ is None or round_.contest_id != contest_id:
            raise NotFound(_("Round not found."))
        clean["round_id"] = round_.id
    if scope == "unit":
        if db.session.get(Organization, params.get("organization_id") or 0) is None:
            raise NotFound(_("Organization not found."))
        clean["organization_id"] = int(params["organization_id"])
    return clean


def how_submitted(by: str | None) -> str:
    """Who ended the attempt, in words."""
    words = {
        "contestant": _("By the contestant"),
        "deadline": _("At the deadline"),
        "integrity": _("By the integrity rule"),
        "organizer": _("By an organizer"),
    }
    return words.get(by or "", _("Unknown"))


def _unit_ids(organization_id: int) -> set[int]:
    """The organization and its units (a district's units count as the district's)."""
    return set(
        db.session.scalars(
            select(Organization.id).where(
                or_(Organization.id == organization_id, Organization.parent_id == organization_id)
            )
        )
    )


def _attempt_facts(round_ids: Sequence[int]) -> tuple[dict[int, Any], dict[int, str]]:
    """Per attempt id (scored and voided attempts of the rounds): who submitted it, focus losses,
    flag, extension, user and round; and every contestant's username."""
    rows = db.session.execute(
        select(
            Attempt.id,
            Attempt.user_id,
            Attempt.round_id,
            Attempt.status,
            Attempt.submitted_by,
            Attempt.focus_losses,
            Attempt.flagged,
            Attempt.extended_s,
            User.username,
            User.display_name,
            User.organization_id,
            Organization.name,
        )
        .join(User, User.id == Attempt.user_id)
        .outerjoin(Organization, Organization.id == User.organization_id)
        .where(
            Attempt.round_id.in_(list(round_ids)),
            Attempt.status.in_([AttemptStatus.SCORED, AttemptStatus.VOID]),
        )
    ).all()
    return {row.id: row for row in rows}, {row.user_id: row.username for row in rows}


def build_lines(
    contest: Contest, rounds: Sequence[Round], units: set[int] | None
) -> tuple[list[Line], dict[int, str]]:
    """The rows in board order (then the contestants with only voided attempts), and usernames."""
    per_round = {r.id: counting_entries(r) for r in rounds}
    standings = contest_standings([list(per_round[r.id].values()) for r in rounds])
    facts, usernames = _attempt_facts([r.id for r in rounds])
    lines: list[Line] = []
    by_user: dict[int, Line] = {}
    for rank_, s in ranked(standings):
        line = Line(
            s.user_id,
            rank_,
            s.name,
            s.organization_id,
            s.organization,
            s.score,
            s.time_used_s,
            s.submitted_at,
        )
        lines.append(line)
        by_user[s.user_id] = line
    for round_ in rounds:
        for user_id, entry in per_round[round_.id].items():
            line = by_user[user_id]
            line.scores[round_.id] = entry.score
            fact = facts.get(entry.attempt_id)
            if fact is not None:
                line.submitted_by.append(how_submitted(fact.submitted_by))
                line.focus_losses += fact.focus_losses or 0
                if fact.flagged:
                    line.flags.append(_("Flagged"))
                if fact.extended_s:
                    line.flags.append(_("Time extended"))
    for fact in facts.values():
        if fact.status is AttemptStatus.VOID:
            line_or_none = by_user.get(fact.user_id)
            if line_or_none is None:
                line_or_none = Line(
                    fact.user_id,
                    None,
                    fact.display_name,
                    fact.organization_id,
                    fact.name or "",
                    None,
                    None,
                    None,
                )
                by_user[fact.user_id] = line_or_none
                lines.append(line_or_none)
            line_or_none.flags.append(_("Voided attempt"))
    if units is not None:
        lines = [line for line in lines if line.organization_id in units]
    return lines, usernames


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _number(value: Decimal | None) -> int | float | str:
    if value is None:
        return ""
    return int(value) if value == value.to_integral_value() else float(value)


def _text(value: str) -> str:
    return _ILLEGAL_XML.sub("", neutralize(value))


def header(rounds: Sequence[Round]) -> list[str]:
    columns = [_("Rank"), _("Full name"), _("Username"), _("Unit")]
    if len(rounds) > 1:
        columns += [round_.title for round_ in rounds]
    columns += [
        _("Total score") if len(rounds) > 1 else _("Score"),
        _("Time used"),
        _("Submitted at (Beijing time)"),
        _("How submitted"),
        _("Focus losses (切屏)"),
        _("Marks"),
    ]
    return [_text(c) for c in columns]


def row(line: Line, rounds: Sequence[Round], usernames: dict[int, str]) -> list[Any]:
    cells: list[Any] = [
        line.rank if line.rank is not None else "",
        _text(line.name),
        _text(usernames.get(line.user_id, "")),
        _text(line.organization),
    ]
    if len(rounds) > 1:
        cells += [_number(line.scores.get(r.id)) for r in rounds]
    cells += [
        _number(line.total),
        _duration(line.time_used_s),
        local_time(line.submitted_at, seconds=True),
        _text("、".join(dict.fromkeys(line.submitted_by))),
        line.focus_losses,
        _text("、".join(dict.fromkeys(line.flags))),
    ]
    return cells


def _rounds_and_units(job: ExportJob) -> tuple[Contest, list[Round], set[int] | None, str]:
    contest = db.session.get(Contest, job.contest_id)
    if contest is None:
        raise NotFound(_("Contest not found."))
    params = job.params or {}
    rounds = list(contest.rounds)
    units = None
    label = "contest"
    if params.get("scope") == "round":
        rounds = [r for r in rounds if r.id == params.get("round_id")]
        if not rounds:
            raise NotFound(_("Round not found."))
        label = f"round-{rounds[0].id}"
    elif params.get("scope") == "unit":
        units = _unit_ids(int(params.get("organization_id") or 0))
        label = f"unit-{params.get('organization_id')}"
    return contest, rounds, units, label


def build(job: ExportJob, progress: Callable[[int, int], None]) -> tuple[str, str, bytes]:
    """The results file of ``job`` (see the module's docstring)."""
    contest, rounds, units, label = _rounds_and_units(job)
    lines, usernames = build_lines(contest, rounds, units) if rounds else ([], {})
    total = len(lines)
    progress(0, total)
    rows: list[list[Any]] = []
    for index, line in enumerate(lines, 1):
        rows.append(row(line, rounds, usernames))
        if index % PROGRESS_EVERY == 0:
            progress(index, total)
    fmt = (job.params or {}).get("format", "xlsx")
    name = f"results-{contest.id}-{label}.{fmt}"
    if fmt == "csv":
        return name, CSV_TYPE, _csv(header(rounds), rows)
    sheets: dict[str, list[list[Any]]] | None = None
    if (job.params or {}).get("split_units"):
        sheets = {}
        for line, values in zip(lines, rows, strict=True):
            sheets.setdefault(line.organization or _("No unit"), []).append(values)
    return name, XLSX_TYPE, _xlsx(header(rounds), rows, sheets)


def _csv(head: list[str], rows: list[list[Any]]) -> bytes:
    """UTF-8 with a BOM (Excel reads it as UTF-8), CRLF lines."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(head)
    writer.writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _sheet_title(name: str, taken: set[str]) -> str:
    """A worksheet name Excel accepts (at most 31 characters, none of ``[]:*?/\\``), unique."""
    base = _SHEET_UNSAFE.sub("_", _ILLEGAL_XML.sub("", name)).strip("' ") or "_"
    title, n = base[:31], 1
    while title.lower() in taken:
        n += 1
        suffix = f" ({n})"
        title = base[: 31 - len(suffix)] + suffix
    taken.add(title.lower())
    return title


def _xlsx(
    head: list[str], rows: list[list[Any]], units: dict[str, list[list[Any]]] | None = None
) -> bytes:
    """The results sheet, then (``units``) one sheet per unit with its rows; texts are
    neutralized, so none is written as a formula."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    bold = Font(bold=True)
    taken: set[str] = set()
    for title, body in [(_("Results"), rows), *sorted((units or {}).items())]:
        sheet = book.create_sheet(_sheet_title(title, taken))
        sheet.freeze_panes = "A2"
        for letter, width in (("B", 14), ("C", 16), ("D", 24)):
            sheet.column_dimensions[letter].width = width
        cells = []
        for text in head:
            cell = WriteOnlyCell(sheet, text)
            cell.font = bold
            cells.append(cell)
        sheet.append(cells)
        for values in body:
            sheet.append(values)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


exports.register_kind("results", build)
