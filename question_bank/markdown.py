"""Markdown for question stems, options and explanations, rendered to sanitized HTML.

markdown-it-py renders CommonMark (with tables and strikethrough); raw HTML in the source is
passed through the renderer and then cleaned by nh3 (Ammonia) with an allow-list, so ``<script>``,
event-handler attributes such as ``onerror=`` and ``javascript:`` URLs never survive.
"""

from __future__ import annotations

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
# stems and options: a started paper's 30 stems and ~100 options took ~13% of a start's CPU.
_RENDERED_KEPT = 8192


@lru_cache(maxsize=_RENDERED_KEPT)
def render(text: str) -> str:
    """Markdown → HTML that is safe to put into a page."""
    return _clean(_md.render(text or ""))


@lru_cache(maxsize=_RENDERED_KEPT)
def render_inline(text: str) -> str:
    """Like :func:`render` for one line (an option): no surrounding paragraph."""
    return _clean(_md.renderInline(text or ""))
