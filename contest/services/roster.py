"""Roster import: contestants from a CSV or XLSX file, all or nothing.

Columns (Chinese or English headers, any order): 单位/organization, 用户名/username,
姓名/display_name, 密码/password (optional; generated when empty). Every row is validated before
anything is written; any problem means nothing is imported and every problem is reported with its
row number (the header is row 1, as a spreadsheet shows it).
"""

from __future__ import annotations

import csv
import io
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import select

from contest.errors import InvalidInput
from contest.extensions import db
from contest.models import Role, User
from contest.services.accounts import (
    check_password,
    check_username,
    create_user,
    get_or_create_organization,
    hash_password,
)

HEADERS = {
    "单位": "organization",
    "组织": "organization",
    "organization": "organization",
    "用户名": "username",
    "账号": "username",
    "username": "username",
    "姓名": "display_name",
    "display_name": "display_name",
    "display name": "display_name",
    "name": "display_name",
    "密码": "password",
    "password": "password",
}
REQUIRED = ("organization", "username", "display_name")
MAX_ROWS = 50_000
MAX_CELLS = 1_000_000  # counting the empty cells a stray far-right cell pads a row with
REPORT_LIMIT = 1_000  # problems kept; :attr:`RosterError.total` counts them all


class RosterError(InvalidInput):
    """The roster was refused: :attr:`problems` holds the first :data:`REPORT_LIMIT` reasons,
    with row numbers, and :attr:`total` how many there are."""

    code = "invalid_roster"

    def __init__(self, problems: list[str]) -> None:
        shown = problems[:20]
        if len(problems) > len(shown):
            shown.append(more_problems(len(problems) - len(shown)))
        super().__init__("; ".join(shown))
        self.problems = problems[:REPORT_LIMIT]
        self.total = len(problems)

    @property
    def hidden(self) -> int:
        """How many problems :attr:`problems` leaves out."""
        return self.total - len(self.problems)


def more_problems(count: int) -> str:
    return _("%(n)d more problem(s) not shown.", n=count)


@dataclass
class RosterRow:
    line: int
    organization: str
    username: str
    display_name: str
    password: str


@dataclass
class RosterResult:
    created: int = 0
    organizations: int = 0
    generated: list[tuple[str, str]] = field(default_factory=list)

    def write_passwords(self, path: Path) -> None:
        """Write the generated passwords as CSV (username, password), readable by the owner only."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # an existing file keeps its mode on open: tighten it
        with open(fd, "w", newline="", encoding="utf-8-sig") as fh:
            writer = csv.writer(fh)
            writer.writerow(["用户名", "密码"])
            writer.writerows(self.generated)


def read_table(filename: str, content: bytes) -> list[list[str]]:
    """Rows of cells as text from a .csv (UTF-8 with or without BOM, or GBK) or .xlsx file."""
    suffix = Path(filename).suffix.lower()
    if suffix == ".xlsx":
        return _read_xlsx(content)
    if suffix == ".csv":
        return list(csv.reader(io.StringIO(_decode(content))))
    raise RosterError(
        [_("Unsupported file type %(suffix)s: use .csv or .xlsx.", suffix=suffix or "?")]
    )


def _decode(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("gbk")
    except UnicodeDecodeError:
        raise RosterError([_("The file is neither UTF-8 nor GBK text.")]) from None


def _read_xlsx(content: bytes) -> list[list[str]]:
    """The first sheet's rows; reading stops one row past :data:`MAX_ROWS` (enough to refuse
    the file), and a zip bomb or a sheet over :data:`MAX_CELLS` is refused."""
    from openpyxl import load_workbook

    from question_bank.formats.spreadsheet import check_archive

    problem = check_archive(content)
    if problem is not None:
        raise RosterError([problem.render(_)])
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:
        raise RosterError([_("The file is not a readable XLSX workbook.")]) from None
    try:
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # trust the rows, not a possibly wrong <dimension>
        table: list[list[str]] = []
        cells = 0
        for row in sheet.iter_rows(values_only=True):
            cells += len(row)
            if cells > MAX_CELLS:
                raise RosterError(
                    [_("The sheet has more than %(n)d cells; delete unused columns.", n=MAX_CELLS)]
                )
            table.append(["" if cell is None else str(cell) for cell in row])
            if len(table) > MAX_ROWS + 1:  # the header and one row too many
                break
        return table
    finally:
        workbook.close()


def parse_roster(table: list[list[str]]) -> list[RosterRow]:
    """Validate the whole table: its rows, or :class:`RosterError` with every problem."""
    if not table:
        raise RosterError([_("The file is empty.")])
    columns = {HEADERS.get(h.strip().lower()): i for i, h in enumerate(table[0]) if h.strip()}
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise RosterError([_("Row 1: missing column(s) %(names)s.", names=", ".join(missing))])
    if len(table) - 1 > MAX_ROWS:
        raise RosterError([_("At most %(n)d rows per file.", n=MAX_ROWS)])

    def cell(row: list[str], name: str) -> str:
        i = columns.get(name)
        return row[i].strip() if i is not None and i < len(row) else ""

    rows: list[RosterRow] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for line, raw in enumerate(table[1:], start=2):
        if not any(c.strip() for c in raw):
            continue
        row = RosterRow(
            line,
            cell(raw, "organization"),
            cell(raw, "username").lower(),
            cell(raw, "display_name"),
            cell(raw, "password"),
        )
        for problem in _row_problems(row, seen):
            problems.append(_("Row %(row)d: %(problem)s", row=line, problem=problem))
        seen.setdefault(row.username.lower(), line)
        rows.append(row)
    problems += _existing_usernames(rows)
    if problems:
        raise RosterError(problems)
    if not rows:
        raise RosterError([_("The file has no data rows.")])
    return rows


def _row_problems(row: RosterRow, seen: dict[str, int]) -> list[str]:
    problems = []
    if not row.organization:
        problems.append(_("the organization is empty"))
    if not row.display_name:
        problems.append(_("the name is empty"))
    problem = check_username(row.username)
    if problem:
        problems.append(problem)
    elif row.username.lower() in seen:
        problems.append(
            _(
                "username %(name)s repeats row %(row)d",
                name=row.username,
                row=seen[row.username.lower()],
            )
        )
    if row.password and (problem := check_password(row.password)):
        problems.append(problem)
    return problems


def _existing_usernames(rows: list[RosterRow]) -> list[str]:
    names = [r.username for r in rows]
    existing: set[str] = set()
    for start in range(0, len(names), 1000):
        existing.update(
            db.session.scalars(
                select(User.username).where(User.username.in_(names[start : start + 1000]))
            )
        )
    return [
        _(
            "Row %(row)d: %(problem)s",
            row=r.line,
            problem=_("Username %(name)s is taken.", name=r.username),
        )
        for r in rows
        if r.username in existing
    ]


def import_roster(
    filename: str, content: bytes, progress: Callable[[int, int], None] | None = None
) -> RosterResult:
    """Validate and import a roster in one transaction; :class:`RosterError` on any problem.

    The passwords are hashed (about 27 ms each) with no transaction open, so that the write
    transaction holds the database's write lock (SQLite) only for the inserts.
    """
    rows = parse_roster(read_table(filename, content))
    db.session.commit()  # ends the read of the taken usernames
    result = RosterResult()
    hashes = []
    for done, row in enumerate(rows, start=1):
        password = row.password or secrets.token_urlsafe(8)
        if not row.password:
            result.generated.append((row.username, password))
        hashes.append(hash_password(password))
        if progress:
            progress(done, len(rows))
    organizations = {}
    try:
        for row, password_hash in zip(rows, hashes, strict=True):
            if row.organization not in organizations:
                organizations[row.organization] = get_or_create_organization(row.organization)
            create_user(
                row.username,
                "",
                role=Role.CONTESTANT,
                display_name=row.display_name,
                organization=organizations[row.organization],
                password_hash=password_hash,
            )
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    result.created = len(rows)
    result.organizations = len(organizations)
    return result
