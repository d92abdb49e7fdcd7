"""Organizer pages for the law library: the laws and their versions (which is in force today),
one law's articles, setting when a version takes effect, importing a law file, and the review
queue of questions citing a superseded version (see :mod:`contest.services.amendments`)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import DateField
from wtforms.validators import Optional

from contest.admin import bp
from contest.errors import DomainError
from contest.extensions import db
from contest.http_limits import takes_upload
from contest.i18n import local_day
from contest.services import amendments
from question_bank.models import Bank, Law, LawVersion


def _now() -> datetime:
    return datetime.now(UTC)


def local_today() -> date:
    return local_day(_now())


def _actor() -> Any:
    return current_user._get_current_object()


class InForceForm(FlaskForm):
    in_force = DateField(_l("In force from"), validators=[Optional()])


class LawUploadForm(FlaskForm):
    file = FileField(_l("Law file (.md)"), validators=[FileRequired()])
    in_force = DateField(_l("In force from (optional)"), validators=[Optional()])


class ActionForm(FlaskForm):
    """The queue's buttons post an empty form: its CSRF token is all there is to check."""


@bp.route("/laws")
def laws() -> Any:
    today = local_today()
    rows = [
        (law, amendments.version_states(law, today))
        for law in db.session.scalars(select(Law).order_by(Law.short_title))
    ]
    return render_template(
        "admin/laws/index.html",
        rows=rows,
        today=today,
        upload_form=LawUploadForm(formdata=None),
    )


@bp.route("/laws/<int:law_id>")
def law(law_id: int) -> Any:
    law = db.get_or_404(Law, law_id)
    today = local_today()
    states = amendments.version_states(law, today)
    chosen = request.args.get("version", type=int)
    shown = next((s for s in states if s.version.id == chosen), None)
    if shown is None:
        shown = next(
            (s for s in states if s.state == amendments.CURRENT), states[0] if states else None
        )
    chapters: list[tuple[str, list[Any]]] = []
    if shown is not None:
        for article in amendments.articles_of(shown.version.id).values():
            if not chapters or chapters[-1][0] != article.chapter:
                chapters.append((article.chapter, []))
            chapters[-1][1].append(article)
    forms = {}
    for state in states:
        form = InForceForm(formdata=None, prefix=f"v{state.version.id}")
        form.in_force.data = (
            date.fromisoformat(state.version.in_force) if state.version.in_force else None
        )
        forms[state.version.id] = form
    return render_template(
        "admin/laws/law.html",
        law=law,
        states=states,
        shown=shown,
        chapters=chapters,
        forms=forms,
        today=today,
    )


@bp.route("/laws/versions/<int:version_id>/in-force", methods=["POST"])
def law_version_in_force(version_id: int) -> Any:
    version = db.get_or_404(LawVersion, version_id)
    form = InForceForm(prefix=f"v{version.id}")
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        flash(_("Give the date as YYYY-MM-DD, or leave it empty to clear it."), "error")
        return redirect(url_for("admin.law", law_id=version.law_id, version=version.id))
    clear = request.form.get("action") == "clear" or form.in_force.data is None
    day = None if clear else form.in_force.data
    try:
        flagged = amendments.set_version_in_force(
            version.id, day, today=local_today(), actor=_actor()
        )
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        if day is None:
            flash(_("The in-force date of %(version)s is cleared.", version=version.version))
        else:
            flash(
                _(
                    "%(version)s is in force from %(day)s.",
                    version=version.version,
                    day=day.isoformat(),
                )
            )
        if flagged:
            flash(
                _("%(n)d question(s) cite a superseded version and need review.", n=flagged),
                "warning",
            )
    return redirect(url_for("admin.law", law_id=version.law_id, version=version.id))


@bp.route("/laws/import", methods=["POST"])
@takes_upload
def law_import() -> Any:
    form = LawUploadForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        flash(_("Choose a law file (.md); give the date as YYYY-MM-DD."), "error")
        return redirect(url_for("admin.laws"))
    upload = form.file.data
    try:
        report = amendments.import_upload(
            upload.filename or "",
            upload.read(amendments.LAW_FILE_MAX + 1),
            in_force=form.in_force.data,
            today=local_today(),
            actor=_actor(),
        )
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("admin.laws"))
    for title, version, count in report.imported:
        flash(
            _(
                "%(law)s (%(version)s): %(n)d articles imported.",
                law=title,
                version=version,
                n=count,
            )
        )
    for title, version in report.unchanged:
        flash(_("%(law)s (%(version)s) was imported before.", law=title, version=version))
    for title, version, day in report.dated:
        flash(
            _("%(law)s (%(version)s) in force from %(day)s.", law=title, version=version, day=day)
        )
    for problem in report.skipped:
        flash(problem.render(_), "error")
    if report.flagged_questions:
        flash(
            _(
                "%(n)d question(s) cite a superseded version and need review.",
                n=report.flagged_questions,
            ),
            "warning",
        )
    return redirect(url_for("admin.laws"))


# The review queue --------------------------------------------------------------------------------


@bp.route("/laws/review")
def law_review() -> Any:
    rows = amendments.review_queue(local_today())
    db.session.commit()  # the flags the queue set
    banks = dict(db.session.execute(select(Bank.id, Bank.name)).all())
    return render_template(
        "admin/laws/review.html",
        rows=rows,
        banks=banks,
        unchanged=sum(1 for row in rows if row.unchanged),
        form=ActionForm(),
    )


@bp.route("/laws/review/<int:question_id>/apply", methods=["POST"])
def law_review_apply(question_id: int) -> Any:
    _checked_form()
    try:
        applied = amendments.apply_update(
            question_id, today=local_today(), actor=_actor(), now=_now()
        )
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        _flash_applied([applied])
    return redirect(url_for("admin.law_review"))


@bp.route("/laws/review/apply-unchanged", methods=["POST"])
def law_review_apply_unchanged() -> Any:
    _checked_form()
    try:
        applied = amendments.apply_unchanged(today=local_today(), actor=_actor(), now=_now())
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(_("%(n)d citation(s) moved to the version in force.", n=len(applied)))
        _flash_applied([a for a in applied if a.left])
    return redirect(url_for("admin.law_review"))


def _checked_form() -> None:
    if not ActionForm().validate_on_submit():
        abort(400)


def _flash_applied(applied: list[amendments.Applied]) -> None:
    for item in applied:
        if item.version_number:
            flash(
                _(
                    "Question #%(id)d: %(old)s → %(new)s (version %(v)d).",
                    id=item.question_id,
                    old=item.old,
                    new=item.new,
                    v=item.version_number,
                )
            )
        if item.left:
            flash(
                _(
                    "Question #%(id)d still says the old article number where no law is named "
                    "before it; it was left as it is: check it in the editor.",
                    id=item.question_id,
                ),
                "warning",
            )
