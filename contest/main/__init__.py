"""Public pages and the contestant's pages: home, round lobby, attempt and result.

The contestant's pages take everything about an attempt from the objects the JSON API returns
(``contest_body``, ``result_body``; the attempt page's script calls ``getAttempt`` itself), so a
page can never show more than the API would: no answer key, correctness flag or explanation
before the round's review policy allows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

from contest.api.attempts import contest_body, result_body
from contest.errors import DomainError, NotFound
from contest.extensions import db
from contest.models import (
    Attempt,
    AttemptStatus,
    BoardVisibility,
    Contest,
    ContestStatus,
    IntegrityAction,
    RegistrationMode,
    ReviewPolicy,
    Round,
)
from contest.services import attempts as attempt_service
from contest.services import contests as contest_service
from question_bank.domain import QuestionType

OPTION_LETTERS = "ABCDEFGH"  # the attempt page's labels for choices (attempt.js: LETTERS)

bp = Blueprint("main", __name__)

F = TypeVar("F", bound=Callable[..., Any])


def now() -> datetime:
    return datetime.now(UTC)


def contestant_required(view: F) -> F:
    """Logged-in contestants only: anonymous visitors go to login, organizers get 403."""

    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_user.is_organizer:
            abort(403)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


# Labels ------------------------------------------------------------------------------------------


def round_status_text(status: str) -> str:
    return {"scheduled": _("Not started"), "open": _("In progress"), "closed": _("Ended")}.get(
        status, status
    )


def attempt_status_text(status: str) -> str:
    return {
        "in_progress": _("Answering"),
        "submitted": _("Submitted, scoring…"),
        "scored": _("Scored"),
        "void": _("Void, under review"),
    }.get(status, status)


def type_text(kind: str) -> str:
    return {
        QuestionType.SINGLE.value: _("Single choice"),
        QuestionType.MULTIPLE.value: _("Multiple choice"),
        QuestionType.TRUE_FALSE.value: _("True/false"),
        QuestionType.FILL_BLANK.value: _("Fill in the blank"),
        QuestionType.ORDERING.value: _("Ordering"),
    }.get(kind, kind)


def duration_text(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    minutes, rest = divmod(int(seconds), 60)
    if not minutes:
        return _("%(s)d s", s=rest)
    if not rest:
        return _("%(m)d min", m=minutes)
    return _("%(m)d min %(s)d s", m=minutes, s=rest)


def points_text(value: Any) -> str:
    """12 or 12.5: points without a pointless ".0"."""
    if value is None:
        return "—"
    number = round(float(value), 2)
    return str(int(number)) if number == int(number) else f"{number:g}"


def review_text(policy: ReviewPolicy) -> str:
    return {
        ReviewPolicy.AFTER_SUBMIT: _("Right after you submit"),
        ReviewPolicy.AFTER_CLOSE: _("After the round closes"),
        ReviewPolicy.NEVER: _("Not shown"),
    }[ReviewPolicy(policy)]


def multiple_rule_text(rule: str) -> str:
    return {
        "all_or_nothing": _("All or nothing: missing or wrong options score 0"),
        "half_for_subset": _("Half the points for a correct subset"),
        "proportional": _("Points in proportion to the correct options chosen"),
    }.get(rule, rule)


def integrity_text(round_: Round) -> str:
    n = round_.integrity_threshold
    if not n:
        return _("Leaving the page is recorded.")
    return {
        IntegrityAction.WARN: _(
            "Leaving the page more than %(n)d time(s) is reported to the organizers.", n=n
        ),
        IntegrityAction.SUBMIT: _(
            "Leaving the page more than %(n)d time(s) submits your paper automatically.", n=n
        ),
        IntegrityAction.VOID: _(
            "Leaving the page more than %(n)d time(s) voids this attempt for the organizers "
            "to review.",
            n=n,
        ),
    }[IntegrityAction(round_.integrity_action)]


@bp.context_processor
def play_helpers() -> dict[str, Any]:
    return {
        "round_status_text": round_status_text,
        "attempt_status_text": attempt_status_text,
        "type_text": type_text,
        "duration_text": duration_text,
        "points_text": points_text,
    }


# Home --------------------------------------------------------------------------------------------


@bp.route("/")
def index() -> Any:
    if current_user.is_authenticated and current_user.is_organizer:
        return redirect(url_for("admin.index"))
    if current_user.is_authenticated:
        contests = [
            contest_body(c, current_user.id) for c in contest_service.contests_for(current_user)
        ]
        return render_template("main/home.html", contests=contests)
    return render_template("main/landing.html", boards=public_boards())


# Contests on the landing page: the newest with public boards, for spectators without a link.
LANDING_BOARDS = 10


def public_boards() -> list[Contest]:
    """The newest published or finished contests whose boards are public and that have a
    round. Roster-only contests are left out: their boards stay reachable by the link the
    organizers hand out (as do an archived contest's)."""
    return list(
        db.session.scalars(
            select(Contest)
            .where(
                Contest.status.in_(contest_service.LISTED_STATUSES),
                Contest.board_visibility == BoardVisibility.PUBLIC,
                Contest.registration_mode != RegistrationMode.ROSTER,
                Contest.rounds.any(),
            )
            .order_by(Contest.created_at.desc(), Contest.id.desc())
            .limit(LANDING_BOARDS)
        )
    )


@bp.route("/contests/<int:contest_id>/registration", methods=["POST"])
@contestant_required
def register(contest_id: int) -> Any:
    """registerForContest as a form: the invite code of an invite-only contest."""
    contest = _visible_contest(contest_id)
    try:
        contest_service.register(
            contest.id,
            current_user.id,
            now=now(),
            invite_code=(request.form.get("invite_code") or "")[:64] or None,
        )
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(_("You have joined %(title)s.", title=contest.title), "info")
    round_id = request.form.get("round_id", type=int)
    if round_id:
        return redirect(url_for("main.round_lobby", round_id=round_id))
    return redirect(url_for("main.index"))


def _visible_contest(contest_id: int) -> Contest:
    """The contest if this contestant may see it (as listContests does, archived contests
    too by their links); 404 otherwise (a draft, or a roster they are not on)."""
    contest = contest_service.visible_contest(contest_id)
    if contest.registration_mode is RegistrationMode.ROSTER and not (
        contest_service.is_registered(contest.id, current_user.id)
    ):
        raise NotFound(_("No contest %(id)s.", id=contest_id))
    return contest


# Round lobby -------------------------------------------------------------------------------------


@bp.route("/rounds/<int:round_id>")
@contestant_required
def round_lobby(round_id: int) -> Any:
    round_ = contest_service.get_round(round_id)
    contest = _visible_contest(round_.contest_id)
    body = contest_body(contest, current_user.id)
    summary = next(r for r in body["rounds"] if r["id"] == round_.id)
    attempts = db.session.scalars(
        select(Attempt)
        .where(Attempt.round_id == round_.id, Attempt.user_id == current_user.id)
        .order_by(Attempt.number)
    ).all()
    allowed = round_.attempts_allowed
    can_start = (
        summary["status"] == "open"
        and round_.mode == "paper"
        and (body["registered"] or contest.registration_mode is RegistrationMode.OPEN)
        and (summary["open_attempt_id"] or not allowed or summary["attempts_used"] < allowed)
    )
    # Starting now, the close cuts the attempt short: say how long it really has.
    at, closes = now(), round_.closes_at
    time_left = ""
    if (
        closes is not None
        and can_start
        and not summary["open_attempt_id"]
        and closes < at + timedelta(seconds=round_.duration_s)
    ):
        seconds = max(0, int((closes - at).total_seconds()))
        time_left = duration_text(seconds - seconds % 60 if seconds >= 60 else seconds)
    blueprint = [
        {
            "type": type_text(str(row.get("type"))),
            "category": str(row.get("category") or ""),
            "count": int(row["count"]),
            "points": int(row["points"]),
        }
        for row in round_.blueprint or []
    ]
    return render_template(
        "play/lobby.html",
        contest=body,
        round=summary,
        rules=round_,
        blueprint=blueprint,
        attempts=attempts,
        can_start=can_start,
        time_left=time_left,
        needs_invite=(
            contest.registration_mode is RegistrationMode.INVITE
            and not body["registered"]
            and contest.status is ContestStatus.PUBLISHED
        ),
        review=review_text(round_.review_policy),
        score_shown=attempt_service.score_shown(round_, now()),
        multiple_rule=multiple_rule_text(round_.multiple_rule),
        has_multiple=any(row.get("type") == "multiple" for row in round_.blueprint or []),
        integrity=integrity_text(round_),
    )


@bp.route("/rounds/<int:round_id>/start", methods=["POST"])
@contestant_required
def start_attempt(round_id: int) -> Any:
    """startAttempt as a form: start, or resume (taking the attempt over on this device)."""
    round_ = contest_service.get_round(round_id)
    _visible_contest(round_.contest_id)
    device_id = (request.form.get("device_id") or "")[:64] or None
    try:
        started = attempt_service.start_attempt(
            round_id, current_user.id, now=now(), device_id=device_id
        )
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("main.round_lobby", round_id=round_id))
    return redirect(url_for("main.attempt_page", attempt_id=started.attempt.id))


# Attempt and result ------------------------------------------------------------------------------


def _own_attempt(attempt_id: int) -> tuple[Attempt, Round]:
    """The contestant's own attempt (404 for anyone else's), closed if its time is up."""
    attempt = attempt_service.get_own_attempt(attempt_id, current_user.id)
    attempt_service.close_if_overdue(attempt, now())
    return attempt, contest_service.get_round(attempt.round_id)


@bp.route("/attempts/<int:attempt_id>")
@contestant_required
def attempt_page(attempt_id: int) -> Any:
    attempt, round_ = _own_attempt(attempt_id)
    if attempt.status is not AttemptStatus.IN_PROGRESS:
        return redirect(url_for("main.attempt_result", attempt_id=attempt.id))
    urls = {
        "attempt": url_for("api.get_attempt", attempt_id=attempt.id),
        "clock": url_for("api.get_attempt_clock", attempt_id=attempt.id),
        "save": url_for("api.save_answer", attempt_id=attempt.id, position=0)[:-1],
        "submit": url_for("api.submit_attempt", attempt_id=attempt.id),
        "integrity": url_for("api.report_integrity_event", attempt_id=attempt.id),
        "start": url_for("api.start_attempt", round_id=round_.id),
        "session": url_for("api.get_session"),
        "result": url_for("main.attempt_result", attempt_id=attempt.id),
        "login": url_for("auth.login", next=request.path),
    }
    return render_template(
        "play/attempt.html",
        attempt=attempt,
        round=round_,
        urls=urls,
        csrf=generate_csrf(),
        strings=attempt_strings(),
    )


def attempt_strings() -> dict[str, str]:
    """The attempt script's words; ``{n}``-style placeholders are filled in by the script."""
    return {
        **{f"type_{kind.value}": type_text(kind.value) for kind in QuestionType},
        "question_of": _("Question {n} of {total}"),
        "question_n": _("Question {n}"),
        "points": _("{n} pt"),
        "single_hint": _("Choose one."),
        "multiple_hint": _("Choose every right option."),
        "true": _("True"),
        "false": _("False"),
        "blank_n": _("Blank {n}"),
        "ordering_hint": _("Put the steps in order with the up and down buttons."),
        "ordering_unanswered": _(
            "Not answered yet: move an item, or keep this order with the button below."
        ),
        "ordering_keep": _("Use this order"),
        "ordering_answered": _("Your order is saved with your answers."),
        "move_up": _("Move up: {text}"),
        "move_down": _("Move down: {text}"),
        "moved_to": _("Moved to place {n}."),
        "card_answered": _("Question {n}, answered"),
        "card_unanswered": _("Question {n}, not answered"),
        "card_flagged": _("flagged for later"),
        "card_count": _("{answered} of {total} answered"),
        "flag": _("Flag for later"),
        "flagged": _("Flagged"),
        "saving": _("Saving…"),
        "saved": _("Saved"),
        "offline": _("Offline, {n} answer(s) waiting to sync"),
        "retrying": _("Not saved yet, retrying…"),
        "stopped": _("Saving stopped"),
        "logged_out": _("You are logged out: log in again in another tab, answers wait here."),
        "loading_failed": _("Cannot load the paper. Retrying…"),
        "device_replaced": _(
            "This attempt continues on another device; this page no longer saves answers."
        ),
        "take_over": _("Continue on this device"),
        "time_left": _("Time left"),
        "five_minutes": _("5 minutes left."),
        "one_minute": _("1 minute left."),
        "deadline_moved": _("The organizers changed the closing time: {left} left."),
        "time_up": _("Time is up. Submitting your answers…"),
        "submitting": _("Submitting…"),
        "confirm_unanswered": _("Questions not answered: {list}."),
        "confirm_all": _("Every question is answered."),
        "confirm_final": _("After submitting you cannot change your answers."),
        "list_sep": _(", "),
        "not_synced": _(
            "Some answers are not saved yet (no connection). They are sent as soon as the "
            "connection returns; submit after that."
        ),
        "switches_left": _("You may leave the page {n} more time(s)."),
        "integrity_warn": _("You left the page too often; the organizers are told."),
    }


@bp.route("/attempts/<int:attempt_id>/result")
@contestant_required
def attempt_result(attempt_id: int) -> Any:
    attempt, round_ = _own_attempt(attempt_id)
    if attempt.status is AttemptStatus.IN_PROGRESS:
        return redirect(url_for("main.attempt_page", attempt_id=attempt.id))
    result = result_body(attempt, round_)
    score_shown = attempt_service.score_shown(round_, now())
    options: dict[str, str] = {}
    letters: dict[str, str] = {}  # as the attempt page labels choices: A, B, C … in shown order
    for item in result["items"]:
        shown = {option["id"]: index for index, option in enumerate(item["options"])}
        for option in item["options"]:
            options[option["id"]] = option["html"]
            letters[option["id"]] = OPTION_LETTERS[shown[option["id"]] :][:1]  # "" past H
        if item["type"] == QuestionType.MULTIPLE.value:  # A, C rather than C, A
            for key in ("answer", "correct_answer"):
                if isinstance(item.get(key), list):
                    item[key] = sorted(item[key], key=lambda oid: shown.get(oid, len(shown)))
    return render_template(
        "play/result.html",
        result=result,
        round=round_,
        contest=round_.contest,
        submitted_by=attempt.submitted_by,
        options=options,
        letters=letters,
        score_later=not score_shown,
        pending=score_shown and result["score"] is None and result["status"] == "submitted",
        review_later=round_.review_policy is ReviewPolicy.AFTER_CLOSE and not result["review"],
        result_url=url_for("api.get_attempt_result", attempt_id=attempt.id),
        appeals=appeal_pages.result_state(attempt, round_, result),
        rank=appeal_pages.own_rank(round_, current_user.id, score_shown),
        certificate_url=certificate_pages.own_certificate_url(round_.contest_id),
    )


# Registers the public sign-up page and the question images.
from contest.main import appeals as appeal_pages  # noqa: E402
from contest.main import certificates as certificate_pages  # noqa: E402
from contest.main import media, signup, winners  # noqa: E402,F401
