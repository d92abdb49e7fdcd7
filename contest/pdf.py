"""PDF files the platform prints: award certificates and the printable winners list (公示名单).

**Library and font.** fpdf2 (pure Python) lays out the pages and embeds a subset of the font
(only the glyphs used, through fontTools), so a PDF shows its Chinese on any reader and printer,
with no font installed and without the internet. The fonts are Noto Serif SC and Noto Sans SC
(SIL Open Font License 1.1), shipped by the PyPI package ``pylopdf-fonts-zh-cn``; nothing is
downloaded at run time.

Everything here is pure layout: callers pass the words already translated (the certificate is
printed in the deployment's language, Chinese by default) and get the PDF's bytes back.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import segno
from fpdf import FPDF
from fpdf.fonts import FontFace

# The two built-in certificate designs (A4 landscape): key → the font family they print in.
DESIGNS = ("classic", "modern")

SERIF = "NotoSerifSC"
SANS = "NotoSansSC"

# Colours (RGB)
_RED = (178, 34, 34)
_GOLD = (191, 144, 0)
_BLUE = (23, 76, 140)
_INK = (33, 33, 33)
_GREY = (110, 110, 110)


@lru_cache(maxsize=1)
def font_files() -> dict[str, Path]:
    """The embedded fonts' files, by family name."""
    import pylopdf_fonts_zh_cn as noto

    return {SERIF: noto.serif_path(), SANS: noto.sans_path()}


def _document(orientation: str, family: str, title: str) -> FPDF:
    """An empty A4 document with ``family`` registered, no automatic page break, fixed
    metadata (the same input gives the same layout)."""
    pdf = FPDF(orientation=orientation, unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    pdf.add_font(family, fname=str(font_files()[family]))
    pdf.set_title(title)
    pdf.set_creator("NetSec Contest")
    pdf.set_producer("NetSec Contest")
    pdf.set_creation_date(datetime(2000, 1, 1, tzinfo=UTC))
    return pdf


def _fit(pdf: FPDF, family: str, text: str, size: float, width: float, floor: float = 10) -> None:
    """Set ``family`` at ``size`` points, smaller (down to ``floor``) until ``text`` fits
    ``width`` mm on one line."""
    pdf.set_font(family, size=size)
    while size > floor and pdf.get_string_width(text) > width:
        size -= 1
        pdf.set_font(family, size=size)


def _centered(pdf: FPDF, family: str, text: str, y: float, size: float, width: float) -> None:
    """One line of ``text`` centred on the page at height ``y``, shrunk to fit ``width``."""
    _fit(pdf, family, text, size, width)
    pdf.set_xy((pdf.w - width) / 2, y)
    pdf.cell(width, size * 0.5, text, align="C")


def draw_qr(pdf: FPDF, data: str, x: float, y: float, size: float) -> None:
    """``data`` as a vector QR code (error level M, with its quiet zone) in a ``size`` mm
    square at (x, y): crisp at any print resolution."""
    code = segno.make(data, error="m", micro=False)
    matrix = code.matrix
    modules = len(matrix) + 8  # 4 modules of quiet zone on each side
    step = size / modules
    pdf.set_fill_color(255, 255, 255)
    pdf.rect(x, y, size, size, style="F")
    pdf.set_fill_color(0, 0, 0)
    for row, line in enumerate(matrix):
        run_start = None
        for col, dark in enumerate([*line, 0]):
            if dark and run_start is None:
                run_start = col
            elif not dark and run_start is not None:
                pdf.rect(
                    x + (run_start + 4) * step,
                    y + (row + 4) * step,
                    (col - run_start) * step,
                    step,
                    style="F",
                )
                run_start = None


# Certificates -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CertificateText:
    """What one certificate says, already in the language it is printed in."""

    heading: str  # 荣誉证书
    name: str
    organization: str  # "" for none
    lines: Sequence[str]  # the citation, one paragraph per entry
    tier: str  # 一等奖
    closing: str  # 特发此证，以资鼓励。
    issuer: str
    date: str  # 2026年12月5日
    number_label: str  # 证书编号：NSC12-…
    verify_hint: str  # 扫码验证真伪
    verify_url: str


def certificate(text: CertificateText, design: str, seal: bytes | None = None) -> bytes:
    """One certificate, A4 landscape, in ``design`` (one of :data:`DESIGNS`); ``seal``: a PNG
    printed over the issuer's name (a seal or logo), or None."""
    if design == "modern":
        pdf = _document("L", SANS, text.heading)
        pdf.add_page()
        _modern(pdf, text)
    else:
        pdf = _document("L", SERIF, text.heading)
        pdf.add_page()
        _classic(pdf, text)
    family = SANS if design == "modern" else SERIF
    _signature(pdf, family, text, seal)
    _verification(pdf, family, text, x=42 if design == "modern" else 30)
    return bytes(pdf.output())


def _citation(pdf: FPDF, family: str, text: CertificateText, x: float, y: float, w: float) -> float:
    """The name, unit, citation and tier from height ``y`` in a column ``w`` mm wide at ``x``;
    the height reached."""
    colour = _BLUE if family == SANS else _RED
    _fit(pdf, family, text.name, 30, w)
    pdf.set_text_color(*_INK)
    pdf.set_xy(x, y)
    pdf.cell(w, 14, text.name, align="C")
    pdf.set_draw_color(*colour)
    pdf.set_line_width(0.4)
    pdf.line(x + w / 2 - 45, y + 15, x + w / 2 + 45, y + 15)
    y += 19
    if text.organization:
        _fit(pdf, family, text.organization, 15, w)
        pdf.set_text_color(*_GREY)
        pdf.set_xy(x, y)
        pdf.cell(w, 8, text.organization, align="C")
        y += 11
    pdf.set_text_color(*_INK)
    pdf.set_font(family, size=16)
    for paragraph in text.lines:
        pdf.set_xy(x, y)
        pdf.multi_cell(w, 9, paragraph, align="C")
        y = pdf.get_y() + 1
    _fit(pdf, family, text.tier, 34, w)
    pdf.set_text_color(*colour)
    pdf.set_xy(x, y + 2)
    pdf.cell(w, 16, text.tier, align="C")
    pdf.set_text_color(*_INK)
    pdf.set_font(family, size=14)
    pdf.set_xy(x, y + 21)
    pdf.cell(w, 8, text.closing, align="C")
    return y + 30


def _classic(pdf: FPDF, text: CertificateText) -> None:
    """Red double frame with a gold line, the heading centred in red serif."""
    pdf.set_draw_color(*_RED)
    pdf.set_line_width(2.2)
    pdf.rect(9, 9, pdf.w - 18, pdf.h - 18)
    pdf.set_line_width(0.5)
    pdf.rect(14, 14, pdf.w - 28, pdf.h - 28)
    pdf.set_draw_color(*_GOLD)
    pdf.set_line_width(0.8)
    pdf.rect(17, 17, pdf.w - 34, pdf.h - 34)
    pdf.set_text_color(*_RED)
    _centered(pdf, SERIF, text.heading, 30, 46, 200)
    _citation(pdf, SERIF, text, 48, 58, pdf.w - 96)


def _modern(pdf: FPDF, text: CertificateText) -> None:
    """A blue band on the left, a thin rule, the heading in blue sans."""
    pdf.set_fill_color(*_BLUE)
    pdf.rect(0, 0, 22, pdf.h, style="F")
    pdf.set_fill_color(*_GOLD)
    pdf.rect(22, 0, 2.5, pdf.h, style="F")
    pdf.set_draw_color(*_BLUE)
    pdf.set_line_width(0.3)
    pdf.rect(32, 10, pdf.w - 42, pdf.h - 20)
    pdf.set_text_color(*_BLUE)
    _fit(pdf, SANS, text.heading, 40, 200)
    pdf.set_xy(32, 28)
    pdf.cell(pdf.w - 42, 20, text.heading, align="C")
    _citation(pdf, SANS, text, 60, 58, pdf.w - 98)


def _signature(pdf: FPDF, family: str, text: CertificateText, seal: bytes | None) -> None:
    """The issuer and the date at the bottom right, the seal over them."""
    width, right = 90, pdf.w - 30
    pdf.set_text_color(*_INK)
    _fit(pdf, family, text.issuer, 15, width)
    pdf.set_xy(right - width, 160)
    pdf.cell(width, 8, text.issuer, align="C")
    pdf.set_font(family, size=13)
    pdf.set_xy(right - width, 170)
    pdf.cell(width, 8, text.date, align="C")
    if seal:
        pdf.image(
            io.BytesIO(seal), x=right - width / 2 - 19, y=146, w=38, keep_aspect_ratio=True, h=38
        )


def _verification(pdf: FPDF, family: str, text: CertificateText, x: float) -> None:
    """The QR code of the verification page and the certificate number, bottom left from
    ``x`` mm."""
    y, size = 148, 30
    draw_qr(pdf, text.verify_url, x, y, size)
    pdf.set_text_color(*_GREY)
    pdf.set_font(family, size=9)
    pdf.set_xy(x + size + 3, y + 12)
    pdf.cell(90, 5, text.number_label)
    pdf.set_xy(x + size + 3, y + 18)
    pdf.cell(90, 5, text.verify_hint)


# The winners list -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """A printable list: a heading, lines under it, the table and a closing note."""

    heading: str
    lines: Sequence[str]
    columns: Sequence[str]
    rows: Sequence[Sequence[str]]
    note: str = ""
    empty: str = ""  # shown instead of the table when there are no rows


def table(doc: Table) -> bytes:
    """``doc`` as an A4 portrait PDF; the table's header row repeats on every page."""
    pdf = _document("P", SERIF, doc.heading)
    pdf.set_margins(18, 18, 18)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    pdf.set_text_color(*_INK)
    _fit(pdf, SERIF, doc.heading, 20, pdf.epw)
    pdf.multi_cell(pdf.epw, 11, doc.heading, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(SERIF, size=10.5)
    pdf.set_text_color(*_GREY)
    for line in doc.lines:
        pdf.multi_cell(pdf.epw, 6, line, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_text_color(*_INK)
    if doc.rows:
        with pdf.table(
            headings_style=FontFace(emphasis="", fill_color=(238, 238, 238)),
            line_height=7,
            text_align="CENTER",
            repeat_headings=1,
        ) as grid:
            header = grid.row()
            for column in doc.columns:
                header.cell(column)
            for values in doc.rows:
                row = grid.row()
                for value in values:
                    row.cell(value)
    elif doc.empty:
        pdf.multi_cell(pdf.epw, 8, doc.empty, align="C", new_x="LMARGIN", new_y="NEXT")
    if doc.note:
        pdf.ln(4)
        pdf.set_font(SERIF, size=10)
        pdf.set_text_color(*_GREY)
        pdf.multi_cell(pdf.epw, 6, doc.note, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
