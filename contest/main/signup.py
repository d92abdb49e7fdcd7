"""The public sign-up page of an open contest (注册), phone first.

The page is a plain form (CSRF token from the app-wide protection); every check lives in
:mod:`contest.services.signup`, shared with the ``signUp`` API operation, and bulk sign-ups meet
:mod:`contest.services.signup_guard` (a per-address limit and a question the server makes
itself). Success signs the new account in and goes to the round to start.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user

from contest.auth import throttle
from contest.auth.throttle import login_succeeded
from contest.boards.views import current_round
from contest.errors import DomainError, TooManyAttempts
from contest.extensions import db
from contest.main import bp
from contest.models import Contest
from contest.services import signup as signup_service
from contest.services import signup_guard
from contest.services.accounts import MIN_PASSWORD_LENGTH

FORM_FIELD_MAX = 300  # characters read from any one form field


def now() -> datetime:
    return datetime.now(UTC)


def start_url(contest: Contest) -> str:
    """Where a new contestant goes: the lobby of the contest's current round (home without
    rounds)."""
    round_ = current_round(list(contest.rounds), now())
    if round_ is None:
        return url_for("main.index")
    return url_for("main.round_lobby", round_id=round_.id)


def _text(name: str) -> str:
    return (request.form.get(name) or "")[:FORM_FIELD_MAX]


def form_data(contest: Contest) -> signup_service.SignupData:
    """The submitted form as the service's input ("其他" → no organization, the typed unit)."""
    choice = _text("organization")
    organization_id = int(choice) if choice.isdigit() and len(choice) < 10 else None
    return signup_service.SignupData(
        display_name=_text("display_name"),
        mobile=_text("mobile"),
        password=(request.form.get("password") or "")[: signup_service.MAX_PASSWORD + 1],
        password_again=(request.form.get("password_again") or "")[
            : signup_service.MAX_PASSWORD + 1
        ],
        organization_id=organization_id,
        unit_other=_text("unit_other") if organization_id is None else None,
        extra={
            row["key"]: _text(f"extra_{row['key']}")
            for row in signup_service.signup_fields(contest)
        },
        consent=request.form.get("consent") == "yes",
    )


def _page(
    contest: Contest,
    *,
    status: int = 200,
    problems: dict[str, str] | None = None,
    challenge: signup_guard.Challenge | None = None,
    message: str = "",
    taken: bool = False,
) -> Any:
    """The sign-up page (or the closed notice); never cached: it echoes what was typed."""
    open_ = signup_service.takes_signups(contest)
    if open_ and challenge is None and signup_guard.challenge_due(_address(), throttle.now_s()):
        challenge = signup_guard.new_challenge()
    response = make_response(
        render_template(
            "main/signup.html",
            contest=contest,
            open=open_,
            fields=signup_service.signup_fields(contest),
            units=signup_service.unit_tree(signup_service.offered_units(contest)) if open_ else [],
            values=request.form if request.method == "POST" else {},
            problems=problems or {},
            challenge=challenge,
            message=message,
            min_password=MIN_PASSWORD_LENGTH,
            other=signup_service.OTHER_UNIT,
            taken=taken,
        ),
        status,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _address() -> str:
    return request.remote_addr or ""


@bp.route("/contests/<int:contest_id>/signup", methods=["GET", "POST"])
def signup(contest_id: int) -> Any:
    """GET: the form (or why sign-up is closed). POST: sign up, sign in, go to the round."""
    contest = signup_service.signup_contest(contest_id)
    if current_user.is_authenticated:
        flash(_("You already have an account and are logged in."), "info")
        return redirect(url_for("main.index"))
    if request.method == "GET":
        return _page(contest)
    if not signup_service.takes_signups(contest):
        return _page(contest, status=409)
    return _submit(contest)


def _submit(contest: Contest) -> Any:
    """Check the form, then the address's limits and challenge, then create the account."""
    data = form_data(contest)
    problems = signup_service.check(contest, data)
    if "unit_other" in problems and _text("organization") != signup_service.OTHER_UNIT:
        problems["organization_id"] = _("Choose your unit from the list.")  # nothing chosen
        del problems["unit_other"]
    if problems:
        return _page(contest, status=422, problems=problems)
    try:
        signup_guard.guard(
            _address(), throttle.now_s(), _text("challenge_token"), _text("challenge_answer")
        )
        user = signup_service.sign_up(contest.id, data, now=now())
        db.session.commit()
        signup_guard.note_made(_address(), throttle.now_s())
    except signup_guard.ChallengeRequired as exc:
        return _page(contest, status=428, challenge=exc.challenge, message=exc.message)
    except signup_service.MobileTaken as exc:
        db.session.rollback()
        return _page(contest, status=409, problems={"mobile": exc.message}, taken=True)
    except TooManyAttempts as exc:
        response = _page(contest, status=429, message=exc.message)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except DomainError as exc:
        db.session.rollback()
        return _page(contest, status=exc.status, message=exc.message)
    login_succeeded(user.username)
    login_user(user)
    flash(
        _(
            "Welcome, %(name)s: you are signed up for %(title)s.",
            name=user.display_name,
            title=contest.title,
        ),
        "info",
    )
    return redirect(start_url(contest))


@bp.app_context_processor
def signup_links() -> dict[str, Any]:
    """For the sign-up links other pages include (``main/_signup_link.html``)."""
    return {
        "takes_signups": signup_service.takes_signups,
        "signup_contests": signup_service.open_contests,
    }
