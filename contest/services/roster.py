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
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from flask_babel import gettext as _
from sqlalchemy import insert, select

from contest.errors import InvalidInput
from contest.extensions import db
from contest.models import ContestOrganization, Organization, Role, User, utcnow
from contest.services import audit, leaderboards
from contest.services.accounts import (
    check_password,
    check_username,
    generate_password,
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


class Issued(NamedTuple):
    """A generated password and whom it was generated for (the passwords sheet's row)."""

    organization: str
    username: str
    display_name: str
    password: str


@dataclass
class RosterResult:
    created: int = 0
    organizations: int = 0
    issued: list[Issued] = field(default_factory=list)

    @property
    def generated(self) -> list[tuple[str, str]]:
        """(username, password) of every generated password."""
        return [(item.username, item.password) for item in self.issued]

    def write_passwords(self, path: Path, content: bytes | None = None) -> None:
        """Write the generated passwords, readable by the owner only: ``content`` (a workbook)
        when given, else CSV (username, password)."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # an existing file keeps its mode on open: tighten it
        if content is not None:
            with open(fd, "wb") as out:
                out.write(content)
            return
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
    if b"\x00" in content:  # no CSV text holds a NUL byte (a binary file renamed .csv does)
        raise RosterError([_("The file is not CSV text.")])
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
    problems: list[tuple[int, str]] = []
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
        problems += [(line, problem) for problem in _row_problems(row, seen)]
        seen.setdefault(row.username.lower(), line)
        rows.append(row)
    problems += _existing_usernames(rows)
    if problems:
        problems.sort(key=lambda p: p[0])  # stable: a row's problems keep their order
        raise RosterError([row_problem(line, problem) for line, problem in problems])
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
        problems.append(_("username “%(name)s”: %(problem)s", name=row.username, problem=problem))
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


def row_problem(line: int, problem: str) -> str:
    """One sentence with one full stop ("Row 4: the organization is empty."), whether or not
    ``problem`` (a fragment or a sentence of its own) ends with one."""
    return _("Row %(row)d: %(problem)s.", row=line, problem=problem.rstrip(".。 "))


def _existing_usernames(rows: list[RosterRow]) -> list[tuple[int, str]]:
    names = [r.username for r in rows]
    existing: set[str] = set()
    for start in range(0, len(names), 1000):
        existing.update(
            db.session.scalars(
                select(User.username).where(User.username.in_(names[start : start + 1000]))
            )
        )
    return [
        (r.line, _("Username %(name)s is taken.", name=r.username))
        for r in rows
        if r.username in existing
    ]


def check_roster(filename: str, content: bytes) -> list[RosterRow]:
    """Read and validate a roster file: its rows, or :class:`RosterError` with every problem."""
    return parse_roster(read_table(filename, content))


@dataclass
class RosterPreview:
    """What a checked roster would do: its first rows and the counts an organizer confirms."""

    rows: int
    organizations: int
    new_organizations: list[str]
    generated: int
    first: list[dict[str, str]]

    def as_json(self) -> dict[str, object]:
        return {
            "rows": self.rows,
            "organizations": self.organizations,
            "new_organizations": self.new_organizations[:PREVIEW_ROWS],
            "new_organization_count": len(self.new_organizations),
            "existing_organization_count": self.organizations - len(self.new_organizations),
            "generated": self.generated,
            "first": self.first,
        }


PREVIEW_ROWS = 10


def preview(rows: Sequence[RosterRow]) -> RosterPreview:
    """The counts and first rows of checked ``rows`` (one read of the organizations)."""
    names = sorted({row.organization for row in rows})
    existing: set[str] = set()
    for start in range(0, len(names), 1000):
        existing.update(
            db.session.scalars(
                select(Organization.name).where(Organization.name.in_(names[start : start + 1000]))
            )
        )
    return RosterPreview(
        rows=len(rows),
        organizations=len(names),
        new_organizations=[name for name in names if name not in existing],
        generated=sum(1 for row in rows if not row.password),
        first=[
            {
                "row": str(row.line),
                "organization": row.organization,
                "username": row.username,
                "display_name": row.display_name,
                "password": "" if not row.password else "••••••",
            }
            for row in rows[:PREVIEW_ROWS]
        ],
    )


def hash_rows(
    rows: Sequence[RosterRow], progress: Callable[[int, int], None] | None = None
) -> tuple[list[Issued], list[str]]:
    """The generated passwords and every row's hash, computed with no transaction open.

    Argon2id is slow by design and releases the GIL, so the hashes are spread over the machine's
    cores: 50,000 rows take minutes, not the better part of half an hour (bench/HISTORY.md).
    """
    passwords = [row.password or generate_password() for row in rows]
    issued = [
        Issued(row.organization, row.username, row.display_name, password)
        for row, password in zip(rows, passwords, strict=True)
        if not row.password
    ]
    hashes: list[str] = []
    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        for done, password_hash in enumerate(pool.map(hash_password, passwords), start=1):
            hashes.append(password_hash)
            if progress and (done % 100 == 0 or done == len(rows)):
                progress(done, len(rows))
    return issued, hashes


def write_rows(
    rows: Sequence[RosterRow],
    hashes: Sequence[str],
    *,
    filename: str,
    actor: User | None = None,
) -> int:
    """Add the accounts and their new organizations (not committed); how many organizations.

    The usernames are checked again inside the write transaction, so that an account created
    since the file was checked refuses the whole file (:class:`RosterError`) rather than half of
    it. Records ``roster.import`` in the audit log (no password, no name in it).
    """
    taken = _existing_usernames(list(rows))
    if taken:
        raise RosterError([row_problem(line, problem) for line, problem in taken])
    organizations: dict[str, int] = {}
    for name in sorted({row.organization for row in rows}):
        organizations[name] = get_or_create_organization(name).id
    now = utcnow()
    values = [
        {
            "username": row.username,
            "display_name": row.display_name,
            "password_hash": password_hash,
            "role": Role.CONTESTANT,
            "organization_id": organizations[row.organization],
            "active": True,
            "session_generation": 0,
            "created_at": now,
        }
        for row, password_hash in zip(rows, hashes, strict=True)
    ]
    for chunk in _chunks(values, 1000):
        db.session.execute(insert(User), chunk)
    # Contests these units take part in count their members as enrolled: their boards re-render.
    for contest_id in db.session.scalars(
        select(ContestOrganization.contest_id)
        .where(ContestOrganization.organization_id.in_(organizations.values()))
        .distinct()
    ):
        leaderboards.render_after_commit(contest_id)
    audit.record(
        "roster.import",
        target_type="roster",
        after={"filename": filename, "created": len(rows), "organizations": len(organizations)},
        actor=actor,
    )
    return len(organizations)


def _chunks(items: list[dict[str, object]], size: int) -> Iterator[list[dict[str, object]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def import_roster(
    filename: str, content: bytes, progress: Callable[[int, int], None] | None = None
) -> RosterResult:
    """Validate and import a roster in one transaction; :class:`RosterError` on any problem.

    The passwords are hashed with no transaction open (:func:`hash_rows`), so that the write
    transaction holds the database's write lock (SQLite) only for the inserts.
    """
    rows = check_roster(filename, content)
    db.session.commit()  # ends the read of the taken usernames
    issued, hashes = hash_rows(rows, progress)
    try:
        organizations = write_rows(rows, hashes, filename=filename)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return RosterResult(created=len(rows), organizations=organizations, issued=issued)
