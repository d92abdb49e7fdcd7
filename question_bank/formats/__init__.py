"""Import and export formats. Each module has ``parse(content: bytes) -> ParseReport`` and
``export(questions) -> bytes``; both are pure (no Flask, no database).

A parser never raises on bad input: it validates the whole file and reports every problem with its
line (text formats) or row (spreadsheets), and reports question types it cannot carry as skipped.
What each format can carry is in ``CAPABILITIES`` and in the README's table.
"""

from __future__ import annotations

from pathlib import PurePath

from question_bank.formats.base import (
    LIMITS,
    Limits,
    ParsedQuestion,
    ParseReport,
    SkippedFile,
    too_many_rows,
)
from question_bank.formats.registry import _REGISTRY, Format, register

__all__ = [
    "LIMITS",
    "Format",
    "Limits",
    "ParseReport",
    "ParsedQuestion",
    "SkippedFile",
    "detect_format",
    "formats",
    "get_format",
    "register",
    "too_many_rows",
]


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
