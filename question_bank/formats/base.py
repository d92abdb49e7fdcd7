"""What every import format reads into: parsed questions, skipped files, the report, the limits."""

from __future__ import annotations

from dataclasses import dataclass, field

from question_bank.domain import N_, Problem, QuestionData
from question_bank.images import StoredImage


@dataclass(frozen=True)
class ParsedQuestion:
    line: int
    question: QuestionData


@dataclass(frozen=True)
class SkippedFile:
    """A file embedded in the question at ``line`` that was not imported, and why."""

    line: int
    name: str
    reason: Problem


@dataclass
class ParseReport:
    """What a parser found: questions, problems (any problem refuses the file), skipped items.

    Formats that embed pictures also fill ``images`` (prepared, by their stored name; the
    questions link to them as ``/media/<name>``) and ``files_skipped`` (embedded files not taken).
    """

    questions: list[ParsedQuestion] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    skipped: list[Problem] = field(default_factory=list)
    images: dict[str, StoredImage] = field(default_factory=dict)
    files_skipped: list[SkippedFile] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Limits:
    """What reading one file may cost; over any of them the file is refused, naming the bound.

    ``rows`` counts every row a spreadsheet yields (empty ones too, the header included) and every
    question item of the other formats; ``cells`` counts spreadsheet cells, the empty ones a
    stray far-right cell pads a row with included; ``seconds`` is the wall time a spreadsheet's
    rows may take to read. ``archive_bytes`` and ``archive_entries`` bound a ZIP of a sheet with
    its images (:mod:`question_bank.formats.bundle`): what it unpacks to (the app lowers it to its
    upload limit) and how many files it holds. The README's import section gives what a file at
    the limits costs.
    """

    rows: int = 20_000
    cells: int = 1_000_000
    seconds: float = 60.0
    archive_bytes: int = 32 * 2**20
    archive_entries: int = 10_000


LIMITS = Limits()


def too_many_rows(limits: Limits) -> Problem:
    return Problem(
        0,
        N_("The file has more than %(limit)d rows or questions; split it into smaller files."),
        {"limit": limits.rows},
    )
