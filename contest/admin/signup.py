"""The organizers' sign-up page of a contest: settings, the sign-ups with their private fields,
mapping "其他" units to organizations, and the export (CSV or XLSX).

Mobile numbers and extra fields show here and in the export only. Every change is audited
(``contest.signup_settings``, ``registration.map_unit``) by the service.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, HiddenField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from contest.admin import bp
from contest.errors import DomainError
from contest.extensions import db
from contest.models import Contest, Organization
from contest.security import organizer_required
from contest.services import signup as signup_service

PAGE = 100  # sign-ups per page
EXPORTS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class SignupSettingsForm(FlaskForm):
    signup_open = BooleanField(_l("Take sign-ups (注册) on the contest's public pages"))
    fields = TextAreaField(
        _l("Extra fields, one per line: key|label, or key|label|required"),
        validators=[Length(max=2000)],
    )
    notice = TextAreaField(
        _l("Rules and privacy notice contestants agree to"),
        validators=[Length(max=signup_service.MAX_NOTICE)],
    )


class MapUnitForm(FlaskForm):
    registration_id = HiddenField(validators=[DataRequired()])
    organization_id = SelectField(_l("Organization"), coerce=int, validate_choice=False)


def _organizations() -> list[tuple[int, str]]:
    return [
        (o.id, o.name) for o in db.session.scalars(select(Organization).order_by(Organization.name))
    ]


def _page_number() -> int:
    return max(1, min(request.args.get("page", 1, type=int) or 1, 10**6))


@bp.route("/contests/<int:contest_id>/signup", methods=["GET", "POST"])
@organizer_required
def contest_signup(contest_id: int) -> Any:
    """Settings (POST saves them), then the sign-ups, those typed under "其他" first."""
    contest = db.get_or_404(Contest, contest_id)
    form = SignupSettingsForm(
        data={
            "signup_open": contest.signup_open,
            "fields": signup_service.fields_text(signup_service.signup_fields(contest)),
            "notice": contest.signup_notice or "",
        }
        if request.method == "GET"
        else None
    )
    status = 200
    if form.validate_on_submit():
        try:
            signup_service.update_settings(
                contest.id,
                signup_open=bool(form.signup_open.data),
                fields=signup_service.parse_fields(form.fields.data or ""),
                notice=form.notice.data or "",
                actor=current_user,
            )
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            form.form_errors.append(exc.message)
            status = exc.status
        else:
            flash(_("Sign-up settings saved."), "info")
            return redirect(url_for("admin.contest_signup", contest_id=contest.id))
    elif request.method == "POST":
        status = 422
    return _render(contest, form, status)


def _render(contest: Contest, form: SignupSettingsForm, status: int) -> Any:
    page = _page_number()
    organizations = _organizations()
    return (
        render_template(
            "admin/contests/signup.html",
            contest=contest,
            form=form,
            open=signup_service.takes_signups(contest),
            fields=signup_service.signup_fields(contest),
            waiting=signup_service.signup_rows(contest.id, other_only=True, limit=PAGE),
            waiting_count=signup_service.count_signups(contest.id, other_only=True),
            rows=signup_service.signup_rows(contest.id, offset=(page - 1) * PAGE, limit=PAGE),
            total=signup_service.count_signups(contest.id),
            page=page,
            per_page=PAGE,
            organizations=organizations,
            map_form=MapUnitForm(),
        ),
        status,
    )


@bp.route("/contests/<int:contest_id>/signup/map", methods=["POST"])
@organizer_required
def map_signup_unit(contest_id: int) -> Any:
    """Map one sign-up's "其他" unit to an organization."""
    contest = db.get_or_404(Contest, contest_id)
    form = MapUnitForm()
    form.organization_id.choices = _organizations()
    if not form.validate_on_submit() or not str(form.registration_id.data or "").isdigit():
        flash(_("Choose an organization."), "error")
        return redirect(url_for("admin.contest_signup", contest_id=contest.id))
    try:
        signup_service.map_unit(
            contest.id,
            int(form.registration_id.data),
            int(form.organization_id.data),
            actor=current_user,
        )
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(_("The unit is set."), "info")
    return redirect(url_for("admin.contest_signup", contest_id=contest.id))


@bp.route("/contests/<int:contest_id>/signup/export.<fmt>")
@organizer_required
def export_signups(contest_id: int, fmt: str) -> Any:
    """Every sign-up with its mobile number, unit and extra fields (cells never formulas)."""
    contest = db.get_or_404(Contest, contest_id)
    if fmt not in EXPORTS:
        abort(404)
    table = signup_service.export_table(contest, signup_service.signup_rows(contest.id))
    body = signup_service.export_csv(table) if fmt == "csv" else signup_service.export_xlsx(table)
    return Response(
        body,
        content_type=EXPORTS[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="signups-{contest.id}.{fmt}"',
            "Cache-Control": "private, no-store",
        },
    )
