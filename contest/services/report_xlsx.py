"""The statistics report as an XLSX workbook, one sheet per table of the page.

Built from the cached report (no database read). Numbers stay numbers; every text cell is a
string cell (never a formula) and neutralized like the other exports: a leading ``= + - @``
gets an apostrophe, characters XML cannot hold are dropped.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from flask_babel import gettext as _

from contest.services.audit_log import neutralize

_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def flag_label(flag: str) -> str:
    return {
        "negative_discrimination": _("Negative discrimination"),
        "too_easy": _("Facility above 0.95"),
        "too_hard": _("Facility below 0.2"),
    }.get(flag, flag)


def area_label(area: str) -> str:
    return area or _("No category")


def option_letter(letter: str) -> str:
    """A choice's letter; a true/false item's two answers (``T``, ``F``) as 对 and 错."""
    return {"T": _("True"), "F": _("False")}.get(letter, letter)


def options_text(options: Sequence[Mapping[str, Any]]) -> str:
    """``A:3 B*:5 …`` (the key starred)."""
    return " ".join(
        f"{option_letter(o['letter'])}{'*' if o['key'] else ''}:{o['count']}" for o in options
    )


def item_header() -> list[str]:
    return [
        _("Question"),
        _("Version"),
        _("Type"),
        _("Stem"),
        _("Area"),
        _("Law"),
        _("Article"),
        _("Points"),
        _("Contestants"),
        _("Facility"),
        _("Upper group facility"),
        _("Lower group facility"),
        _("Group size"),
        _("Discrimination"),
        _("Point-biserial"),
        _("Option choices (* key)"),
        _("Unanswered"),
        _("Mean time between saves (s)"),
        _("Flags"),
    ]


def item_line(item: Mapping[str, Any]) -> list[Any]:
    return [
        item["question_id"],
        item["version"],
        item["type"],
        item["stem"],
        area_label(item["area"]),
        item["law"] or "",
        item["article"],
        item["points"],
        item["n"],
        item["facility"],
        item["upper_facility"],
        item["lower_facility"],
        item["group_size"],
        item["discrimination"],
        item["point_biserial"],
        options_text(item["options"]),
        item["blank"],
        item["mean_gap_s"],
        "、".join(flag_label(f) for f in item["flags"]),
    ]


def _scopes(report: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    return [(r["title"], r) for r in report["rounds"]] + [(_("Contest total"), report["total"])]


def workbook(report: Mapping[str, Any]) -> bytes:
    """The report's tables as an XLSX file."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    bold = Font(bold=True)

    def sheet(title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        ws = book.create_sheet(title[:31])

        def cell(value: Any, font: Font | None = None) -> WriteOnlyCell:
            if value is None or isinstance(value, bool):
                value = "" if value is None else str(value)
            if isinstance(value, int | float):
                c = WriteOnlyCell(ws, value)
            else:
                c = WriteOnlyCell(ws, _ILLEGAL_XML.sub("", neutralize(str(value))))
                c.data_type = "s"
            if font is not None:
                c.font = font
            return c

        ws.append([cell(h, bold) for h in header])
        for row in rows:
            ws.append([cell(v) for v in row])

    part = report["participation"]
    sheet(
        _("Participation"),
        [_("Unit"), _("Enrolled"), _("Started"), _("Submitted"), _("Participation rate")],
        [
            [u["name"], u["enrolled"], u["started"], u["submitted"], u["participation_rate"]]
            for u in part["units"]
        ],
    )
    sheet(
        _("Participation by day"),
        [_("Date"), _("Unit"), _("Enrolled"), _("Started"), _("Submitted"), _("Rate")],
        [
            [d["date"], _("All units"), d["enrolled"], d["started"], d["submitted"], d["rate"]]
            for d in part["days"]
        ]
        + [
            [d["date"], d["name"], d["enrolled"], d["started"], d["submitted"], d["rate"]]
            for d in part["by_unit_day"]
        ],
    )
    figures = ("n", "mean", "sd", "min", "q1", "median", "q3", "max", "full_marks")
    sheet(
        _("Score distribution"),
        [_("Scope"), *figures, *[_("Bin") + f" {i + 1}" for i in range(10)]],
        [
            [title, *[scope["distribution"][f] for f in figures]]
            + [f"{b['low']}–{b['high']}: {b['count']}" for b in scope["distribution"]["bins"]]
            for title, scope in _scopes(report)
        ],
    )
    sheet(
        _("Items"),
        [_("Scope"), *item_header()],
        [[title, *item_line(i)] for title, scope in _scopes(report) for i in scope["items"]],
    )
    sheet(
        _("By area"),
        [_("Scope"), _("Area"), _("Items"), _("Answers"), _("Contestants"), _("Facility")],
        [
            [
                title,
                area_label(a["name"]),
                a["items"],
                a["sittings"],
                a["contestants"],
                a["facility"],
            ]
            for title, scope in _scopes(report)
            for a in scope["areas"]
        ],
    )
    sheet(
        _("By law"),
        [_("Scope"), _("Law"), _("Articles"), _("Items"), _("Answers"), _("Facility")],
        [
            [
                title,
                law["name"],
                "、".join(str(a) for a in law["articles"]),
                law["items"],
                law["sittings"],
                law["facility"],
            ]
            for title, scope in _scopes(report)
            for law in scope["laws"]
        ],
    )
    sheet(
        _("By unit"),
        [_("Scope"), _("Unit"), _("Contestants"), _("Mean score"), _("Facility"), _("By area")],
        [
            [
                title,
                u["name"] or _("No unit"),
                u["contestants"],
                u["mean_score"],
                u["facility"],
                " ".join(f"{area_label(a)}:{v}" for a, v in u["areas"].items()),
            ]
            for title, scope in _scopes(report)
            for u in scope["units"]
        ],
    )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
