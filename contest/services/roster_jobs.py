"""Roster uploads from the organizer pages and the API: checked, previewed, then imported.

A :class:`RosterImport` row holds the uploaded file until it is processed. Its statuses:

- ``checking``: uploaded for a preview; a worker reads and validates it.
- ``ready``: checked, nothing wrong; the preview (first rows, counts) waits for the organizer's
  confirmation (:func:`confirm_roster_import`) or cancellation.
- ``queued``: confirmed (or uploaded without a preview); a worker checks it again and imports it.
- ``running``: hashing the passwords, then writing every account in one transaction.
- ``succeeded`` / ``failed`` / ``cancelled``: the end; the file is dropped.

All or nothing: any problem in any row means no account is created, and the report lists every
problem with its row number. The accounts and the import's ``succeeded`` status commit in one
transaction, so a worker that dies midway leaves no half import behind, and its retry starts over.

The generated passwords are kept only sealed (Fernet: AES-128-CBC with HMAC-SHA256, under a key
derived from the app's ``SECRET_KEY``) in ``passwords_sealed``, for one download
(:func:`take_passwords`) until ``passwords_expire_at``; then the column is set to NULL.
"""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import update

from contest.errors import Conflict, NotFound
from contest.extensions import db
from contest.models import RosterImport, User
from contest.services.roster import (
    REPORT_LIMIT,
    Issued,
    RosterError,
    check_roster,
    hash_rows,
    preview,
    write_rows,
)

CHECKING, READY, QUEUED, RUNNING = "checking", "ready", "queued", "running"
SUCCEEDED, FAILED, CANCELLED = "succeeded", "failed", "cancelled"
PENDING = (CHECKING, READY, QUEUED, RUNNING)
PASSWORDS_TTL = timedelta(hours=24)
SUFFIXES = (".csv", ".xlsx")
Progress = Callable[[int, int], None]


class PasswordsGone(Conflict):
    """The passwords were downloaded already, expired, or never generated."""

    code = "passwords_gone"


def _refuse(message: str) -> RosterError:
    return RosterError([message])


def sniff(filename: str, content: bytes) -> None:
    """Refuse at once what is not a spreadsheet (:class:`RosterError`); the rows are checked
    later by a worker."""
    suffix = Path(filename).suffix.lower()
    if suffix not in SUFFIXES:
        raise _refuse(
            _("Unsupported file type %(suffix)s: use .csv or .xlsx.", suffix=suffix or "?")
        )
    if not content:
        raise _refuse(_("The file is empty."))
    if suffix == ".xlsx" and not content.startswith(b"PK\x03\x04"):
        raise _refuse(_("The file is not a readable XLSX workbook."))
    if suffix == ".csv" and b"\x00" in content[:65536]:
        raise _refuse(_("The file is not CSV text."))


def create_roster_import(
    filename: str, content: bytes, *, actor_id: int | None, now: datetime, preview: bool
) -> RosterImport:
    """Record an upload (committed) for a worker: ``preview`` stops after the check and waits
    for a confirmation; otherwise a file without problems is imported at once."""
    sniff(filename, content)
    job = RosterImport(
        filename=Path(filename).name[:255] or "roster",
        status=CHECKING if preview else QUEUED,
        content=content,
        report={},
        created_by_id=actor_id,
        created_at=now,
    )
    db.session.add(job)
    db.session.commit()
    return job


def get_roster_import(import_id: int) -> RosterImport:
    job = db.session.get(RosterImport, import_id)
    if job is None:
        raise NotFound(_("No roster import %(id)s.", id=import_id))
    return job


def _move(import_id: int, source: tuple[str, ...], target: str, **values: Any) -> bool:
    """Set the status from one of ``source`` to ``target`` in one conditional UPDATE (not
    committed); whether it applied (two clicks or two workers cannot both move it)."""
    result = db.session.execute(
        update(RosterImport)
        .where(RosterImport.id == import_id, RosterImport.status.in_(source))
        .values(status=target, **values)
    )
    return bool(getattr(result, "rowcount", 0))


def confirm_roster_import(import_id: int) -> RosterImport:
    """The organizer confirms a previewed upload (committed); enqueue it afterwards."""
    get_roster_import(import_id)
    if not _move(import_id, (READY,), QUEUED):
        db.session.rollback()
        raise Conflict(_("This upload is not waiting for a confirmation."), code="not_ready")
    db.session.commit()
    return get_roster_import(import_id)


def cancel_roster_import(import_id: int, *, now: datetime) -> RosterImport:
    """Drop a previewed upload that was not confirmed (committed)."""
    get_roster_import(import_id)
    if not _move(import_id, (CHECKING, READY), CANCELLED, content=None, finished_at=now):
        db.session.rollback()
        raise Conflict(_("This upload can no longer be cancelled."), code="not_ready")
    db.session.commit()
    return get_roster_import(import_id)


def _problems_report(exc: RosterError) -> dict[str, Any]:
    return {"problems": exc.problems[:REPORT_LIMIT], "problem_count": exc.total}


def _fail(import_id: int, report: dict[str, Any], now: datetime) -> RosterImport:
    db.session.rollback()
    job = get_roster_import(import_id)
    job.status, job.report, job.content, job.finished_at = FAILED, report, None, now
    job.done = 0
    db.session.commit()
    return job


def run_roster_import(
    import_id: int, *, now: Callable[[], datetime], progress: Progress | None = None
) -> RosterImport:
    """Run what the upload waits for (idempotent: an upload waiting for its confirmation or
    finished is left as it is). Checking stops at ``ready``; a queued upload is imported."""
    job = get_roster_import(import_id)
    if job.status not in (CHECKING, QUEUED, RUNNING):
        return job
    phase, filename, content = job.status, job.filename, job.content or b""
    actor = db.session.get(User, job.created_by_id) if job.created_by_id else None
    db.session.commit()  # no transaction stays open while the file is read and checked
    try:
        rows = check_roster(filename, content)
    except RosterError as exc:
        return _fail(import_id, _problems_report(exc), now())
    report: dict[str, Any] = {"preview": preview(rows).as_json()}
    if phase == CHECKING:
        job = get_roster_import(import_id)
        job.status, job.report, job.total = READY, report, len(rows)
        db.session.commit()
        return job
    _move(import_id, (QUEUED, RUNNING), RUNNING, total=len(rows), done=0)
    db.session.commit()
    try:
        issued, hashes = hash_rows(rows, progress)
        organizations = write_rows(rows, hashes, filename=filename, actor=actor)
        job = get_roster_import(import_id)
        finished = now()
        report.update(created=len(rows), organizations=organizations, generated=len(issued))
        job.status, job.report, job.content = SUCCEEDED, report, None
        job.done, job.finished_at = len(rows), finished
        if issued:
            job.passwords_sealed = seal(_issued_json(issued))
            job.passwords_expire_at = finished + PASSWORDS_TTL
        db.session.commit()
    except RosterError as exc:  # an account created meanwhile took a username
        return _fail(import_id, _problems_report(exc), now())
    except Exception:
        _fail(
            import_id,
            {
                "problems": [_("The import stopped on an internal error; nothing was imported.")],
                "problem_count": 1,
            },
            now(),
        )
        raise
    return job


# Sealed passwords --------------------------------------------------------------------------------


def _fernet() -> Fernet:
    """Fernet under a key derived from ``SECRET_KEY`` (HKDF-SHA256, its own ``info``), so the
    session-signing key itself never encrypts anything."""
    secret = current_app.secret_key
    material = secret.encode() if isinstance(secret, str) else bytes(secret or b"")
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"netsec-contest roster passwords"
    ).derive(material)
    return Fernet(base64.urlsafe_b64encode(key))


def seal(data: bytes) -> bytes:
    return _fernet().encrypt(data)


def unseal(token: bytes) -> bytes:
    """The sealed bytes; :class:`PasswordsGone` when they cannot be opened (a changed key)."""
    try:
        return _fernet().decrypt(token)
    except InvalidToken:
        raise PasswordsGone(_("The passwords can no longer be opened.")) from None


def _issued_json(issued: list[Issued]) -> bytes:
    return json.dumps([list(item) for item in issued], ensure_ascii=False).encode()


def passwords_available(job: RosterImport, now: datetime) -> bool:
    """Whether the one download of the generated passwords is still to come."""
    return job.passwords_sealed is not None and (
        job.passwords_expire_at is None or now < job.passwords_expire_at
    )


def take_passwords(import_id: int, *, now: datetime) -> list[Issued]:
    """The generated passwords, once: the sealed copy is dropped in the same commit, and a
    second call (or one after ``passwords_expire_at``) raises :class:`PasswordsGone`."""
    job = get_roster_import(import_id)
    token, available = job.passwords_sealed, passwords_available(job, now)
    # Whoever NULLs the column first has the passwords; a second click at the same time has not.
    taken = _drop_passwords(import_id) and available and token is not None
    db.session.commit()
    if not taken or token is None:
        raise PasswordsGone(
            _("The passwords were downloaded already or have expired; reset a password instead.")
        )
    return [Issued(*item) for item in json.loads(unseal(token))]


def _drop_passwords(import_id: int) -> bool:
    result = db.session.execute(
        update(RosterImport)
        .where(RosterImport.id == import_id, RosterImport.passwords_sealed.is_not(None))
        .values(passwords_sealed=None)
    )
    return bool(getattr(result, "rowcount", 0))


def drop_expired_passwords(now: datetime) -> int:
    """NULL every sealed password list past its expiry, and cancel (dropping the file) every
    preview left unconfirmed for as long (committed); how many password lists went."""
    result = db.session.execute(
        update(RosterImport)
        .where(
            RosterImport.passwords_sealed.is_not(None),
            RosterImport.passwords_expire_at <= now,
        )
        .values(passwords_sealed=None)
    )
    db.session.execute(
        update(RosterImport)
        .where(RosterImport.status == READY, RosterImport.created_at <= now - PASSWORDS_TTL)
        .values(status=CANCELLED, content=None, finished_at=now)
    )
    db.session.commit()
    return int(getattr(result, "rowcount", 0))


# The passwords workbook --------------------------------------------------------------------------

HEADER = ("姓名", "用户名", "单位", "初始密码")
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\\x00-\x1f]")


def sheet_titles(units: list[str]) -> dict[str, str]:
    """A worksheet title per unit: Excel's forbidden characters replaced, at most 31 characters,
    no leading or trailing apostrophe, unique regardless of case."""
    titles: dict[str, str] = {}
    used: set[str] = set()
    for unit in units:
        base = _SHEET_FORBIDDEN.sub("_", unit).strip().strip("'")[:31] or "Sheet"
        title, n = base, 1
        while title.casefold() in used or title.casefold() == "history":
            n += 1
            suffix = f"({n})"
            title = base[: 31 - len(suffix)] + suffix
        used.add(title.casefold())
        titles[unit] = title
    return titles


def passwords_workbook(issued: list[Issued]) -> bytes:
    """An XLSX with one sheet per unit (姓名, 用户名, 单位, 初始密码), set up to print: the header
    row repeats on every page, the columns fit the page width."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    by_unit: dict[str, list[Issued]] = {}
    for item in sorted(issued, key=lambda i: (i.organization, i.username)):
        by_unit.setdefault(item.organization, []).append(item)
    book = Workbook(write_only=True)
    for unit, title in sheet_titles(list(by_unit)).items():
        sheet = book.create_sheet(title)
        for column, width in zip("ABCD", (16, 18, 28, 16), strict=True):
            sheet.column_dimensions[column].width = width
        sheet.print_title_rows = "1:1"
        sheet.page_setup.fitToWidth = 1
        sheet.page_setup.fitToHeight = 0
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
        header = []
        for text in HEADER:
            cell = WriteOnlyCell(sheet, value=text)
            cell.font = Font(bold=True)
            header.append(cell)
        sheet.append(header)
        for item in by_unit[unit]:
            sheet.append(
                [_text(sheet, v) for v in (item.display_name, item.username, unit)]
                + [_text(sheet, item.password)]
            )
    if not by_unit:
        book.create_sheet("Sheet").append(list(HEADER))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _text(sheet: Any, value: str) -> Any:
    """A cell that stays text: a name starting with "=" is not a formula."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    return cell
