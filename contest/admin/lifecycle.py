"""Organizer pages for a contest's life: publish, finish, reopen, archive, unarchive, copy,
delete a draft, and the round preview (see :mod:`contest.services.lifecycle` for the rules).

The preview is read-only: it draws a paper from the round's blueprint on the fly, as a start
would (shuffles included), and shows it with the answer key under a 预览 banner. No attempt is
made, so nothing reaches the boards or the round's figures, and it works at any stage (a draft's
rounds first of all). Each reload draws another paper.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from contest.admin import bp
from contest.admin.contests import contest_page
from contest.admin.forms import _type_choices as type_choices
from contest.errors import DomainError
from contest.extensions import db
from contest.models import Contest, ContestStatus, Round
from contest.services import blueprints, lifecycle
from question_bank import markdown
from question_bank.domain import QuestionType
from question_bank.models import QuestionVersion
from question_bank.papers import PaperItem, draw_paper

LETTERS = "ABCDEFGH"  # as the attempt page labels choices


def _now() -> datetime:
    return datetime.now(UTC)


def _actor() -> Any:
    return current_user._get_current_object()


def _checked_form() -> None:
    """The transition buttons post an empty form: its CSRF token is all there is to check."""
    if not FlaskForm().validate_on_submit():
        abort(400)


def _back(contest_id: int) -> Any:
    return redirect(url_for("admin.contest", contest_id=contest_id))


@bp.route("/contests/<int:contest_id>/publish", methods=["POST"])
def publish_contest(contest_id: int) -> Any:
    db.get_or_404(Contest, contest_id)
    _checked_form()
    try:
        contest = lifecycle.publish(contest_id, now=_now(), actor=_actor())
        db.session.commit()
    except lifecycle.PublishRefused as exc:
        db.session.rollback()
        contest = db.get_or_404(Contest, contest_id)
        _flash_law_warnings(contest)
        return contest_page(contest, problems=exc.problems, status=422)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _back(contest_id)
    flash(_("%(title)s is published: contestants and spectators see it now.", title=contest.title))
    _flash_law_warnings(contest)
    return _back(contest_id)


def _flash_law_warnings(contest: Contest) -> None:
    """Rounds whose pools cite superseded law articles: a warning, publishing goes ahead."""
    for warning in lifecycle.law_warnings(contest, _now()):
        flash(warning, "warning")


@bp.route("/contests/<int:contest_id>/finish", methods=["POST"])
def finish_contest(contest_id: int) -> Any:
    return _simple_transition(
        contest_id,
        lifecycle.finish,
        _(
            "The contest is finished: its boards and results stay readable; it takes no new "
            "attempts or registrations."
        ),
    )


@bp.route("/contests/<int:contest_id>/archive", methods=["POST"])
def archive_contest(contest_id: int) -> Any:
    return _simple_transition(
        contest_id,
        lifecycle.archive,
        _("The contest is archived: it is off the lists, and every record is kept."),
    )


@bp.route("/contests/<int:contest_id>/reopen", methods=["POST"])
def reopen_contest(contest_id: int) -> Any:
    """A finished contest published again (a finish too early is taken back)."""
    return _simple_transition(
        contest_id,
        lifecycle.reopen,
        _("The contest is published again: its open rounds take attempts and registrations."),
    )


@bp.route("/contests/<int:contest_id>/unarchive", methods=["POST"])
def unarchive_contest(contest_id: int) -> Any:
    """An archived contest back to finished: on the lists again and editable."""
    return _simple_transition(
        contest_id,
        lifecycle.unarchive,
        _("The contest is unarchived: it is finished again and back on the lists."),
    )


def _simple_transition(contest_id: int, move: Any, done: str) -> Any:
    db.get_or_404(Contest, contest_id)
    _checked_form()
    try:
        move(contest_id, now=_now(), actor=_actor())
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(done, "success")
    return _back(contest_id)


@bp.route("/contests/<int:contest_id>/copy", methods=["POST"])
def copy_contest(contest_id: int) -> Any:
    db.get_or_404(Contest, contest_id)
    _checked_form()
    contest = lifecycle.copy_contest(contest_id, now=_now(), actor=_actor())
    db.session.commit()
    flash(_("Copied as the draft %(title)s.", title=contest.title), "success")
    return _back(contest.id)


@bp.route("/contests/<int:contest_id>/delete", methods=["GET", "POST"])
def delete_contest(contest_id: int) -> Any:
    """A confirmation page, then the deletion (drafts only)."""
    contest = db.get_or_404(Contest, contest_id)
    form = FlaskForm()
    if contest.status is not ContestStatus.DRAFT:
        flash(_("Only a draft can be deleted."), "error")
        return _back(contest_id)
    if form.validate_on_submit():
        title = contest.title
        lifecycle.delete_draft(contest_id, actor=_actor())
        db.session.commit()
        flash(_("The draft %(title)s is deleted.", title=title), "success")
        return redirect(url_for("admin.contests", status="draft"))
    return render_template("admin/contests/delete.html", contest=contest, form=form)


# Preview -----------------------------------------------------------------------------------------


@dataclass
class PreviewItem:
    position: int
    type: str
    points: int
    stem_html: str
    options: list[tuple[str, str]]  # (letter, html) in the order a contestant sees them
    key: str
    explanation_html: str


def _key_text(version: QuestionVersion, order: tuple[int, ...]) -> str:
    """The answer key as the paper shows it: letters in the shown order, 对/错, the blanks."""
    letter = {index: LETTERS[shown : shown + 1] for shown, index in enumerate(order)}
    key = version.answer
    if version.type is QuestionType.SINGLE:
        return letter.get(key, "")
    if version.type is QuestionType.MULTIPLE:
        return "、".join(sorted(letter.get(i, "") for i in key))
    if version.type is QuestionType.ORDERING:
        return " → ".join(letter.get(i, "") for i in key)
    if version.type is QuestionType.TRUE_FALSE:
        return _("True") if key else _("False")
    return "；".join(" / ".join(accepted) for accepted in key)


def _preview_items(paper: list[PaperItem]) -> list[PreviewItem]:
    ids = [item.version_id for item in paper]
    versions = {
        v.id: v
        for v in db.session.scalars(select(QuestionVersion).where(QuestionVersion.id.in_(ids)))
    }
    items = []
    for item in paper:
        version = versions[item.version_id]
        items.append(
            PreviewItem(
                position=item.position,
                type=version.type.value,
                points=item.points,
                stem_html=markdown.render(version.stem),
                options=[
                    (LETTERS[shown : shown + 1], markdown.render_inline(version.options[index]))
                    for shown, index in enumerate(item.option_order)
                ],
                key=_key_text(version, item.option_order),
                explanation_html=markdown.render(version.explanation or ""),
            )
        )
    return items


def draw_preview(round_: Round) -> tuple[list[PreviewItem], str]:
    """A paper drawn as a start would draw it, or no paper and the reason."""
    try:
        rows = blueprints.blueprint_rows(round_.blueprint or [])
        pools = [blueprints.candidates(round_.bank_id, row) for row in rows]
        paper = draw_paper(
            rows,
            pools,
            secrets.randbits(62),
            shuffle_questions=round_.shuffle_questions,
            shuffle_options=round_.shuffle_options,
        )
    except DomainError as exc:
        return [], exc.message
    except ValueError:
        return [], _("The question bank cannot fill this round's paper.")
    return _preview_items(paper), ""


@bp.route("/rounds/<int:round_id>/preview")
def preview_round(round_id: int) -> Any:
    """The round as a contestant would read it: its rules and a freshly drawn paper."""
    round_ = db.get_or_404(Round, round_id)
    items, problem = draw_preview(round_)
    rows = round_.blueprint or []
    return render_template(
        "admin/contests/preview.html",
        round=round_,
        contest=round_.contest,
        items=items,
        problem=problem,
        question_count=sum(int(r.get("count") or 0) for r in rows),
        max_score=sum(int(r.get("count") or 0) * int(r.get("points") or 0) for r in rows),
        type_labels=dict(type_choices()),
    )
