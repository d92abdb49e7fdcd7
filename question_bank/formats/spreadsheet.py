"""The Chinese spreadsheet template, as XLSX and as CSV.

One row per question under a header row; columns in any order, unknown columns ignored, 题型,
题干 and 答案 required::

    题型 | 题干 | 选项A … 选项H | 答案 | 解析 | 难度 | 分类 | 标签 | 法条

- 题型: 单选(题), 多选(题), 判断(题), 填空(题), 排序(题).
- 答案: single ``A``; multiple ``ABD`` (also ``A,B,D``, ``A、B、D``, lower-case, full-width);
  true/false 对/错, 正确/错误, √/×, T/F, TRUE/FALSE; fill-in-the-blank: blanks separated by ``;``,
  accepted alternatives within a blank by ``|`` (full-width ``；``/``｜`` too), e.g.
  ``72小时|七十二小时;公安机关``; ordering ``CABD``. Options are filled from 选项A without gaps.
- 难度: 易/中/难 (empty: 中). 分类: a path such as ``法律法规/网络安全法``. 标签: separated
  by ``,``, ``，`` or ``、``. 法条: ``网络安全法(2016-11-07) 第二十一条：quoted text`` — the
  version (a date) and the quote are optional; the article in Chinese or Arabic numerals.

Problems carry the row number a spreadsheet shows (the header is row 1 when it is the first row;
0 means the file as a whole). Both parsers share one row model: a source yields ``(row number,
cell texts)`` and :func:`_read_rows` turns rows into questions. Exports write the same header and
notation, so ``parse(export(questions))`` gives the questions back. The notation of 答案 and 法条
is :mod:`question_bank.formats.notation`'s.

Images: cells keep ``/media/<sha256>.<ext>`` links as text; an export whose questions link to
stored images is a ZIP of the sheet and an ``images/`` folder, and such a ZIP imports with its
images (:mod:`question_bank.formats.bundle`).

CSV exports are UTF-8 with a BOM (Excel then reads them as UTF-8) and neutralise cells Excel would
run as formulas (leading ``=``, ``+``, ``-``, ``@``) with a leading apostrophe, which the CSV
parser removes again.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
import time
import unicodedata
import warnings
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from question_bank.domain import (
    MAX_OPTIONS,
    N_,
    OPTION_LETTERS,
    Citation,
    Difficulty,
    Problem,
    QuestionData,
    QuestionType,
    count_blanks,
    validate,
)
from question_bank.formats import bundle
from question_bank.formats.base import LIMITS, Limits, ParsedQuestion, ParseReport, too_many_rows
from question_bank.formats.notation import (
    Add,
    _answer,
    answer_text,
    format_citation,
    parse_citation,
)
from question_bank.formats.registry import Format, register
from question_bank.formats.text import decode

OPTION_COLUMNS = tuple(f"选项{letter}" for letter in OPTION_LETTERS)
HEADER = ("题型", "题干", *OPTION_COLUMNS, "答案", "解析", "难度", "分类", "标签", "法条")
REQUIRED = ("题型", "题干", "答案")
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


# A 10,000-question workbook unpacks to about 10 MB; openpyxl holds the shared strings in memory.
MAX_UNPACKED_BYTES = 64 * 1024 * 1024


TYPE_NAMES = {
    **dict.fromkeys(("单选", "单选题"), QuestionType.SINGLE),
    **dict.fromkeys(("多选", "多选题"), QuestionType.MULTIPLE),
    **dict.fromkeys(("判断", "判断题"), QuestionType.TRUE_FALSE),
    **dict.fromkeys(("填空", "填空题"), QuestionType.FILL_BLANK),
    **dict.fromkeys(("排序", "排序题"), QuestionType.ORDERING),
}
TYPE_LABELS = {
    QuestionType.SINGLE: "单选",
    QuestionType.MULTIPLE: "多选",
    QuestionType.TRUE_FALSE: "判断",
    QuestionType.FILL_BLANK: "填空",
    QuestionType.ORDERING: "排序",
}
DIFFICULTY_NAMES = {
    "": Difficulty.MEDIUM,
    "易": Difficulty.EASY,
    "中": Difficulty.MEDIUM,
    "难": Difficulty.HARD,
}
DIFFICULTY_LABELS = {value: label for label, value in DIFFICULTY_NAMES.items() if label}


_TAG_SEPARATOR = re.compile(r"[,，、]")
_EXTRA_OPTION = re.compile(r"选项[I-Z]")


_FORMULA_START = re.compile(r"\s*'*[=+\-@]")  # what Excel would run from a CSV cell
_ESCAPED_FORMULA = re.compile(r"'+[=+\-@]")
_XLSX_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_NEEDS_XLSX_ESCAPE = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)|[\x00-\x08\x0b\x0c\x0e-\x1f]")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and password-protected .xlsx


# csv refuses fields over 128 KiB by default; a whole file is in memory anyway, so the limit
# protects nothing here while a long stem or quote is legitimate. Only ever raised, never lowered.
csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))


Row = tuple[int, list[str]]


# ---------------------------------------------------------------------------------------------
# Parsing


def parse_xlsx(content: bytes, limits: Limits = LIMITS) -> ParseReport:
    """The questions on the first worksheet of an XLSX workbook (see the module docstring);
    a sheet over ``limits`` is refused as soon as the bound is crossed. A ZIP of a sheet with
    its images is read as :mod:`question_bank.formats.bundle` says."""
    if bundle.is_bundle(content):
        return bundle.read(content, _READERS, limits)
    return _parse_xlsx(content, limits)


def parse_csv(content: bytes, limits: Limits = LIMITS) -> ParseReport:
    """The questions in a CSV file: UTF-8 with or without BOM, or GBK; comma- or tab-separated;
    within ``limits`` as :func:`parse_xlsx`, which also says how a ZIP with images is read."""
    if bundle.is_bundle(content):
        return bundle.read(content, _READERS, limits)
    return _parse_csv(content, limits)


def _parse_xlsx(content: bytes, limits: Limits) -> ParseReport:
    report = ParseReport()
    budget = _Budget(limits)  # the clock runs from here: opening reads every shared string
    problem = check_archive(content)
    if problem is not None:
        report.problems.append(problem)
        return report
    # openpyxl warns about features it drops (data validation, unknown extensions); they do not
    # matter for reading values, and under ``-W error`` they would refuse a good file.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds on malformed workbooks
            report.problems.append(_unreadable(exc))
            return report
        try:
            if not workbook.worksheets:
                report.problems.append(Problem(0, N_("The workbook has no worksheet.")))
                return report
            sheet = workbook.worksheets[0]
            sheet.reset_dimensions()  # trust the rows, not a possibly wrong <dimension>
            rows = sheet.iter_rows(values_only=True)
            _read_rows(
                ((n, [_cell_text(v) for v in values]) for n, values in enumerate(rows, 1)),
                report,
                unescape=False,
                budget=budget,
            )
        finally:
            workbook.close()
    return report


def _parse_csv(content: bytes, limits: Limits) -> ParseReport:
    report = ParseReport()
    budget = _Budget(limits)
    text, problem = decode(content)
    if problem is not None or text is None:
        report.problems.append(problem or Problem(0, N_("The file cannot be read.")))
        return report
    end = text.find("\n")
    first_line = text if end < 0 else text[:end]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    _read_rows(
        ((n, [_clean(cell) for cell in cells]) for n, cells in enumerate(reader, 1)),
        report,
        unescape=True,
        budget=budget,
    )
    return report


# The sheet inside a bundle is read as it is: a ZIP in a ZIP is never unpacked.
_READERS: dict[str, bundle.Reader] = {"xlsx": _parse_xlsx, "csv": _parse_csv}


def check_archive(content: bytes) -> Problem | None:
    """Refuse what is not a zip archive, and zip bombs, before openpyxl opens it."""
    if content.startswith(_OLE_MAGIC):
        return Problem(
            0,
            N_(
                "This is an old .xls workbook or a password-protected one; save it as "
                "an unprotected .xlsx workbook and upload it again."
            ),
        )
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except Exception as exc:  # BadZipFile, but truncated archives raise other kinds too
        return _unreadable(exc)
    if unpacked > MAX_UNPACKED_BYTES:  # zipfile reads no more than the declared sizes
        return Problem(
            0,
            N_("The workbook is too large when unpacked (over %(limit)d MB)."),
            {"limit": MAX_UNPACKED_BYTES // (1024 * 1024)},
        )
    return None


def _unreadable(exc: BaseException) -> Problem:
    detail = str(exc).strip()[:200] or type(exc).__name__
    return Problem(
        0, N_("The file is not a readable XLSX workbook (%(error)s)."), {"error": detail}
    )


def _cell_text(value: Any) -> str:
    """A cell value as the text a person sees: 2016 not 2016.0, dates as 2016-11-07."""
    if value is None:
        return ""
    if isinstance(value, str):
        return _clean(_xlsx_unescape(value) if "_x" in value else value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time():
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return _clean(str(value))


def _xlsx_unescape(text: str) -> str:
    """Excel's ``_x000D_`` escapes as characters (a lone surrogate stays escaped)."""

    def char(match: re.Match[str]) -> str:
        code = int(match.group(1), 16)
        return match.group() if 0xD800 <= code <= 0xDFFF else chr(code)

    return _XLSX_ESCAPE.sub(char, text)


def _clean(text: str) -> str:
    """Line breaks as ``\\n``, surrounding whitespace removed."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.strip()


def _read_rows(
    rows: Iterable[Row], report: ParseReport, *, unescape: bool, budget: _Budget
) -> None:
    """Header, then one question per non-empty row; every problem goes into ``report``.

    Only reading ``rows`` is guarded: a source that fails midway (a truncated workbook) adds a
    problem at row 0, while a bug here still raises. Crossing a bound of ``budget`` stops the
    reading: the file is refused with that bound as its first problem.
    """
    iterator = iter(rows)
    header: _Header | None = None
    while True:
        try:
            number, cells = next(iterator)
        except StopIteration:
            break
        except csv.Error as exc:  # not expected with newline="" input; reported, never raised
            report.problems.append(
                Problem(0, N_("The CSV file cannot be read: %(error)s"), {"error": str(exc)})
            )
            return
        except Exception as exc:  # a damaged workbook fails while its rows are streamed
            report.problems.append(_unreadable(exc))
            return
        bound = budget.spend(len(cells))
        if bound is not None:
            report.questions = []
            report.problems.insert(0, bound)
            return
        if not any(cells):
            continue
        if unescape:
            cells = [cell[1:] if _ESCAPED_FORMULA.match(cell) else cell for cell in cells]
        if header is None:
            header = _Header.read(number, cells, report.problems)
            if header is None:
                return
            continue
        _read_row(header, number, cells, report)
    if header is None:
        report.problems.append(Problem(0, N_("The file is empty: it has no header row.")))


class _Budget:
    """Rows, cells and seconds left for reading one file."""

    __slots__ = ("cells", "deadline", "limits", "rows")

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.rows = self.cells = 0
        self.deadline = time.monotonic() + limits.seconds

    def spend(self, cells: int) -> Problem | None:
        """Count one more row of ``cells`` cells; the problem naming the bound it crosses."""
        self.rows += 1
        self.cells += cells
        if self.rows > self.limits.rows:
            return too_many_rows(self.limits)
        if self.cells > self.limits.cells:
            return Problem(
                0,
                N_(
                    "The sheet has more than %(limit)d cells (rows × columns, empty cells "
                    "included); delete unused columns and rows or split it into smaller files."
                ),
                {"limit": self.limits.cells},
            )
        if time.monotonic() >= self.deadline:
            return Problem(
                0,
                N_(
                    "Reading the file took more than %(limit)d seconds; split it into smaller "
                    "files."
                ),
                {"limit": int(self.limits.seconds)},
            )
        return None


class _Header:
    """Where each known column is; built from the first non-empty row."""

    __slots__ = ("columns", "extra_options")

    def __init__(self, columns: dict[str, int], extra_options: dict[str, int]) -> None:
        self.columns = columns
        self.extra_options = extra_options

    @classmethod
    def read(cls, number: int, cells: list[str], problems: list[Problem]) -> _Header | None:
        columns: dict[str, int] = {}
        extra_options: dict[str, int] = {}
        found: list[Problem] = []
        for index, cell in enumerate(cells):
            name = _column_name(cell)
            if name in columns:
                found.append(
                    Problem(
                        number,
                        N_("The header row has the column %(column)s twice."),
                        {"column": name},
                    )
                )
            elif name in HEADER:
                columns[name] = index
            elif _EXTRA_OPTION.fullmatch(name):
                extra_options[name] = index
        missing = [name for name in REQUIRED if name not in columns]
        if missing:
            found.append(
                Problem(
                    number,
                    N_(
                        "The header row lacks the column(s) %(columns)s "
                        "(the template's columns are %(header)s)."
                    ),
                    {"columns": "、".join(missing), "header": "、".join(HEADER)},
                )
            )
        if found:
            problems.extend(found)
            return None
        return cls(columns, extra_options)

    def cells(self, cells: list[str]) -> dict[str, str]:
        size = len(cells)
        return {name: cells[i] if i < size else "" for name, i in self.columns.items()}


def _column_name(cell: str) -> str:
    """``选项Ａ``, ``* 题型`` and ``选项 a`` name the columns 选项A, 题型 and 选项A."""
    name = re.sub(r"[\s*＊\ufeff]+", "", unicodedata.normalize("NFKC", cell))
    if name.startswith("选项"):
        name = name.upper()
    return name


def _read_row(header: _Header, number: int, cells: list[str], report: ParseReport) -> None:
    row = header.cells(cells)
    extra = [name for name, i in header.extra_options.items() if i < len(cells) and cells[i]]
    if not any(row.values()) and not extra:
        return
    problems: list[Problem] = []

    def add(message: str, **params: Any) -> None:
        problems.append(Problem(number, message, params))

    for name in extra:
        add(
            N_("This row fills %(column)s; at most %(max)d options (选项A to 选项H) are allowed."),
            column=name,
            max=MAX_OPTIONS,
        )
    question = _question(row, add)
    if question is not None and not problems:
        report.questions.append(ParsedQuestion(number, question))
    report.problems.extend(problems)


def _question(row: dict[str, str], add: Add) -> QuestionData | None:
    """The question in ``row``, reporting through ``add``; None when the type is unknown."""
    label = unicodedata.normalize("NFKC", row["题型"]).replace(" ", "")
    kind = TYPE_NAMES.get(label)
    if kind is None:
        if label:
            add(
                N_('Unknown question type "%(value)s"; use 单选, 多选, 判断, 填空 or 排序.'),
                value=row["题型"],
            )
        else:
            add(N_("The question type (题型) is empty."))
        if not row["题干"]:
            add(N_("The stem is empty."))
        return None
    options, gap = _options(row, add)
    answer = _answer(kind, row["答案"], options, add)
    difficulty = _difficulty(row.get("难度", ""), add)
    citation = _citation_cell(row.get("法条", ""), add)
    question = QuestionData(
        type=kind,
        stem=row["题干"],
        options=options,
        answer=_placeholder(kind, options, row["题干"]) if answer is None else answer,
        explanation=row.get("解析", ""),
        difficulty=difficulty,
        category=row.get("分类", "").replace("／", "/"),
        tags=_tags(row.get("标签", "")),
        citation=citation,
    )
    for problem in validate(question):
        if not (gap and problem.message == "An option is empty."):  # already said, more precisely
            add(problem.message, **problem.params)
    return question


def _options(row: dict[str, str], add: Add) -> tuple[tuple[str, ...], bool]:
    """The options up to the last filled one, and whether an earlier one is empty."""
    texts = [row.get(column, "") for column in OPTION_COLUMNS]
    filled = [i for i, text in enumerate(texts) if text]
    if not filled:
        return (), False
    options = tuple(texts[: filled[-1] + 1])
    gaps = [OPTION_LETTERS[i] for i, text in enumerate(options) if not text]
    for letter in gaps:
        add(
            N_(
                "选项%(letter)s is empty but a later option is filled; fill the options from 选项A "
                "on without gaps."
            ),
            letter=letter,
        )
    return options, bool(gaps)


def _placeholder(kind: QuestionType, options: tuple[str, ...], stem: str) -> Any:
    """A well-formed answer standing in for an unreadable one, so validate() checks the rest."""
    if kind is QuestionType.SINGLE:
        return 0
    if kind is QuestionType.MULTIPLE:
        return (0, 1)
    if kind is QuestionType.TRUE_FALSE:
        return True
    if kind is QuestionType.FILL_BLANK:
        return (("?",),) * max(1, count_blanks(stem))
    return tuple(range(len(options)))


def _difficulty(text: str, add: Add) -> Difficulty:
    difficulty = DIFFICULTY_NAMES.get(unicodedata.normalize("NFKC", text).strip())
    if difficulty is None:
        add(N_('Unknown difficulty "%(value)s"; use 易, 中 or 难 (empty means 中).'), value=text)
        return Difficulty.MEDIUM
    return difficulty


def _tags(text: str) -> tuple[str, ...]:
    tags = (tag.strip() for tag in _TAG_SEPARATOR.split(text))
    return tuple(dict.fromkeys(tag for tag in tags if tag))


def _citation_cell(text: str, add: Add) -> Citation | None:
    if not text:
        return None
    citation = parse_citation(text)
    if isinstance(citation, Problem):
        add(citation.message, **citation.params)
        return None
    return citation


# ---------------------------------------------------------------------------------------------
# Export


def question_row(question: QuestionData) -> list[str]:
    """The cells of one question, in :data:`HEADER` order."""
    if len(question.options) > MAX_OPTIONS:
        raise ValueError(f"the template holds at most {MAX_OPTIONS} options")
    options = list(question.options) + [""] * (MAX_OPTIONS - len(question.options))
    citation = question.citation
    return [
        TYPE_LABELS[question.type],
        question.stem,
        *options,
        answer_text(question),
        question.explanation,
        DIFFICULTY_LABELS[question.difficulty],
        question.category,
        ",".join(question.tags),
        "" if citation is None else format_citation(citation),
    ]


def export_xlsx(
    questions: Sequence[QuestionData], images: Mapping[str, bytes] | None = None
) -> bytes:
    """An XLSX workbook in the template's layout (written in openpyxl's streaming mode); in a ZIP
    with the ``images`` (stored name → bytes) the questions link to, if any."""
    sheet = _workbook([question_row(q) for q in questions])
    return bundle.wrap("xlsx", sheet, questions, images or {})


def export_csv(
    questions: Sequence[QuestionData], images: Mapping[str, bytes] | None = None
) -> bytes:
    """UTF-8 CSV with a BOM and CRLF line ends, in the template's layout; in a ZIP with the
    ``images`` the questions link to, as :func:`export_xlsx`."""
    sheet = _csv(question_row(q) for q in questions)
    return bundle.wrap("csv", sheet, questions, images or {})


def _workbook(rows: Sequence[list[str]], notes: Sequence[tuple[str, str]] = ()) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("题库")
    # A streamed sheet has no <dimension>, and openpyxl's read-only mode then parses the whole
    # sheet once just to look for it; its writer asks the sheet for one, so say it.
    dimension = f"A1:{get_column_letter(len(HEADER))}{len(rows) + 1}"
    sheet.calculate_dimension = lambda: dimension
    sheet.freeze_panes = "A2"
    for letter, width in (("A", 8), ("B", 50), ("K", 10), ("L", 40), ("O", 20), ("P", 50)):
        sheet.column_dimensions[letter].width = width
    bold = Font(bold=True)
    sheet.append([_styled(sheet, name, bold) for name in HEADER])
    for row in rows:
        sheet.append([_xlsx_value(sheet, text) for text in row])
    if notes:
        help_sheet = workbook.create_sheet("填写说明")
        help_sheet.column_dimensions["B"].width = 90
        help_sheet.append([_styled(help_sheet, "列", bold), _styled(help_sheet, "填写说明", bold)])
        for column, note in notes:
            help_sheet.append([column, note])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _styled(sheet: Any, text: str, font: Font) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, text)
    cell.font = font
    return cell


def _xlsx_value(sheet: Any, text: str) -> Any:
    """Text for a cell: never a formula (openpyxl reads a leading ``=`` as one), with Excel's
    ``_xHHHH_`` escapes for what XML cannot carry (see :func:`_xlsx_escape`)."""
    if _NEEDS_XLSX_ESCAPE.search(text):
        text = _NEEDS_XLSX_ESCAPE.sub(_xlsx_escape, text)
    if not text:
        return None
    if text.startswith("="):
        cell = WriteOnlyCell(sheet, text)
        cell.data_type = "s"
        return cell
    return text


def _xlsx_escape(match: re.Match[str]) -> str:
    """Excel writes a control character as ``_xHHHH_`` and protects a literal ``_xHHHH_`` as
    ``_x005F_xHHHH_``; openpyxl does neither, so exports do it and :func:`_xlsx_unescape` undoes
    it (Excel's own files need the same)."""
    char = match.group()
    return "_x005F_" if char == "_" else f"_x{ord(char):04X}_"


def _csv(rows: Iterable[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow(["'" + cell if _FORMULA_START.match(cell) else cell for cell in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


_FIELDS = frozenset({"options", "explanation", "difficulty", "category", "tags", "citation"})


register(
    Format(
        name="xlsx",
        extensions=(".xlsx",),
        parse=parse_xlsx,
        export=export_xlsx,
        types=frozenset(QuestionType),
        fields=_FIELDS,
        media_type=XLSX_MEDIA_TYPE,
        takes_limits=True,
        carries_images=True,
        bundles_images=True,
    )
)
register(
    Format(
        name="csv",
        extensions=(".csv",),
        parse=parse_csv,
        export=export_csv,
        types=frozenset(QuestionType),
        fields=_FIELDS,
        media_type=CSV_MEDIA_TYPE,
        takes_limits=True,
        carries_images=True,
        bundles_images=True,
    )
)
