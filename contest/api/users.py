"""Accounts and rosters (admins only): importRoster, getRosterImport, confirmRosterImport,
downloadRosterPasswords, listUsers, createUser, updateUser, resetPassword; and
changeOwnPassword, for any signed-in account.

A district organizer (``organizer`` role) gets 403 on every operation here except
changeOwnPassword; a contestant too; no session is 401.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
from flask import Response, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user
from flask_smorest import abort
from flask_smorest.fields import Upload

from contest.api.blueprint import blp
from contest.api.schemas import OrganizationSchema
from contest.auth.throttle import check_login_allowed, login_succeeded
from contest.errors import AuthenticationFailed, Conflict, InvalidInput
from contest.extensions import db, reads_only
from contest.http_limits import takes_upload
from contest.input_checks import MAX_ID
from contest.models import Role, RosterImport, User
from contest.security import admin_required
from contest.services import accounts
from contest.services import roster_jobs as jobs
from workers.roster import enqueue_roster, read_progress

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ROLES = [role.value for role in Role]


def _now() -> datetime:
    return datetime.now(UTC)


# Schemas -----------------------------------------------------------------------------------------


class RosterUploadFormSchema(ma.Schema):
    preview = ma.fields.Boolean(
        load_default=False,
        metadata={
            "description": "true: stop after the check (status ready) and wait for "
            "confirmRosterImport; false: import at once when nothing is wrong"
        },
    )


class RosterUploadSchema(RosterUploadFormSchema):
    """The multipart body of importRoster: the roster file (CSV or XLSX) and the form fields."""

    file = Upload(required=True)


class RosterImportSchema(ma.Schema):
    id = ma.fields.Integer()
    filename = ma.fields.String()
    status = ma.fields.String(
        metadata={
            "enum": [
                jobs.CHECKING,
                jobs.READY,
                jobs.QUEUED,
                jobs.RUNNING,
                jobs.SUCCEEDED,
                jobs.FAILED,
                jobs.CANCELLED,
            ]
        }
    )
    done = ma.fields.Integer(metadata={"description": "passwords hashed so far"})
    total = ma.fields.Integer(metadata={"description": "rows of the roster (0 until checked)"})
    report = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Raw(allow_none=True),
        metadata={
            "description": "preview (rows, organizations, new_organization_count, "
            "existing_organization_count, generated, first rows); problems (with row numbers) "
            "and problem_count when refused; created, organizations, generated when imported"
        },
    )
    passwords_url = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "POST here once for the generated passwords (XLSX); null once "
            "downloaded or expired"
        },
    )
    passwords_expire_at = ma.fields.DateTime(allow_none=True)


class UserOutSchema(ma.Schema):
    id = ma.fields.Integer()
    username = ma.fields.String()
    display_name = ma.fields.String()
    role = ma.fields.String(metadata={"enum": ROLES})
    organization = ma.fields.Nested(OrganizationSchema, allow_none=True)
    active = ma.fields.Boolean()
    created_at = ma.fields.DateTime()


class UserListQuerySchema(ma.Schema):
    q = ma.fields.String(
        validate=ma.validate.Length(max=100),
        metadata={"description": "start of a username, or part of a name or unit name"},
    )
    role = ma.fields.String(validate=ma.validate.OneOf(ROLES))
    organization = ma.fields.Integer(
        validate=ma.validate.Range(min=0, max=MAX_ID), metadata={"description": "unit id"}
    )
    active = ma.fields.Boolean()
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=100_000))
    per_page = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))


class UserListSchema(ma.Schema):
    users = ma.fields.List(ma.fields.Nested(UserOutSchema))
    total = ma.fields.Integer()
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()


class UserCreateSchema(ma.Schema):
    username = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    display_name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=120))
    role = ma.fields.String(load_default="contestant", validate=ma.validate.OneOf(ROLES))
    organization_id = ma.fields.Integer(
        allow_none=True, load_default=None, validate=ma.validate.Range(min=0, max=MAX_ID)
    )
    password = ma.fields.String(
        validate=ma.validate.Length(min=1, max=256),
        metadata={"description": "omit to have one generated (returned once)"},
    )


class UserWithPasswordSchema(ma.Schema):
    user = ma.fields.Nested(UserOutSchema)
    password = ma.fields.String(
        allow_none=True,
        metadata={"description": "the generated password, shown this once (null if given)"},
    )


class UserUpdateSchema(ma.Schema):
    display_name = ma.fields.String(validate=ma.validate.Length(min=1, max=120))
    organization_id = ma.fields.Integer(
        allow_none=True, validate=ma.validate.Range(min=0, max=MAX_ID)
    )
    role = ma.fields.String(validate=ma.validate.OneOf(ROLES))
    active = ma.fields.Boolean()


class OwnPasswordSchema(ma.Schema):
    current_password = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=256))
    new_password = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=256))


class PasswordChangedSchema(ma.Schema):
    changed = ma.fields.Boolean()


# Bodies ------------------------------------------------------------------------------------------


def roster_import_body(job: RosterImport) -> dict[str, Any]:
    """An upload as the API and the import page show it."""
    done, total = job.done, job.total
    if job.status == jobs.RUNNING:
        done, total = read_progress(job.id) or (done, total)
    available = jobs.passwords_available(job, _now())
    return {
        "id": job.id,
        "filename": job.filename,
        "status": job.status,
        "done": done,
        "total": total,
        "report": job.report or {},
        "passwords_url": url_for("api.download_roster_passwords", roster_import_id=job.id)
        if available
        else None,
        "passwords_expire_at": job.passwords_expire_at if available else None,
    }


def user_body(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role.value,
        "organization": user.organization,
        "active": user.active,
        "created_at": user.created_at,
    }


def read_upload(upload: Any) -> bytes:
    """The uploaded file's bytes; its spooled temporary file is closed at once."""
    try:
        return bytes(upload.read())
    finally:
        upload.close()


# Rosters -----------------------------------------------------------------------------------------


@blp.route("/roster-imports", methods=["POST"])
@blp.doc(
    operationId="importRoster",
    summary="Upload a roster (CSV or XLSX); a worker checks it, all or nothing, and imports it",
)
@admin_required
@takes_upload
@blp.arguments(RosterUploadSchema(), location="files")
@blp.response(202, RosterImportSchema)
def import_roster(files: dict[str, Any]) -> Any:
    # webargs reads a "files" schema from request.files only: the text fields come from the form.
    try:
        form = RosterUploadFormSchema().load(request.form)
    except ma.ValidationError as exc:
        abort(422, messages={"form": exc.messages})
    upload = files["file"]
    job = jobs.create_roster_import(
        upload.filename or "roster",
        read_upload(upload),
        actor_id=current_user.id,
        now=_now(),
        preview=form["preview"],
    )
    enqueue_roster(job.id, "check" if form["preview"] else "import")
    location = url_for("api.get_roster_import", roster_import_id=job.id)
    return roster_import_body(job), 202, {"Location": location}


@blp.route("/roster-imports/<int:roster_import_id>", methods=["GET"])
@blp.doc(operationId="getRosterImport", summary="A roster upload's status, progress and report")
@admin_required
@blp.response(200, RosterImportSchema)
@reads_only
def get_roster_import(roster_import_id: int) -> dict[str, Any]:
    return roster_import_body(jobs.get_roster_import(roster_import_id))


@blp.route("/roster-imports/<int:roster_import_id>/confirm", methods=["POST"])
@blp.doc(
    operationId="confirmRosterImport",
    summary="Import a previewed roster (status ready); 409 in any other status",
)
@admin_required
@blp.response(202, RosterImportSchema)
def confirm_roster_import(roster_import_id: int) -> Any:
    job = jobs.confirm_roster_import(roster_import_id)
    enqueue_roster(job.id, "import")
    return roster_import_body(job), 202


@blp.route("/roster-imports/<int:roster_import_id>/passwords", methods=["POST"])
@blp.doc(
    operationId="downloadRosterPasswords",
    summary="The generated passwords as XLSX (one sheet per unit), once; 409 afterwards",
)
@admin_required
@blp.response(200, description="The workbook", content_type=XLSX_TYPE)
def download_roster_passwords(roster_import_id: int) -> Response:
    return passwords_download(roster_import_id)


def passwords_download(import_id: int) -> Response:
    """The one download of an import's generated passwords (pages and API alike)."""
    issued = jobs.take_passwords(import_id, now=_now())
    return Response(
        jobs.passwords_workbook(issued),
        content_type=XLSX_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="roster-{import_id}-passwords.xlsx"',
            "Cache-Control": "private, no-store",
        },
    )


# Accounts ----------------------------------------------------------------------------------------


@blp.route("/users", methods=["GET"])
@blp.doc(operationId="listUsers", summary="Accounts, searched and filtered, a page at a time")
@admin_required
@blp.arguments(UserListQuerySchema(), location="query")
@blp.response(200, UserListSchema)
@reads_only
def list_users(query: dict[str, Any]) -> dict[str, Any]:
    found = accounts.search_accounts(
        accounts.AccountQuery(
            q=query.get("q", ""),
            role=Role(query["role"]) if "role" in query else None,
            organization_id=query.get("organization"),
            active=query.get("active"),
            page=query["page"],
            per_page=query["per_page"],
        )
    )
    return {
        "users": [user_body(u) for u in found.items],
        "total": found.total,
        "page": found.page,
        "per_page": found.per_page,
    }


@blp.route("/users", methods=["POST"])
@blp.doc(
    operationId="createUser",
    summary="Create an account; a generated password is returned this once",
)
@admin_required
@blp.arguments(UserCreateSchema())
@blp.response(201, UserWithPasswordSchema)
def create_user(body: dict[str, Any]) -> Any:
    user, generated = accounts.create_account(
        body["username"],
        body["display_name"],
        role=Role(body["role"]),
        organization_id=body["organization_id"],
        password=body.get("password"),
    )
    return {"user": user_body(user), "password": generated}, 201


@blp.route("/users/<int:user_id>", methods=["PATCH"])
@blp.doc(
    operationId="updateUser",
    summary="Change an account's name, unit, role or active state (deactivating ends its sessions)",
)
@admin_required
@blp.arguments(UserUpdateSchema())
@blp.response(200, UserOutSchema)
def update_user(body: dict[str, Any], user_id: int) -> dict[str, Any]:
    user = accounts.get_account(user_id)
    if user_id == current_user.id and (
        body.get("role", user.role.value) != user.role.value or body.get("active") is False
    ):
        raise Conflict(_("You cannot demote or deactivate your own account."), code="own_account")
    changes: dict[str, Any] = {}
    if "display_name" in body:
        changes["display_name"] = body["display_name"]
    if "organization_id" in body:
        changes["organization_id"] = body["organization_id"]
    if "role" in body:
        changes["role"] = Role(body["role"])
    accounts.update_account(user_id, actor_id=current_user.id, **changes)
    if "active" in body:
        accounts.set_active(user_id, body["active"], actor_id=current_user.id)
    return user_body(accounts.get_account(user_id))


@blp.route("/users/<int:user_id>/password-reset", methods=["POST"])
@blp.doc(
    operationId="resetPassword",
    summary="Give the account a new generated password (returned once); its sessions end",
)
@admin_required
@blp.response(200, UserWithPasswordSchema)
def reset_password(user_id: int) -> dict[str, Any]:
    password = accounts.reset_password(user_id, actor_id=current_user.id)
    return {"user": user_body(accounts.get_account(user_id)), "password": password}


@blp.route("/account/password", methods=["PUT"])
@blp.doc(
    operationId="changeOwnPassword",
    summary="Change your own password; your other sessions end, this one stays signed in",
)
@login_required
@blp.arguments(OwnPasswordSchema())
@blp.response(200, PasswordChangedSchema)
@blp.alt_response(429, description="Too many wrong current passwords")
def change_own_password(body: dict[str, str]) -> dict[str, bool]:
    try:
        change_own(body["current_password"], body["new_password"])
    except AuthenticationFailed as exc:
        abort(422, message=exc.message, messages={"json": {"current_password": [exc.message]}})
    return {"changed": True}


def change_own(current: str, new: str) -> None:
    """The signed-in user's change of password, throttled like logins; the session that made
    it is signed in again (every other one ends). :class:`AuthenticationFailed` for a wrong
    current password, :class:`InvalidInput` for an unacceptable new one."""
    problem = accounts.check_password(new)
    if problem:
        raise InvalidInput(problem, code="weak_password")
    username = current_user.username
    check_login_allowed(username)
    try:
        accounts.change_password(current_user.id, current, new)
    except AuthenticationFailed:
        db.session.rollback()
        raise
    login_succeeded(username)
    user = db.session.get(User, current_user.id)
    assert user is not None
    login_user(user)
