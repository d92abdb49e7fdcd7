"""Appeals (申诉): a contestant questions one item of their attempt; the organizers decide.

**When.** Once review opens for the attempt (the round's review policy shows the key), and until
``Round.appeal_window_h`` hours after review opens for the whole round: the close plus grace (a
round without a close: the attempt's submission). ``appeal_window_h`` 0: the round takes no
appeals; a round whose review is never shown takes none either (the contestant cannot see the
key to dispute it). One appeal per item of an attempt; an archived contest takes none.

**Decisions** (each with a reply the contestant reads on their result page, and an audit event):

* ``reject``: this appeal, or every open appeal of the item (``all_open``);
* ``accept_answer``: another answer also earns full points in this round;
* ``change_key``: the key was wrong; the round is graded with the corrected key, and the bank
  gets a new version of the question carrying it (:func:`contest.services.bank.edit_question`),
  so later rounds draw the corrected one. Attempts keep showing the version they saw;
* ``void_item``: the item is void: every attempt holding it earns its points (the maximum score
  stays; see :mod:`contest.services.rulings`).

An accepting decision is about the item, not one contestant: it writes the item's ruling
(:class:`contest.models.ItemRuling`, keyed by round and question version), settles every open
appeal of the item as accepted with the same reply, and — after the commit — queues a regrade
of every attempt of the round holding that version on the scoring queue
(:func:`contest.services.scoring.enqueue_regrade`). Grading consults the rulings, so the boards
follow as scoring sets their entries, and the last regrade job tells the awards
(``awards.scores_changed``). Deciding is :mod:`contest.services.appeal_decisions`.

Answers in decisions are written in the question version's own terms (its options lettered A, B,
C … in the bank's order, not a contestant's shuffled order): ``B``; ``AC``; ``CAB`` for an
ordering; ``对``/``错`` (or true/false); for fill-in-the-blank one answer per blank separated by
``;``, alternatives of a blank by ``/``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from contest.config import default
from contest.errors import Conflict, InvalidInput, NotFound, TooManyAttempts
from contest.extensions import db
from contest.models import (
    Appeal,
    AppealStatus,
    Attempt,
    AttemptItem,
    AttemptStatus,
    Contest,
    ContestStatus,
    ItemRuling,
    Organization,
    ReviewPolicy,
    Round,
    User,
)
from contest.services import rulings
from contest.services.attempts import review_open
from contest.services.bank import version_data
from question_bank.domain import OPTION_LETTERS, QuestionType
from question_bank.grading import MultipleRule
from question_bank.models import QuestionVersion

MAX_REASON = 500
MAX_REPLY = 1000
DEFAULT_LIMIT = default("APPEAL_LIMIT_USER")  # appeals a contestant may file
REGRADED = (AttemptStatus.SUBMITTED, AttemptStatus.SCORED, AttemptStatus.VOID)


# The window ---------------------------------------------------------------------------------------


def appeals_close_at(round_: Round, attempt: Attempt) -> datetime | None:
    """When appeals of this attempt's items close (None: the round takes none)."""
    if not round_.appeal_window_h or round_.review_policy is ReviewPolicy.NEVER:
        return None
    start = (
        round_.closes_at + timedelta(seconds=round_.grace_s)
        if round_.closes_at is not None
        else attempt.submitted_at
    )
    if start is None:
        return None
    return start + timedelta(hours=round_.appeal_window_h)


def appeal_refusal(attempt: Attempt, round_: Round, now: datetime) -> tuple[str, str] | None:
    """Why this attempt's items cannot be appealed now, as (code, message); None: they can."""
    closes = appeals_close_at(round_, attempt)
    if closes is None:
        return "appeals_off", _("This round takes no appeals.")
    if not review_open(attempt, round_, now):
        return "review_closed", _("Appeals open once the answers are shown.")
    if now >= closes:
        return "appeals_closed", _("The time for appeals is over.")
    if round_.contest.status is ContestStatus.ARCHIVED:
        return "contest_archived", _("The contest is archived and read-only.")
    return None


def check_rate(user_id: int, now_s: float) -> None:
    """Count one appeal request of the user; :class:`TooManyAttempts` past the limit
    (``APPEAL_LIMIT_USER``, default :data:`DEFAULT_LIMIT`; see
    :func:`contest.auth.throttle.over_limit`)."""
    from contest.auth.throttle import over_limit

    retry_after = over_limit(
        f"throttle:appeal:{user_id}", "APPEAL_LIMIT_USER", DEFAULT_LIMIT, now_s
    )
    if retry_after is not None:
        raise TooManyAttempts(
            _("Too many appeals. Please wait a moment and try again."),
            retry_after=retry_after,
        )


# Filing -------------------------------------------------------------------------------------------


def required_text(value: str | None, most: int, code: str, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput(_("Write %(what)s.", what=what), code=f"{code}_required")
    if len(text) > most:
        raise InvalidInput(
            _("%(what)s is at most %(n)d characters.", what=what, n=most), code=f"{code}_too_long"
        )
    return text


def create_appeal(
    attempt_id: int, user_id: int, position: int, reason: str, *, now: datetime
) -> Appeal:
    """The contestant's appeal of item ``position`` of their attempt (committed).

    404: not their attempt or no such item; 409: outside the window or before review opens
    (``appeals_off``, ``review_closed``, ``appeals_closed``) or the item appealed already
    (``appeal_exists``); 422: no reason or a reason over :data:`MAX_REASON` characters."""
    from contest.services.attempts import get_own_attempt

    attempt = get_own_attempt(attempt_id, user_id)
    round_ = db.session.get_one(Round, attempt.round_id)
    refusal = appeal_refusal(attempt, round_, now)
    if refusal is not None:
        raise Conflict(refusal[1], code=refusal[0])
    item = db.session.get(AttemptItem, (attempt.id, position))
    if item is None:
        raise NotFound(_("No question %(n)d in this attempt.", n=position))
    text = required_text(reason, MAX_REASON, "reason", _("the reason for the appeal"))
    appeal = Appeal(
        attempt_id=attempt.id,
        position=position,
        round_id=round_.id,
        contest_id=round_.contest_id,
        question_version_id=item.question_version_id,
        user_id=user_id,
        reason=text,
        status=AppealStatus.OPEN,
        created_at=now,
    )
    db.session.add(appeal)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(
            _("This question of your attempt is appealed already."), code="appeal_exists"
        ) from None
    return appeal


def _exists(attempt_id: int, position: int) -> bool:
    found = db.session.scalar(
        select(Appeal.id).where(Appeal.attempt_id == attempt_id, Appeal.position == position)
    )
    return found is not None


def ensure_new(attempt_id: int, position: int) -> None:
    """409 ``appeal_exists`` when the item is appealed already (the unique constraint is the
    last word; this gives the answer without a failed insert)."""
    if _exists(attempt_id, position):
        raise Conflict(
            _("This question of your attempt is appealed already."), code="appeal_exists"
        )


# What the contestant's result page shows ----------------------------------------------------------


@dataclass
class ItemAppealState:
    appeal: Appeal | None
    ruling: ItemRuling | None
    corrected_key: Any = None  # the corrected key in this contestant's option ids, if any
    accepted: list[Any] = field(default_factory=list)  # accepted answers, option ids


@dataclass
class ResultAppeals:
    """Per position: the contestant's appeal and the item's ruling; whether (and until when)
    they may appeal."""

    items: dict[int, ItemAppealState]
    open: bool
    closes_at: datetime | None
    refusal: str | None


def _paper_terms(value: Any, kind: QuestionType, ids: dict[int, str]) -> Any:
    """An answer in version terms (indexes) in a paper's terms (its option ids)."""
    if value is None or kind in (QuestionType.TRUE_FALSE, QuestionType.FILL_BLANK):
        return value
    if kind is QuestionType.SINGLE:
        return ids.get(value)
    return [ids.get(i) for i in value]


def result_appeals(attempt: Attempt, round_: Round, now: datetime) -> ResultAppeals:
    """The appeals and rulings of an attempt's items, for its result page (review open only:
    the caller shows them inside the review)."""
    appeals = {
        a.position: a
        for a in db.session.scalars(select(Appeal).where(Appeal.attempt_id == attempt.id))
    }
    items = db.session.execute(
        select(
            AttemptItem.position,
            AttemptItem.question_version_id,
            AttemptItem.option_ids,
            AttemptItem.option_order,
            QuestionVersion.type,
        )
        .join(QuestionVersion, QuestionVersion.id == AttemptItem.question_version_id)
        .where(AttemptItem.attempt_id == attempt.id)
    ).all()
    found = {
        r.question_version_id: r
        for r in db.session.scalars(
            select(ItemRuling).where(
                ItemRuling.round_id == round_.id,
                ItemRuling.question_version_id.in_([i.question_version_id for i in items]),
            )
        )
    }
    states = {}
    for item in items:
        ruling = found.get(item.question_version_id)
        ids = dict(zip(item.option_order, item.option_ids, strict=True))
        state = ItemAppealState(appeals.get(item.position), ruling)
        if ruling is not None:
            state.corrected_key = _paper_terms(ruling.key, item.type, ids)
            state.accepted = [_paper_terms(a, item.type, ids) for a in ruling.accepted or []]
        states[item.position] = state
    refusal = appeal_refusal(attempt, round_, now)
    return ResultAppeals(
        states, refusal is None, appeals_close_at(round_, attempt), refusal and refusal[1]
    )


def appeal_body(appeal: Appeal) -> dict[str, Any]:
    """An appeal as its contestant sees it (no key: a reply is written after review opened)."""
    return {
        "id": appeal.id,
        "attempt_id": appeal.attempt_id,
        "position": appeal.position,
        "reason": appeal.reason,
        "status": appeal.status.value,
        "decision": appeal.decision.value if appeal.decision else None,
        "reply": appeal.reply,
        "created_at": appeal.created_at,
        "decided_at": appeal.decided_at,
    }


# Answers in the version's terms -------------------------------------------------------------------


_TRUE = {"对", "正确", "true", "t", "√", "✓", "yes", "y", "1"}
_FALSE = {"错", "错误", "false", "f", "×", "✗", "no", "n", "0"}


def answer_text(kind: QuestionType, value: Any) -> str:
    """An answer or key in version terms as organizers write it (see the module docstring)."""
    if value is None or value == []:
        return "—"
    if kind is QuestionType.TRUE_FALSE:
        return _("True") if value else _("False")
    if kind is QuestionType.FILL_BLANK:
        return "; ".join(b if isinstance(b, str) else "/".join(str(s) for s in b) for b in value)
    if kind is QuestionType.SINGLE:
        return OPTION_LETTERS[value : value + 1] if isinstance(value, int) else "?"
    letters = [OPTION_LETTERS[i : i + 1] if isinstance(i, int) else "?" for i in value]
    return "".join(sorted(letters) if kind is QuestionType.MULTIPLE else letters)


def parse_answer(version: QuestionVersion, text: str) -> Any:
    """An answer written as :func:`answer_text` writes it, as JSON in version terms (the form
    of ``QuestionVersion.answer``); 422 ``invalid_answer`` when it does not fit."""
    kind, raw = version.type, (text or "").strip()
    wrong = InvalidInput(
        _("The answer does not fit this question: %(text)s", text=raw or "—"),
        code="invalid_answer",
    )
    if not raw:
        raise wrong
    if kind is QuestionType.TRUE_FALSE:
        word = raw.lower()
        if word in _TRUE or word == str(_("True")).lower():
            return True
        if word in _FALSE or word == str(_("False")).lower():
            return False
        raise wrong
    if kind is QuestionType.FILL_BLANK:
        blanks = [[s.strip() for s in part.split("/") if s.strip()] for part in raw.split(";")]
        if len(blanks) != len(version.answer) or not all(blanks):
            raise wrong
        return blanks
    letters = re.sub(r"[\s,，、]", "", raw).upper()
    count = len(version.options)
    indexes = [OPTION_LETTERS.find(c) for c in letters]
    if (
        not indexes
        or any(i < 0 or i >= count for i in indexes)
        or len(set(indexes)) != len(indexes)
    ):
        raise wrong
    if kind is QuestionType.SINGLE:
        if len(indexes) != 1:
            raise wrong
        return indexes[0]
    if kind is QuestionType.ORDERING:
        if sorted(indexes) != list(range(count)):
            raise wrong
        return indexes
    return sorted(indexes)


def stored_in_version_terms(item: AttemptItem | Any, kind: QuestionType) -> Any:
    """A contestant's stored answer (option ids) in version terms (indexes; JSON form)."""
    answer = item.answer
    if answer is None or kind is QuestionType.TRUE_FALSE:
        return answer
    if kind is QuestionType.FILL_BLANK:
        return [[a] if isinstance(a, str) and a.strip() else [] for a in answer]
    index = dict(zip(item.option_ids, item.option_order, strict=True))
    if kind is QuestionType.SINGLE:
        return index.get(answer)
    found = [index[a] for a in answer if a in index]
    return sorted(found) if kind is QuestionType.MULTIPLE else found


# The organizers' list -----------------------------------------------------------------------------


@dataclass
class AppealRow:
    appeal: Appeal
    username: str
    display_name: str
    organization: str
    answer: str  # the appellant's answer in version terms, as text
    earned: Decimal | None
    points: int


@dataclass
class AppealGroup:
    """The appeals of one question version in one round, with what deciding them needs."""

    round: Round
    version: QuestionVersion
    ruling: ItemRuling | None
    rows: list[AppealRow]
    distribution: list[tuple[str, int, bool]]  # (answer text, attempts, earns full points)
    holders: int  # attempts of the round holding the version

    @property
    def open_count(self) -> int:
        return sum(1 for r in self.rows if r.appeal.status is AppealStatus.OPEN)

    @property
    def first_open(self) -> Appeal | None:
        return next((r.appeal for r in self.rows if r.appeal.status is AppealStatus.OPEN), None)

    @property
    def key_text(self) -> str:
        return answer_text(self.version.type, self.version.answer)

    @property
    def corrected_key_text(self) -> str | None:
        if self.ruling is None or self.ruling.key is None:
            return None
        return answer_text(self.version.type, self.ruling.key)

    @property
    def accepted_texts(self) -> list[str]:
        if self.ruling is None:
            return []
        return [answer_text(self.version.type, a) for a in self.ruling.accepted or []]


def _distribution(
    round_: Round, version: QuestionVersion, ruling: ItemRuling | None
) -> tuple[list[tuple[str, int, bool]], int]:
    """How the round's attempts holding the version answered it (most given first, at most
    20 rows), whether each answer earns full points now; and how many attempts hold it."""
    rows = db.session.execute(
        select(AttemptItem.answer, AttemptItem.option_ids, AttemptItem.option_order)
        .join(Attempt, Attempt.id == AttemptItem.attempt_id)
        .where(
            Attempt.round_id == round_.id,
            AttemptItem.question_version_id == version.id,
            Attempt.status.in_(REGRADED),
        )
    ).all()
    data = version_data(version)
    rule = MultipleRule(round_.multiple_rule)
    found = ruling_value(ruling)
    counts: Counter[str] = Counter()
    full: dict[str, bool] = {}
    for row in rows:
        value = stored_in_version_terms(row, version.type)
        text = answer_text(version.type, value)
        counts[text] += 1
        if text not in full:
            response = graded_response(version.type, value)
            graded = rulings.grade_item(data, response, 1, rule, found)
            full[text] = graded.points == 1
    return [(t, n, full[t]) for t, n in counts.most_common(20)], len(rows)


def graded_response(kind: QuestionType, value: Any) -> Any:
    """An answer in version terms (JSON) as grading takes it."""
    if kind is QuestionType.FILL_BLANK and value is not None:
        return [b[0] if b else "" for b in value]
    return value


def item_ruling(round_id: int, version_id: int) -> ItemRuling | None:
    return db.session.scalar(
        select(ItemRuling).where(
            ItemRuling.round_id == round_id, ItemRuling.question_version_id == version_id
        )
    )


def ruling_value(ruling: ItemRuling | None) -> rulings.Ruling | None:
    if ruling is None:
        return None
    return rulings.Ruling(ruling.key, tuple(ruling.accepted or ()), bool(ruling.voided))


def list_groups(
    contest_id: int, status: AppealStatus | None = None, *, distribution: bool = True
) -> list[AppealGroup]:
    """The contest's appeals grouped by round and question version (groups with open appeals
    first, then by round and question), each group with its ruling and the answers given."""
    query = (
        select(Appeal, User.username, User.display_name, Organization.name, AttemptItem)
        .join(User, User.id == Appeal.user_id)
        .outerjoin(Organization, Organization.id == User.organization_id)
        .join(
            AttemptItem,
            (AttemptItem.attempt_id == Appeal.attempt_id)
            & (AttemptItem.position == Appeal.position),
        )
        .where(Appeal.contest_id == contest_id)
        .order_by(Appeal.round_id, Appeal.question_version_id, Appeal.created_at, Appeal.id)
    )
    if status is not None:
        query = query.where(Appeal.status == status)
    grouped: dict[tuple[int, int], list[Any]] = {}
    for row in db.session.execute(query):
        grouped.setdefault((row.Appeal.round_id, row.Appeal.question_version_id), []).append(row)
    groups = []
    for (round_id, version_id), rows in grouped.items():
        round_ = db.session.get_one(Round, round_id)
        version = db.session.get_one(QuestionVersion, version_id)
        ruling = item_ruling(round_id, version_id)
        appeal_rows = [
            AppealRow(
                r.Appeal,
                r.username,
                r.display_name,
                r.name or "",
                answer_text(version.type, stored_in_version_terms(r.AttemptItem, version.type)),
                r.AttemptItem.earned,
                r.AttemptItem.points,
            )
            for r in rows
        ]
        spread, holders = _distribution(round_, version, ruling) if distribution else ([], 0)
        groups.append(AppealGroup(round_, version, ruling, appeal_rows, spread, holders))
    groups.sort(key=lambda g: (g.open_count == 0, g.round.position, g.version.question_id))
    return groups


def open_count(contest_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Appeal)
            .where(Appeal.contest_id == contest_id, Appeal.status == AppealStatus.OPEN)
        )
        or 0
    )


def get_appeal(appeal_id: int) -> Appeal:
    appeal = db.session.get(Appeal, appeal_id)
    if appeal is None:
        raise NotFound(_("No appeal %(id)s.", id=appeal_id))
    return appeal


# Checks -------------------------------------------------------------------------------------------


def _cents(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )


def score_differences(round_id: int) -> list[str]:
    """Scored attempts of the round whose stored score differs from a regrade with the rulings
    now in force (empty: all equal)."""
    round_ = db.session.get_one(Round, round_id)
    rule = MultipleRule(round_.multiple_rule)
    found = rulings.rulings_for([round_id])
    stored = dict(
        db.session.execute(
            select(Attempt.id, Attempt.score).where(
                Attempt.round_id == round_id, Attempt.status == AttemptStatus.SCORED
            )
        ).all()
    )
    items = db.session.execute(
        select(AttemptItem)
        .join(Attempt)
        .where(Attempt.round_id == round_id, Attempt.status == AttemptStatus.SCORED)
    ).scalars()
    data: dict[int, Any] = {}
    totals = dict.fromkeys(stored, Fraction(0))
    for item in items:
        if item.question_version_id not in data:
            data[item.question_version_id] = version_data(
                db.session.get_one(QuestionVersion, item.question_version_id)
            )
        question = data[item.question_version_id]
        response = graded_response(question.type, stored_in_version_terms(item, question.type))
        totals[item.attempt_id] += rulings.grade_item(
            question, response, item.points, rule, found.get((round_id, item.question_version_id))
        ).points
    return [
        f"attempt {attempt_id}: stored {stored[attempt_id]}, regraded {_cents(total)}"
        for attempt_id, total in totals.items()
        if _cents(total) != Decimal(stored[attempt_id] or 0)
    ]


def contest_of(appeal: Appeal) -> Contest:
    return db.session.get_one(Contest, appeal.contest_id)
