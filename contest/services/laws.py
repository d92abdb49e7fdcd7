"""The law library: importing law texts, checking citations, flagging questions for review."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import or_, select, update

from contest.extensions import db
from question_bank.domain import N_, Citation, Problem
from question_bank.formats.text import decode
from question_bank.laws import Article, LawText, check_citation, law_key, matches_law, parse_law
from question_bank.models import Law, LawArticle, LawVersion, Question, QuestionVersion


@dataclass
class LawImportReport:
    imported: list[tuple[str, str, int]] = field(default_factory=list)  # title, version, articles
    unchanged: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[Problem] = field(default_factory=list)
    flagged_questions: int = 0


def import_laws(path: Path) -> LawImportReport:
    """Import one law file or every ``*.md`` file of a folder (committed at the end)."""
    files = sorted(path.glob("*.md")) if path.is_dir() else [path]
    report = LawImportReport()
    for file in files:
        text, problem = decode(file.read_bytes())
        if problem is not None or text is None:
            report.skipped.append(
                Problem(
                    0, N_("%(file)s is neither UTF-8 nor GBK text; skipped."), {"file": file.name}
                )
            )
            continue
        parsed = parse_law(file.name, text)
        if isinstance(parsed, Problem):
            report.skipped.append(parsed)
            continue
        _store(parsed, report)
    db.session.commit()
    return report


def _store(text: LawText, report: LawImportReport) -> None:
    law = db.session.scalar(select(Law).where(Law.short_title == text.short_title))
    if law is None:
        law = Law(title=text.title, short_title=text.short_title)
        db.session.add(law)
        db.session.flush()
    if any(v.version == text.version for v in law.versions):
        report.unchanged.append((text.title, text.version))
        return
    version = LawVersion(law_id=law.id, version=text.version)
    db.session.add(version)
    db.session.flush()
    db.session.add_all(
        LawArticle(law_version_id=version.id, number=a.number, chapter=a.chapter, text=a.text)
        for a in text.articles.values()
    )
    report.imported.append((text.title, text.version, len(text.articles)))
    report.flagged_questions += _flag_citing_older(law, text.version)


def _flag_citing_older(law: Law, new_version: str) -> int:
    """Mark questions whose current version cites an older version of ``law`` as needing review.

    They stay in live rounds: a round's paper points at question versions, which never change.
    """
    # Citations may spell the law with or without 中华人民共和国 or 《》: match as the checker does.
    spellings = [
        name
        for name in db.session.scalars(
            select(QuestionVersion.citation_law)
            .where(QuestionVersion.citation_law.is_not(None))
            .distinct()
        )
        if name and law_key(name) in (law_key(law.title), law_key(law.short_title))
    ]
    citing = select(QuestionVersion.id).where(
        QuestionVersion.citation_law.in_(spellings),
        or_(
            QuestionVersion.citation_version.is_(None),
            QuestionVersion.citation_version < new_version,
        ),
    )
    result = db.session.execute(
        update(Question)
        .where(Question.current_version_id.in_(citing))
        .values(needs_review=True)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


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
