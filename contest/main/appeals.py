"""The contestant's appeals on their result page: the form under each reviewed question, the
appeal's status and the organizers' reply, and the item's ruling (createAppeal as a form)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from contest.auth import throttle
from contest.errors import DomainError
from contest.extensions import db, redis_hub
from contest.main import bp, contestant_required
from contest.models import AppealDecision, AppealStatus, Attempt, Round
from contest.services import appeals, leaderboards


class AppealForm(FlaskForm):
    reason = TextAreaField(
        _l("Why do you appeal this question?"),
        validators=[DataRequired(), Length(max=appeals.MAX_REASON)],
    )


def result_state(attempt: Attempt, round_: Round, result: dict[str, Any]) -> dict[str, Any] | None:
    """What the result page shows of appeals: only inside the review (the key is shown)."""
    if not result["review"]:
        return None
    state = appeals.result_appeals(attempt, round_, datetime.now(UTC))
    return {
        "state": state,
        "form": AppealForm(formdata=None),
        "status_text": status_text,
        "decision_text": decision_text,
    }


def own_rank(round_: Round, user_id: int, score_shown: bool) -> tuple[int, int] | None:
    """The contestant's rank in the round and how many are ranked, as the public board ranks
    them now (the freeze respected); None when the score is not shown yet, the boards are the
    organizers' or the contestant is not ranked."""
    contest = round_.contest
    if not score_shown or not leaderboards.boards_public(contest):
        return None
    now = datetime.now(UTC)
    entries = leaderboards.read_raw(redis_hub.client, [round_.id])[round_.id]
    ranking = leaderboards.ranked(leaderboards.public_entries(round_, entries, now))
    for rank, entry in ranking:
        if entry.user_id == user_id:
            return rank, len(ranking)
    return None


def status_text(status: AppealStatus) -> str:
    return {
        AppealStatus.OPEN: _("Appeal under review"),
        AppealStatus.REJECTED: _("Appeal rejected"),
        AppealStatus.ACCEPTED: _("Appeal accepted"),
    }[AppealStatus(status)]


def decision_text(decision: AppealDecision | None) -> str:
    if decision is None:
        return ""
    return {
        AppealDecision.REJECT: _("The answer key stands."),
        AppealDecision.ACCEPT_ANSWER: _("Another answer also earns full points."),
        AppealDecision.CHANGE_KEY: _("The answer key was corrected."),
        AppealDecision.VOID_ITEM: _("The question is void: everyone holding it gets its points."),
    }[AppealDecision(decision)]


@bp.route("/attempts/<int:attempt_id>/items/<int:position>/appeal", methods=["POST"])
@contestant_required
def file_appeal(attempt_id: int, position: int) -> Any:
    """createAppeal as a form under a reviewed question."""
    form = AppealForm()
    target = url_for("main.attempt_result", attempt_id=attempt_id) + f"#item-{position}"
    if not form.validate_on_submit():
        flash(_("Write the reason for the appeal (at most %(n)d characters).", n=500), "error")
        return redirect(target)
    try:
        appeals.check_rate(current_user.id, throttle.now_s())
        appeals.create_appeal(
            attempt_id, current_user.id, position, form.reason.data or "", now=datetime.now(UTC)
        )
    except DomainError as exc:
        db.session.rollback()
        if exc.status == 404:
            raise
        flash(exc.message, "error")
    else:
        flash(_("Your appeal is filed: the organizers' reply shows here."), "info")
    return redirect(target)
