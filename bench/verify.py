"""Checks after a round: acknowledged answers are stored, scores match an independent regrade.

The regrade maps each stored answer's opaque option ids to option indexes from the attempt's own
paper (``option_ids`` / ``option_order``) and grades with ``question_bank.grading`` (through the
item rulings of accepted appeals, ``contest.services.rulings``) — it shares the pure grading rules
with the platform but none of the scoring job's code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from clients import ContestantRecord
from sqlalchemy import select

from contest.extensions import db
from contest.models import Attempt, AttemptItem, AttemptStatus, Round
from contest.services.bank import version_data
from contest.services.rulings import grade_item, rulings_for
from question_bank.domain import QuestionType
from question_bank.grading import MultipleRule
from question_bank.models import QuestionVersion


@dataclass
class Verification:
    answers_acknowledged: int = 0
    answers_lost: int = 0
    answers_unexpected: int = 0  # a stored answer no client ever sent with that seq
    attempts_checked: int = 0
    attempts_unscored: int = 0
    score_mismatches: int = 0
    examples: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if len(self.examples) < 20:
            self.examples.append(text)

    @property
    def ok(self) -> bool:
        return not (
            self.answers_lost
            or self.answers_unexpected
            or self.attempts_unscored
            or self.score_mismatches
        )


def _indexes(kind: QuestionType, answer: Any, ids: list[str], order: list[int]) -> Any:
    if answer is None or kind in (QuestionType.TRUE_FALSE, QuestionType.FILL_BLANK):
        return answer
    index_of = dict(zip(ids, order, strict=True))
    if kind is QuestionType.SINGLE:
        return index_of.get(answer)
    return [index_of[a] for a in answer if a in index_of]


def _cents(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )


def verify_round(round_id: int, records: Sequence[ContestantRecord]) -> Verification:
    """Every acknowledged save against the database, then every attempt's score (app context)."""
    result = Verification()
    db.session.expire_all()
    round_ = db.session.get(Round, round_id)
    assert round_ is not None
    rule = MultipleRule(round_.multiple_rule)
    rulings = rulings_for([round_id])  # accepted appeals grade some items otherwise
    attempts = {
        a.id: a for a in db.session.scalars(select(Attempt).where(Attempt.round_id == round_id))
    }
    items: dict[int, dict[int, AttemptItem]] = {}
    for item in db.session.scalars(
        select(AttemptItem).join(Attempt).where(Attempt.round_id == round_id)
    ):
        items.setdefault(item.attempt_id, {})[item.position] = item
    versions = {
        v.id: v
        for v in db.session.scalars(
            select(QuestionVersion).where(
                QuestionVersion.id.in_(
                    {i.question_version_id for by_pos in items.values() for i in by_pos.values()}
                )
            )
        )
    }
    for record in records:
        if not record.attempt_id:
            continue
        attempt = attempts.get(record.attempt_id)
        stored = items.get(record.attempt_id, {})
        sent: dict[tuple[int, int], Any] = {(s.position, s.seq): s.answer for s in record.saves}
        for save in record.saves:
            if not save.acknowledged:
                continue
            result.answers_acknowledged += 1
            found = stored.get(save.position)
            if (
                found is None
                or found.seq < save.seq
                or (found.seq == save.seq and found.answer != save.answer)
            ):
                result.answers_lost += 1
                result.note(
                    f"attempt {record.attempt_id} item {save.position}: acknowledged seq "
                    f"{save.seq} {save.answer!r}, stored seq {found and found.seq} "
                    f"{found and found.answer!r}"
                )
        for position, item in stored.items():
            if item.seq and sent.get((position, item.seq), object()) != item.answer:
                result.answers_unexpected += 1
                result.note(
                    f"attempt {record.attempt_id} item {position}: stored seq {item.seq} "
                    f"{item.answer!r} was never sent"
                )
        if attempt is None:
            continue
        result.attempts_checked += 1
        if attempt.status is not AttemptStatus.SCORED or attempt.score is None:
            result.attempts_unscored += 1
            result.note(f"attempt {attempt.id} is {attempt.status.value}, score {attempt.score}")
            continue
        total = Fraction(0)
        for position, item in stored.items():
            version = versions[item.question_version_id]
            answer = sent.get((position, item.seq)) if item.seq else None
            response = _indexes(version.type, answer, item.option_ids, item.option_order)
            ruling = rulings.get((round_id, item.question_version_id))
            total += grade_item(version_data(version), response, item.points, rule, ruling).points
        if _cents(total) != Decimal(attempt.score):
            result.score_mismatches += 1
            result.note(f"attempt {attempt.id}: score {attempt.score}, regraded {_cents(total)}")
    db.session.rollback()
    return result
