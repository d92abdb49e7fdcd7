"""The organizers' awards page of a contest (评奖): the tier rules (a row editor), the unit award
rule, the preview (or the locked result), adjustments by hand, lock and unlock, and publishing
the winners list (公示) with its period and objection contact.

Every form carries a CSRF token; the rules live in :mod:`contest.services.awards`, which audits
every action (``awards.rules``, ``awards.adjust``, ``awards.lock`` …).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.routing import BuildError

from contest.admin import bp
from contest.errors import DomainError, InvalidInput
from contest.extensions import db
from contest.models import Contest
from contest.services import awards

EDITOR_ROWS_EXTRA = 1  # blank tier rows under the existing ones


def _actor() -> Any:
    return current_user._get_current_object()


def _checked() -> None:
    """Every form here posts fields read by hand: the CSRF token is checked first."""
    if not FlaskForm().validate_on_submit():
        abort(400)


def _back(contest_id: int) -> Any:
    return redirect(url_for("admin.contest_awards", contest_id=contest_id))


def _run(contest_id: int, action: Callable[[], Any], done: str) -> Any:
    """Run a service action, commit, flash ``done`` (or the refusal) and go back to the page."""
    db.get_or_404(Contest, contest_id)
    _checked()
    try:
        action()
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _back(contest_id)
    flash(done)
    return _back(contest_id)


def winners_pdf_url(contest_id: int) -> str | None:
    """The printable list's address, when that page exists."""
    try:
        return url_for("main.winners_list_pdf", contest_id=contest_id)
    except BuildError:
        return None


@bp.route("/contests/<int:contest_id>/awards")
def contest_awards(contest_id: int) -> Any:
    contest = db.get_or_404(Contest, contest_id)
    try:
        current = awards.state(contest.id)
    except InvalidInput as exc:  # stored rules no longer valid: show the editor anyway
        flash(exc.message, "error")
        current = None
    plan = awards.get_plan(contest.id)
    rows = list(plan.tiers or []) + [{} for _ in range(EDITOR_ROWS_EXTRA)]
    return render_template(
        "admin/contests/awards.html",
        contest=contest,
        state=current,
        plan=plan,
        rows=rows,
        unit_rule=plan.unit_rule or {},
        form=FlaskForm(),
        winners_url=url_for("main.winners_list", contest_id=contest.id),
        pdf_url=winners_pdf_url(contest.id),
    )


def _tier_rows() -> list[dict[str, Any]]:
    """The editor's rows from the form (rows with an empty name are dropped)."""
    form = request.form
    labels, modes = form.getlist("label"), form.getlist("mode")
    values, per_unit = form.getlist("value"), form.getlist("per_unit")
    min_scores, keys = form.getlist("min_score"), form.getlist("key")
    rows = []
    for index, label in enumerate(labels):
        if not label.strip():
            continue

        def at(values: list[str], index: int = index) -> str:
            return values[index] if index < len(values) else ""

        rows.append(
            {
                "key": at(keys),
                "label": label,
                "mode": at(modes),
                "value": at(values),
                "per_unit": at(per_unit) == "1",
                "min_score": at(min_scores),
            }
        )
    return rows


def _unit_rule() -> dict[str, Any] | None:
    form = request.form
    if not form.get("unit_top", "").strip():
        return None
    return {
        "label": form.get("unit_label", ""),
        "metric": form.get("unit_metric", "rate"),
        "top": form.get("unit_top", "0"),
        "min_enrolled": form.get("unit_min_enrolled", "0") or "0",
    }


@bp.route("/contests/<int:contest_id>/awards/rules", methods=["POST"])
def save_award_rules(contest_id: int) -> Any:
    return _run(
        contest_id,
        lambda: awards.set_rules(contest_id, _tier_rows(), _unit_rule(), actor=_actor()),
        _("The award rules are saved; the preview shows their result."),
    )


@bp.route("/contests/<int:contest_id>/awards/adjust", methods=["POST"])
def adjust_award(contest_id: int) -> Any:
    user_id = request.form.get("user_id", type=int)
    if user_id is None:
        abort(400)
    return _run(
        contest_id,
        lambda: awards.adjust(
            contest_id,
            user_id,
            request.form.get("tier", ""),
            request.form.get("reason", ""),
            actor=_actor(),
        ),
        _("The adjustment is saved."),
    )


@bp.route("/contests/<int:contest_id>/awards/lock", methods=["POST"])
def lock_awards(contest_id: int) -> Any:
    return _run(
        contest_id,
        lambda: awards.lock(contest_id, actor=_actor()),
        _("The awards are locked."),
    )


@bp.route("/contests/<int:contest_id>/awards/unlock", methods=["POST"])
def unlock_awards(contest_id: int) -> Any:
    return _run(
        contest_id,
        lambda: awards.unlock(contest_id, request.form.get("reason", ""), actor=_actor()),
        _("The awards are unlocked; the preview follows the current scores again."),
    )


@bp.route("/contests/<int:contest_id>/awards/confirm", methods=["POST"])
def confirm_awards(contest_id: int) -> Any:
    return _run(
        contest_id,
        lambda: awards.confirm_review(contest_id, request.form.get("reason", ""), actor=_actor()),
        _("The locked awards are confirmed."),
    )


def _date(name: str) -> date | None:
    text = request.form.get(name, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(_("Enter dates as YYYY-MM-DD.")) from None


@bp.route("/contests/<int:contest_id>/awards/publish", methods=["POST"])
def publish_winners(contest_id: int) -> Any:
    return _run(
        contest_id,
        lambda: awards.publish(
            contest_id,
            publish_from=_date("publish_from"),
            publish_until=_date("publish_until"),
            objection_contact=request.form.get("objection_contact", ""),
            actor=_actor(),
        ),
        _("The winners list is public."),
    )


@bp.route("/contests/<int:contest_id>/awards/unpublish", methods=["POST"])
def unpublish_winners(contest_id: int) -> Any:
    return _run(
        contest_id,
        lambda: awards.unpublish(contest_id, request.form.get("reason", ""), actor=_actor()),
        _("The winners list is withdrawn."),
    )
