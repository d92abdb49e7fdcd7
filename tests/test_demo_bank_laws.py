"""The demo bank of law questions: it parses, and every citation holds against ../shared/laws."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from question_bank.domain import Difficulty, QuestionData, QuestionType, count_blanks
from question_bank.formats import json_format
from question_bank.laws import LawText, check_citation, find_law, quote_key, read_law_directory
from tests.conftest import SHARED, needs_shared

pytestmark = needs_shared

ROOT = Path(__file__).resolve().parents[1]
BANK = ROOT / "question_bank" / "demo_bank" / "laws.json"
LAWS_DIR = SHARED / "laws"

# The 2025-10-28 amendment of 网络安全法 (in force since 2026-01-01): the articles it added or
# rewrote that the bank asks about (党的领导, 人工智能, the penalties, the merged article 71 …).
AMENDMENT_TAG = "2025修正"
AMENDMENT_ARTICLES = {3, 20, 61, 62, 63, 64, 69, 71, 73, 77}

MINIMUM = {
    QuestionType.SINGLE: 20,
    QuestionType.MULTIPLE: 10,
    QuestionType.TRUE_FALSE: 10,
    QuestionType.FILL_BLANK: 8,
    QuestionType.ORDERING: 3,
}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    data = json.loads(BANK.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def questions() -> list[QuestionData]:
    report = json_format.parse(BANK.read_bytes())
    assert report.problems == []
    assert report.skipped == []
    return [parsed.question for parsed in report.questions]


@pytest.fixture(scope="module")
def laws() -> list[LawText]:
    return read_law_directory(LAWS_DIR)[0]


def test_the_file_is_our_json_format(document: dict[str, Any]) -> None:
    assert document["format"] == json_format.MARKER
    assert document["version"] == json_format.VERSION
    assert isinstance(document["questions"], list)


def test_every_question_parses_without_problems(
    document: dict[str, Any], questions: list[QuestionData]
) -> None:
    for number, item in enumerate(document["questions"], start=1):
        question, problems = json_format.question_from_dict(item)
        assert question is not None and problems == [], (number, problems)
    assert len(questions) == len(document["questions"]) >= 55


def test_types_and_difficulties_are_covered(questions: list[QuestionData]) -> None:
    types = Counter(q.type for q in questions)
    for kind, minimum in MINIMUM.items():
        assert types[kind] >= minimum, (kind, types[kind])
    difficulties = Counter(q.difficulty for q in questions)
    share = {d: difficulties[d] / len(questions) for d in Difficulty}
    assert 0.3 <= share[Difficulty.EASY] <= 0.5, share
    assert 0.3 <= share[Difficulty.MEDIUM] <= 0.5, share
    assert 0.1 <= share[Difficulty.HARD] <= 0.3, share


def test_every_question_is_explained_categorised_and_tagged(questions: list[QuestionData]) -> None:
    for q in questions:
        assert q.explanation.strip(), q.stem
        assert len(re.findall(r"[。！？]", q.explanation)) <= 3, q.explanation
        assert q.category.startswith("法律法规/"), q.category
        assert 1 <= len(q.tags) <= 5 and all(t.strip() for t in q.tags), q.stem


def test_every_citation_holds_against_the_law_texts(
    questions: list[QuestionData], laws: list[LawText]
) -> None:
    assert len(laws) == 10  # 网络安全法 twice: 2016 and as amended in 2025
    for q in questions:
        citation = q.citation
        assert citation is not None, q.stem
        assert citation.version and citation.quote, q.stem
        assert check_citation(citation, laws) == [], (q.stem, citation)
        law = find_law(citation.law, citation.version, laws)
        assert law is not None and citation.law == law.short_title
        assert q.category in (f"法律法规/{law.short_title}", "法律法规/综合"), q.category


def test_quotes_are_short_fragments(questions: list[QuestionData]) -> None:
    for q in questions:
        assert q.citation is not None and q.citation.quote is not None
        assert 10 <= len(quote_key(q.citation.quote)) <= 40, q.citation.quote


def test_choice_questions_are_well_formed(questions: list[QuestionData]) -> None:
    for q in questions:
        if q.type is QuestionType.MULTIPLE:
            assert isinstance(q.answer, tuple) and len(q.answer) >= 2, q.stem
        if q.type is QuestionType.FILL_BLANK:
            assert isinstance(q.answer, tuple)
            assert "____" in q.stem and count_blanks(q.stem) == len(q.answer), q.stem
        elif q.type is not QuestionType.ORDERING:
            assert count_blanks(q.stem) == 0, q.stem


def test_stems_are_unique(questions: list[QuestionData]) -> None:
    stems = Counter(q.stem for q in questions)
    assert [s for s, n in stems.items() if n > 1] == []


def test_the_amendment_of_the_cybersecurity_law_is_asked_about(
    questions: list[QuestionData],
) -> None:
    amendment = [q for q in questions if AMENDMENT_TAG in q.tags]
    assert len(amendment) >= 12
    for q in amendment:
        assert q.category == "法律法规/网络安全法", q.stem
        assert q.citation is not None and q.citation.version == "2025-10-28", q.stem
    assert {q.citation.article for q in amendment if q.citation} >= AMENDMENT_ARTICLES
    types = Counter(q.type for q in amendment)
    assert min(types[t] for t in (QuestionType.SINGLE, QuestionType.MULTIPLE)) >= 2, types
    assert types[QuestionType.TRUE_FALSE] >= 2, types
    # 关闭网站 became 关闭网站或者应用程序 (article 64): the question quotes the new words
    (closing,) = [q for q in amendment if q.citation and q.citation.article == 64]
    assert closing.citation is not None and "关闭网站或者应用程序" in (closing.citation.quote or "")
