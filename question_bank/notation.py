"""The answer notation of the Chinese template (DESIGN.md §6), shared by forms and spreadsheets.

single ``A``; multiple ``ABD``; true/false ``对``/``错`` (also 正确/错误, √/×, T/F); fill-in-the-blank:
blanks separated by ``;``, accepted alternatives within a blank by ``|``
(``72小时|七十二小时;公安机关``); ordering ``CABD``. Full-width letters and separators are accepted.
"""

from __future__ import annotations

import re
import unicodedata

from question_bank.domain import N_, OPTION_LETTERS, Answer, Problem, QuestionData, QuestionType

TRUE_WORDS = {"对", "正确", "√", "✓", "T", "TRUE", "是", "Y"}
FALSE_WORDS = {"错", "错误", "×", "✗", "X", "F", "FALSE", "否", "N"}


def _letters(text: str) -> str:
    normalized = unicodedata.normalize("NFKC", text).upper()
    return re.sub(r"[\s,，、;；/]", "", normalized)


def parse_answer(
    kind: QuestionType, text: str, option_count: int
) -> tuple[Answer | None, Problem | None]:
    """The answer written in the template notation, or a problem (line 0) saying what is wrong."""
    text = (text or "").strip()
    if not text:
        return None, Problem(0, N_("The answer is empty."))
    if kind is QuestionType.TRUE_FALSE:
        word = unicodedata.normalize("NFKC", text).strip().upper()
        if word in TRUE_WORDS:
            return True, None
        if word in FALSE_WORDS:
            return False, None
        return None, Problem(
            0, N_("A true/false answer is 对 or 错 (not %(value)s)."), {"value": text}
        )
    if kind is QuestionType.FILL_BLANK:
        normalized = text.replace("；", ";").replace("｜", "|")
        blanks = tuple(
            tuple(alt.strip() for alt in blank.split("|") if alt.strip())
            for blank in normalized.split(";")
        )
        blanks = tuple(b for b in blanks if b)
        if not blanks:
            return None, Problem(0, N_("The answer is empty."))
        return blanks, None
    letters = _letters(text)
    valid = OPTION_LETTERS[:option_count]
    if not letters or any(ch not in valid for ch in letters):
        return None, Problem(
            0,
            N_("The answer %(value)s names options that do not exist (%(valid)s)."),
            {"value": text, "valid": valid or "-"},
        )
    indexes = tuple(valid.index(ch) for ch in letters)
    if kind is QuestionType.SINGLE:
        if len(indexes) != 1:
            return None, Problem(0, N_("A single-choice answer is one letter."))
        return indexes[0], None
    if len(set(indexes)) != len(indexes):
        return None, Problem(0, N_("The answer %(value)s names an option twice."), {"value": text})
    if kind is QuestionType.MULTIPLE:
        return tuple(sorted(indexes)), None
    return indexes, None  # ordering


def format_answer(question: QuestionData) -> str:
    """The answer of ``question`` in the template notation."""
    answer = question.answer
    if question.type is QuestionType.TRUE_FALSE:
        return "对" if answer else "错"
    if question.type is QuestionType.FILL_BLANK:
        return ";".join("|".join(blank) for blank in answer)  # type: ignore[union-attr]
    if isinstance(answer, int):
        return OPTION_LETTERS[answer]
    return "".join(OPTION_LETTERS[i] for i in answer)  # type: ignore[union-attr]
