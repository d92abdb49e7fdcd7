"""A format: how it parses, exports and names its files; formats register themselves here."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from question_bank.domain import QuestionData, QuestionType
from question_bank.formats import bundle
from question_bank.formats.base import LIMITS, Limits, ParseReport, too_many_rows


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


_REGISTRY: dict[str, Format] = {}


def register(fmt: Format) -> None:
    _REGISTRY[fmt.name] = fmt
