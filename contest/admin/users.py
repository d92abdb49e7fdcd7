"""Account administration pages (admins only): the accounts list with search and filters, new
accounts, edits, deactivation, password resets, the forgotten-password text, and roster uploads
with a preview, progress and the one download of the generated passwords.

The blueprint lets organizers in; every view here also needs an admin (``admin_required``), so a
district organizer gets 403 like a contestant.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from contest.admin import bp
from contest.errors import DomainError
from contest.extensions import db, reads_only
from contest.http_limits import takes_upload
from contest.models import Organization, Role
from contest.security import admin_required
from contest.services import accounts
from contest.services import roster_jobs as jobs
from workers.roster import enqueue_roster

PAGE_SIZE = 50


def _now() -> datetime:
    return datetime.now(UTC)


def role_label(role: Role | str) -> str:
    return {
        Role.ADMIN: _("Administrator"),
        Role.ORGANIZER: _("District organizer"),
        Role.CONTESTANT: _("Contestant"),
    }[Role(role)]


def _role_choices() -> list[tuple[str, str]]:
    return [(role.value, role_label(role)) for role in Role]


def _unit_choices() -> list[tuple[str, str]]:
    units = db.session.execute(
        select(Organization.id, Organization.name).order_by(Organization.name)
    )
    return [("", str(_l("(none)")))] + [(str(i), name) for i, name in units]


# Forms -------------------------------------------------------------------------------------------


class ActionForm(FlaskForm):
    """A button that changes something: only its CSRF token."""


class AccountEditForm(FlaskForm):
    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    role = SelectField(_l("Role"), choices=_role_choices, default="contestant")
    organization = SelectField(_l("Unit"), choices=_unit_choices, default="")


class AccountForm(AccountEditForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = StringField(
        _l("Password (leave empty to generate one)"), validators=[Optional(), Length(max=256)]
    )


class PasswordHelpForm(FlaskForm):
    text = TextAreaField(
        _l("Whom to ask for a forgotten password (shown under the login form)"),
        validators=[Length(max=accounts.PASSWORD_HELP_MAX)],
    )


class RosterForm(FlaskForm):
    file = FileField(_l("Roster file (CSV or XLSX)"), validators=[FileRequired()])


def _unit(value: str | None) -> int | None:
    return int(value) if value else None


# Accounts ----------------------------------------------------------------------------------------


def _filters() -> accounts.AccountQuery:
    args = request.args
    role = args.get("role", "")
    unit = args.get("unit", "")
    active = args.get("active", "")
    return accounts.AccountQuery(
        q=args.get("q", "")[:100],
        role=Role(role) if role in {r.value for r in Role} else None,
        organization_id=int(unit) if unit.isdigit() and len(unit) < 10 else None,
        active={"1": True, "0": False}.get(active),
        page=max(1, min(args.get("page", 1, type=int) or 1, 100_000)),
        per_page=PAGE_SIZE,
    )


@bp.route("/users")
@admin_required
@reads_only
def users() -> Any:
    query = _filters()
    found = accounts.search_accounts(query)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "admin/users/index.html",
        found=found,
        query=query,
        args=args,
        units=_unit_choices()[1:],
        roles=_role_choices(),
        help_form=PasswordHelpForm(text=accounts.password_help()),
        action=ActionForm(),
        role_label=role_label,
    )


@bp.route("/users/new", methods=["GET", "POST"])
@admin_required
def user_new() -> Any:
    form = AccountForm()
    if form.validate_on_submit():
        try:
            user, generated = accounts.create_account(
                form.username.data or "",
                form.display_name.data or "",
                role=Role(form.role.data),
                organization_id=_unit(form.organization.data),
                password=form.password.data or None,
            )
        except DomainError as exc:
            db.session.rollback()
            form.username.errors = [exc.message]
        else:
            flash(_("Account %(name)s created.", name=user.username), "info")
            return render_template(
                "admin/users/password.html", user=user, password=generated, created=True
            )
    return render_template("admin/users/new.html", form=form), (422 if form.errors else 200)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@admin_required
def user_edit(user_id: int) -> Any:
    user = accounts.get_account(user_id)
    form = AccountEditForm(
        obj=None,
        display_name=user.display_name,
        role=user.role.value,
        organization=str(user.organization_id or ""),
    )
    if form.validate_on_submit():
        try:
            accounts.update_account(
                user_id,
                actor_id=current_user.id,
                display_name=form.display_name.data,
                organization_id=_unit(form.organization.data),
                role=Role(form.role.data),
            )
        except DomainError as exc:
            db.session.rollback()
            form.role.errors = [exc.message]
        else:
            flash(_("Account %(name)s saved.", name=user.username), "info")
            return redirect(url_for("admin.user_edit", user_id=user_id))
    return render_template(
        "admin/users/edit.html",
        form=form,
        user=accounts.get_account(user_id),
        action=ActionForm(),
        role_label=role_label,
    ), (422 if form.errors else 200)


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@admin_required
def user_active(user_id: int) -> Any:
    user = accounts.get_account(user_id)
    if ActionForm().validate_on_submit():
        active = request.form.get("active") == "1"
        try:
            accounts.set_active(user_id, active, actor_id=current_user.id)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            if active:
                flash(_("%(name)s reactivated.", name=user.username), "info")
            else:
                flash(_("%(name)s deactivated.", name=user.username), "info")
    return redirect(url_for("admin.user_edit", user_id=user_id))


@bp.route("/users/<int:user_id>/reset-password", methods=["POST"])
@admin_required
def user_reset_password(user_id: int) -> Any:
    user = accounts.get_account(user_id)
    if not ActionForm().validate_on_submit():
        return redirect(url_for("admin.user_edit", user_id=user_id))
    try:
        password = accounts.reset_password(user_id, actor_id=current_user.id)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("admin.user_edit", user_id=user_id))
    return render_template(
        "admin/users/password.html", user=accounts.get_account(user.id), password=password
    )


@bp.route("/users/password-help", methods=["POST"])
@admin_required
def password_help() -> Any:
    form = PasswordHelpForm()
    if form.validate_on_submit():
        accounts.set_password_help(form.text.data or "", now=_now())
        flash(_("The forgotten-password text is saved."), "info")
    else:
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
    return redirect(url_for("admin.users"))


# Roster uploads ----------------------------------------------------------------------------------


@bp.route("/users/import", methods=["GET", "POST"])
@admin_required
@takes_upload
def roster_import() -> Any:
    form = RosterForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            from contest.api.users import read_upload

            job = jobs.create_roster_import(
                upload.filename or "roster",
                read_upload(upload),
                actor_id=current_user.id,
                now=_now(),
                preview=True,
            )
        except DomainError as exc:
            db.session.rollback()
            form.file.errors = [exc.message]
        else:
            enqueue_roster(job.id, "check")
            return redirect(url_for("admin.roster_import_status", import_id=job.id))
    return render_template("admin/users/import.html", form=form), (422 if form.errors else 200)


@bp.route("/users/imports/<int:import_id>")
@admin_required
@reads_only
def roster_import_status(import_id: int) -> Any:
    from contest.api.users import roster_import_body

    job = roster_import_body(jobs.get_roster_import(import_id))
    return render_template("admin/users/import_status.html", job=job, action=ActionForm())


@bp.route("/users/imports/<int:import_id>/confirm", methods=["POST"])
@admin_required
def roster_import_confirm(import_id: int) -> Any:
    if ActionForm().validate_on_submit():
        try:
            job = jobs.confirm_roster_import(import_id)
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            enqueue_roster(job.id, "import")
    return redirect(url_for("admin.roster_import_status", import_id=import_id))


@bp.route("/users/imports/<int:import_id>/cancel", methods=["POST"])
@admin_required
def roster_import_cancel(import_id: int) -> Any:
    if ActionForm().validate_on_submit():
        try:
            jobs.cancel_roster_import(import_id, now=_now())
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            flash(_("The upload was cancelled; nothing was imported."), "info")
    return redirect(url_for("admin.roster_import_status", import_id=import_id))


@bp.route("/users/imports/<int:import_id>/passwords", methods=["POST"])
@admin_required
def roster_passwords(import_id: int) -> Any:
    from contest.api.users import passwords_download

    if not ActionForm().validate_on_submit():
        return redirect(url_for("admin.roster_import_status", import_id=import_id))
    try:
        return passwords_download(import_id)
    except jobs.PasswordsGone as exc:
        flash(exc.message, "error")
        return redirect(url_for("admin.roster_import_status", import_id=import_id), code=303)
