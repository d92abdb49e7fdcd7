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
notation, so ``parse(export(questions))`` gives the questions back.

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
from collections.abc import Callable, Iterable, Mapping, Sequence
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
from question_bank.formats import (
    LIMITS,
    Format,
    Limits,
    ParsedQuestion,
    ParseReport,
    bundle,
    register,
    too_many_rows,
)
from question_bank.formats.text import decode
from question_bank.numerals import chinese_to_int, int_to_chinese

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
TRUE_WORDS = frozenset({"对", "正确", "√", "T", "TRUE"})
FALSE_WORDS = frozenset({"错", "错误", "×", "F", "FALSE"})

_LETTER_SEPARATORS = re.compile(r"[\s,、;]+")
_BLANK_SEPARATOR = re.compile(r"[;；]")
_ALTERNATIVE_SEPARATOR = re.compile(r"[|｜]")
_TAG_SEPARATOR = re.compile(r"[,，、]")
_EXTRA_OPTION = re.compile(r"选项[I-Z]")
_CITATION = re.compile(
    r"(?P<law>[^\s(（].*?)\s*"
    r"(?P<paren>[(（]\s*(?P<version>[^()（）]*?)\s*[)）])?\s*"
    r"第\s*(?P<article>[0-9０-９]+|[零〇一二两三四五六七八九十百千万]+)\s*条"
    r"(?:(?:\s*[:：]|\s)\s*(?P<quote>.*))?",
    re.DOTALL,
)
_DATE = re.compile(r"(\d{4})\s*[-./年]\s*(\d{1,2})\s*[-./月]\s*(\d{1,2})\s*日?")
_FORMULA_START = re.compile(r"\s*'*[=+\-@]")  # what Excel would run from a CSV cell
_ESCAPED_FORMULA = re.compile(r"'+[=+\-@]")
_XLSX_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_NEEDS_XLSX_ESCAPE = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)|[\x00-\x08\x0b\x0c\x0e-\x1f]")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and password-protected .xlsx

# csv refuses fields over 128 KiB by default; a whole file is in memory anyway, so the limit
# protects nothing here while a long stem or quote is legitimate. Only ever raised, never lowered.
csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))

Row = tuple[int, list[str]]
Add = Callable[..., None]  # reports a problem: add(message, **params)

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


def _answer(kind: QuestionType, text: str, options: tuple[str, ...], add: Add) -> Any:
    """The answer key in the domain's form, or None after reporting why it cannot be read."""
    if not text:
        add(N_("The answer (答案) is empty."))
        return None
    if kind is QuestionType.TRUE_FALSE:
        word = unicodedata.normalize("NFKC", text).upper()
        if word in TRUE_WORDS or word in FALSE_WORDS:
            return word in TRUE_WORDS
        add(N_('The answer "%(value)s" must be 对 or 错 (also 正确/错误, √/×, T/F).'), value=text)
        return None
    if kind is QuestionType.FILL_BLANK:
        return tuple(
            tuple(alt for alt in (a.strip() for a in _ALTERNATIVE_SEPARATOR.split(blank)) if alt)
            for blank in _BLANK_SEPARATOR.split(text)
        )
    letters = _LETTER_SEPARATORS.sub("", unicodedata.normalize("NFKC", text)).upper()
    if not letters or any(letter not in OPTION_LETTERS for letter in letters):
        if kind is QuestionType.SINGLE:
            add(N_('The answer "%(value)s" must be one option letter, A to H.'), value=text)
        else:
            add(N_('The answer "%(value)s" must be option letters such as ABD.'), value=text)
        return None
    if kind is QuestionType.SINGLE and len(letters) != 1:
        add(N_('The answer "%(value)s" must be one option letter, A to H.'), value=text)
        return None
    missing = sorted({letter for letter in letters if OPTION_LETTERS.index(letter) >= len(options)})
    for letter in missing:
        add(N_("The answer names option %(letter)s, but 选项%(letter)s is empty."), letter=letter)
    if missing:
        return None
    indexes = tuple(OPTION_LETTERS.index(letter) for letter in letters)
    if kind is QuestionType.SINGLE:
        return indexes[0]
    return tuple(sorted(indexes)) if kind is QuestionType.MULTIPLE else indexes


def parse_answer(
    kind: QuestionType, text: str, options: tuple[str, ...]
) -> tuple[Any, list[Problem]]:
    """An answer written in the template's notation (the authoring form uses it too)."""
    problems: list[Problem] = []
    answer = _answer(
        kind,
        text.strip(),
        options,
        lambda message, **params: problems.append(Problem(0, message, params)),
    )
    return answer, problems


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


def parse_citation(text: str) -> Citation | Problem:
    """A 法条 cell such as ``网络安全法(2016-11-07) 第二十一条：网络运营者应当…``.

    The version in parentheses (a date, written 2016-11-07, 2016.11.7 or 2016年11月7日) and the
    quote after ``:``/``：`` are optional; a parenthesis without digits belongs to the law's name
    (``刑法(修正案九)``). Returns the problem (at line 0) when ``text`` is malformed.
    """
    text = text.strip()
    match = _CITATION.fullmatch(text)
    if match is None:
        return Problem(
            0,
            N_(
                'The citation "%(value)s" must look like 网络安全法(2016-11-07) '
                "第二十一条：quoted text (the version and the quote are optional)."
            ),
            {"value": text},
        )
    law, version = match["law"], match["version"]
    if match["paren"] and not re.search(r"[0-9０-９]", version):
        law, version = text[: match.end("paren")], None
    elif version is not None:
        date = _date(version)
        if date is None:
            return Problem(
                0,
                N_('The law version "%(value)s" must be a date such as 2016-11-07.'),
                {"value": version},
            )
        version = date
    digits = unicodedata.normalize("NFKC", match["article"])
    if digits.isdigit():
        article = int(digits)
    else:
        try:
            article = chinese_to_int(digits)
        except ValueError:
            return Problem(
                0,
                N_(
                    'The article number "%(value)s" is not a Chinese numeral such as '
                    "二十一 or 一百零二."
                ),
                {"value": match["article"]},
            )
    quote = (match["quote"] or "").strip() or None
    return Citation(law=law.strip(), article=article, version=version, quote=quote)


def _date(text: str) -> str | None:
    match = _DATE.fullmatch(unicodedata.normalize("NFKC", text).strip())
    if match is None:
        return None
    try:
        return datetime.date(*(int(part) for part in match.groups())).isoformat()
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# Export


def format_citation(citation: Citation) -> str:
    """``law(version) 第<Chinese numeral>条：quote``; without a version ``law第…条``."""
    text = citation.law
    if citation.version:
        text += f"({citation.version}) "
    text += f"第{_article_text(citation.article)}条"
    if citation.quote:
        text += f"：{citation.quote}"
    return text


def _article_text(article: int) -> str:
    try:
        return int_to_chinese(article)
    except ValueError:  # beyond the numerals (or not positive): digits still read back
        return str(article)


def answer_text(question: QuestionData) -> str:
    """The answer key in the template's notation."""
    answer: Any = question.answer  # its shape follows the type (see domain.Answer)
    if question.type is QuestionType.TRUE_FALSE:
        return "对" if answer else "错"
    if question.type is QuestionType.FILL_BLANK:
        return ";".join("|".join(blank) for blank in answer)
    if question.type is QuestionType.SINGLE:
        return OPTION_LETTERS[answer]
    return "".join(OPTION_LETTERS[i] for i in answer)


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


# ---------------------------------------------------------------------------------------------
# The template organizers download

EXAMPLES = (
    QuestionData(
        type=QuestionType.SINGLE,
        stem="根据《网络安全法》，网络运营者应当按照（ ）制度的要求，履行安全保护义务。",
        options=("网络安全等级保护", "数据出境安全评估", "网络产品强制认证", "个人信息保护认证"),
        answer=0,
        explanation="《网络安全法》第二十一条规定国家实行网络安全等级保护制度，"
        "网络运营者应当按照其要求履行安全保护义务。",
        difficulty=Difficulty.EASY,
        category="法律法规/网络安全法",
        tags=("网络安全法", "等级保护"),
        citation=Citation(
            law="网络安全法",
            article=21,
            version="2016-11-07",
            quote="国家实行网络安全等级保护制度。网络运营者应当按照网络安全等级保护制度的要求，"
            "履行下列安全保护义务……",
        ),
    ),
    QuestionData(
        type=QuestionType.MULTIPLE,
        stem="以下哪些是钓鱼邮件的常见特征？",
        options=(
            "发件人域名与官方域名相似但不完全相同",
            "以账号即将冻结等理由催促立即点击链接并输入密码",
            "邮件内容与本人近期的实际业务往来一致",
            "附件为可执行文件或要求启用宏的文档",
        ),
        answer=(0, 1, 3),
        explanation="仿冒域名、制造紧迫感索要凭据和携带恶意附件都是典型的钓鱼手法。",
        difficulty=Difficulty.MEDIUM,
        category="安全意识/社会工程学",
        tags=("钓鱼邮件", "社会工程学"),
    ),
    QuestionData(
        type=QuestionType.TRUE_FALSE,
        stem="在公共 Wi-Fi 下，只要网址以 https 开头，就不存在任何安全风险。",
        answer=False,
        explanation="HTTPS 只保护传输内容；钓鱼网站同样可以使用 HTTPS，"
        "恶意热点还可能实施 DNS 劫持等攻击。",
        difficulty=Difficulty.EASY,
        category="安全意识/无线网络",
        tags=("公共Wi-Fi", "HTTPS"),
    ),
    QuestionData(
        type=QuestionType.FILL_BLANK,
        stem="《中华人民共和国网络安全法》自____年____月____日起施行。",
        answer=(("2017", "二〇一七"), ("6", "六"), ("1", "一")),
        explanation="第七十九条：本法自2017年6月1日起施行。",
        difficulty=Difficulty.MEDIUM,
        category="法律法规/网络安全法",
        tags=("网络安全法",),
        citation=Citation(
            law="网络安全法", article=79, version="2016-11-07", quote="本法自2017年6月1日起施行。"
        ),
    ),
    QuestionData(
        type=QuestionType.ORDERING,
        stem="发现主机感染勒索软件后，请将下列应急处置步骤按正确顺序排列。",
        options=(
            "恢复业务并加固系统",
            "隔离受感染主机，断开网络连接",
            "清除恶意程序并修补被利用的漏洞",
            "保全现场证据并向主管部门报告",
        ),
        answer=(1, 3, 2, 0),
        explanation="先隔离防止扩散，再保全证据并报告，然后清除与修补，最后恢复业务。",
        difficulty=Difficulty.HARD,
        category="应急响应/勒索软件",
        tags=("应急响应", "勒索软件"),
    ),
)

NOTES = (
    ("题型", "必填：单选、多选、判断、填空、排序（也可写作单选题、多选题等）。"),
    ("题干", "必填。填空题的空位写作 ____（连续下划线）或（ ），个数须与答案的空数一致。"),
    (
        "选项A…选项H",
        "单选、多选、排序题从选项A起依次填写，2 至 8 个，中间不留空；判断、填空题不填。",
    ),
    (
        "答案",
        "必填。单选 A；多选 ABD；判断 对/错（也可写正确/错误、√/×、T/F）；"
        "填空：各空用 ; 分隔，同一空的多个可接受答案用 | 分隔，如 72小时|七十二小时;公安机关；"
        "排序：按正确顺序写选项字母，如 CABD。",
    ),
    ("解析", "可选。"),
    ("难度", "易、中、难，留空为中。"),
    ("分类", "可选，分类路径，如 法律法规/网络安全法。"),
    ("标签", "可选，多个标签用逗号分隔。"),
    (
        "法条",
        "可选，如 网络安全法(2016-11-07) 第二十一条：引用的条文。版本日期与引文可省略，"
        "条号可写中文数字或阿拉伯数字。",
    ),
)


def template(kind: str) -> bytes:
    """The downloadable template: the header and one example per question type.

    ``kind`` is ``"xlsx"`` (with a second sheet explaining the columns) or ``"csv"``.
    """
    if kind == "xlsx":
        return _workbook([question_row(q) for q in EXAMPLES], NOTES)
    if kind == "csv":
        return export_csv(EXAMPLES)
    raise ValueError(f"no spreadsheet template of kind {kind!r}; use 'xlsx' or 'csv'")


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
