"""The law library: law texts parsed from Markdown, and the check of a question's citation.

Pure: no Flask, no database. A law file has the format of ``shared/laws/README.md``:

- the file name carries the version, the adoption date in parentheses:
  ``网络安全法(2016-11-07).md`` (full-width parentheses are accepted too);
- a ``# title`` line, then the adoption line(s), then a ``<!-- INFO END -->`` marker (everything
  before the marker except the title is ignored; the marker is optional);
- ``## 第X章 …`` chapter headings (any heading level; other headings such as ``### 第一节`` are
  ignored);
- one paragraph (line) per article beginning ``第N条`` with Chinese numerals, then whitespace (an
  ASCII space in the files we know; a full-width space works too) and the text. A paragraph that
  does not begin with ``第N条`` belongs to the article above it, so multi-paragraph articles are
  kept whole, their paragraphs joined with ``"\\n"``. ``第N条`` directly followed by text (no
  space) starts an article only when N is the next number, so that a continuation paragraph such
  as "第二十三条规定的……" is not mistaken for an article.

One irregularity is tolerated: a file may mark a chapter by a bare title paragraph (no ``##``, no
``第X章``, e.g. "网络素养促进" in 未成年人网络保护条例), often after a line holding only a
zero-width space. A short paragraph without punctuation that is immediately followed by an
article is therefore read as the next chapter, named ``第X章 title``.

When a version takes effect (its in-force date, ISO like the version) is read from the file where
it says so: a header line before the marker (the template's ``2021年11月1日 施行``, or
``自2026年1月1日起施行``), else the last article's ``本法自2017年6月1日起施行`` when that date is
not before the version's adoption (an amended text keeps the original commencement article, which
then says nothing about the amendment). An amending decision (``关于修改《…》的决定``, its own
file, :func:`parse_amending_decision`) gives the in-force date of the version it made. Where
nothing says, :attr:`LawText.in_force` is None and the version counts from its adoption date.

Parsing never raises: a file without articles (the format template, a README), without a title
or without a version date gives a :class:`~question_bank.domain.Problem` instead of a law.

Quotes are compared by :func:`quote_key`: NFKC (so full-width and half-width forms of letters,
digits and punctuation such as ``，``/``,`` or ``（一）``/``(一)`` are equal), with every
whitespace character and zero-width character removed (Chinese text has no meaningful spaces,
and a quote may run across the paragraphs of an article). Nothing else is normalised: the quote
must otherwise be verbatim.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path, PurePath

from question_bank.domain import N_, Citation, Problem
from question_bank.numerals import chinese_to_int, int_to_chinese

PRC_PREFIX = "中华人民共和国"
INFO_END = "<!-- INFO END -->"

_NUMERAL = "〇零一二三四五六七八九十百千两"
_ARTICLE = re.compile(rf"第([{_NUMERAL}]+)条(\s*)")
_CHAPTER = re.compile(rf"第[{_NUMERAL}]+章")
_HEADING = re.compile(r"(#+)\s+(.*)")
_VERSION = re.compile(r"[(（]\s*(\d{4}-\d{2}-\d{2})\s*[)）]")
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)  # an unclosed one runs to the end
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_PUNCTUATION = re.compile(r"[。，、；：！？,.;:!?（）()《》“”\"]")
_DATE = r"(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日"
_IN_FORCE = re.compile(rf"{_DATE}\s*起?\s*施行")
_DECISION_IN_FORCE = re.compile(rf"本决定自\s*{_DATE}\s*起施行")
_AMENDS = re.compile(r"关于修改[《〈](.+?)[》〉]的决定")
_BARE_CHAPTER_MAX = 20  # a bare chapter title is short ("网络信息内容规范")


@dataclass(frozen=True)
class Article:
    number: int
    chapter: str  # "第一章 总则"; "" before the first chapter heading
    text: str  # without the "第N条" label; paragraphs joined with "\n"


@dataclass(frozen=True)
class LawText:
    title: str  # "中华人民共和国网络安全法"
    short_title: str  # "网络安全法"
    version: str  # adoption date from the file name, ISO: "2016-11-07"
    chapters: list[str]
    articles: dict[int, Article]
    in_force: str | None = None  # ISO date the version takes effect, where the file says

    @property
    def effective_from(self) -> str:
        """The in-force date, or the adoption date where the file gives none."""
        return self.in_force or self.version


@dataclass(frozen=True)
class AmendingDecision:
    """A decision amending a law: ``关于修改《中华人民共和国网络安全法》的决定``."""

    law: str  # the amended law's title as the decision names it
    version: str  # adoption date of the decision (and of the version it makes), ISO
    in_force: str | None  # 本决定自……起施行


def parse_law(filename: str, text: str) -> LawText | Problem:
    """The law in ``text`` (the contents of the file ``filename``), or why it is not a law."""
    name = PurePath(filename).name
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    title = _title(lines)
    marker = next((i for i, line in enumerate(lines) if line.strip() == INFO_END), None)
    body = lines if marker is None else lines[marker + 1 :]
    chapters, articles, duplicate = _articles(_paragraphs(body))
    if duplicate is not None:
        return Problem(
            0,
            N_("%(file)s: article %(article)d appears twice; skipped."),
            {"file": name, "article": duplicate},
        )
    if not articles:
        return Problem(0, N_("%(file)s has no articles; skipped."), {"file": name})
    if not title:
        return Problem(0, N_("%(file)s has no '# title' line; skipped."), {"file": name})
    version = _version(name)
    if version is None:
        return Problem(
            0,
            N_(
                "%(file)s: the file name has no version date in parentheses, "
                "e.g. 网络安全法(2016-11-07).md; skipped."
            ),
            {"file": name},
        )
    header = lines[1:marker] if marker is not None else []
    return LawText(
        title=title,
        short_title=_short(title),
        version=version,
        chapters=chapters,
        articles=articles,
        in_force=_in_force(header, articles, version),
    )


def parse_amending_decision(filename: str, text: str) -> AmendingDecision | None:
    """The amending decision in ``text`` (file ``filename``), or None when it is not one."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n")
    match = _AMENDS.search(_title(text.split("\n")))
    version = _version(PurePath(filename).name)
    if match is None or version is None:
        return None
    law = match.group(1).replace("〈", "").replace("〉", "").strip()
    found = _DECISION_IN_FORCE.search(_COMMENT.sub("", text))
    return AmendingDecision(law=law, version=version, in_force=_iso(found) if found else None)


def in_force_on(versions: Sequence[LawText], on: date) -> LawText | None:
    """The version of one law (``versions``) in force on ``on``: the latest to take effect by
    then; None when none had taken effect."""
    day = on.isoformat()
    started = [law for law in versions if law.effective_from <= day]
    return max(started, key=lambda law: (law.effective_from, law.version), default=None)


def _in_force(header: list[str], articles: dict[int, Article], version: str) -> str | None:
    for line in header:
        if found := _IN_FORCE.search(_COMMENT.sub("", line)):
            return _iso(found)
    if articles:
        last = articles[max(articles)].text
        found = _IN_FORCE.search(last)
        if found and (day := _iso(found)) is not None and day >= version:
            return day
    return None


def _iso(match: re.Match[str]) -> str | None:
    try:
        return date(int(match["y"]), int(match["m"]), int(match["d"])).isoformat()
    except ValueError:
        return None


def read_law_directory(directory: Path) -> tuple[list[LawText], list[Problem]]:
    """Every ``*.md`` law of ``directory`` (sorted by name), with the in-force dates its amending
    decisions give, and the problems of the other files (a decision is not a problem)."""
    laws: list[LawText] = []
    problems: list[Problem] = []
    decisions: list[AmendingDecision] = []
    for path in sorted(directory.glob("*.md")):
        try:
            content = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(
                Problem(
                    0,
                    N_("%(file)s cannot be read: %(error)s"),
                    {"file": path.name, "error": str(exc)},
                )
            )
            continue
        if (decision := parse_amending_decision(path.name, content)) is not None:
            decisions.append(decision)
            continue
        result = parse_law(path.name, content)
        if isinstance(result, Problem):
            problems.append(result)
        else:
            laws.append(result)
    return apply_decisions(laws, decisions), problems


def apply_decisions(laws: list[LawText], decisions: Sequence[AmendingDecision]) -> list[LawText]:
    """``laws`` with the in-force date of each version an amending decision made (same law, same
    date) where the law's own file gives none."""
    dated = {(law_key(d.law), d.version): d.in_force for d in decisions if d.in_force}
    return [
        replace(law, in_force=dated.get((law_key(law.title), law.version)))
        if law.in_force is None and (law_key(law.title), law.version) in dated
        else law
        for law in laws
    ]


def _title(lines: Iterable[str]) -> str:
    for line in lines:
        if line.startswith("# "):
            return _clean(_COMMENT.sub("", line[2:]))
    return ""


def _clean(line: str) -> str:
    """The line without zero-width characters, surrounding and repeated whitespace."""
    return re.sub(r"\s+", " ", line.translate(_INVISIBLE)).strip()


def _short(title: str) -> str:
    return title.removeprefix(PRC_PREFIX).strip() or title


def _version(name: str) -> str | None:
    match = _VERSION.search(name)
    if match is None:
        return None
    try:
        date.fromisoformat(match.group(1))
    except ValueError:
        return None
    return match.group(1)


def _paragraphs(lines: Iterable[str]) -> list[str]:
    """Non-empty lines without HTML comments and zero-width characters, stripped."""
    text = _COMMENT.sub("", "\n".join(lines))
    return [p for p in (line.translate(_INVISIBLE).strip() for line in text.split("\n")) if p]


def _article_start(paragraph: str, expected: int) -> tuple[int, str] | None:
    """``(N, text)`` when ``paragraph`` begins article N, else None (see the module docstring)."""
    match = _ARTICLE.match(paragraph)
    if match is None:
        return None
    try:
        number = chinese_to_int(match.group(1))
    except ValueError:
        return None
    if not match.group(2) and number != expected:
        return None
    return number, paragraph[match.end() :].strip()


def _articles(paragraphs: list[str]) -> tuple[list[str], dict[int, Article], int | None]:
    """Chapters, articles by number, and the first article number that appears twice."""
    chapters: list[str] = []
    articles: dict[int, Article] = {}
    current: tuple[int, str, list[str]] | None = None  # number, chapter, paragraphs

    def close() -> int | None:
        if current is None:
            return None
        number, chapter, texts = current
        if number in articles:
            return number
        articles[number] = Article(number=number, chapter=chapter, text="\n".join(texts))
        return None

    chapter = ""
    last = 0
    for index, paragraph in enumerate(paragraphs):
        heading = _HEADING.fullmatch(paragraph)
        if heading:
            title = _clean(heading.group(2))
            label = _CHAPTER.match(title)
            if len(heading.group(1)) > 1 and label:
                chapter = _chapter_name(label.group(), title[label.end() :])
                chapters.append(chapter)
            continue
        start = _article_start(paragraph, last + 1)
        if start is not None:
            if (duplicate := close()) is not None:
                return chapters, articles, duplicate
            last = start[0]
            current = (start[0], chapter, [start[1]] if start[1] else [])
        elif current is not None and _is_bare_chapter(paragraphs, index, last + 1):
            chapter = _chapter_name(f"第{int_to_chinese(len(chapters) + 1)}章", paragraph)
            chapters.append(chapter)
        elif current is not None:
            current[2].append(paragraph)
        # paragraphs before the first article (a preamble) belong to no article
    return chapters, articles, close()


def _chapter_name(label: str, title: str) -> str:
    """``第一章 总则``: the label, a space, the title without its typographic spaces ("总 则")."""
    title = re.sub(r"\s+", "", title.translate(_INVISIBLE))
    return f"{label} {title}" if title else label


def _is_bare_chapter(paragraphs: list[str], index: int, expected: int) -> bool:
    """A short paragraph without punctuation immediately followed by the next article."""
    paragraph = paragraphs[index]
    return (
        len(paragraph) <= _BARE_CHAPTER_MAX
        and not _PUNCTUATION.search(paragraph)
        and index + 1 < len(paragraphs)
        and _article_start(paragraphs[index + 1], expected) is not None
    )


def law_key(name: str) -> str:
    """A law name as it is compared: NFKC, no whitespace or 《》, no 中华人民共和国 prefix."""
    bare = re.sub(r"\s+", "", unicodedata.normalize("NFKC", name).translate(_INVISIBLE))
    return bare.strip("《》").removeprefix(PRC_PREFIX)


def matches_law(law: LawText, name: str) -> bool:
    """Whether a citation's law ``name`` names ``law`` (with or without 中华人民共和国)."""
    key = law_key(name)
    return bool(key) and key in (law_key(law.title), law_key(law.short_title))


def quote_key(text: str) -> str:
    """Text as quotes are compared: NFKC, without any whitespace or zero-width characters."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text).translate(_INVISIBLE))


def find_law(name: str, version: str | None, laws: Sequence[LawText]) -> LawText | None:
    """The law named ``name`` in ``version``, or its newest version when ``version`` is None."""
    candidates = [law for law in laws if matches_law(law, name)]
    if version is not None:
        candidates = [law for law in candidates if law.version == version.strip()]
    return max(candidates, key=lambda law: law.version, default=None)


def check_citation(citation: Citation, laws: Sequence[LawText]) -> list[Problem]:
    """What is wrong with ``citation`` against the known ``laws`` (empty when it holds)."""
    candidates = [law for law in laws if matches_law(law, citation.law)]
    if not candidates:
        return [Problem(0, N_("Unknown law %(law)s."), {"law": citation.law})]
    law = find_law(citation.law, citation.version, candidates)
    if law is None:
        known = ", ".join(sorted(law.version for law in candidates))
        return [
            Problem(
                0,
                N_("%(law)s has no version %(version)s (known versions: %(known)s)."),
                {"law": citation.law, "version": citation.version, "known": known},
            )
        ]
    article = law.articles.get(citation.article)
    if article is None:
        return [
            Problem(
                0,
                N_("%(law)s (%(version)s) has no article %(article)d; it has %(count)d articles."),
                {
                    "law": law.short_title,
                    "version": law.version,
                    "article": citation.article,
                    "count": len(law.articles),
                },
            )
        ]
    if citation.quote is not None and quote_key(citation.quote) not in quote_key(article.text):
        return [
            Problem(
                0,
                N_("The quote is not in article %(article)d of %(law)s (%(version)s): %(quote)s"),
                {
                    "law": law.short_title,
                    "version": law.version,
                    "article": citation.article,
                    "quote": citation.quote,
                },
            )
        ]
    return []
