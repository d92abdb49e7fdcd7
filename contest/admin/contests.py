"""Organizer pages for contests and their paper rounds.

Times: the round form's ``datetime-local`` inputs are read as Beijing time (Asia/Shanghai, UTC+8,
no daylight saving) and stored in UTC; pages show stored times in Beijing time again. An empty
open or close time means the round is always open on that side.

Qualification rules are stored on the round as JSON, ``None`` for none, otherwise
``{"kind": "top_n" | "top_n_per_organization" | "min_score", "value": <number>}`` (``value``:
N, a whole number of at least 1, or the minimum score).

The forms these pages fill are in :mod:`contest.admin.contest_forms`, the labels they show in
:mod:`contest.admin.contest_labels`, a round's live standings and its reveal in
:mod:`contest.admin.standings`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, or_, select
from wtforms import SelectMultipleField

from contest.admin import bp
from contest.admin.contest_forms import BLUEPRINT_ROWS, ContestForm, EnrolForm, RoundForm
from contest.admin.contest_labels import contest_status_label
from contest.errors import DomainError
from contest.extensions import db
from contest.i18n import to_local, to_utc
from contest.models import (
    Attempt,
    AttemptStatus,
    BoardVisibility,
    Contest,
    ContestStatus,
    IntegrityAction,
    Organization,
    Registration,
    RegistrationMode,
    ReviewPolicy,
    Round,
    ScorePolicy,
    ScoreVisibility,
)
from contest.services import contests as contest_service
from contest.services import lifecycle, timing
from question_bank.domain import Problem
from question_bank.models import Bank, Category


def _now() -> datetime:
    return datetime.now(UTC)


# Contests ----------------------------------------------------------------------------------------


# The contest list's filters: every contest but the archived ones by default ("" = 全部).
STATUS_FILTERS = ("", *(s.value for s in ContestStatus))


@bp.route("/contests")
def contests() -> Any:
    shown = request.args.get("status", "")
    if shown not in STATUS_FILTERS:
        shown = ""
    registrations = dict(
        db.session.execute(
            select(Registration.contest_id, func.count()).group_by(Registration.contest_id)
        ).all()
    )
    counts = dict(
        db.session.execute(select(Contest.status, func.count()).group_by(Contest.status)).all()
    )
    query = select(Contest).order_by(Contest.id.desc())
    if shown:
        query = query.where(Contest.status == ContestStatus(shown))
    else:
        query = query.where(Contest.status != ContestStatus.ARCHIVED)
    return render_template(
        "admin/contests/index.html",
        contests=db.session.scalars(query).all(),
        registrations=registrations,
        now=_now(),
        shown=shown,
        filters=[
            (
                value,
                contest_status_label(value) if value else _("All"),
                counts.get(ContestStatus(value), 0)
                if value
                else sum(n for k, n in counts.items() if k is not ContestStatus.ARCHIVED),
            )
            for value in STATUS_FILTERS
        ],
    )


@bp.route("/contests/new", methods=["GET", "POST"])
def new_contest() -> Any:
    form = ContestForm()
    _organization_choices(form.organizations)
    errors: list[str] = []
    if form.validate_on_submit() and _check_invite(form):
        values = _contest_values(form)
        try:
            contest_service.unique_title(values["title"])
            contest = contest_service.create_contest(values.pop("title"), **values)
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            errors.append(exc.message)
        else:
            flash(_("Contest %(title)s created.", title=contest.title), "info")
            return redirect(url_for("admin.contest", contest_id=contest.id))
    return _contest_form(form, None, errors)


def refused_edit(contest: Contest, what: str) -> Any:
    """A redirect to the contest page with the reason, when the contest does not take the
    change (:func:`contest.services.contests.ensure_editable`); None when it does."""
    try:
        contest_service.ensure_editable(contest, what)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("admin.contest", contest_id=contest.id))
    return None


@bp.route("/contests/<int:contest_id>/edit", methods=["GET", "POST"])
def edit_contest(contest_id: int) -> Any:
    contest = db.get_or_404(Contest, contest_id)
    if (refused := refused_edit(contest, "contest")) is not None:
        return refused
    form = ContestForm(data=_contest_data(contest) if request.method == "GET" else None)
    _organization_choices(form.organizations)
    errors: list[str] = []
    if form.validate_on_submit() and _check_invite(form):
        try:
            contest_service.update_contest(contest, _contest_values(form))
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            errors.append(exc.message)
        else:
            flash(_("Contest saved."), "info")
            return redirect(url_for("admin.contest", contest_id=contest.id))
    return _contest_form(form, contest, errors)


def _contest_data(contest: Contest) -> dict[str, Any]:
    return {
        "title": contest.title,
        "description": contest.description,
        "schedule": contest.schedule,
        "registration_mode": contest.registration_mode.value,
        "invite_code": contest.invite_code or "",
        "board_visibility": contest.board_visibility.value,
        "mask_names": contest.mask_names,
        "organizations": [o.id for o in contest.organizations],
    }


def _contest_form(form: ContestForm, contest: Contest | None, errors: list[str]) -> Any:
    status = 422 if (errors or form.errors) else 200
    return render_template(
        "admin/contests/contest_form.html", form=form, contest=contest, errors=errors
    ), status


def _check_invite(form: ContestForm) -> bool:
    if (
        form.registration_mode.data == RegistrationMode.INVITE.value
        and not (form.invite_code.data or "").strip()
    ):
        form.invite_code.errors = [_("An invite-only contest needs an invite code.")]
        return False
    return True


def _contest_values(form: ContestForm) -> dict[str, Any]:
    mode = RegistrationMode(form.registration_mode.data)
    ids = set(form.organizations.data or [])
    return {
        "title": (form.title.data or "").strip(),
        "description": (form.description.data or "").strip(),
        "schedule": (form.schedule.data or "").strip(),
        "registration_mode": mode,
        "invite_code": (form.invite_code.data or "").strip() or None
        if mode is RegistrationMode.INVITE
        else None,
        "board_visibility": BoardVisibility(form.board_visibility.data),
        "mask_names": bool(form.mask_names.data),
        "organizations": list(
            db.session.scalars(select(Organization).where(Organization.id.in_(ids)))
        )
        if ids
        else [],
    }


def _organization_choices(field: SelectMultipleField) -> None:
    field.choices = [
        (o.id, o.name) for o in db.session.scalars(select(Organization).order_by(Organization.name))
    ]


@bp.route("/contests/<int:contest_id>")
def contest(contest_id: int) -> Any:
    contest = db.get_or_404(Contest, contest_id)
    enrol_form = EnrolForm()
    _organization_choices(enrol_form.organizations)
    enrol_form.organizations.data = [o.id for o in contest.organizations]
    return _contest_page(contest, enrol_form)


def contest_page(contest: Contest, *, problems: list[str], status: int) -> Any:
    """The contest page with its enrolment form as on a first visit (publishContest's refusal
    shows it with every problem, at the top)."""
    enrol_form = EnrolForm(formdata=None)
    _organization_choices(enrol_form.organizations)
    enrol_form.organizations.data = [o.id for o in contest.organizations]
    return _contest_page(contest, enrol_form, status, problems=problems, refused=True)


def _contest_page(
    contest: Contest,
    enrol_form: EnrolForm,
    status: int = 200,
    problems: list[str] | None = None,
    refused: bool = False,
) -> Any:
    if problems is None and contest.status is ContestStatus.DRAFT:
        problems = lifecycle.publish_problems(contest, _now())
    round_ids = [r.id for r in contest.rounds]
    flagged = dict(
        db.session.execute(
            select(Attempt.round_id, func.count())
            .where(Attempt.round_id.in_(round_ids), _flagged_clause())
            .group_by(Attempt.round_id)
        ).all()
    )
    attempts = dict(
        db.session.execute(
            select(Attempt.round_id, func.count())
            .where(Attempt.round_id.in_(round_ids))
            .group_by(Attempt.round_id)
        ).all()
    )
    registered = (
        db.session.scalar(
            select(func.count())
            .select_from(Registration)
            .where(Registration.contest_id == contest.id)
        )
        or 0
    )
    banks = dict(db.session.execute(select(Bank.id, Bank.name)).all())
    return render_template(
        "admin/contests/contest.html",
        contest=contest,
        rounds=contest.rounds,
        flagged=flagged,
        attempts=attempts,
        registered=registered,
        banks=banks,
        enrol_form=enrol_form,
        now=_now(),
        problems=problems or [],
        publish_refused=refused,
        lifecycle_form=FlaskForm(formdata=None),
    ), status


@bp.route("/contests/<int:contest_id>/enrol", methods=["POST"])
def enrol(contest_id: int) -> Any:
    contest = db.get_or_404(Contest, contest_id)
    if (refused := refused_edit(contest, "enrol")) is not None:
        return refused
    form = EnrolForm()
    _organization_choices(form.organizations)
    if not form.validate_on_submit():
        return _contest_page(contest, form, 422)
    result = contest_service.enroll_organizations(
        contest.id, form.organizations.data or [], now=_now()
    )
    db.session.commit()
    flash(
        _(
            "%(new)d contestant(s) enrolled; %(old)d were registered already.",
            new=result.enrolled,
            old=result.already,
        ),
        "info",
    )
    return redirect(url_for("admin.contest", contest_id=contest.id))


# Rounds ------------------------------------------------------------------------------------------


@bp.route("/contests/<int:contest_id>/rounds/new", methods=["GET", "POST"])
def new_round(contest_id: int) -> Any:
    contest = db.get_or_404(Contest, contest_id)
    if (refused := refused_edit(contest, "new_round")) is not None:
        return refused
    form = RoundForm()
    if request.method == "GET":
        form.title.data = _next_title(len(contest.rounds))
    return _round_view(contest, None, form)


@bp.route("/rounds/<int:round_id>/edit", methods=["GET", "POST"])
def edit_round(round_id: int) -> Any:
    round_ = db.get_or_404(Round, round_id)
    if (refused := refused_edit(round_.contest, "round")) is not None:
        return refused
    if round_.mode == "live":  # not a paper round: its set-up is fixed once made
        flash(_("A live round is not edited with the paper round's form."), "error")
        return redirect(url_for("admin.contest", contest_id=round_.contest_id, _anchor="live"))
    form = RoundForm(data=_round_data(round_) if request.method == "GET" else None)
    return _round_view(round_.contest, round_, form)


def _next_title(existing: int) -> str:
    return ("初赛", "复赛", "决赛")[existing] if existing < 3 else ""


def _round_view(contest: Contest, round_: Round | None, form: RoundForm) -> Any:
    banks = db.session.scalars(select(Bank).order_by(Bank.id)).all()
    form.bank_id.choices = [(b.id, b.name) for b in banks]
    if request.method == "GET" and round_ is None:
        requested = request.args.get("bank_id", type=int)
        form.bank_id.data = requested if requested in {b.id for b in banks} else None
    if not form.bank_id.data and banks:
        form.bank_id.data = banks[0].id
    choices = category_choices(form.bank_id.data, (e.form.category.data for e in form.blueprint))
    for entry in form.blueprint:
        entry.form.category.choices = choices
    errors: list[str] = []
    # "Show this bank's categories" re-renders the form (no JS needed); CSRFProtect has
    # checked the token already, and nothing is validated or saved.
    reload = request.method == "POST" and request.form.get("action") == "reload"
    if not reload and form.validate_on_submit():
        values, numbers, errors = _round_values(form)
        if not errors:
            try:
                saved = contest_service.save_round(
                    contest.id, round_.id if round_ else None, **values
                )
                db.session.commit()
            except contest_service.BlueprintShortfall as exc:
                db.session.rollback()
                errors = [_shortfall_text(p, numbers) for p in exc.problems]
            except DomainError as exc:
                db.session.rollback()
                errors = [exc.message]
            else:
                flash(_("Round %(title)s saved.", title=saved.title), "info")
                retimed = db.session.info.pop(timing.RETIMED, 0)
                if retimed:
                    flash(
                        _(
                            "The deadlines of %(n)d attempt(s) in progress follow the new "
                            "closing time or duration.",
                            n=retimed,
                        ),
                        "info",
                    )
                _flash_window_warnings(contest)
                if (warning := lifecycle.round_law_warning(saved, _now())) is not None:
                    flash(warning, "warning")
                return redirect(url_for("admin.contest", contest_id=contest.id))
    while len(form.blueprint) < max(BLUEPRINT_ROWS, _filled_rows(form) + 2):
        form.blueprint.append_entry()
        form.blueprint[-1].form.category.choices = choices
    status = 422 if (errors or form.errors) else 200
    return _round_form(contest, round_, form, errors, status)


def _flash_window_warnings(contest: Contest) -> None:
    """After saving a round of a published contest, what publishing would have said of the
    windows (a warning only: moving a close earlier is legitimate)."""
    if contest.status is not ContestStatus.PUBLISHED:
        return
    db.session.refresh(contest)
    for problem in lifecycle.window_problems(contest, _now()):
        flash(_("Check the round windows: %(problem)s", problem=problem), "warning")


def _round_form(
    contest: Contest, round_: Round | None, form: RoundForm, errors: list[str], status: int
) -> Any:
    started = 0
    if round_ is not None:
        started = (
            db.session.scalar(
                select(func.count()).select_from(Attempt).where(Attempt.round_id == round_.id)
            )
            or 0
        )
    return render_template(
        "admin/contests/round_form.html",
        contest=contest,
        round=round_,
        form=form,
        errors=errors,
        started=started,
    ), status


def _filled_rows(form: RoundForm) -> int:
    return sum(1 for entry in form.blueprint if not entry.form.is_empty())


def category_choices(bank_id: int | None, chosen: Iterable[str | None]) -> list[tuple[str, str]]:
    """The category select of a form's rows: "all categories", the bank's categories, and any
    category a row holds that the bank lacks (renamed, or another bank's) — kept visible and
    selected rather than silently becoming "all categories"; saving reports its shortfall."""
    paths: list[str] = []
    if bank_id:
        paths = list(
            db.session.scalars(
                select(Category.path).where(Category.bank_id == bank_id).order_by(Category.path)
            )
        )
    missing = sorted({path for path in chosen if path} - set(paths))
    return [
        ("", str(_l("All categories"))),
        *((p, p) for p in paths),
        *((p, _("%(path)s (not in this bank)", path=p)) for p in missing),
    ]


def _blueprint(form: RoundForm) -> tuple[list[dict[str, Any]], list[int], list[str]]:
    """The filled rows, their 1-based row numbers on the form, and what is wrong with them."""
    rows: list[dict[str, Any]] = []
    numbers: list[int] = []
    errors: list[str] = []
    for number, entry in enumerate(form.blueprint, start=1):
        row = entry.form
        if row.is_empty():
            continue
        if not row.type.data or row.count.data is None or row.points.data is None:
            errors.append(_("Blueprint row %(n)d needs a type, a count and points.", n=number))
            continue
        rows.append(
            {
                "category": row.category.data or "",
                "type": row.type.data,
                "difficulty": row.difficulty.data or None,
                "count": row.count.data,
                "points": row.points.data,
            }
        )
        numbers.append(number)
    if not rows and not errors:
        errors.append(_("A round needs at least one blueprint row."))
    return rows, numbers, errors


def _round_values(form: RoundForm) -> tuple[dict[str, Any], list[int], list[str]]:
    """The settings for ``save_round``, the form row number of each blueprint row, and errors."""
    blueprint, numbers, errors = _blueprint(form)
    qualification: dict[str, Any] | None = None
    rule = form.qualification_rule.data or ""
    value = form.qualification_value.data
    if rule:
        if value is None:
            form.qualification_value.errors = [_("This rule needs a value.")]
        elif rule != "min_score" and (value < 1 or value != value.to_integral_value()):
            form.qualification_value.errors = [_("N is a whole number of at least 1.")]
        else:
            qualification = {"kind": rule, "value": _number(value, whole=rule != "min_score")}
    if form.qualification_value.errors:
        errors.append(_("The qualification rule is not complete."))
    if form.review_policy.data == ReviewPolicy.AFTER_CLOSE.value and not form.closes_at.data:
        # Said beside both fields (the form's default is "after the close"): the service's own
        # refusal would only stand at the top of a long form.
        message = _("Answers can be shown after the round closes only if it has a closing time.")
        form.closes_at.errors = form.review_policy.errors = [message]
        errors.append(message)
    values = {
        "title": (form.title.data or "").strip(),
        "bank_id": form.bank_id.data,
        "opens_at": to_utc(form.opens_at.data),
        "closes_at": to_utc(form.closes_at.data),
        "freeze_at": to_utc(form.freeze_at.data),
        "duration_s": round((form.duration_min.data or 0) * 60),
        "attempts_allowed": form.attempts_allowed.data,
        "score_policy": ScorePolicy(form.score_policy.data),
        "blueprint": blueprint,
        "shuffle_questions": bool(form.shuffle_questions.data),
        "shuffle_options": bool(form.shuffle_options.data),
        "multiple_rule": form.multiple_rule.data,
        "review_policy": ReviewPolicy(form.review_policy.data),
        "score_visibility": ScoreVisibility(form.score_visibility.data),
        "integrity_threshold": form.integrity_threshold.data,
        "integrity_action": IntegrityAction(form.integrity_action.data),
        "focus_grace_s": form.focus_grace_s.data,
        "grace_s": form.grace_s.data,
        "qualification": qualification,
    }
    if form.appeal_window_h.data is not None:  # left out: the round keeps its own (72 h)
        values["appeal_window_h"] = form.appeal_window_h.data
    return values, numbers, errors


def _minutes(seconds: int) -> Decimal:
    """Seconds as minutes for the form: whole when they are, else to 0.01 (round-trips)."""
    if seconds % 60 == 0:
        return Decimal(seconds // 60)
    return (Decimal(seconds) / 60).quantize(Decimal("0.01"))


def _number(value: Decimal, whole: bool) -> int | float:
    if whole or value == value.to_integral_value():
        return int(value)
    return float(value)


def _shortfall_text(problem: Problem, numbers: Sequence[int]) -> str:
    """A shortfall as the organizer reads it: the form's row number, then the Problem message."""
    line = numbers[problem.line - 1] if 0 < problem.line <= len(numbers) else problem.line
    return _("Row %(n)d: %(problem)s", n=line, problem=problem.render(_))


def _round_data(round_: Round) -> dict[str, Any]:
    qualification = round_.qualification or {}
    return {
        "title": round_.title,
        "bank_id": round_.bank_id,
        "opens_at": to_local(round_.opens_at),
        "closes_at": to_local(round_.closes_at),
        "freeze_at": to_local(round_.freeze_at),
        "duration_min": _minutes(round_.duration_s),
        "attempts_allowed": round_.attempts_allowed,
        "score_policy": round_.score_policy.value,
        "blueprint": [
            {
                "category": row.get("category") or "",
                "type": row.get("type") or "",
                "difficulty": row.get("difficulty") or "",
                "count": row.get("count"),
                "points": row.get("points"),
            }
            for row in round_.blueprint or []
        ],
        "shuffle_questions": round_.shuffle_questions,
        "shuffle_options": round_.shuffle_options,
        "multiple_rule": round_.multiple_rule,
        "review_policy": round_.review_policy.value,
        "score_visibility": round_.score_visibility.value,
        "integrity_threshold": round_.integrity_threshold,
        "integrity_action": round_.integrity_action.value,
        "focus_grace_s": round_.focus_grace_s,
        "grace_s": round_.grace_s,
        "appeal_window_h": round_.appeal_window_h,
        "qualification_rule": qualification.get("kind", ""),
        "qualification_value": qualification.get("value"),
    }


def _flagged_clause() -> Any:
    return or_(Attempt.flagged.is_(True), Attempt.status == AttemptStatus.VOID)
