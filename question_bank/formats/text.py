"""Decoding uploaded text: UTF-8 with or without BOM, or GBK (common in Chinese spreadsheets)."""

from __future__ import annotations

from question_bank.domain import N_, Problem


def decode(content: bytes) -> tuple[str | None, Problem | None]:
    """The text of ``content``, or a problem saying why it cannot be read."""
    try:
        return content.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    try:
        text = content.decode("gbk")
    except UnicodeDecodeError:
        return None, Problem(0, N_("The file is neither UTF-8 nor GBK text."))
    return text, None
