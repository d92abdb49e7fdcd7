"""Organizer page for a contest's appeals (申诉): grouped by question, each group with the
question in the bank's order, its key and ruling, the appeals with their reasons, how the round
answered it, and the forms that decide (reject one appeal, or decide for the whole question)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from contest.admin import bp
from contest.errors import DomainError
from contest.extensions import db
from contest.main import points_text, type_text
from contest.models import AppealDecision, AppealStatus, Contest, Round
from contest.services import appeal_decisions, appeals
from question_bank import markdown
from question_bank.domain import OPTION_LETTERS


def decision_label(decision: AppealDecision | str) -> str:
    return {
        AppealDecision.REJECT: _("Reject"),
        AppealDecision.ACCEPT_ANSWER: _("Accept another answer"),
        AppealDecision.CHANGE_KEY: _("Correct the answer key"),
        AppealDecision.VOID_ITEM: _("Void the question (everyone gets its points)"),
    }[AppealDecision(decision)]


def status_label(status: AppealStatus | str) -> str:
    return {
        AppealStatus.OPEN: _("Open"),
        AppealStatus.REJECTED: _("Rejected"),
        AppealStatus.ACCEPTED: _("Accepted"),
    }[AppealStatus(status)]


def _decision_choices() -> list[tuple[str, str]]:
    return [(d.value, decision_label(d)) for d in AppealDecision]


class DecisionForm(FlaskForm):
    decision = SelectField(_l("Decision"), choices=_decision_choices)
    answer = StringField(
        _l("Answer (for accepting an answer or correcting the key)"),
        validators=[Optional(), Length(max=500)],
    )
    all_open = BooleanField(_l("Reject every open appeal of this question"), default=True)
    reply = TextAreaField(
        _l("Reply to the contestants (kept in the audit log)"),
        validators=[DataRequired(), Length(max=appeals.MAX_REPLY)],
    )


class RegradeForm(FlaskForm):
    """The button that queues a question's regrade again (CSRF only)."""


class RejectForm(FlaskForm):
    reply = TextAreaField(_l("Reply"), validators=[DataRequired(), Length(max=appeals.MAX_REPLY)])


@bp.route("/contests/<int:contest_id>/appeals")
def contest_appeals(contest_id: int) -> Any:
    contest = db.get_or_404(Contest, contest_id)
    status = request.args.get("status", "open")
    chosen = AppealStatus(status) if status in {s.value for s in AppealStatus} else None
    groups = appeals.list_groups(contest.id, chosen)
    return render_template(
        "admin/appeals.html",
        contest=contest,
        groups=groups,
        status=chosen.value if chosen else "",
        statuses=[(s.value, status_label(s)) for s in AppealStatus],
        open_total=appeals.open_count(contest.id),
        decision_form=DecisionForm(formdata=None),
        reject_form=RejectForm(formdata=None),
        regrade_form=RegradeForm(formdata=None),
        decision_label=decision_label,
        status_label=status_label,
        type_text=type_text,
        points_text=points_text,
        letters=OPTION_LETTERS,
        render_md=markdown.render,
        render_inline=markdown.render_inline,
    )


@bp.route("/appeals/<int:appeal_id>/decision", methods=["POST"])
def decide_appeal(appeal_id: int) -> Any:
    """Decide for the question (the group's form) or reject one appeal (its row's form)."""
    appeal = appeals.get_appeal(appeal_id)
    one = request.form.get("one") == "1"
    form: FlaskForm = RejectForm() if one else DecisionForm()
    back = url_for("admin.contest_appeals", contest_id=appeal.contest_id)
    if not form.validate_on_submit():
        flash(_("Write a reply to the contestants."), "error")
        return redirect(back)
    if isinstance(form, DecisionForm):
        decision = AppealDecision(form.decision.data)
        extra: dict[str, Any] = {
            "answer": form.answer.data or None,
            "all_open": bool(form.all_open.data),
        }
    else:
        decision, extra = AppealDecision.REJECT, {}
    try:
        decided = appeal_decisions.decide_and_commit(
            appeal_id, decision, reply=form.reply.data or "", now=datetime.now(UTC), **extra
        )
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(back)
    if decision is AppealDecision.REJECT:
        flash(_("%(n)d appeal(s) rejected.", n=len(decided.settled)), "success")
    else:
        flash(
            _(
                "%(n)d appeal(s) accepted; %(m)d attempt(s) are being scored again, the boards "
                "follow.",
                n=len(decided.settled),
                m=len(decided.regrade),
            ),
            "success",
        )
    if decided.note:
        flash(decided.note, "warning")
    return redirect(back)


@bp.route("/rounds/<int:round_id>/versions/<int:version_id>/regrade", methods=["POST"])
def regrade_appeal_item(round_id: int, version_id: int) -> Any:
    """Queue the regrade of every attempt of the round holding the question version again."""
    round_ = db.get_or_404(Round, round_id)
    back = url_for("admin.contest_appeals", contest_id=round_.contest_id)
    if not RegradeForm().validate_on_submit():
        flash(_("The security token is missing or expired. Reload the page and retry."), "error")
        return redirect(back)
    try:
        count = appeal_decisions.regrade_item(round_id, version_id, now=datetime.now(UTC))
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(back)
    flash(_("%(m)d attempt(s) are being scored again, the boards follow.", m=count), "success")
    return redirect(back)
