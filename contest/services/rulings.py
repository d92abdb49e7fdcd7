"""Item rulings: how an accepted appeal changes the grading of one question version in one round.

A ruling (:class:`contest.models.ItemRuling`, one per round and question version) holds what the
organizers decided for the item: answers accepted besides the key, a corrected key, or the item
void. Every grading of the round's attempts goes through :func:`grade_item` with the rulings of
:func:`rulings_for` — scoring (``contest.services.scoring.score_attempts``), a regrade check
(:func:`contest.services.appeals.score_differences`) and the bench's verification — so grading an
attempt again always gives the same result.

Rules (the same for every attempt holding the item, whatever paper it was in):

* **void**: every attempt holding the item earns its full points (marked correct). The paper's
  maximum score stays what the blueprint made it, so attempts that drew the item and those that
  drew another question are ranked on the same scale;
* **corrected key**: graded against the corrected key instead of the version's;
* **accepted answers**: graded against the key and against each accepted answer; the best
  share counts. For fill-in-the-blank, an accepted answer adds its strings to each blank's
  accepted ones (blanks are graded one by one).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

from sqlalchemy import select

from contest.extensions import db
from contest.models import ItemRuling
from question_bank.domain import QuestionData, QuestionType, answer_from_json
from question_bank.grading import Grade, MultipleRule, grade


@dataclass(frozen=True)
class Ruling:
    """What grading needs of an :class:`ItemRuling` (JSON as stored)."""

    key: Any = None
    accepted: tuple[Any, ...] = ()
    voided: bool = False


_ruling = ItemRuling.__table__
_RULINGS = select(
    _ruling.c.round_id,
    _ruling.c.question_version_id,
    _ruling.c.key,
    _ruling.c.accepted,
    _ruling.c.voided,
)


def rulings_for(round_ids: Collection[int]) -> dict[tuple[int, int], Ruling]:
    """The rulings of these rounds by (round id, question version id): one indexed query."""
    if not round_ids:
        return {}
    rows = db.session.execute(_RULINGS.where(_ruling.c.round_id.in_(list(round_ids)))).all()
    return {
        (row.round_id, row.question_version_id): Ruling(
            row.key, tuple(row.accepted or ()), bool(row.voided)
        )
        for row in rows
    }


def effective_keys(question: QuestionData, ruling: Ruling) -> list[QuestionData]:
    """The question as graded under ``ruling``: one per key that earns full points (the first
    is the key itself, corrected or not)."""
    kind = question.type
    main = (
        question
        if ruling.key is None
        else replace(question, answer=answer_from_json(kind, ruling.key))
    )
    if kind is QuestionType.FILL_BLANK:
        blanks = [list(b) for b in main.answer]  # type: ignore[arg-type, union-attr]
        for extra in ruling.accepted:
            for index, strings in enumerate(extra or []):
                if index < len(blanks):
                    blanks[index] += [s for s in strings if s not in blanks[index]]
        merged = tuple(tuple(b) for b in blanks)
        return [replace(main, answer=merged)]
    return [main, *(replace(main, answer=answer_from_json(kind, a)) for a in ruling.accepted)]


def grade_item(
    question: QuestionData,
    response: Any,
    points: Fraction | int,
    rule: MultipleRule,
    ruling: Ruling | None,
) -> Grade:
    """Grade one answer (option indexes, as :func:`question_bank.grading.grade` takes it) under
    the item's ruling, if any."""
    if ruling is None:
        return grade(question, response, points, rule)
    if ruling.voided:
        full = Fraction(points)
        return Grade(points=full, max_points=full, correct=True)
    grades = [grade(q, response, points, rule) for q in effective_keys(question, ruling)]
    return max(grades, key=lambda g: (g.points, g.correct))
