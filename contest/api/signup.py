"""Public sign-up (注册) through the API: getSignupForm and signUp.

Both are open to anonymous callers. ``signUp`` takes the CSRF token of the caller's session
(``getSession``) in ``X-CSRFToken`` like every other state-changing call, answers with the new
session (and a fresh token), and holds back bulk sign-ups as the page does: past the
per-address count it answers 428 ``challenge_required`` with a question and a token in the
error body; the next call sends ``challenge_token`` and ``challenge_answer``. Mobile numbers
and extra fields are never part of a public answer: the 201 carries only the caller's own
session.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
from flask import g, jsonify, make_response, request, session
from flask_babel import gettext as _
from flask_login import current_user, login_user
from flask_wtf.csrf import generate_csrf

from contest.api.blueprint import blp
from contest.api.schemas import ErrorSchema, UserSchema
from contest.auth import throttle
from contest.auth.throttle import login_succeeded
from contest.errors import Conflict
from contest.extensions import db
from contest.input_checks import MAX_ID
from contest.main.signup import start_url
from contest.services import signup as signup_service
from contest.services import signup_guard
from contest.services.accounts import MIN_PASSWORD_LENGTH


class SignupFieldSchema(ma.Schema):
    key = ma.fields.String()
    label = ma.fields.String()
    required = ma.fields.Boolean()


class SignupUnitSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    parent_id = ma.fields.Integer(
        allow_none=True, metadata={"description": "the district (区县) it belongs to, if any"}
    )


class ChallengeSchema(ma.Schema):
    question = ma.fields.String(required=True)
    token = ma.fields.String(
        required=True, metadata={"description": "send back as challenge_token, once"}
    )


class SignupFormSchema(ma.Schema):
    contest_id = ma.fields.Integer()
    title = ma.fields.String()
    description = ma.fields.String()
    open = ma.fields.Boolean(metadata={"description": "whether the contest takes sign-ups now"})
    notice = ma.fields.String(metadata={"description": "the rules and privacy notice"})
    fields_ = ma.fields.List(
        ma.fields.Nested(SignupFieldSchema),
        data_key="fields",
        metadata={"description": "extra fields, answered in extra"},
    )
    units = ma.fields.List(
        ma.fields.Nested(SignupUnitSchema),
        metadata={"description": "the units to choose from (区县 → 单位 by parent_id)"},
    )
    min_password_length = ma.fields.Integer()
    challenge = ma.fields.Nested(
        ChallengeSchema,
        allow_none=True,
        metadata={"description": "present when this caller's next sign-up must answer it"},
    )


class SignupInSchema(ma.Schema):
    display_name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=120))
    mobile = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=32),
        metadata={"description": "11 digits starting with 1; becomes the username (not verified)"},
    )
    password = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=256))
    organization_id = ma.fields.Integer(
        allow_none=True,
        load_default=None,
        validate=ma.validate.Range(min=1, max=MAX_ID),
        metadata={"description": "one of the units of getSignupForm; null with unit_other"},
    )
    unit_other = ma.fields.String(
        allow_none=True,
        load_default=None,
        validate=ma.validate.Length(max=200),
        metadata={"description": "the unit's name when it is not in the list (其他)"},
    )
    extra = ma.fields.Dict(
        keys=ma.fields.String(validate=ma.validate.Length(max=32)),
        values=ma.fields.String(validate=ma.validate.Length(max=200)),
        load_default=dict,
        validate=ma.validate.Length(max=20),
        metadata={"description": "answers to the contest's extra fields, by key"},
    )
    consent = ma.fields.Boolean(
        required=True, metadata={"description": "agrees to the rules and privacy notice"}
    )
    challenge_token = ma.fields.String(
        load_default=None, allow_none=True, validate=ma.validate.Length(max=512)
    )
    challenge_answer = ma.fields.String(
        load_default=None, allow_none=True, validate=ma.validate.Length(max=20)
    )


class SignupOutSchema(ma.Schema):
    user = ma.fields.Nested(UserSchema, required=True)
    csrf_token = ma.fields.String(required=True)
    next_url = ma.fields.String(metadata={"description": "where to go next: the round to start"})


class ChallengeErrorSchema(ErrorSchema):
    challenge = ma.fields.Nested(ChallengeSchema, required=True)


class ChallengeErrorEnvelopeSchema(ma.Schema):
    error = ma.fields.Nested(ChallengeErrorSchema, required=True)


def _units(contest: Any) -> list[dict[str, Any]]:
    return [
        {"id": o.id, "name": o.name, "parent_id": o.parent_id}
        for o in signup_service.offered_units(contest)
    ]


@blp.route("/contests/<int:contest_id>/signup", methods=["GET"])
@blp.doc(
    operationId="getSignupForm",
    summary="What signing up for an open contest asks (anonymous); 404 for a draft",
)
@blp.response(200, SignupFormSchema)
def get_signup_form(contest_id: int) -> dict[str, Any]:
    contest = signup_service.signup_contest(contest_id)
    open_ = signup_service.takes_signups(contest)
    challenge = None
    if open_ and signup_guard.challenge_due(request.remote_addr or "", throttle.now_s()):
        challenge = signup_guard.new_challenge()
    return {
        "contest_id": contest.id,
        "title": contest.title,
        "description": contest.description or "",
        "open": open_,
        "notice": contest.signup_notice or "",
        "fields_": signup_service.signup_fields(contest),
        "units": _units(contest) if open_ else [],
        "min_password_length": MIN_PASSWORD_LENGTH,
        "challenge": None
        if challenge is None
        else {"question": challenge.question, "token": challenge.token},
    }


def _invalid(problems: dict[str, str]) -> Any:
    """422 with the problems per field, nested as the body is (extra.<key> under extra)."""
    fields: dict[str, Any] = {}
    for name, message in problems.items():
        if name.startswith("extra."):
            fields.setdefault("extra", {})[name.removeprefix("extra.")] = [message]
        else:
            fields[{"password_again": "password"}.get(name, name)] = [message]
    message = next(iter(problems.values()))
    body = {"code": "invalid_input", "message": message, "fields": {"json": fields}}
    return make_response(jsonify(error=body), 422)


def _challenge(exc: signup_guard.ChallengeRequired) -> Any:
    body = {
        "code": exc.code,
        "message": exc.message,
        "challenge": {"question": exc.challenge.question, "token": exc.challenge.token},
    }
    return make_response(jsonify(error=body), exc.status)


@blp.route("/contests/<int:contest_id>/signup", methods=["POST"])
@blp.doc(
    operationId="signUp",
    summary="Create a contestant account for an open contest and sign in (anonymous; "
    "X-CSRFToken from getSession); 428 asks a challenge question",
)
@blp.arguments(SignupInSchema())
@blp.response(201, SignupOutSchema)
@blp.alt_response(409, description="Sign-up closed, mobile number registered, or logged in")
@blp.alt_response(428, schema=ChallengeErrorEnvelopeSchema, description="Answer the challenge")
@blp.alt_response(429, description="Too many sign-ups from this address")
def sign_up(body: dict[str, Any], contest_id: int) -> Any:
    contest = signup_service.signup_contest(contest_id)
    if current_user.is_authenticated:
        raise Conflict(_("You are already logged in."), code="already_signed_in")
    signup_service.ensure_open(contest)
    data = signup_service.SignupData(
        display_name=body["display_name"],
        mobile=body["mobile"],
        password=body["password"],
        password_again=body["password"],
        organization_id=body["organization_id"],
        unit_other=body["unit_other"] if body["organization_id"] is None else None,
        extra={str(k): str(v) for k, v in body["extra"].items()},
        consent=body["consent"],
    )
    problems = signup_service.check(contest, data)
    if problems:
        return _invalid(problems)
    try:
        signup_guard.guard(
            request.remote_addr or "",
            throttle.now_s(),
            body["challenge_token"],
            body["challenge_answer"],
        )
    except signup_guard.ChallengeRequired as exc:
        return _challenge(exc)
    user = signup_service.sign_up(contest.id, data, now=datetime.now(UTC))
    db.session.commit()
    signup_guard.note_made(request.remote_addr or "", throttle.now_s())
    login_succeeded(user.username)
    login_user(user)
    session.pop("csrf_token", None)  # a fresh token for the new session
    g.pop("csrf_token", None)
    return {
        "user": user,
        "csrf_token": generate_csrf(),
        "next_url": start_url(contest),
    }, 201
