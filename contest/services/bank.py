"""Question banks: categories, questions and their versions, status changes, search, export."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, func, insert, or_, select, update
from sqlalchemy.orm import aliased, contains_eager

from contest.errors import Conflict, InvalidInput, NotFound
from contest.extensions import db
from contest.i18n import local_day
from question_bank.domain import (
    Citation,
    Difficulty,
    Problem,
    QuestionData,
    QuestionType,
    answer_from_json,
    answer_to_json,
    duplicate_key,
    validate,
)
from question_bank.models import (
    DEFAULT_CATEGORIES,
    TRANSITIONS,
    Bank,
    Category,
    Question,
    QuestionStatus,
    QuestionVersion,
    StatusChange,
)


class QuestionInvalid(InvalidInput):
    """A question breaks the rules; :attr:`problems` lists them."""

    code = "invalid_question"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(render(p) for p in problems))


def render(problem: Problem) -> str:
    """A problem's message in the current language."""
    return problem.render(_)


# Banks and categories ----------------------------------------------------------------------------


def create_bank(name: str, description: str = "") -> Bank:
    """A new bank with the default categories (not committed)."""
    name = name.strip()
    if not name:
        raise InvalidInput(_("A bank needs a name."))
    if db.session.scalar(select(Bank.id).where(Bank.name == name)) is not None:
        raise Conflict(_("A bank named %(name)s exists already.", name=name), code="bank_exists")
    bank = Bank(name=name, description=description)
    db.session.add(bank)
    db.session.flush()
    for path in DEFAULT_CATEGORIES:
        ensure_category(bank.id, path)
    return bank


def get_bank(ref: int | str) -> Bank:
    """A bank by id or by name."""
    bank = None
    if isinstance(ref, int) or str(ref).isdigit():
        bank = db.session.get(Bank, int(ref))
    if bank is None:
        bank = db.session.scalar(select(Bank).where(Bank.name == str(ref)))
    if bank is None:
        raise NotFound(_("No bank %(ref)s.", ref=ref))
    return bank


def get_or_create_bank(name: str) -> Bank:
    existing = db.session.scalar(select(Bank).where(Bank.name == name))
    return existing or create_bank(name)


def ensure_category(bank_id: int, path: str) -> Category | None:
    """The category at ``path`` (``A/B/C``), creating missing levels; None for an empty path."""
    parts = [p.strip() for p in path.replace("／", "/").split("/") if p.strip()]
    parent: Category | None = None
    for depth in range(len(parts)):
        full = "/".join(parts[: depth + 1])
        category = db.session.scalar(
            select(Category).where(Category.bank_id == bank_id, Category.path == full)
        )
        if category is None:
            category = Category(
                bank_id=bank_id,
                parent_id=parent.id if parent else None,
                name=parts[depth],
                path=full,
            )
            db.session.add(category)
            db.session.flush()
        parent = category
    return parent


# Questions ---------------------------------------------------------------------------------------


def duplicate_hash(data: QuestionData) -> str:
    stem, options = duplicate_key(data)
    text = stem + "\x00" + "\x00".join(sorted(options))
    return hashlib.sha256(text.encode()).hexdigest()


def version_data(version: QuestionVersion, category: str = "") -> QuestionData:
    """The :class:`QuestionData` a stored version holds."""
    citation = None
    if version.citation_law and version.citation_article:
        citation = Citation(
            law=version.citation_law,
            article=version.citation_article,
            version=version.citation_version,
            quote=version.citation_quote,
        )
    return QuestionData(
        type=version.type,
        stem=version.stem,
        options=tuple(version.options),
        answer=answer_from_json(version.type, version.answer),
        explanation=version.explanation,
        difficulty=version.difficulty,
        category=category,
        tags=tuple(version.tags),
        citation=citation,
    )


def question_data(question: Question) -> QuestionData:
    assert question.current_version is not None
    path = question.category.path if question.category else ""
    return version_data(question.current_version, path)


def _version_values(
    question_id: int, number: int, data: QuestionData, actor_id: int | None, now: datetime
) -> dict[str, Any]:
    citation = data.citation
    return dict(
        question_id=question_id,
        number=number,
        type=data.type,
        stem=data.stem,
        options=list(data.options),
        answer=answer_to_json(data),
        explanation=data.explanation,
        difficulty=data.difficulty,
        tags=list(data.tags),
        tags_text="," + ",".join(data.tags) + "," if data.tags else "",
        citation_law=citation.law if citation else None,
        citation_version=citation.version if citation else None,
        citation_article=citation.article if citation else None,
        citation_quote=citation.quote if citation else None,
        created_at=now,
        created_by_id=actor_id,
    )


def _new_version(
    question_id: int, number: int, data: QuestionData, actor_id: int | None, now: datetime
) -> QuestionVersion:
    return QuestionVersion(**_version_values(question_id, number, data, actor_id, now))


def check_question(data: QuestionData) -> None:
    """Raise :class:`QuestionInvalid` unless ``data`` keeps every rule (law library included)."""
    from contest.services.laws import citation_problems

    problems = validate(data)
    if data.citation is not None:
        problems += citation_problems(data.citation)
    if problems:
        raise QuestionInvalid(problems)


def _superseded_check(now: datetime) -> Callable[[Citation | None], bool]:
    """Whether a new question's citation names a superseded version: then it starts flagged
    for review, as the questions citing it were when the newer version came into force."""
    from contest.services.laws import superseded_check

    return superseded_check(local_day(now))


def add_question(
    bank_id: int,
    data: QuestionData,
    *,
    actor_id: int | None,
    now: datetime,
    status: QuestionStatus = QuestionStatus.DRAFT,
    checked: bool = False,
) -> Question:
    """Add a question with its first version (not committed). ``checked`` skips re-validation."""
    if not checked:
        check_question(data)
    category = ensure_category(bank_id, data.category)
    question = Question(
        bank_id=bank_id,
        category_id=category.id if category else None,
        status=status,
        duplicate_hash=duplicate_hash(data),
        needs_review=_superseded_check(now)(data.citation),
        created_at=now,
        updated_at=now,
    )
    db.session.add(question)
    db.session.flush()
    version = _new_version(question.id, 1, data, actor_id, now)
    db.session.add(version)
    db.session.flush()
    question.current_version_id = version.id
    db.session.add(
        StatusChange(
            question_id=question.id,
            from_status=None,
            to_status=status,
            changed_by_id=actor_id,
            changed_at=now,
        )
    )
    return question


def add_questions_bulk(
    bank_id: int,
    items: Sequence[QuestionData],
    *,
    actor_id: int | None,
    now: datetime,
    status: QuestionStatus,
) -> list[int]:
    """Add already-checked questions in a few statements (imports); returns their ids in order.

    Not committed. Writes the same rows as :func:`add_question` without a round trip per
    question: a 10,000-question import would otherwise spend most of its time in flushes.
    """
    if not items:
        return []
    cites_superseded = _superseded_check(now)
    category_ids = {}
    for path in {data.category for data in items}:
        category = ensure_category(bank_id, path)
        category_ids[path] = category.id if category else None
    question_ids = list(
        db.session.scalars(
            insert(Question).returning(Question.id, sort_by_parameter_order=True),
            [
                {
                    "bank_id": bank_id,
                    "category_id": category_ids[data.category],
                    "status": status,
                    "duplicate_hash": duplicate_hash(data),
                    "needs_review": cites_superseded(data.citation),
                    "created_at": now,
                    "updated_at": now,
                }
                for data in items
            ],
        )
    )
    version_ids = list(
        db.session.scalars(
            insert(QuestionVersion).returning(QuestionVersion.id, sort_by_parameter_order=True),
            [
                _version_values(qid, 1, data, actor_id, now)
                for qid, data in zip(question_ids, items, strict=True)
            ],
        )
    )
    db.session.execute(
        update(Question),
        [
            {"id": qid, "current_version_id": vid}
            for qid, vid in zip(question_ids, version_ids, strict=True)
        ],
    )
    db.session.execute(
        insert(StatusChange),
        [
            {
                "question_id": qid,
                "from_status": None,
                "to_status": status,
                "changed_by_id": actor_id,
                "changed_at": now,
                "note": "",
            }
            for qid in question_ids
        ],
    )
    return question_ids


def get_question(question_id: int, bank_id: int | None = None) -> Question:
    question = db.session.get(Question, question_id)
    if question is None or (bank_id is not None and question.bank_id != bank_id):
        raise NotFound(_("No question %(id)s.", id=question_id))
    return question


def edit_question(
    question_id: int,
    data: QuestionData,
    *,
    actor_id: int | None,
    now: datetime,
    checked: bool = False,
) -> QuestionVersion | None:
    """Save ``data`` as a new version (not committed); None when the content did not change.

    The category belongs to the question, not to its versions: moving a question to another
    category changes no version.
    """
    if not checked:
        check_question(data)
    question = get_question(question_id)
    current = question_data(question)
    category = ensure_category(question.bank_id, data.category)
    question.category_id = category.id if category else None
    if replace(current, category=data.category) == data:
        return None
    number = (
        db.session.scalar(
            select(func.max(QuestionVersion.number)).where(
                QuestionVersion.question_id == question_id
            )
        )
        or 0
    ) + 1
    version = _new_version(question_id, number, data, actor_id, now)
    db.session.add(version)
    db.session.flush()
    question.current_version_id = version.id
    question.duplicate_hash = duplicate_hash(data)
    question.updated_at = now
    question.needs_review = False
    return version


def mark_reviewed(question_id: int, *, actor_id: int | None, now: datetime) -> None:
    """Clear the needs-review flag after checking a question against the newer law text."""
    question = get_question(question_id)
    question.needs_review = False
    question.updated_at = now
    db.session.add(
        StatusChange(
            question_id=question.id,
            from_status=question.status,
            to_status=question.status,
            changed_by_id=actor_id,
            changed_at=now,
            note="reviewed against the newer law text",
        )
    )


def find_duplicates(bank_id: int, data: QuestionData, exclude_id: int | None = None) -> list[int]:
    """Ids of questions in the bank with the same normalised stem and option set."""
    query = select(Question.id).where(
        Question.bank_id == bank_id, Question.duplicate_hash == duplicate_hash(data)
    )
    if exclude_id is not None:
        query = query.where(Question.id != exclude_id)
    return list(db.session.scalars(query))


@dataclass
class StatusResult:
    changed: list[int]
    refused: list[tuple[int, QuestionStatus]]  # (question id, its status) that cannot move


def change_status(
    question_ids: Iterable[int],
    to: QuestionStatus,
    *,
    bank_id: int,
    actor_id: int | None,
    now: datetime,
    note: str = "",
) -> StatusResult:
    """Move questions to ``to`` where the workflow allows it (not committed)."""
    result = StatusResult([], [])
    ids = sorted(set(question_ids))
    questions = db.session.scalars(
        select(Question).where(Question.id.in_(ids), Question.bank_id == bank_id)
    ).all()
    found = {q.id for q in questions}
    for missing in ids:
        if missing not in found:
            raise NotFound(_("No question %(id)s.", id=missing))
    for question in questions:
        if to not in TRANSITIONS[question.status]:
            result.refused.append((question.id, question.status))
            continue
        db.session.add(
            StatusChange(
                question_id=question.id,
                from_status=question.status,
                to_status=to,
                changed_by_id=actor_id,
                changed_at=now,
                note=note[:200],
            )
        )
        question.status = to
        question.updated_at = now
        result.changed.append(question.id)
    return result


def versions(question_id: int) -> list[QuestionVersion]:
    return list(
        db.session.scalars(
            select(QuestionVersion)
            .where(QuestionVersion.question_id == question_id)
            .order_by(QuestionVersion.number.desc())
        )
    )


def status_changes(question_id: int) -> list[StatusChange]:
    return list(
        db.session.scalars(
            select(StatusChange)
            .where(StatusChange.question_id == question_id)
            .order_by(StatusChange.changed_at.desc(), StatusChange.id.desc())
        )
    )


# Search ------------------------------------------------------------------------------------------


@dataclass
class QuestionFilter:
    text: str = ""
    category: str = ""  # a path: the category and everything under it
    type: QuestionType | None = None
    difficulty: Difficulty | None = None
    status: QuestionStatus | None = None
    tag: str = ""
    law: str = ""
    needs_review: bool = False
    missing_explanation: bool = False


def search_query(bank_id: int, f: QuestionFilter) -> Select[Any]:
    """Questions of a bank matching ``f`` (current version loaded), newest first."""
    version = aliased(QuestionVersion)
    query = (
        select(Question)
        .join(version, version.id == Question.current_version_id)
        .options(contains_eager(Question.current_version.of_type(version)))
        .where(Question.bank_id == bank_id)
    )
    if f.text:
        like = f"%{_escape_like(f.text.strip())}%"
        query = query.where(
            or_(version.stem.like(like, escape="\\"), version.explanation.like(like, escape="\\"))
        )
    if f.category:
        path = f.category.strip("/")
        query = query.join(Category, Category.id == Question.category_id).where(
            or_(Category.path == path, Category.path.like(_escape_like(path) + "/%", escape="\\"))
        )
    if f.type:
        query = query.where(version.type == f.type)
    if f.difficulty:
        query = query.where(version.difficulty == f.difficulty)
    if f.status:
        query = query.where(Question.status == f.status)
    if f.tag:
        query = query.where(version.tags_text.like(f"%,{_escape_like(f.tag)},%", escape="\\"))
    if f.law:
        query = query.where(version.citation_law == f.law)
    if f.needs_review:
        query = query.where(Question.needs_review.is_(True))
    if f.missing_explanation:
        query = query.where(version.explanation == "")
    return query.order_by(Question.id.desc())


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def status_counts(bank_id: int) -> dict[QuestionStatus, int]:
    rows = db.session.execute(
        select(Question.status, func.count())
        .where(Question.bank_id == bank_id)
        .group_by(Question.status)
    ).all()
    return {status: count for status, count in rows}


# Export ------------------------------------------------------------------------------------------


def bank_questions(
    bank_id: int,
    statuses: Sequence[QuestionStatus] | None = None,
) -> list[QuestionData]:
    """Every question of a bank as data, in id order (for export)."""
    query = search_query(bank_id, QuestionFilter()).order_by(None).order_by(Question.id)
    if statuses:
        query = query.where(Question.status.in_(statuses))
    paths = dict(
        db.session.execute(
            select(Category.id, Category.path).where(Category.bank_id == bank_id)
        ).all()
    )
    return [
        version_data(question.current_version, paths.get(question.category_id, ""))
        for question in db.session.scalars(query)
    ]


@dataclass(frozen=True)
class ExportFile:
    """An exported bank: the bytes, their media type and the file name extension (``.zip`` for
    a sheet with its images)."""

    content: bytes
    media_type: str
    extension: str


def export_file(
    bank_id: int, format_name: str, statuses: Sequence[QuestionStatus] | None = None
) -> ExportFile:
    """The bank's questions (with ``statuses``, default all) as a file in the format."""
    from question_bank.formats import get_format

    content = export_bank(bank_id, format_name, statuses)
    media_type, extension = get_format(format_name).file_type(content)
    return ExportFile(content, media_type, extension)


def export_bank(
    bank_id: int, format_name: str, statuses: Sequence[QuestionStatus] | None = None
) -> bytes:
    """The bytes of :func:`export_file`."""
    from contest.services.images import contents
    from question_bank.formats import get_format
    from question_bank.images import referenced

    fmt = get_format(format_name)
    questions = bank_questions(bank_id, statuses)
    images: Mapping[str, bytes] = {}
    if fmt.carries_images:  # the images the texts link to travel with them
        texts = (t for q in questions for t in (q.stem, q.explanation, *q.options))
        images = contents(referenced(texts))
    return fmt.write(questions, images)
