from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from contest.auth import bp
from contest.auth.forms import ChangePasswordForm, LoginForm
from contest.auth.throttle import check_login_allowed, login_succeeded
from contest.errors import AuthenticationFailed, DomainError
from contest.i18n import COOKIE, LOCALES
from contest.models import User
from contest.services.accounts import AccountInactive, authenticate, end_sessions, password_help


def home_url(user: User) -> str:
    return url_for("admin.index") if user.is_organizer else url_for("main.index")


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths: never redirect a login to another site."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    form = LoginForm(formdata=request.form)  # a form post only: JSON goes to the login operation
    status = 200
    inactive = ""  # the message for a deactivated account whose password was right
    if form.validate_on_submit():
        username = form.username.data or ""
        check_login_allowed(username)
        try:
            user = authenticate(username, form.password.data or "")
        except AccountInactive as exc:
            inactive = exc.message
            status = exc.status
        except AuthenticationFailed as exc:
            form.password.errors = [exc.message]
            status = exc.status
        else:
            login_succeeded(user.username)
            login_user(user)
            return redirect(safe_next(request.args.get("next")) or home_url(user))
    return render_template(
        "auth/login.html", form=form, password_help=password_help(), inactive=inactive
    ), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Any:
    end_sessions(current_user.id)
    logout_user()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> Any:
    """Any signed-in account changes its own password: every other session ends, this one is
    signed in again."""
    from contest.api.users import change_own

    form = ChangePasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            change_own(form.current.data or "", form.new.data or "")
        except AuthenticationFailed as exc:
            form.current.errors = [exc.message]
            status = 422
        except DomainError as exc:
            form.new.errors = [exc.message]
            status = 422
        else:
            flash(_("Your password is changed; your other sessions have ended."), "info")
            return redirect(home_url(current_user))
    elif form.errors:
        status = 422
    return render_template("auth/password.html", form=form), status


@bp.route("/lang", methods=["POST"])
def set_language() -> Any:
    """The language switch: remember the choice in a cookie for a year."""
    code = request.form.get("lang", "")
    target = safe_next(request.form.get("next")) or url_for("main.index")
    response = make_response(redirect(target))
    if code in LOCALES:
        response.set_cookie(COOKIE, code, max_age=365 * 24 * 3600, httponly=True, samesite="Lax")
    return response
