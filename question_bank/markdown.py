"""Markdown for question stems, options and explanations, rendered to sanitized HTML.

markdown-it-py renders CommonMark (with tables and strikethrough); raw HTML in the source is
passed through the renderer and then cleaned by nh3 (Ammonia) with an allow-list, so ``<script>``,
event-handler attributes such as ``onerror=`` and ``javascript:`` URLs never survive.

Texts from question files are stored as this Markdown too, converted on import so that they show
as Moodle shows them in their own format (the formats' modules say which text has which format):

* plain text (Aiken, GIFT ``[plain]``, Moodle XML ``plain_text``) shows exactly as written:
  :func:`from_plain` escapes it, and :func:`to_plain` gives it back for an export;
* HTML (GIFT ``[html]``, Moodle XML ``html``) is sanitized HTML: :func:`from_html`;
* Moodle's auto-format (unmarked GIFT text, ``[moodle]``, ``moodle_auto_format``) is HTML whose line
  breaks are kept as ``<br>``, as Moodle's ``text_to_html`` does: :func:`from_moodle_auto`;
* Markdown (GIFT ``[markdown]``, Moodle XML ``markdown``) is kept as written.

Converting is deterministic, so importing a file twice gives the same stored texts (and the same
duplicate keys); exports write the stored Markdown back as Markdown (GIFT, Moodle XML) or as the
plain text that reads back into it (Aiken), so import → export → import gives the same questions.
Other formats (spreadsheets, JSON) and the editor take Markdown as written.
"""

from __future__ import annotations

import re
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": True, "linkify": False}).enable(["table", "strikethrough"])

ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "del",
    "s",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "b",
    "i",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "a",
    "img",
    "sub",
    "sup",
    "u",
    "hr",
    "span",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"align"},
    "td": {"align"},
}


def _clean(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


# Rendering is a pure function of the text, and every contestant of a round is shown the same
# stems and options, which were a noticeable share of a start's CPU (bench/HISTORY.md).
_RENDERED_KEPT = 8192


@lru_cache(maxsize=_RENDERED_KEPT)
def render(text: str) -> str:
    """Markdown → HTML that is safe to put into a page."""
    return _clean(_md.render(text or ""))


@lru_cache(maxsize=_RENDERED_KEPT)
def render_inline(text: str) -> str:
    """Like :func:`render` for one line (an option): no surrounding paragraph."""
    return _clean(_md.renderInline(text or ""))


# --- texts from question files ------------------------------------------------------------------

_TAG_OR_TEXT = re.compile(r"""(<(?:[^>"']|"[^"]*"|'[^']*')*>)""")
_ENTITY_OR_CHAR = re.compile(r"&#?\w+;|.", re.DOTALL)
_INLINE_SPECIAL = set("\\`*_[]~")
_ASCII_PUNCTUATION = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_PLAIN_SPECIAL = set("\\`*_[]~<>&|")
_LINE_START_SPECIAL = set("#+-=>")
_ORDERED_MARK = re.compile(r"\d{1,9}[.)]")
_BLANK_RUN = re.compile(r"_{2,}")
_EMPHASIS = re.compile(r"<(?:em|strong|hr)\b")
_SPACES = re.compile(r" {2,}")
_BLANK_LINE = re.compile(r"\n([ \t]*)(?=\n)")
_MAYBE_MARKDOWN = re.compile(r"[\\`*_\[\]~#+\-=>|<&!\n]|^\d")


def from_plain(text: str, *, blanks: bool = False) -> str:
    """The Markdown source that shows plain ``text`` exactly as written.

    Markdown and HTML punctuation is backslash-escaped (``\\* \\_ \\< \\& \\\\`` …; ``# + - = >``
    and ``1.`` only at a line start, where they would begin a block), every line break becomes a
    hard break (a backslash at the line's end, so an empty line stays an empty line), and leading
    or repeated spaces become ``&nbsp;`` as Moodle shows them. With ``blanks`` (a stem) a run of
    two or more underscores stays as written, since it is a fill-in-the-blank mark — unless the
    runs would read as emphasis, when they are escaped too.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    escaped = "\\\n".join(_plain_line(line, blanks) for line in lines)
    if blanks and _BLANK_RUN.search(escaped) and _EMPHASIS.search(_md.render(escaped)):
        escaped = "\\\n".join(_plain_line(line, False) for line in lines)
    return escaped


def _plain_line(line: str, blanks: bool) -> str:
    body = line.lstrip(" \t")
    indent = len(line[: len(line) - len(body)].expandtabs(4))
    kept = {m.start() + i for m in _BLANK_RUN.finditer(body) for i in range(len(m[0]))}
    out = []
    for i, char in enumerate(body):
        special = char in _PLAIN_SPECIAL and not (blanks and i in kept)
        block = i == 0 and char in _LINE_START_SPECIAL
        out.append("\\" + char if special or block else char)
    escaped = "".join(out)
    mark = _ORDERED_MARK.match(escaped)
    if mark:
        escaped = escaped[: mark.end() - 1] + "\\" + escaped[mark.end() - 1 :]
    escaped = _SPACES.sub(lambda m: "&nbsp;" * (len(m[0]) - 1) + " ", escaped)
    return "&nbsp;" * indent + escaped


_PLAIN_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~\n])|&nbsp;")


def to_plain(source: str) -> str | None:
    """The plain text :func:`from_plain` turns into ``source``, or None when there is none."""
    text = _PLAIN_ESCAPE.sub(lambda m: " " if m[0] == "&nbsp;" else m[1], source)
    if from_plain(text) == source or from_plain(text, blanks=True) == source:
        return text
    return None


def from_html(html: str, *, inline: bool = False) -> str:
    """The Markdown source that shows ``html`` as Moodle shows HTML: sanitized, and otherwise as is.

    The HTML is cleaned with the allow-list above, then kept as it is when Markdown renders it
    unchanged; otherwise Markdown punctuation in its text is backslash-escaped (a run of two or
    more underscores, a fill-in-the-blank mark, stays as written); and when that renders
    differently too, the whole is wrapped in ``<div>…</div>`` (an HTML block, passed through
    untouched; the ``div`` itself is dropped by the sanitizer) with blank lines written as
    ``&#10;``. Line breaks are HTML's: white space, except in ``<pre>``. ``inline`` is for texts
    shown with :func:`render_inline` (options), where only escaping can help.
    """
    cleaned = _clean(html).strip()
    if not _MAYBE_MARKDOWN.search(cleaned):
        return cleaned  # shown the same as Markdown and as HTML
    if inline:
        expected = " ".join(_clean(cleaned).split())
        for special in (set(), _INLINE_SPECIAL, _ASCII_PUNCTUATION - {"&", "<", ">"}):
            candidate = _escape_text(cleaned, special, line_starts=False)
            if " ".join(_clean(_md.renderInline(candidate)).split()) == expected:
                break
        return candidate
    expected_texts = {_clean(cleaned + "\n").strip(), _clean(f"<p>{cleaned}</p>\n").strip()}
    if not _BLANK_LINE.search(cleaned):
        for special in (set(), _INLINE_SPECIAL - {"_"}):
            candidate = _escape_text(cleaned, special, line_starts=bool(special))
            if _clean(_md.render(candidate)).strip() in expected_texts:
                return candidate
    return "<div>" + _BLANK_LINE.sub(r"&#10;\1", cleaned) + "</div>"


def from_moodle_auto(text: str, *, inline: bool = False) -> str:
    """The Markdown source for Moodle's auto-format: HTML whose line breaks are kept.

    As Moodle's ``text_to_html``: white space between two tags is removed, a line break next to a
    tag becomes a space, every other line break a ``<br>``; then as :func:`from_html`.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r">\s+<", "><", text)
    text = re.sub(r"\n<", " <", text)
    text = re.sub(r">\n", "> ", text)
    return from_html(text.replace("\n", "<br>\n"), inline=inline)


def _escape_text(html: str, special: set[str], *, line_starts: bool) -> str:
    """``html`` with the ``special`` characters of its text (not its tags) backslash-escaped."""
    if not special:
        return html
    out = []
    at_line_start = True
    for piece in _TAG_OR_TEXT.split(html):
        if piece.startswith("<") and piece.endswith(">") and len(piece) > 1:
            out.append(piece)
            at_line_start = False
            continue
        for unit in _ENTITY_OR_CHAR.findall(piece):
            block = line_starts and at_line_start and unit in _LINE_START_SPECIAL
            at_line_start = unit == "\n"
            out.append("\\" + unit if unit in special or block else unit)
    return "".join(out)
