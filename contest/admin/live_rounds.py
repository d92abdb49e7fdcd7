"""Organizer pages for live rounds (现场决赛): preparing one before the day (its teams and its
run sheet), changing or deleting it until the host starts it, and what the contest page shows of
each (its screens and addresses).

The round is made by :func:`contest.live_final.setup.create_live_round` (and replaced by
``update_live_round``), which draws every segment's questions when it is saved; the form is in
:mod:`contest.admin.live_round_forms`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select

from contest.admin import bp
from contest.admin.contests import category_choices, refused_edit
from contest.admin.live_round_forms import (
    BLANK_ROWS,
    MORE_ROWS,
    SEGMENT_ROWS,
    TEAM_ROWS,
    LiveRoundForm,
    compacted,
    pad,
    segment_specs,
    stored_data,
    team_specs,
)
from contest.errors import DomainError
from contest.extensions import db
from contest.live_final import setup
from contest.models import (
    Contest,
    LiveEvent,
    LiveSegment,
    LiveTeam,
    Organization,
    Registration,
    Round,
)
from question_bank.models import Bank


@bp.route("/contests/<int:contest_id>/live-rounds/new", methods=["GET", "POST"])
def new_live_round(contest_id: int) -> Any:
    contest = db.get_or_404(Contest, contest_id)
    if (refused := refused_edit(contest, "new_round")) is not None:
        return refused
    return _form_page(contest, None)


@bp.route("/live-rounds/<int:round_id>/edit", methods=["GET", "POST"])
def edit_live_round(round_id: int) -> Any:
    """The same form, filled from the stored round; only before the host has started it."""
    round_ = db.get_or_404(Round, round_id)
    if (refused := _refused_change(round_)) is not None:
        return refused
    return _form_page(round_.contest, round_)


@bp.route("/live-rounds/<int:round_id>/delete", methods=["GET", "POST"])
def delete_live_round(round_id: int) -> Any:
    """A confirmation page, then the deletion (only before the host has started the round)."""
    round_ = db.get_or_404(Round, round_id)
    if (refused := _refused_change(round_)) is not None:
        return refused
    contest_id, title = round_.contest_id, round_.title
    form = FlaskForm()
    if form.validate_on_submit():
        try:
            setup.delete_live_round(round_id, actor=current_user)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            flash(_("The live round %(title)s is deleted.", title=title), "success")
        return redirect(url_for("admin.contest", contest_id=contest_id, _anchor="live"))
    facts = live_facts([round_])[round_.id]
    return render_template(
        "admin/contests/delete_live_round.html", round=round_, facts=facts, form=form
    )


def _refused_change(round_: Round) -> Any:
    """A redirect to the contest page with the reason, when the round's teams and run sheet
    may no longer change (or it is no live round: 404); None when they may."""
    if round_.mode != "live":
        abort(404)
    try:
        setup.editable_round(round_.id)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("admin.contest", contest_id=round_.contest_id, _anchor="live"))
    return None


def _form_page(contest: Contest, round_: Round | None) -> Any:
    """The set-up form: a new round (``round_`` None) or a stored one, which a save replaces."""
    posted = request.method == "POST"
    if posted:
        form = LiveRoundForm(formdata=compacted(request.form))
    elif round_ is not None:
        form = LiveRoundForm(data=stored_data(round_))
    else:
        form = LiveRoundForm()
        form.title.data = _("Live final")
    _set_choices(form)
    action = request.form.get("action", "save")
    errors: list[str] = []
    if posted and action == "save":
        if form.validate():
            errors = _save(contest, round_, form)
            if not errors:
                return redirect(url_for("admin.contest", contest_id=contest.id, _anchor="live"))
        else:
            errors = _field_errors(form)
    # Without script, "more rows" posts the form and comes back with more blank rows.
    more = {action: MORE_ROWS} if posted else {}
    pad(form.teams, TEAM_ROWS, extra=BLANK_ROWS + more.get("more_teams", 0))
    pad(form.segments, SEGMENT_ROWS, extra=BLANK_ROWS + more.get("more_segments", 0))
    _set_choices(form)  # rows added since
    registered = db.session.scalar(
        select(func.count()).select_from(Registration).where(Registration.contest_id == contest.id)
    )
    return render_template(
        "admin/contests/live_round_form.html",
        contest=contest,
        round=round_,
        form=form,
        errors=errors,
        registered=registered or 0,
    ), (422 if errors else 200)


def _save(contest: Contest, round_: Round | None, form: LiveRoundForm) -> list[str]:
    """Make the round, or replace the stored one (committed); what stopped it otherwise,
    nothing saved."""
    individual = form.team_mode.data == "individual"
    teams, errors = ([], []) if individual else team_specs(form)
    segments, segment_errors = segment_specs(form)
    errors += segment_errors
    if errors:
        return errors
    values: dict[str, Any] = {
        "title": form.title.data or "",
        "bank_id": form.bank_id.data,
        "segments": segments,
        "teams": teams,
        "individual": individual,
        "devices": form.devices.data or "",
        "compensation_ms": form.compensation_ms.data or 0,
        "actor": current_user,
    }
    try:
        if round_ is None:
            saved = setup.create_live_round(contest.id, **values)
        else:
            saved = setup.update_live_round(round_.id, **values)
    except DomainError as exc:
        db.session.rollback()
        return [exc.message]
    facts = live_facts([saved])[saved.id]
    message = (
        _(
            "Live round %(title)s created: %(teams)d team(s), %(segments)d segment(s), "
            "%(questions)d question(s).",
            title=saved.title,
            teams=facts.teams,
            segments=facts.segments,
            questions=facts.questions,
        )
        if round_ is None
        else _(
            "Live round %(title)s saved: %(teams)d team(s), %(segments)d segment(s), "
            "%(questions)d question(s) drawn again.",
            title=saved.title,
            teams=facts.teams,
            segments=facts.segments,
            questions=facts.questions,
        )
    )
    flash(message, "info")
    return []


def _set_choices(form: LiveRoundForm) -> None:
    banks = db.session.execute(select(Bank.id, Bank.name).order_by(Bank.id)).all()
    form.bank_id.choices = [(b.id, b.name) for b in banks]
    if not form.bank_id.data and banks:
        form.bank_id.data = banks[0].id
    units = db.session.execute(
        select(Organization.id, Organization.name).order_by(Organization.name)
    ).all()
    unit_choices = [("", str(_l("No unit"))), *((str(u.id), u.name) for u in units)]
    categories = category_choices(form.bank_id.data, (e.form.category.data for e in form.segments))
    for entry in form.teams:
        entry.form.organization_id.choices = unit_choices
    for entry in form.segments:
        entry.form.category.choices = categories


def _field_errors(form: LiveRoundForm) -> list[str]:
    """Every field error, with the row it is in, for the list at the top of the page."""
    errors = [
        f"{field.label.text}: {message}"
        for field in (form.title, form.bank_id, form.devices, form.compensation_ms, form.team_mode)
        for message in field.errors
    ]
    for number, entry in enumerate(form.teams, start=1):
        errors += _row_errors(_("Team %(n)s", n=number), entry.form)
    for number, entry in enumerate(form.segments, start=1):
        errors += _row_errors(_("Segment %(n)s", n=number), entry.form)
    if form.csrf_token.errors:
        errors.append(_("The security token is missing or expired. Reload the page and retry."))
    return errors or [_("Some fields below need fixing.")]


def _row_errors(row_label: str, row: Any) -> list[str]:
    return [
        f"{row_label} · {field.label.text}: {message}" for field in row for message in field.errors
    ]


# The contest page's live rounds ------------------------------------------------------------------


@dataclass(frozen=True)
class LiveFacts:
    teams: int
    segments: int
    questions: int
    started: bool


def live_facts(rounds: Sequence[Round]) -> dict[int, LiveFacts]:
    """Each live round's teams, segments, questions and whether its day has begun."""
    ids = [r.id for r in rounds if r.mode == "live"]
    if not ids:
        return {}
    teams = dict(
        db.session.execute(
            select(LiveTeam.round_id, func.count())
            .where(LiveTeam.round_id.in_(ids))
            .group_by(LiveTeam.round_id)
        ).all()
    )
    segments: dict[int, list[int]] = {}
    for round_id, questions in db.session.execute(
        select(LiveSegment.round_id, LiveSegment.questions).where(LiveSegment.round_id.in_(ids))
    ):
        segments.setdefault(round_id, []).append(len(questions or []))
    started = set(
        db.session.scalars(select(LiveEvent.round_id).where(LiveEvent.round_id.in_(ids)).distinct())
    )
    return {
        i: LiveFacts(
            teams=teams.get(i, 0),
            segments=len(segments.get(i, [])),
            questions=sum(segments.get(i, [])),
            started=i in started,
        )
        for i in ids
    }


@bp.context_processor
def _live_round_helpers() -> dict[str, Any]:
    return {"live_facts": live_facts}
