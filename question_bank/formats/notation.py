"""How the spreadsheet template writes an answer key (答案) and a law citation (法条).

Answers: single ``A``; multiple ``ABD`` (also ``A,B,D``, ``A、B、D``, lower-case, full-width);
true/false 对/错, 正确/错误, √/×, T/F, TRUE/FALSE; fill-in-the-blank: blanks separated by ``;``,
accepted alternatives within a blank by ``|`` (full-width ``；``/``｜`` too); ordering ``CABD``.
Citations: ``网络安全法(2016-11-07) 第二十一条：quoted text``, the version (a date) and the quote
optional, the article in Chinese or Arabic numerals.

The spreadsheet parser and export (:mod:`question_bank.formats.spreadsheet`) and the authoring
form both read and write this notation.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Callable
from typing import Any

from question_bank.domain import N_, OPTION_LETTERS, Citation, Problem, QuestionData, QuestionType
from question_bank.numerals import chinese_to_int, int_to_chinese

TRUE_WORDS = frozenset({"对", "正确", "√", "T", "TRUE"})
FALSE_WORDS = frozenset({"错", "错误", "×", "F", "FALSE"})


_LETTER_SEPARATORS = re.compile(r"[\s,、;]+")
_BLANK_SEPARATOR = re.compile(r"[;；]")
_ALTERNATIVE_SEPARATOR = re.compile(r"[|｜]")


_CITATION = re.compile(
    r"(?P<law>[^\s(（].*?)\s*"
    r"(?P<paren>[(（]\s*(?P<version>[^()（）]*?)\s*[)）])?\s*"
    r"第\s*(?P<article>[0-9０-９]+|[零〇一二两三四五六七八九十百千万]+)\s*条"
    r"(?:(?:\s*[:：]|\s)\s*(?P<quote>.*))?",
    re.DOTALL,
)
_DATE = re.compile(r"(\d{4})\s*[-./年]\s*(\d{1,2})\s*[-./月]\s*(\d{1,2})\s*日?")


Add = Callable[..., None]  # reports a problem: add(message, **params)


def _answer(kind: QuestionType, text: str, options: tuple[str, ...], add: Add) -> Any:
    """The answer key in the domain's form, or None after reporting why it cannot be read."""
    if not text:
        add(N_("The answer (答案) is empty."))
        return None
    if kind is QuestionType.TRUE_FALSE:
        word = unicodedata.normalize("NFKC", text).upper()
        if word in TRUE_WORDS or word in FALSE_WORDS:
            return word in TRUE_WORDS
        add(N_('The answer "%(value)s" must be 对 or 错 (also 正确/错误, √/×, T/F).'), value=text)
        return None
    if kind is QuestionType.FILL_BLANK:
        return tuple(
            tuple(alt for alt in (a.strip() for a in _ALTERNATIVE_SEPARATOR.split(blank)) if alt)
            for blank in _BLANK_SEPARATOR.split(text)
        )
    letters = _LETTER_SEPARATORS.sub("", unicodedata.normalize("NFKC", text)).upper()
    if not letters or any(letter not in OPTION_LETTERS for letter in letters):
        if kind is QuestionType.SINGLE:
            add(N_('The answer "%(value)s" must be one option letter, A to H.'), value=text)
        else:
            add(N_('The answer "%(value)s" must be option letters such as ABD.'), value=text)
        return None
    if kind is QuestionType.SINGLE and len(letters) != 1:
        add(N_('The answer "%(value)s" must be one option letter, A to H.'), value=text)
        return None
    missing = sorted({letter for letter in letters if OPTION_LETTERS.index(letter) >= len(options)})
    for letter in missing:
        add(N_("The answer names option %(letter)s, but 选项%(letter)s is empty."), letter=letter)
    if missing:
        return None
    indexes = tuple(OPTION_LETTERS.index(letter) for letter in letters)
    if kind is QuestionType.SINGLE:
        return indexes[0]
    return tuple(sorted(indexes)) if kind is QuestionType.MULTIPLE else indexes


def parse_answer(
    kind: QuestionType, text: str, options: tuple[str, ...]
) -> tuple[Any, list[Problem]]:
    """An answer written in the template's notation (the authoring form uses it too)."""
    problems: list[Problem] = []
    answer = _answer(
        kind,
        text.strip(),
        options,
        lambda message, **params: problems.append(Problem(0, message, params)),
    )
    return answer, problems


def parse_citation(text: str) -> Citation | Problem:
    """A 法条 cell such as ``网络安全法(2016-11-07) 第二十一条：网络运营者应当…``.

    The version in parentheses (a date, written 2016-11-07, 2016.11.7 or 2016年11月7日) and the
    quote after ``:``/``：`` are optional; a parenthesis without digits belongs to the law's name
    (``刑法(修正案九)``). Returns the problem (at line 0) when ``text`` is malformed.
    """
    text = text.strip()
    match = _CITATION.fullmatch(text)
    if match is None:
        return Problem(
            0,
            N_(
                'The citation "%(value)s" must look like 网络安全法(2016-11-07) '
                "第二十一条：quoted text (the version and the quote are optional)."
            ),
            {"value": text},
        )
    law, version = match["law"], match["version"]
    if match["paren"] and not re.search(r"[0-9０-９]", version):
        law, version = text[: match.end("paren")], None
    elif version is not None:
        date = _date(version)
        if date is None:
            return Problem(
                0,
                N_('The law version "%(value)s" must be a date such as 2016-11-07.'),
                {"value": version},
            )
        version = date
    digits = unicodedata.normalize("NFKC", match["article"])
    if digits.isdigit():
        article = int(digits)
    else:
        try:
            article = chinese_to_int(digits)
        except ValueError:
            return Problem(
                0,
                N_(
                    'The article number "%(value)s" is not a Chinese numeral such as '
                    "二十一 or 一百零二."
                ),
                {"value": match["article"]},
            )
    quote = (match["quote"] or "").strip() or None
    return Citation(law=law.strip(), article=article, version=version, quote=quote)


def _date(text: str) -> str | None:
    match = _DATE.fullmatch(unicodedata.normalize("NFKC", text).strip())
    if match is None:
        return None
    try:
        return datetime.date(*(int(part) for part in match.groups())).isoformat()
    except ValueError:
        return None


def format_citation(citation: Citation) -> str:
    """``law(version) 第<Chinese numeral>条：quote``; without a version ``law第…条``."""
    text = citation.law
    if citation.version:
        text += f"({citation.version}) "
    text += f"第{_article_text(citation.article)}条"
    if citation.quote:
        text += f"：{citation.quote}"
    return text


def _article_text(article: int) -> str:
    try:
        return int_to_chinese(article)
    except ValueError:  # beyond the numerals (or not positive): digits still read back
        return str(article)


def answer_text(question: QuestionData) -> str:
    """The answer key in the template's notation."""
    answer: Any = question.answer  # its shape follows the type (see domain.Answer)
    if question.type is QuestionType.TRUE_FALSE:
        return "对" if answer else "错"
    if question.type is QuestionType.FILL_BLANK:
        return ";".join("|".join(blank) for blank in answer)
    if question.type is QuestionType.SINGLE:
        return OPTION_LETTERS[answer]
    return "".join(OPTION_LETTERS[i] for i in answer)
