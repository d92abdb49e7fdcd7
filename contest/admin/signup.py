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
from flask_wtf.i18n import translations as wtf_translations
from sqlalchemy import select
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length

from contest.admin import bp
from contest.errors import DomainError
from contest.extensions import db
from contest.models import Contest, Organization
from contest.security import organizer_required
from contest.services import contests as contest_service
from contest.services import signup as signup_service

PAGE = 100  # sign-ups per page
EXPORTS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


EMPTY_FIELD_ROWS = 3  # empty rows under the extra fields, to add more


class FieldRowForm(Form):
    """One extra field: its name and whether it is required. ``key`` is hidden: the stored key
    of an existing field (answers are kept under it), empty on a new row."""

    class Meta:
        # Rows carry no CSRF token of their own; WTForms' messages in the page's language.
        def get_translations(self, form: Any) -> Any:
            return wtf_translations

    key = HiddenField(validators=[Length(max=32)])
    # The service checks the name's length, with the row's number; this only bounds the input.
    label = StringField(_l("Field name"), validators=[Length(max=1000)])
    required = BooleanField(_l("Required"))


class SignupSettingsForm(FlaskForm):
    signup_open = BooleanField(_l("Take sign-ups (注册) on the contest's public pages"))
    fields = FieldList(FormField(FieldRowForm), max_entries=signup_service.MAX_FIELDS)
    notice = TextAreaField(
        _l("Rules and privacy notice contestants agree to"),
        validators=[Length(max=signup_service.MAX_NOTICE)],
    )


class MapUnitForm(FlaskForm):
    """Map a sign-up to a unit of the list (``action`` "map") or to a unit made from
    ``new_name``, under the district ``parent_id`` if one is chosen (``action`` "create")."""

    registration_id = HiddenField(validators=[DataRequired()])
    organization_id = StringField(_l("Organization"), validators=[Length(max=20)])
    new_name = StringField(_l("New unit"), validators=[Length(max=200)])
    parent_id = StringField(_l("District"), validators=[Length(max=20)])
    action = StringField(validators=[Length(max=10)])


def _organizations() -> list[tuple[int, str]]:
    return [
        (o.id, o.name) for o in db.session.scalars(select(Organization).order_by(Organization.name))
    ]


def _row_id(text: str | None) -> int | None:
    """A submitted id, or None when it is empty or no id (too long for the database)."""
    value = str(text or "")
    return int(value) if value.isdigit() and len(value) <= 12 else None


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
            "fields": signup_service.signup_fields(contest),
            "notice": contest.signup_notice or "",
        }
        if request.method == "GET"
        else None
    )
    status = 200
    if request.method == "POST":
        try:
            contest_service.ensure_editable(contest, "signup")  # an archived contest is read-only
        except DomainError as exc:
            flash(exc.message, "error")
            return redirect(url_for("admin.contest_signup", contest_id=contest.id))
    status = 200
    if form.validate_on_submit():
        try:
            signup_service.update_settings(
                contest.id,
                signup_open=bool(form.signup_open.data),
                fields=signup_service.build_fields(
                    _field_rows(form), taken=signup_service.answer_keys(contest)
                ),
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


def _field_rows(form: SignupSettingsForm) -> list[signup_service.FieldRow]:
    return [
        signup_service.FieldRow(
            key=entry.form.key.data or "",
            label=entry.form.label.data or "",
            required=bool(entry.form.required.data),
        )
        for entry in form.fields
    ]


def _add_empty_rows(form: SignupSettingsForm) -> None:
    """A few empty rows to add fields with, as many as the limit leaves room for."""
    filled = sum(1 for entry in form.fields if (entry.form.label.data or "").strip())
    wanted = min(signup_service.MAX_FIELDS, filled + EMPTY_FIELD_ROWS)
    while len(form.fields) < wanted:
        form.fields.append_entry()


def _render(contest: Contest, form: SignupSettingsForm, status: int) -> Any:
    _add_empty_rows(form)
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
            districts=[(o.id, o.name) for o in signup_service.districts()],
            max_fields=signup_service.MAX_FIELDS,
            map_form=MapUnitForm(),
        ),
        status,
    )


@bp.route("/contests/<int:contest_id>/signup/map", methods=["POST"])
@organizer_required
def map_signup_unit(contest_id: int) -> Any:
    """Map one sign-up's "其他" unit to an organization of the list, or to a new one."""
    contest = db.get_or_404(Contest, contest_id)
    form = MapUnitForm()
    back = redirect(url_for("admin.contest_signup", contest_id=contest.id))
    registration_id = _row_id(form.registration_id.data)
    if not form.validate_on_submit() or registration_id is None:
        flash(_("Choose an organization."), "error")
        return back
    organization_id = _row_id(form.organization_id.data)
    try:
        if form.action.data == "create":
            signup_service.map_to_new_unit(
                contest.id,
                registration_id,
                form.new_name.data or "",
                parent_id=_row_id(form.parent_id.data),
                actor=current_user,
            )
        elif organization_id is not None:
            signup_service.map_unit(
                contest.id, registration_id, organization_id, actor=current_user
            )
        else:
            flash(_("Choose an organization."), "error")
            return back
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(_("The unit is set."), "info")
    return back


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
