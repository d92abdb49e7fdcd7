"""One contestant's paper as organizers read it: each item with its options, the answer given, the
key grading uses (a ruling's included) and what an appeal changed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from contest.extensions import db
from contest.models import (
    AttemptItem,
)
from contest.services import rulings
from contest.services.attempt_admin import get_attempt
from question_bank.domain import OPTION_LETTERS, QuestionType
from question_bank.models import QuestionVersion

# The contestant's paper ---------------------------------------------------------------------------


@dataclass
class PaperOption:
    letter: str  # as the attempt page labels it: A, B, C … in the order this contestant saw
    id: str  # the attempt's own option id
    text: str
    chosen: bool
    key: bool  # part of the correct answer (single, multiple)


@dataclass
class PaperItem:
    position: int
    type: QuestionType
    question_id: int
    version_id: int
    version_number: int
    stem: str
    options: list[PaperOption]
    points: int
    answer: Any  # as stored: option ids, a bool, strings; None: no answer
    key: Any  # the correct answer in this paper's terms (option ids for choices and orderings)
    earned: Decimal | None
    correct: bool | None
    flagged: bool
    saved_at: datetime | None
    seq: int
    explanation: str = ""
    answer_letters: list[str] = field(default_factory=list)
    key_letters: list[str] = field(default_factory=list)
    # After an accepted appeal: "key_corrected", "voided" and/or "answers_accepted".
    ruled: tuple[str, ...] = ()


def paper(attempt_id: int) -> list[PaperItem]:
    """The questions exactly as this contestant saw them — the versions drawn for the attempt, in
    its order, the options in its order with the page's letters — with the answers, the key and
    the points earned."""
    round_id = get_attempt(attempt_id).round_id
    rows = db.session.execute(
        select(AttemptItem, QuestionVersion)
        .join(QuestionVersion, QuestionVersion.id == AttemptItem.question_version_id)
        .where(AttemptItem.attempt_id == attempt_id)
        .order_by(AttemptItem.position)
    ).all()
    ruled = rulings.rulings_for([round_id])
    return [_paper_item(item, version, ruled.get((round_id, version.id))) for item, version in rows]


def _key_ids(item: AttemptItem, version: QuestionVersion, answer: Any) -> Any:
    ids = dict(zip(item.option_order, item.option_ids, strict=True))
    if version.type is QuestionType.SINGLE:
        return ids.get(answer)
    if version.type in (QuestionType.MULTIPLE, QuestionType.ORDERING):
        return [ids.get(i) for i in answer]
    return answer


def _ruled(ruling: rulings.Ruling | None) -> tuple[str, ...]:
    if ruling is None:
        return ()
    marks = (
        ("key_corrected", ruling.key is not None),
        ("voided", ruling.voided),
        ("answers_accepted", bool(ruling.accepted)),
    )
    return tuple(name for name, applies in marks if applies)


def _option_ids(value: Any) -> set[str]:
    """The option ids an answer or key names (none for true/false and fill-in)."""
    values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return {v for v in values if isinstance(v, str)}


def _paper_item(
    item: AttemptItem, version: QuestionVersion, ruling: rulings.Ruling | None = None
) -> PaperItem:
    """One item of the paper; its key is the one grading uses (an appeal's correction, if any)."""
    corrected = ruling is not None and ruling.key is not None
    key = _key_ids(
        item, version, ruling.key if ruling is not None and corrected else version.answer
    )
    answer = item.answer
    chosen, keyed = _option_ids(answer), _option_ids(key)
    choice = version.type in (QuestionType.SINGLE, QuestionType.MULTIPLE)
    options = [
        PaperOption(
            OPTION_LETTERS[shown : shown + 1],
            oid,
            version.options[index],
            chosen=oid in chosen,
            key=choice and oid in keyed,
        )
        for shown, (oid, index) in enumerate(zip(item.option_ids, item.option_order, strict=True))
    ]
    letter = {o.id: o.letter for o in options}

    def letters(value: Any) -> list[str]:
        values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        found = [letter.get(v, "?") for v in values if isinstance(v, str)]
        return sorted(found) if version.type is QuestionType.MULTIPLE else found

    return PaperItem(
        position=item.position,
        type=version.type,
        question_id=version.question_id,
        version_id=version.id,
        version_number=version.number,
        stem=version.stem,
        options=options,
        points=item.points,
        answer=answer,
        key=key,
        earned=item.earned,
        correct=item.correct,
        flagged=item.flagged,
        saved_at=item.saved_at,
        seq=item.seq,
        explanation=version.explanation,
        answer_letters=letters(answer) if version.type is not QuestionType.FILL_BLANK else [],
        key_letters=letters(key) if version.type is not QuestionType.FILL_BLANK else [],
        ruled=_ruled(ruling),
    )
