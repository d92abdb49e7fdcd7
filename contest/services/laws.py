"""The law library: importing law texts, checking citations, flagging questions for review."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from sqlalchemy import ColumnElement, and_, or_, select, update

from contest.extensions import db
from question_bank.domain import N_, Citation, Problem
from question_bank.formats.text import decode
from question_bank.laws import (
    AmendingDecision,
    Article,
    LawText,
    check_citation,
    law_key,
    matches_law,
    parse_amending_decision,
    parse_law,
)
from question_bank.models import Law, LawArticle, LawVersion, Question, QuestionVersion


@dataclass
class LawImportReport:
    imported: list[tuple[str, str, int]] = field(default_factory=list)  # title, version, articles
    unchanged: list[tuple[str, str]] = field(default_factory=list)
    dated: list[tuple[str, str, str]] = field(default_factory=list)  # title, version, in force
    skipped: list[Problem] = field(default_factory=list)
    flagged_questions: int = 0


def import_laws(
    path: Path, *, in_force: date | None = None, today: date | None = None
) -> LawImportReport:
    """Import one law file or every ``*.md`` file of a folder (committed at the end).

    A version's in-force date comes from ``in_force`` (an organizer's, for one file), else from
    its file, else from an amending decision imported with it or before it was imported (a
    decision file on its own dates the version it made). Questions citing a version that a
    newer one has superseded by ``today`` are then flagged for review.
    """
    files = sorted(path.glob("*.md")) if path.is_dir() else [path]
    report = LawImportReport()
    texts: list[LawText] = []
    decisions: list[AmendingDecision] = []
    for file in files:
        text, problem = decode(file.read_bytes())
        if problem is not None or text is None:
            report.skipped.append(
                Problem(
                    0, N_("%(file)s is neither UTF-8 nor GBK text; skipped."), {"file": file.name}
                )
            )
            continue
        if (decision := parse_amending_decision(file.name, text)) is not None:
            decisions.append(decision)
            continue
        parsed = parse_law(file.name, text)
        if isinstance(parsed, Problem):
            report.skipped.append(parsed)
            continue
        texts.append(parsed)
    for parsed in texts:
        if in_force is not None:
            _store(replace(parsed, in_force=in_force.isoformat()), "organizer", report)
        else:
            _store(parsed, "file" if parsed.in_force else None, report)
    for decision in decisions:
        _date_by_decision(decision, report)
    db.session.flush()
    report.flagged_questions = flag_superseded(today or date.today())
    db.session.commit()
    return report


def _store(text: LawText, source: str | None, report: LawImportReport) -> None:
    law = db.session.scalar(select(Law).where(Law.short_title == text.short_title))
    if law is None:
        law = Law(title=text.title, short_title=text.short_title)
        db.session.add(law)
        db.session.flush()
    existing = next((v for v in law.versions if v.version == text.version), None)
    if existing is not None:
        if source == "organizer" or (existing.in_force is None and text.in_force):
            existing.in_force, existing.in_force_source = text.in_force, source
            report.dated.append((text.title, text.version, text.in_force or ""))
        else:
            report.unchanged.append((text.title, text.version))
        return
    version = LawVersion(
        law_id=law.id, version=text.version, in_force=text.in_force, in_force_source=source
    )
    db.session.add(version)
    db.session.flush()
    db.session.add_all(
        LawArticle(law_version_id=version.id, number=a.number, chapter=a.chapter, text=a.text)
        for a in text.articles.values()
    )
    report.imported.append((text.title, text.version, len(text.articles)))


def _date_by_decision(decision: AmendingDecision, report: LawImportReport) -> None:
    """Give the version ``decision`` made its in-force date, unless one was set otherwise."""
    if decision.in_force is None:
        return
    key = law_key(decision.law)
    for law in db.session.scalars(select(Law)):
        if key not in (law_key(law.title), law_key(law.short_title)):
            continue
        for version in law.versions:
            if version.version == decision.version and version.in_force_source in (
                None,
                "decision",
            ):
                if version.in_force != decision.in_force:
                    report.dated.append((law.title, version.version, decision.in_force))
                version.in_force, version.in_force_source = decision.in_force, "decision"


def set_in_force(version: LawVersion, day: date | None, *, today: date | None = None) -> int:
    """An organizer sets (or with None clears) when ``version`` takes effect; the flags follow.
    Returns how many questions are newly flagged. Not committed."""
    version.in_force = day.isoformat() if day else None
    version.in_force_source = "organizer" if day else None
    db.session.flush()
    return flag_superseded(today or date.today())


def superseded_versions(today: date) -> dict[int, tuple[Law, list[str], LawVersion]]:
    """Per law id: the law, the versions superseded on ``today`` and the version in force then,
    for every law with a newer version in force."""
    found: dict[int, tuple[Law, list[str], LawVersion]] = {}
    day = today.isoformat()
    for law in db.session.scalars(select(Law)):
        started = [v for v in law.versions if (v.in_force or v.version) <= day]
        current = max(started, key=lambda v: (v.in_force or v.version, v.version), default=None)
        if current is None:
            continue
        older = [v.version for v in law.versions if v.version < current.version]
        if older:
            found[law.id] = (law, older, current)
    return found


def _spellings(law: Law) -> list[str]:
    """The ways citations spell ``law`` (with or without 中华人民共和国 or 《》)."""
    return [
        name
        for name in db.session.scalars(
            select(QuestionVersion.citation_law)
            .where(QuestionVersion.citation_law.is_not(None))
            .distinct()
        )
        if name and law_key(name) in (law_key(law.title), law_key(law.short_title))
    ]


def cites_superseded(today: date) -> ColumnElement[bool] | None:
    """A condition on :class:`QuestionVersion`: it cites a version of a law that a newer version
    has superseded by ``today`` (or names no version); None when no law has such a version."""
    clauses = [
        and_(
            QuestionVersion.citation_law.in_(_spellings(law)),
            or_(
                QuestionVersion.citation_version.is_(None),
                QuestionVersion.citation_version < current.version,
            ),
        )
        for law, _older, current in superseded_versions(today).values()
    ]
    return or_(*clauses) if clauses else None


def superseded_check(today: date) -> Callable[[Citation | None], bool]:
    """A test of citations: does it cite a version of a law that a newer one has superseded by
    ``today`` (or name no version of such a law)? For questions written or imported after the
    newer version came into force, which :func:`flag_superseded` (once per version) missed."""
    current = {}
    for law, _older, in_force in superseded_versions(today).values():
        current[law_key(law.title)] = current[law_key(law.short_title)] = in_force.version

    def cites_superseded(citation: Citation | None) -> bool:
        if citation is None or (version := current.get(law_key(citation.law))) is None:
            return False
        return citation.version is None or citation.version < version

    return cites_superseded


def flag_superseded(today: date) -> int:
    """Once per version that has come into force by ``today``: mark the questions whose current
    version cites an older version of its law (or names no version) as needing review; returns
    how many were newly marked. Not committed.

    Once per version, so that a question an organizer reviewed and kept (a question on the law's
    history) is not flagged again by the next check; the review queue lists every question citing
    a superseded version whatever its flag. Flagged questions stay in live rounds: a round's paper
    points at question versions, which never change.
    """
    flagged = 0
    for law, _older, current in superseded_versions(today).values():
        if current.review_flagged:
            continue
        current.review_flagged = True
        citing = select(QuestionVersion.id).where(
            QuestionVersion.citation_law.in_(_spellings(law)),
            or_(
                QuestionVersion.citation_version.is_(None),
                QuestionVersion.citation_version < current.version,
            ),
        )
        result = db.session.execute(
            update(Question)
            .where(Question.current_version_id.in_(citing), Question.needs_review.is_(False))
            .values(needs_review=True)
            .execution_options(synchronize_session=False)
        )
        flagged += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return flagged


def load_library() -> list[LawText]:
    """Every imported law version as a :class:`LawText` (for citation checks)."""
    library: dict[int, LawText] = {}
    rows = db.session.execute(
        select(Law, LawVersion, LawArticle)
        .join(LawVersion, LawVersion.law_id == Law.id)
        .join(LawArticle, LawArticle.law_version_id == LawVersion.id)
    ).all()
    for law, version, article in rows:
        text = library.setdefault(
            version.id,
            LawText(
                title=law.title,
                short_title=law.short_title,
                version=version.version,
                chapters=[],
                articles={},
                in_force=version.in_force,
            ),
        )
        text.articles[article.number] = Article(article.number, article.chapter, article.text)
    return list(library.values())


def citation_problems(citation: Citation, library: list[LawText] | None = None) -> list[Problem]:
    """Problems with a citation of a law the library knows; none for laws it does not know."""
    laws = load_library() if library is None else library
    if not any(matches_law(law, citation.law) for law in laws):
        return []
    return check_citation(citation, laws)


def cited_article(citation: Citation) -> tuple[LawText, Article] | None:
    """The article a citation names (the cited version, else the newest), if imported."""
    candidates = [
        law
        for law in load_library()
        if matches_law(law, citation.law)
        and (citation.version is None or law.version == citation.version)
    ]
    if not candidates:
        return None
    law = max(candidates, key=lambda t: t.version)
    article = law.articles.get(citation.article)
    return (law, article) if article else None
