"""A spreadsheet with its pictures: a ZIP of the sheet and an ``images/`` folder.

XLSX and CSV cells hold text, so an export whose questions link to stored images
(``/media/<sha256>.<ext>``) is a ZIP instead of the bare sheet::

    questions.xlsx             the sheet, exactly as without images (or questions.csv)
    images/<sha256>.<ext>      each linked image under its stored name

On import a ZIP is read as such a bundle when it holds exactly one ``.xlsx`` or ``.csv`` at its
top level (an XLSX workbook is itself a ZIP; it has ``[Content_Types].xml`` at its top level, a
bundle has not). The sheet is read as on its own; each image a row links to is taken from
``images/`` and prepared as a JSON file's images are (:func:`question_bank.images.prepare`:
checked, rebuilt); should that give other bytes, the links follow the new name. An image a row
links to that ``images/`` lacks, or holds as something other than an image we take, is listed in
the report with the row (its links stay as they were); a file in ``images/`` that no row links to
is listed too, at row 0.

A bundle is refused as a whole, before anything is unpacked, when it would unpack to more than
``Limits.archive_bytes`` (the app's upload limit) or holds more than ``Limits.archive_entries``
files, or when any name in it is absolute or climbs out of the folder (``../evil.png``). Only the
sheet and ``images/`` are read: other files, ZIPs inside it included, are never opened.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace

from question_bank.domain import N_, Problem, QuestionData
from question_bank.formats.base import LIMITS, Limits, ParseReport, SkippedFile
from question_bank.images import ImageRefused, StoredImage, prepare, referenced, replace_links

MEDIA_TYPE = "application/zip"
EXTENSION = ".zip"
IMAGES = "images/"
SHEET_KINDS = ("xlsx", "csv")
_WORKBOOK_MARK = "[Content_Types].xml"
_ZIP_MAGIC = b"PK\x03\x04"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the same bank gives the same bytes

Reader = Callable[[bytes, Limits], ParseReport]


def question_texts(question: QuestionData) -> list[str]:
    return [question.stem, *question.options, question.explanation]


def wrap(
    kind: str, sheet: bytes, questions: Sequence[QuestionData], images: Mapping[str, bytes]
) -> bytes:
    """``sheet`` (of ``kind`` xlsx or csv) in a ZIP with the ``images`` its questions link to;
    the bare sheet when they link to none of them."""
    names = [
        name
        for name in referenced(text for q in questions for text in question_texts(q))
        if name in images
    ]
    if not names:
        return sheet
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        _add(archive, f"questions.{kind}", sheet, zipfile.ZIP_DEFLATED)
        for name in names:  # images are compressed already
            _add(archive, IMAGES + name, images[name], zipfile.ZIP_STORED)
    return buffer.getvalue()


def _add(archive: zipfile.ZipFile, name: str, content: bytes, method: int) -> None:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.compress_type = method
    info.external_attr = 0o644 << 16
    archive.writestr(info, content)


def _open(content: bytes) -> zipfile.ZipFile | None:
    if not content.startswith(_ZIP_MAGIC):
        return None
    try:
        return zipfile.ZipFile(io.BytesIO(content))
    except Exception:  # BadZipFile, but damaged archives raise other kinds too
        return None


def _sheets(names: Iterable[str]) -> list[str]:
    return [n for n in names if "/" not in n and n.lower().endswith((".xlsx", ".csv"))]


def is_bundle(content: bytes) -> bool:
    """Whether ``content`` is a ZIP that is not an XLSX workbook (so: read as a bundle)."""
    archive = _open(content)
    if archive is None:
        return False
    with archive:
        return _WORKBOOK_MARK not in archive.namelist()


def sheet_kind(content: bytes) -> str | None:
    """``xlsx`` or ``csv`` when ``content`` is a bundle: a ZIP, not a workbook, holding exactly
    one such sheet at its top level and an ``images/`` folder; otherwise None."""
    archive = _open(content)
    if archive is None:
        return None
    with archive:
        names = archive.namelist()
    sheets = _sheets(names)
    if _WORKBOOK_MARK in names or len(sheets) != 1:
        return None
    if not any(name.startswith(IMAGES) for name in names):
        return None
    return sheets[0].rsplit(".", 1)[1].lower()


def read(content: bytes, readers: Mapping[str, Reader], limits: Limits = LIMITS) -> ParseReport:
    """The questions of a bundle's sheet, read by ``readers[kind]``, with the images its rows
    link to in ``report.images`` (see the module docstring)."""
    report = ParseReport()
    archive = _open(content)
    if archive is None:
        report.problems.append(Problem(0, N_("The ZIP cannot be read.")))
        return report
    with archive:
        problem = _check(archive.infolist(), limits)
        if problem is not None:
            report.problems.append(problem)
            return report
        sheets = _sheets(archive.namelist())
        if len(sheets) != 1:
            report.problems.append(
                Problem(
                    0,
                    N_(
                        "The ZIP must hold exactly one .xlsx or .csv sheet at its top level, "
                        "beside its images/ folder (it holds %(count)d)."
                    ),
                    {"count": len(sheets)},
                )
            )
            return report
        try:
            sheet = archive.read(sheets[0])
        except Exception as exc:  # encrypted, damaged, an unknown compression method
            report.problems.append(_unreadable(sheets[0], exc))
            return report
        kind = sheets[0].rsplit(".", 1)[1].lower()
        report = readers[kind](sheet, limits)
        _bring_in(archive, report)
    return report


def _unreadable(name: str, exc: BaseException) -> Problem:
    detail = str(exc).strip()[:200] or type(exc).__name__
    return Problem(
        0,
        N_("The file %(name)s cannot be read from the ZIP (%(error)s)."),
        {"name": name, "error": detail},
    )


def _check(entries: list[zipfile.ZipInfo], limits: Limits) -> Problem | None:
    """Why the archive is refused before anything in it is read, or None."""
    if len(entries) > limits.archive_entries:
        return Problem(
            0,
            N_("The ZIP holds more than %(limit)d files."),
            {"limit": limits.archive_entries},
        )
    # zipfile reads no more than the declared sizes, so their sum bounds what unpacking costs
    if sum(info.file_size for info in entries) > limits.archive_bytes:
        return Problem(
            0,
            N_("The ZIP is too large when unpacked (over %(limit)d MB)."),
            {"limit": limits.archive_bytes // 2**20},
        )
    for info in entries:
        if not _safe(info.filename):
            return Problem(
                0,
                N_(
                    "The ZIP holds the path %(name)s, which leads out of its folder; "
                    "the file is refused."
                ),
                {"name": info.filename[:200]},
            )
    return None


def _safe(name: str) -> bool:
    """A relative name that stays inside the folder it is unpacked into."""
    if not name or "\\" in name or "\x00" in name or name.startswith("/"):
        return False
    first = name.split("/", 1)[0]
    if len(first) >= 2 and first[1] == ":":  # a Windows drive, C:evil.png
        return False
    return ".." not in name.split("/")


def _bring_in(archive: zipfile.ZipFile, report: ParseReport) -> None:
    """Prepare the images the report's questions link to, relink renamed ones, and list in
    ``report.files_skipped`` what is missing, refused or not linked."""
    files = {
        info.filename[len(IMAGES) :]: info
        for info in archive.infolist()
        if info.filename.startswith(IMAGES) and not info.is_dir()
    }
    taken: dict[str, StoredImage | Problem] = {}
    renamed: dict[str, str] = {}
    for index, item in enumerate(report.questions):
        for name in referenced(question_texts(item.question)):
            if name not in files:
                reason = Problem(0, N_("The ZIP's images/ folder does not hold this image."))
                report.files_skipped.append(SkippedFile(item.line, IMAGES + name, reason))
                continue
            if name not in taken:
                taken[name] = _take(archive, files[name])
            result = taken[name]
            if isinstance(result, Problem):
                report.files_skipped.append(SkippedFile(item.line, IMAGES + name, result))
                continue
            report.images.setdefault(result.name, result)
            if result.name != name:
                renamed[name] = result.url
        if renamed:
            report.questions[index] = replace(item, question=_relinked(item.question, renamed))
    for name in files:
        if name not in taken:
            reason = Problem(0, N_("No question links to this file; it was not imported."))
            report.files_skipped.append(SkippedFile(0, IMAGES + name, reason))


def _take(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> StoredImage | Problem:
    """The prepared image in ``info``, or why it is not taken."""
    try:
        content = archive.read(info)
    except Exception as exc:  # encrypted, damaged, an unknown compression method
        problem = _unreadable(info.filename, exc)
        return Problem(0, problem.message, problem.params)
    try:
        return prepare(content)
    except ImageRefused as exc:
        return Problem(0, exc.message, exc.params)


def _relinked(question: QuestionData, renamed: dict[str, str]) -> QuestionData:
    return replace(
        question,
        stem=replace_links(question.stem, renamed),
        options=tuple(replace_links(o, renamed) for o in question.options),
        explanation=replace_links(question.explanation, renamed),
    )
