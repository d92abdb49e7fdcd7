"""When a law is amended: which article of the new version a citation moves to, how its text
changed, and the article numbers a question's text names. Pure: no Flask, no database.

**Matching.** The article a citation of the old version moves to is, in the new version:

1. an article whose text is *identical* under :func:`~question_bank.laws.quote_key` (same text,
   whatever its number; where several are, the one whose number is nearest the old number);
2. else the *most similar* article: the highest :func:`similarity`, ties going to the number
   nearest the old number (amendments insert and merge articles, so an article moves by a few
   places at most).

**Similarity** is :class:`difflib.SequenceMatcher`'s ratio (2·matches / total length, 0…1) on the
two texts under ``quote_key``, compared character by character with ``autojunk`` off: Chinese
text repeats a few characters (的, 和, 网络) so often that the automatic junk heuristic would
ignore them and misjudge long articles.

**Diff.** Chinese has no spaces between words, so the diff is made on tokens: each CJK character
and each punctuation mark is a token of its own, a run of Latin letters or digits (``IP``,
``2017``) is one token, and so is a run of whitespace. Consecutive tokens with the same fate are
then joined into runs, and an unchanged run of a single character between two changes is folded
into them, so that a rewritten phrase reads as one deletion and one insertion rather than as
alternating fragments.

**Article numbers in a question's text** are rewritten only where the text names the law's
article explicitly: the law's name (``网络安全法``, ``《中华人民共和国网络安全法》`` …) directly
followed by ``第二十一条`` (or ``第21条``). A bare ``第二十一条`` may name another law's article, or
the article as it was when the question was written, and is left alone.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from question_bank.laws import PRC_PREFIX, Article, quote_key
from question_bank.numerals import int_to_chinese

_TOKEN = re.compile(r"[A-Za-z0-9]+|\s+|.", re.DOTALL)


@dataclass(frozen=True)
class Proposal:
    """The article of the new version a citation of ``old`` moves to."""

    old: Article
    new: Article
    similarity: float  # 0…1, see the module docstring
    identical: bool  # same text under quote_key
    quote_found: bool | None  # the citation's quote is in the new text; None without a quote

    @property
    def one_click(self) -> bool:
        """Whether the citation may move without an author reading the new text: the wording is
        unchanged, or the quoted words are found verbatim in the new article (and a quote, if
        any, is always found)."""
        if self.quote_found is False:
            return False
        return self.identical or bool(self.quote_found)


def similarity(a: str, b: str) -> float:
    """How alike two article texts are, 0…1 (see the module docstring)."""
    return difflib.SequenceMatcher(None, quote_key(a), quote_key(b), autojunk=False).ratio()


def propose(old: Article, articles: Mapping[int, Article], quote: str | None) -> Proposal | None:
    """The article of ``articles`` (the new version) that ``old`` moved to; None when the new
    version has no article at all."""
    if not articles:
        return None
    key = quote_key(old.text)
    same = [a for a in articles.values() if quote_key(a.text) == key]
    if same:
        new = min(same, key=lambda a: abs(a.number - old.number))
        return _proposal(old, new, 1.0, quote)
    best: tuple[float, int] | None = None  # (ratio, -distance)
    chosen: Article | None = None
    # quick_ratio bounds ratio from above: articles that cannot beat the best are skipped.
    bounded = []
    for article in articles.values():
        matcher = difflib.SequenceMatcher(None, key, quote_key(article.text), autojunk=False)
        bounded.append((matcher.quick_ratio(), article, matcher))
    bounded.sort(key=lambda item: (-item[0], abs(item[1].number - old.number)))
    for bound, article, matcher in bounded:
        if best is not None and bound < best[0]:
            break
        score = (matcher.ratio(), -abs(article.number - old.number))
        if best is None or score > best:
            best, chosen = score, article
    assert chosen is not None and best is not None
    return _proposal(old, chosen, best[0], quote)


def _proposal(old: Article, new: Article, ratio: float, quote: str | None) -> Proposal:
    found = None if not quote else quote_key(quote) in quote_key(new.text)
    identical = quote_key(old.text) == quote_key(new.text)
    return Proposal(old, new, 1.0 if identical else ratio, identical, found)


def tokens(text: str) -> list[str]:
    """``text`` as diff tokens: CJK characters and punctuation one by one, Latin words and
    numbers and whitespace as runs."""
    return _TOKEN.findall(text)


def diff(old: str, new: str) -> list[tuple[str, str]]:
    """The changes from ``old`` to ``new`` as runs ``(op, text)``, op one of ``"equal"``,
    ``"delete"``, ``"insert"``; the deleted run of a change comes before the inserted one."""
    a, b = tokens(old), tokens(new)
    runs: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            runs.append(("equal", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            runs.append(("delete", "".join(a[i1:i2])))
        if j2 > j1:
            runs.append(("insert", "".join(b[j1:j2])))
    return _merge(_fold(runs))


def _fold(runs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Fold an unchanged single character between two changes into both of them."""
    folded: list[tuple[str, str]] = []
    for index, (op, text) in enumerate(runs):
        between = 0 < index < len(runs) - 1 and runs[index - 1][0] != "equal"
        if op == "equal" and len(text) == 1 and between and runs[index + 1][0] != "equal":
            folded += [("delete", text), ("insert", text)]
        else:
            folded.append((op, text))
    return folded


def _merge(runs: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Join neighbouring runs of one op; within a change, every deletion before the insertions."""
    merged: list[tuple[str, str]] = []
    change: dict[str, str] = {"delete": "", "insert": ""}

    def close() -> None:
        merged.extend((op, change[op]) for op in ("delete", "insert") if change[op])
        change["delete"] = change["insert"] = ""

    for op, text in runs:
        if op == "equal":
            close()
            if merged and merged[-1][0] == "equal":
                merged[-1] = ("equal", merged[-1][1] + text)
            else:
                merged.append((op, text))
        else:
            change[op] += text
    close()
    return merged


def rewrite_article_numbers(
    text: str, law_names: Sequence[str], old: int, new: int
) -> tuple[str, int]:
    """``text`` with every ``<law name>第<old>条`` made ``<law name>第<new>条`` (the numeral
    style kept: Chinese or Arabic), and how many were rewritten. ``law_names`` are the law's
    titles (with or without 中华人民共和国, which is optional in the text as are 《》)."""
    if old == new:
        return text, 0
    bare = {name.removeprefix(PRC_PREFIX).strip("《》") for name in law_names if name.strip()}
    if not bare:
        return text, 0
    names = "|".join(re.escape(n) for n in sorted(bare, key=len, reverse=True))
    pattern = re.compile(
        rf"(《?(?:{re.escape(PRC_PREFIX)})?(?:{names})》?\s*第)"
        rf"({re.escape(int_to_chinese(old))}|{old})(条)"
    )

    def number(match: re.Match[str]) -> str:
        value = str(new) if match.group(2).isdigit() else int_to_chinese(new)
        return match.group(1) + value + match.group(3)

    return pattern.subn(number, text)
