"""The demo question bank: every file parses cleanly and meets the content rules.

Pure checks, no app: the files are read with the JSON format's own parser, so what passes here
is exactly what an import accepts. Citations in basics.json and incidents.json are checked with
the law library against ``../shared/laws/`` (laws.json has its own test for that); every citation
of the bank must name the version in force on the days the demo's contests run, so that importing
those texts flags none of the demo's questions for review.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from contest.demo import beijing_date, load_demo_bank, preliminary_opens
from contest.extensions import db
from contest.models import Contest
from contest.services.laws import import_laws, superseded_versions
from question_bank.domain import (
    Difficulty,
    QuestionData,
    QuestionType,
    count_blanks,
    duplicate_key,
    normalize_text,
)
from question_bank.formats.json_format import parse
from question_bank.laws import check_citation, in_force_on, matches_law, read_law_directory
from question_bank.models import Question
from tests.conftest import SHARED, needs_shared

DEMO_BANK = Path(__file__).resolve().parents[1] / "question_bank" / "demo_bank"
LAWS = SHARED / "laws"

# file → the area every category in it starts with
AREAS = {"basics.json": "基础知识", "incidents.json": "事件处置"}
# every bank file, including ones other people write (laws.json) when they exist
ALL_FILES = ("basics.json", "incidents.json", "laws.json")

MIN_TOTAL = 50
MIN_LAW_QUESTIONS = 97  # category 法律法规/…, whichever file holds them
MIN_AMENDMENT_QUESTIONS = 12
AMENDMENT_TAG = "2025修正"  # questions on the 2025-10-28 amendment of 网络安全法
MIN_PER_TYPE = {
    QuestionType.SINGLE: 18,
    QuestionType.MULTIPLE: 10,
    QuestionType.TRUE_FALSE: 10,
    QuestionType.FILL_BLANK: 6,
    QuestionType.ORDERING: 4,
}
# roughly 40/40/20: each difficulty has at least this share of a file
MIN_DIFFICULTY_SHARE = {Difficulty.EASY: 0.3, Difficulty.MEDIUM: 0.3, Difficulty.HARD: 0.15}
UNDERSCORE_BLANK = re.compile(r"_{2,}")


def load(name: str) -> list[QuestionData]:
    """The questions of one bank file; the file must parse with no problems."""
    report = parse((DEMO_BANK / name).read_bytes())
    assert not report.problems, [(p.line, p.render()) for p in report.problems]
    return [parsed.question for parsed in report.questions]


def whole_bank() -> list[tuple[str, QuestionData]]:
    """Every question of every bank file that exists, with its file name."""
    questions = []
    for name in ALL_FILES:
        path = DEMO_BANK / name
        if path.exists():
            report = parse(path.read_bytes())
            questions += [(name, parsed.question) for parsed in report.questions]
    return questions


@pytest.fixture(params=sorted(AREAS), name="bank")
def bank_fixture(request: pytest.FixtureRequest) -> tuple[str, list[QuestionData]]:
    return request.param, load(request.param)


def test_file_parses_with_enough_questions(bank: tuple[str, list[QuestionData]]) -> None:
    _, questions = bank
    assert len(questions) >= MIN_TOTAL


def test_counts_per_type(bank: tuple[str, list[QuestionData]]) -> None:
    _, questions = bank
    counts = Counter(q.type for q in questions)
    for kind, minimum in MIN_PER_TYPE.items():
        assert counts[kind] >= minimum, (kind, counts[kind])


def test_difficulty_mix(bank: tuple[str, list[QuestionData]]) -> None:
    _, questions = bank
    counts = Counter(q.difficulty for q in questions)
    for difficulty, share in MIN_DIFFICULTY_SHARE.items():
        assert counts[difficulty] >= share * len(questions), (difficulty, counts)


def test_every_question_is_complete(bank: tuple[str, list[QuestionData]]) -> None:
    name, questions = bank
    area = AREAS[name]
    for q in questions:
        assert q.explanation.strip(), q.stem
        assert q.category.startswith(area + "/") and len(q.category) > len(area) + 1, q.stem
        assert 2 <= len(q.tags) <= 4 and all(t.strip() for t in q.tags), q.stem


def test_options_fit_the_type(bank: tuple[str, list[QuestionData]]) -> None:
    _, questions = bank
    for q in questions:
        if q.type is QuestionType.SINGLE:
            assert len(q.options) == 4, q.stem
        elif q.type is QuestionType.MULTIPLE:
            assert 4 <= len(q.options) <= 6, q.stem
            assert isinstance(q.answer, tuple) and len(q.answer) >= 2, q.stem
        elif q.type is QuestionType.ORDERING:
            assert 3 <= len(q.options) <= 6, q.stem
            # the author's order is scrambled: shown as listed, it is not already the answer
            assert q.answer != tuple(range(len(q.options))), q.stem


def test_fill_blanks_are_marked_with_underscores(bank: tuple[str, list[QuestionData]]) -> None:
    _, questions = bank
    for q in questions:
        if q.type is QuestionType.FILL_BLANK:
            marks = len(UNDERSCORE_BLANK.findall(q.stem))
            assert marks == count_blanks(q.stem) == len(q.answer), q.stem  # type: ignore[arg-type]


def test_no_duplicates_in_the_whole_bank() -> None:
    questions = whole_bank()
    keys = Counter(duplicate_key(q) for _, q in questions)
    assert not [key for key, n in keys.items() if n > 1]
    stems = Counter(normalize_text(q.stem).casefold() for _, q in questions)
    assert not [stem for stem, n in stems.items() if n > 1]


@needs_shared
def test_citations_hold_against_the_law_texts(bank: tuple[str, list[QuestionData]]) -> None:
    _, questions = bank
    laws, _ = read_law_directory(LAWS)
    assert laws, LAWS
    cited = [q for q in questions if q.citation is not None]
    assert cited  # each file rests some questions on verified articles
    for q in cited:
        assert q.citation is not None and q.citation.quote, q.stem
        problems = check_citation(q.citation, laws)
        assert not problems, (q.stem, [p.render() for p in problems])


def test_the_demo_preliminary_names_its_date_not_tomorrow(app: Flask) -> None:
    """The demo's data outlives the day it was made: the schedule text names the day its round
    opens (Beijing time), which "tomorrow" would stop being."""
    made = datetime(2026, 11, 30, 17, 30, tzinfo=UTC)  # 01:30 on 1 December in Beijing
    with app.app_context():
        load_demo_bank(made)
        contest = db.session.scalars(select(Contest).where(Contest.schedule != "")).one()
        opens = contest.rounds[0].opens_at
    assert opens == datetime(2026, 12, 2, 1, 0, tzinfo=UTC)  # 9:00 on 2 December in Beijing
    assert contest.schedule == "初赛：2026年12月2日 9:00–11:00（北京时间）"


def demo_days(now: datetime) -> list[date]:
    """The Beijing days the demo's rounds run when it is started at ``now``: the practice round
    from then on, the preliminary from its opening."""
    return [beijing_date(now), beijing_date(preliminary_opens(now))]


def test_the_bank_has_enough_law_questions_and_questions_on_the_amendment() -> None:
    questions = [q for _, q in whole_bank()]
    laws = [q for q in questions if q.category.startswith("法律法规/")]
    assert len(laws) >= MIN_LAW_QUESTIONS, len(laws)
    amendment = [q for q in laws if AMENDMENT_TAG in q.tags]
    assert len(amendment) >= MIN_AMENDMENT_QUESTIONS, len(amendment)
    for q in amendment:
        assert q.citation is not None and q.citation.law == "网络安全法", q.stem
        assert q.citation.version == "2025-10-28", q.stem
        # what changed, and since when
        assert "2025年10月28日" in q.explanation and "2026年1月1日" in q.explanation, q.stem


@needs_shared
def test_every_citation_names_the_version_in_force_on_the_demo_days() -> None:
    laws, _ = read_law_directory(LAWS)
    cited = [(name, q) for name, q in whole_bank() if q.citation is not None]
    assert cited
    for day in demo_days(datetime.now(UTC)):
        for name, q in cited:
            assert q.citation is not None
            versions = [law for law in laws if matches_law(law, q.citation.law)]
            current = in_force_on(versions, day)
            assert current is not None, (name, q.citation.law, day)
            assert q.citation.version == current.version, (name, q.stem, q.citation, day)


@needs_shared
def test_importing_the_law_texts_flags_none_of_the_demo_questions(app: Flask) -> None:
    now = datetime.now(UTC)
    with app.app_context():
        load_demo_bank(now)
        for day in demo_days(now):
            report = import_laws(LAWS, today=day)
            assert report.flagged_questions == 0
            assert db.session.scalars(select(Question).where(Question.needs_review)).all() == []
            # the 2016 text of 网络安全法 is superseded that day: there was something to flag
            superseded = [law.short_title for law, _, _ in superseded_versions(day).values()]
            assert "网络安全法" in superseded, superseded
