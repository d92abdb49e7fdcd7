"""Import and export formats. Each module has ``parse(content: bytes) -> ParseReport`` and
``export(questions) -> bytes``; both are pure (no Flask, no database).

A parser never raises on bad input: it validates the whole file and reports every problem with its
line (text formats) or row (spreadsheets), and reports question types it cannot carry as skipped.
What each format can carry is in ``CAPABILITIES`` and in the README's table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

from question_bank.domain import N_, Problem, QuestionData, QuestionType
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


@dataclass(frozen=True)
class Format:
    name: str
    extensions: tuple[str, ...]
    parse: Callable[..., ParseReport]  # (content: bytes[, limits=Limits]) -> ParseReport
    export: Callable[..., bytes]  # (questions[, images={name: bytes}]) -> bytes
    types: frozenset[QuestionType]
    fields: frozenset[str]  # the QuestionData fields the format carries besides type/stem/answer
    media_type: str
    takes_limits: bool = False  # parse() takes ``limits``: the format can unpack to far more
    # export() takes ``images``: the stored images the texts link to, by name, to carry along
    carries_images: bool = False
    # with images, export() gives a ZIP of the file and its images/ folder (formats.bundle)
    bundles_images: bool = False

    def write(self, questions: Sequence[QuestionData], images: Mapping[str, bytes]) -> bytes:
        """Export ``questions``, with the ``images`` they link to where the format carries them."""
        if self.carries_images:
            return self.export(questions, images=images)
        return self.export(questions)

    def file_type(self, content: bytes) -> tuple[str, str]:
        """The media type and file name extension of ``content``, written by :meth:`write`."""
        from question_bank.formats import bundle

        if self.bundles_images and bundle.is_bundle(content):
            return bundle.MEDIA_TYPE, bundle.EXTENSION
        return self.media_type, self.extensions[0]

    def read(self, content: bytes, limits: Limits = LIMITS) -> ParseReport:
        """Parse ``content`` within ``limits`` (rows and cells and seconds for spreadsheets,
        question items for every format)."""
        report = self.parse(content, limits=limits) if self.takes_limits else self.parse(content)
        items = len(report.questions) + len(report.skipped)
        if items > limits.rows:
            report.questions = []
            report.problems.insert(0, too_many_rows(limits))
        return report


def too_many_rows(limits: Limits) -> Problem:
    return Problem(
        0,
        N_("The file has more than %(limit)d rows or questions; split it into smaller files."),
        {"limit": limits.rows},
    )


_REGISTRY: dict[str, Format] = {}


def register(fmt: Format) -> None:
    _REGISTRY[fmt.name] = fmt


def formats() -> dict[str, Format]:
    """Every format by name."""
    # Each module registers itself when imported (after that, importing is a dictionary lookup).
    from question_bank.formats import (  # noqa: F401
        aiken,
        gift,
        json_format,
        moodle_xml,
        spreadsheet,
    )

    return dict(_REGISTRY)


def get_format(name: str) -> Format:
    try:
        return formats()[name]
    except KeyError:
        raise ValueError(
            f"unknown format {name!r}; known: {', '.join(sorted(formats()))}"
        ) from None


def detect_format(filename: str) -> str | None:
    """The format name for a file name's extension, or None."""
    suffix = PurePath(filename).suffix.lower()
    for fmt in formats().values():
        if suffix in fmt.extensions:
            return fmt.name
    return None
