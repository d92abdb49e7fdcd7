"""Small server-rendered SVG charts for the statistics report: no script, no external file.

Each chart is an ``<svg role="img">`` with a ``<title>`` and ``<desc>`` (its name and what it
shows); the page puts the table with the same numbers right after it, so nothing is only in the
picture. Colours are presentation attributes (the site's CSP allows no inline styles) and the
``viewBox`` lets CSS scale the chart to a phone's width or a printed page.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import count

from markupsafe import Markup, escape

WIDTH = 640
BAR = "#2f6fb0"
KEY = "#2e8b57"
GRID = "#c8ced6"
TEXT = "#333333"
SERIES = ("#2f6fb0", "#e08a1e", "#2e8b57")

_ids = count(1)


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}".rstrip("0").rstrip(".")


def _open(height: int, title: str, desc: str, kind: str) -> tuple[str, list[str]]:
    ident = f"chart{next(_ids)}"
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{escape(kind)}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{ident}-t {ident}-d" font-family="sans-serif" font-size="12">'
        f'<title id="{ident}-t">{escape(title)}</title><desc id="{ident}-d">{escape(desc)}</desc>'
    )
    return head, []


def _close(head: str, parts: list[str]) -> Markup:
    """The finished chart: every text in it went through :func:`escape`."""
    return Markup(head + "".join(parts) + "</svg>")  # noqa: S704


def _text(x: float, y: float, text: str, anchor: str = "start", size: int = 12) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
        f'fill="{TEXT}">{escape(text)}</text>'
    )


def histogram(counts: Sequence[int], labels: Sequence[str], title: str, desc: str) -> Markup:
    """Vertical bars, one per bin, with the count above each and the bin's range below."""
    height, left, bottom, top = 240, 36, 200, 20
    head, parts = _open(height, title, desc, "histogram")
    most = max(counts, default=0) or 1
    slot = (WIDTH - left - 8) / max(len(counts), 1)
    parts.append(
        f'<line x1="{left}" y1="{bottom}" x2="{WIDTH - 8}" y2="{bottom}" stroke="{GRID}"/>'
    )
    for i, (value, label) in enumerate(zip(counts, labels, strict=True)):
        h = (bottom - top) * value / most
        x = left + i * slot
        parts.append(
            f'<rect x="{x + 2:.1f}" y="{bottom - h:.1f}" width="{slot - 4:.1f}" '
            f'height="{h:.1f}" fill="{BAR}"><title>{escape(label)}: {value}</title></rect>'
        )
        parts.append(_text(x + slot / 2, bottom - h - 4, str(value), "middle"))
        parts.append(_text(x + slot / 2, bottom + 16, label, "middle", 10))
    return _close(head, parts)


def bar_chart(
    rows: Sequence[tuple[str, float | None]],
    title: str,
    desc: str,
    *,
    maximum: float = 1.0,
    percent: bool = True,
) -> Markup:
    """Horizontal bars, one per row (long Chinese names fit on the left); ``None`` draws none."""
    line, label_w, top = 24, 200, 8
    height = top * 2 + line * max(len(rows), 1)
    head, parts = _open(height, title, desc, "bars")
    span = WIDTH - label_w - 70
    for i, (label, value) in enumerate(rows):
        y = top + i * line
        parts.append(_text(label_w - 6, y + 16, label[:16], "end"))
        if value is None:
            parts.append(_text(label_w + 4, y + 16, "—"))
            continue
        w = span * max(0.0, min(value / maximum if maximum else 0.0, 1.0))
        parts.append(
            f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{line - 8}" fill="{BAR}"/>'
        )
        shown = f"{value * 100:.0f}%" if percent else _fmt(value)
        parts.append(_text(label_w + w + 4, y + 16, shown))
    return _close(head, parts)


def line_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    title: str,
    desc: str,
) -> Markup:
    """Lines over the days (x: ``labels``), each series named in a legend at the top."""
    height, left, right, top, bottom = 260, 44, 12, 34, 220
    head, parts = _open(height, title, desc, "lines")
    most = max((v for _, values in series for v in values), default=0) or 1
    steps = max(len(labels) - 1, 1)
    x_of = [left + (WIDTH - left - right) * i / steps for i in range(len(labels))]
    for fraction in (0, 0.5, 1):
        y = bottom - (bottom - top) * fraction
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{WIDTH - right}" y2="{y:.1f}" stroke="{GRID}"/>'
        )
        parts.append(_text(left - 4, y + 4, _fmt(round(most * fraction, 2)), "end", 10))
    for n, (name, values) in enumerate(series):
        colour = SERIES[n % len(SERIES)]
        points = " ".join(
            f"{x:.1f},{bottom - (bottom - top) * v / most:.1f}"
            for x, v in zip(x_of, values, strict=True)
        )
        if len(values) == 1:
            y = bottom - (bottom - top) * values[0] / most
            parts.append(f'<circle cx="{x_of[0]:.1f}" cy="{y:.1f}" r="4" fill="{colour}"/>')
        else:
            parts.append(
                f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
        parts.append(f'<rect x="{left + n * 150}" y="6" width="12" height="12" fill="{colour}"/>')
        parts.append(_text(left + n * 150 + 16, 16, name))
    shown = sorted({0, len(labels) - 1, *range(0, len(labels), max(1, len(labels) // 6))})
    for i in shown:
        if 0 <= i < len(labels):
            parts.append(_text(x_of[i], bottom + 16, labels[i][5:], "middle", 10))
    return _close(head, parts)
