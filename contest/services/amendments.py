"""After a law is amended: the law library's versions as of a day, the review queue of the
questions citing a superseded version, moving their citations to the version in force, and the
rounds whose pools still hold such questions.

How an old article is matched to the new version, how the diff is made and which article numbers
in a question's text are rewritten is :mod:`question_bank.amendments`' business. A citation moves
in one click only where the wording is unchanged or the quoted words are found verbatim in the
new article; the move is an ordinary edit (:func:`contest.services.bank.edit_question`: a new
question version, the duplicate hash kept right, the review flag cleared) and is audited.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path, PurePath

from flask_babel import gettext as _
from sqlalchemy import func, select

from contest.errors import Conflict, InvalidInput, NotFound
from contest.extensions import db
from contest.models import Round, User
from contest.services import audit, blueprints
from contest.services import bank as bank_service
from contest.services.laws import (
    LawImportReport,
    cites_superseded,
    flag_superseded,
    import_laws,
    set_in_force,
    superseded_versions,
)
from question_bank import amendments
from question_bank.domain import QuestionData
from question_bank.laws import Article, law_key
from question_bank.models import Law, LawArticle, LawVersion, Question, QuestionVersion
from question_bank.numerals import int_to_chinese

LAW_FILE_MAX = 2 * 1024 * 1024  # bytes; the longest law we know is about 100 KB


# The library as of a day -------------------------------------------------------------------------


CURRENT, SUPERSEDED, PENDING = "current", "superseded", "pending"


@dataclass(frozen=True)
class VersionState:
    version: LawVersion
    state: str  # CURRENT (in force), SUPERSEDED (a newer one is in force), PENDING (not yet)
    articles: int

    @property
    def effective_from(self) -> str:
        return self.version.in_force or self.version.version


def in_force_version(law: Law, today: date) -> LawVersion | None:
    """The version of ``law`` in force on ``today``: the latest to take effect by then (a
    version without an in-force date counts from its adoption)."""
    day = today.isoformat()
    started = [v for v in law.versions if (v.in_force or v.version) <= day]
    return max(started, key=lambda v: (v.in_force or v.version, v.version), default=None)


def version_states(law: Law, today: date) -> list[VersionState]:
    """Each version of ``law``, newest first, with its state on ``today``."""
    current = in_force_version(law, today)
    counts = dict(
        db.session.execute(
            select(LawArticle.law_version_id, func.count())
            .join(LawVersion, LawVersion.id == LawArticle.law_version_id)
            .where(LawVersion.law_id == law.id)
            .group_by(LawArticle.law_version_id)
        ).all()
    )
    states = []
    for version in sorted(law.versions, key=lambda v: v.version, reverse=True):
        if version is current:
            state = CURRENT
        elif (version.in_force or version.version) > today.isoformat():
            state = PENDING
        else:
            state = SUPERSEDED
        states.append(VersionState(version, state, counts.get(version.id, 0)))
    return states


def articles_of(version_id: int) -> dict[int, Article]:
    """The articles of one law version by number."""
    return {
        a.number: Article(a.number, a.chapter, a.text)
        for a in db.session.scalars(
            select(LawArticle)
            .where(LawArticle.law_version_id == version_id)
            .order_by(LawArticle.number)
        )
    }


def set_version_in_force(
    version_id: int, day: date | None, *, today: date, actor: User | None = None
) -> int:
    """An organizer sets (or with None clears) when a law version takes effect; audited, not
    committed. Returns how many questions are newly flagged for review."""
    version = db.session.get(LawVersion, version_id)
    if version is None:
        raise NotFound(_("No law version %(id)s.", id=version_id))
    if day is not None and day.isoformat() < version.version:
        raise InvalidInput(
            _(
                "A version cannot take effect before it was adopted (%(adopted)s).",
                adopted=version.version,
            )
        )
    before = {"in_force": version.in_force, "in_force_source": version.in_force_source}
    flagged = set_in_force(version, day, today=today)
    audit.record(
        "law_version.in_force",
        target_type="law_version",
        target_id=version.id,
        before=before,
        after={"in_force": version.in_force, "in_force_source": version.in_force_source},
        reason=f"{version.law.short_title} ({version.version})",
        actor=actor,
    )
    return flagged


def import_upload(
    filename: str,
    content: bytes,
    *,
    in_force: date | None,
    today: date,
    actor: User | None = None,
) -> LawImportReport:
    """Import one uploaded law file (``*.md``, its name carrying the version as for
    ``contest laws import``); audited and committed as the import is."""
    name = PurePath(filename.replace("\\", "/")).name
    if not name.lower().endswith(".md") or name.startswith("."):
        raise InvalidInput(_("Upload a Markdown law file (*.md)."))
    if len(content) > LAW_FILE_MAX:
        raise InvalidInput(_("The law file is larger than 2 MB."))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        with open(path, "wb") as file:
            file.write(content)
            os.fsync(file.fileno())
        report = import_laws(path, in_force=in_force, today=today)
    audit.record(
        "law.import",
        target_type="law",
        after={
            "file": name,
            "imported": [f"{t} ({v})" for t, v, _n in report.imported],
            "in_force": in_force.isoformat() if in_force else None,
        },
        actor=actor,
    )
    db.session.commit()
    return report


# The review queue --------------------------------------------------------------------------------


@dataclass
class ReviewRow:
    """A question whose current version cites a superseded version of a law."""

    question: Question
    cited: QuestionVersion
    law: Law
    current: LawVersion  # the version in force
    old: Article | None  # the cited article (None: no version named, or not imported)
    proposal: amendments.Proposal | None

    @property
    def one_click(self) -> bool:
        return self.old is not None and self.proposal is not None and self.proposal.one_click

    @property
    def unchanged(self) -> bool:
        return self.one_click and self.proposal is not None and self.proposal.identical

    @property
    def changes(self) -> list[tuple[str, str]]:
        if self.old is None or self.proposal is None:
            return []
        return amendments.diff(self.old.text, self.proposal.new.text)


def review_queue(today: date, question_ids: Iterable[int] | None = None) -> list[ReviewRow]:
    """Every question whose current version cites a version of a law superseded on ``today``
    (or no version of such a law), oldest question first, with the article its citation would
    move to. Flags them for review first (not committed)."""
    flag_superseded(today)
    wanted = set(question_ids) if question_ids is not None else None
    rows: list[ReviewRow] = []
    for law, _older, current in superseded_versions(today).values():
        spellings = _spellings(law)
        query = (
            select(Question, QuestionVersion)
            .join(QuestionVersion, QuestionVersion.id == Question.current_version_id)
            .where(QuestionVersion.citation_law.in_(spellings))
            .order_by(Question.id)
        )
        if wanted is not None:
            query = query.where(Question.id.in_(wanted))
        versions = {v.version: v for v in law.versions}
        texts: dict[int, dict[int, Article]] = {}
        proposals: dict[tuple[int, int, str | None], amendments.Proposal | None] = {}
        new_articles = texts.setdefault(current.id, articles_of(current.id))
        for question, cited in db.session.execute(query):
            if cited.citation_version is not None and cited.citation_version >= current.version:
                continue
            old = None
            cited_version = versions.get(cited.citation_version or "")
            if cited_version is not None and cited.citation_article is not None:
                if cited_version.id not in texts:
                    texts[cited_version.id] = articles_of(cited_version.id)
                old = texts[cited_version.id].get(cited.citation_article)
            proposal = None
            if old is not None:
                key = (cited_version.id if cited_version else 0, old.number, cited.citation_quote)
                if key not in proposals:
                    proposals[key] = amendments.propose(old, new_articles, cited.citation_quote)
                proposal = proposals[key]
            rows.append(ReviewRow(question, cited, law, current, old, proposal))
    return sorted(rows, key=lambda row: row.question.id)


def _spellings(law: Law) -> list[str]:
    keys = (law_key(law.title), law_key(law.short_title))
    return [
        name
        for name in db.session.scalars(
            select(QuestionVersion.citation_law)
            .where(QuestionVersion.citation_law.is_not(None))
            .distinct()
        )
        if name and law_key(name) in keys
    ]


@dataclass
class Applied:
    """A citation moved to the version in force."""

    question_id: int
    version_number: int
    old: str  # "网络安全法 (2016-11-07) 第二十一条"
    new: str
    rewritten: int  # article numbers rewritten in the stem and explanation
    left: list[str] = field(default_factory=list)  # fields still naming the old number


def apply_update(question_id: int, *, today: date, actor: User | None, now: datetime) -> Applied:
    """Move one question's citation to the article proposed in the version in force, as a new
    question version (not committed). Refused unless the row is a one-click update."""
    rows = review_queue(today, [question_id])
    if not rows:
        raise NotFound(
            _("Question #%(id)d cites no superseded version of a law.", id=question_id),
            code="not_in_review",
        )
    return _apply(rows[0], actor=actor, now=now)


def apply_unchanged(*, today: date, actor: User | None, now: datetime) -> list[Applied]:
    """Move every citation whose article's wording is unchanged (not committed)."""
    return [_apply(row, actor=actor, now=now) for row in review_queue(today) if row.unchanged]


def _label(law: str, version: str | None, article: int) -> str:
    return f"{law} ({version or '-'}) 第{int_to_chinese(article)}条"


def _apply(row: ReviewRow, *, actor: User | None, now: datetime) -> Applied:
    if not row.one_click or row.old is None or row.proposal is None:
        raise Conflict(
            _(
                "The wording of the article cited by question #%(id)d changed: "
                "edit the question instead.",
                id=row.question.id,
            ),
            code="wording_changed",
        )
    data = bank_service.question_data(row.question)
    assert data.citation is not None
    old_number, new_number = row.old.number, row.proposal.new.number
    names = [row.law.title, row.law.short_title, data.citation.law]
    stem, in_stem = amendments.rewrite_article_numbers(data.stem, names, old_number, new_number)
    explanation, in_explanation = amendments.rewrite_article_numbers(
        data.explanation, names, old_number, new_number
    )
    citation = replace(data.citation, version=row.current.version, article=new_number)
    updated = replace(data, stem=stem, explanation=explanation, citation=citation)
    version = bank_service.edit_question(
        row.question.id, updated, actor_id=actor.id if actor else None, now=now
    )
    assert version is not None  # the citation changed
    applied = Applied(
        question_id=row.question.id,
        version_number=version.number,
        old=_label(data.citation.law, data.citation.version, old_number),
        new=_label(citation.law, citation.version, new_number),
        rewritten=in_stem + in_explanation,
        left=_still_naming(updated, old_number) if old_number != new_number else [],
    )
    if applied.left:  # the text or key still names the old number: an organizer looks again
        row.question.needs_review = True
    audit.record(
        "question.cite_in_force",
        target_type="question",
        target_id=row.question.id,
        before={"citation": applied.old, "version": row.cited.number},
        after={
            "citation": applied.new,
            "version": version.number,
            "similarity": round(row.proposal.similarity, 3),
            "rewritten": applied.rewritten,
        },
        actor=actor,
    )
    return applied


def _still_naming(data: QuestionData, number: int) -> list[str]:
    """The fields of ``data`` that still say 第<number>条 (left alone: no law named before it)."""
    spelled = (f"第{int_to_chinese(number)}条", f"第{number}条")
    fields = {
        "stem": data.stem,
        "explanation": data.explanation,
        "options": "\n".join(data.options),
    }
    left = [name for name, text in fields.items() if any(s in text for s in spelled)]
    # a key may hold the number bare (a blank after 第____条 accepts "二十一" or "21")
    key = json.dumps(data.answer, ensure_ascii=False)
    if int_to_chinese(number) in key or re.search(rf"(?<!\d){number}(?!\d)", key):
        left.append("answer")
    return left


# Rounds ------------------------------------------------------------------------------------------


def superseded_in_pool(round_: Round, day: date) -> int:
    """How many questions of the round's pool (the published questions its blueprint draws from)
    cite a version of a law superseded on ``day``."""
    condition = cites_superseded(day)
    if condition is None:
        return 0
    try:
        rows = blueprints.blueprint_rows(round_.blueprint or [])
    except InvalidInput:
        return 0
    version_ids = {
        candidate.version_id
        for row in rows
        for candidate in blueprints.candidates(round_.bank_id, row)
    }
    if not version_ids:
        return 0
    return (
        db.session.scalar(
            select(func.count())
            .select_from(QuestionVersion)
            .where(QuestionVersion.id.in_(version_ids), condition)
        )
        or 0
    )
