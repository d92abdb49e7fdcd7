"""The contestant's operations: listContests, registerForContest, startAttempt, getAttempt,
saveAnswer, submitAttempt, getAttemptResult, reportIntegrityEvent.

Nothing here reveals correctness before review opens: attempt bodies carry the stem, the options
(in this contestant's order, with opaque ids) and the contestant's own answers, never the key.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import request, session, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from contest.api.autosave_lane import CHECKED, device_id_in
from contest.api.blueprint import blp
from contest.api.schemas import (
    SAVE_ANSWER,
    AttemptClockSchema,
    AttemptResultSchema,
    AttemptSchema,
    ContestListSchema,
    IntegrityEventInSchema,
    IntegrityResultSchema,
    RegistrationSchema,
    SaveResultSchema,
)
from contest.errors import Forbidden
from contest.extensions import db, login_manager
from contest.live_final import service as live_service
from contest.models import (
    Attempt,
    AttemptItem,
    AttemptStatus,
    Contest,
    ContestStatus,
    Round,
    SessionUser,
)
from contest.security import session_user
from contest.services import answers, timing
from contest.services import attempts as attempt_service
from contest.services import contests as contest_service
from contest.services.attempt_rules import Change
from question_bank import markdown
from question_bank.domain import QuestionType, count_blanks
from question_bank.models import QuestionVersion


def now() -> datetime:
    return datetime.now(UTC)


def device_id() -> str | None:
    return device_id_in(request.environ)


def signed_session_user() -> SessionUser | None:
    """The signed session's user and generation, not loaded; None: callers take
    ``current_user``."""
    return session_user(session)


def contestant_only() -> None:
    if current_user.is_organizer:
        raise Forbidden("Organizers do not take part in contests; use a contestant account.")


# Serialization ---------------------------------------------------------------------------------


def _items(attempt: Attempt) -> list[tuple[AttemptItem, QuestionVersion]]:
    rows = db.session.execute(
        select(AttemptItem, QuestionVersion)
        .join(QuestionVersion, QuestionVersion.id == AttemptItem.question_version_id)
        .where(AttemptItem.attempt_id == attempt.id)
        .order_by(AttemptItem.position)
    ).all()
    return [(item, version) for item, version in rows]


def _item_body(item: AttemptItem, version: QuestionVersion) -> dict[str, Any]:
    options = [
        {
            "id": oid,
            "text": version.options[index],
            "html": markdown.render_inline(version.options[index]),
        }
        for oid, index in zip(item.option_ids, item.option_order, strict=True)
    ]
    blanks = 0
    if version.type is QuestionType.FILL_BLANK:
        blanks = len(version.answer)  # the number of blanks, not their content
    return {
        "position": item.position,
        "type": version.type.value,
        "stem": version.stem,
        "stem_html": markdown.render(version.stem),
        "options": options,
        "blanks": blanks
        or (count_blanks(version.stem) if version.type is QuestionType.FILL_BLANK else 0),
        "points": item.points,
        "answer": item.answer,
        "flagged": item.flagged,
        "seq": item.seq,
    }


def attempt_body(attempt: Attempt, round_: Round) -> dict[str, Any]:
    return {
        "id": attempt.id,
        "round_id": attempt.round_id,
        "status": attempt.status.value,
        "started_at": attempt.started_at,
        "deadline_at": attempt.deadline_at,
        "server_now": now(),
        "focus_losses": attempt.focus_losses,
        "integrity_remaining": attempt_service.integrity_remaining(round_, attempt),
        # As saves are checked: a request that names no device is not told apart.
        "held_here": (here := device_id()) is None or attempt_service.held_on(attempt, here),
        "items": [_item_body(item, version) for item, version in _items(attempt)],
    }


def _correct_answer(item: AttemptItem, version: QuestionVersion) -> Any:
    ids = dict(zip(item.option_order, item.option_ids, strict=True))
    key = version.answer
    if version.type is QuestionType.SINGLE:
        return ids[key]
    if version.type in (QuestionType.MULTIPLE, QuestionType.ORDERING):
        return [ids[i] for i in key]
    return key


def _result_head(
    attempt_id: int,
    round_id: int,
    status: AttemptStatus,
    score: Any,
    max_score: Any,
    time_used_s: int | None,
    review: bool,
) -> dict[str, Any]:
    """A result body without its reviewed items (the score only once scored)."""
    return {
        "id": attempt_id,
        "round_id": round_id,
        "status": status.value,
        "score": float(score) if status is AttemptStatus.SCORED and score is not None else None,
        "max_score": float(max_score),
        "time_used_s": time_used_s,
        "review": review,
        "items": [],
    }


def result_body(attempt: Attempt, round_: Round, *, items: bool = True) -> dict[str, Any]:
    """getAttemptResult's body; ``items`` False leaves the reviewed items out (submitAttempt
    answers with the status only: the result page asks for the review)."""
    at = now()
    review = attempt_service.review_open(attempt, round_, at)
    body = _result_head(
        attempt.id,
        attempt.round_id,
        attempt.status,
        attempt.score if attempt_service.score_shown(round_, at) else None,
        attempt.max_score,
        attempt.time_used_s,
        review,
    )
    if review and items:
        for item, version in _items(attempt):
            entry = _item_body(item, version)
            entry.update(
                correct_answer=_correct_answer(item, version),
                correct=item.correct,
                earned=float(item.earned) if item.earned is not None else None,
                explanation_html=markdown.render(version.explanation),
            )
            body["items"].append(entry)
    return body


def _status(round_: Round, at: datetime) -> str:
    """scheduled, open or closed: a paper round by its window, a live one by its host."""
    if round_.mode == "live":
        return live_service.round_status(round_.id)
    return timing.round_status(round_, at)


def contest_body(contest: Contest, user_id: int) -> dict[str, Any]:
    """The contest as a contestant sees it; the rounds of a finished (or archived) contest are
    closed, whatever their windows say (it takes no new attempts)."""
    at = now()
    taking = contest.status is ContestStatus.PUBLISHED
    rounds = []
    for round_ in contest.rounds:
        used = db.session.scalar(
            select(func.count(Attempt.id)).where(
                Attempt.round_id == round_.id, Attempt.user_id == user_id
            )
        )
        open_id = db.session.scalar(
            select(Attempt.id).where(
                Attempt.round_id == round_.id,
                Attempt.user_id == user_id,
                Attempt.status == AttemptStatus.IN_PROGRESS,
            )
        )
        rows = round_.blueprint or []
        rounds.append(
            {
                "id": round_.id,
                "title": round_.title,
                "mode": round_.mode,
                "status": _status(round_, at) if taking else "closed",
                "opens_at": round_.opens_at,
                "closes_at": round_.closes_at,
                "duration_s": round_.duration_s,
                "attempts_allowed": round_.attempts_allowed,
                "attempts_used": used,
                "open_attempt_id": open_id or None,
                "question_count": sum(int(r["count"]) for r in rows),
                "max_score": sum(int(r["count"]) * int(r["points"]) for r in rows),
            }
        )
    return {
        "id": contest.id,
        "title": contest.title,
        "description": contest.description,
        "registration_mode": contest.registration_mode.value,
        "registered": contest_service.is_registered(contest.id, user_id),
        "rounds": rounds,
    }


# Operations ------------------------------------------------------------------------------------


@blp.route("/contests", methods=["GET"])
@blp.doc(operationId="listContests", summary="Contests this contestant can see, with rounds")
@login_required
@blp.response(200, ContestListSchema)
def list_contests() -> dict[str, Any]:
    return {
        "contests": [
            contest_body(c, current_user.id) for c in contest_service.contests_for(current_user)
        ]
    }


@blp.route("/contests/<int:contest_id>/registration", methods=["POST"])
@blp.doc(operationId="registerForContest", summary="Join a contest (invite code if it asks)")
@login_required
@blp.arguments(RegistrationSchema())
@blp.response(200, ContestListSchema)
def register(body: dict[str, Any], contest_id: int) -> dict[str, Any]:
    contestant_only()
    contest_service.register(
        contest_id, current_user.id, now=now(), invite_code=body.get("invite_code")
    )
    db.session.commit()
    return {"contests": [contest_body(contest_service.get_contest(contest_id), current_user.id)]}


@blp.route("/rounds/<int:round_id>/attempts", methods=["POST"])
@blp.doc(
    operationId="startAttempt",
    summary="Start an attempt, or resume the open one (taking it over on this device)",
)
@login_required
@blp.response(201, AttemptSchema)
@blp.alt_response(200, schema=AttemptSchema, description="The open attempt, resumed")
def start_attempt(round_id: int) -> Any:
    contestant_only()
    started = attempt_service.start_attempt(
        round_id, current_user.id, now=now(), device_id=device_id()
    )
    round_ = contest_service.get_round(round_id)
    headers = {"Location": url_for("api.get_attempt", attempt_id=started.attempt.id)}
    return attempt_body(started.attempt, round_), 201 if started.created else 200, headers


@blp.route("/attempts/<int:attempt_id>", methods=["GET"])
@blp.doc(operationId="getAttempt", summary="An attempt with its paper and saved answers")
@login_required
@blp.response(200, AttemptSchema)
def get_attempt(attempt_id: int) -> dict[str, Any]:
    attempt = attempt_service.get_own_attempt(attempt_id, current_user.id)
    attempt_service.close_if_overdue(attempt, now())
    return attempt_body(attempt, contest_service.get_round(attempt.round_id))


@blp.route("/attempts/<int:attempt_id>/clock", methods=["GET"])
@blp.doc(
    operationId="getAttemptClock",
    summary="An attempt's status and deadline with the server's time (the page's timer)",
    description="What the attempt page asks when it has not heard from the server for a while, "
    "when it comes back into view and at its deadline: the organizers may have moved the "
    "round's close or duration. Much lighter than getAttempt (no paper).",
)
@login_required
@blp.response(200, AttemptClockSchema)
def get_attempt_clock(attempt_id: int) -> dict[str, Any]:
    attempt = attempt_service.get_own_attempt(attempt_id, current_user.id)
    attempt_service.close_if_overdue(attempt, now())
    return {"status": attempt.status.value, "deadline_at": attempt.deadline_at, "server_now": now()}


@blp.route("/attempts/<int:attempt_id>/items/<int:position>", methods=["PUT"])
@blp.doc(
    operationId="saveAnswer",
    summary="Autosave one answer; a seq not above the stored one changes nothing",
)
@blp.arguments(SAVE_ANSWER)
@blp.response(200, SaveResultSchema)
def save_answer(body: dict[str, Any], attempt_id: int, position: int) -> Any:
    # The hot path of a contest: the signed session names the user, and the one query of the
    # fast path checks every rule (the account's too), so no user is loaded. (Most saves never
    # get here: the autosave lane serves them; CHECKED: it ran this query already.)
    user = signed_session_user()
    if user is not None and not request.environ.get(CHECKED):
        fast = answers.save_answer_fast(save_change(attempt_id, position, body, user))
        if fast is not None:
            return fast
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return answers.save_answer(save_change(attempt_id, position, body, signed_in()))


def save_change(attempt_id: int, position: int, body: dict[str, Any], user: SessionUser) -> Change:
    """A save as the attempt rules read it (the API's body, validated by SaveAnswerSchema)."""
    return Change(
        attempt_id,
        user,
        now(),
        device_id(),
        position=position,
        answer=body["answer"],
        seq=body["seq"],
        flagged=body.get("flagged"),
    )


def signed_in() -> SessionUser:
    """The signed-in user as the attempt rules name a requester."""
    return SessionUser(current_user.id, current_user.session_generation)


@blp.route("/attempts/<int:attempt_id>/submission", methods=["POST"])
@blp.doc(operationId="submitAttempt", summary="Submit; submitting twice is harmless")
@blp.response(200, AttemptResultSchema)
def submit_attempt(attempt_id: int) -> Any:
    # Like saveAnswer: the signed session names the user, and the submission's one read checks
    # every rule (the account's too), so no user is loaded.
    user = signed_session_user()
    if user is None:
        return login_manager.unauthorized()
    done = attempt_service.submit_attempt(Change(attempt_id, user, now(), device_id()))
    return _result_head(
        done.attempt_id,
        done.round_id,
        done.status,
        done.score,
        done.max_score,
        done.time_used_s,
        done.review,
    )


@blp.route("/attempts/<int:attempt_id>/result", methods=["GET"])
@blp.doc(
    operationId="getAttemptResult",
    summary="Score (null while scoring) and, once review opens, the key and explanations",
)
@login_required
@blp.response(200, AttemptResultSchema)
def get_attempt_result(attempt_id: int) -> dict[str, Any]:
    attempt = attempt_service.get_own_attempt(attempt_id, current_user.id)
    attempt_service.close_if_overdue(attempt, now())
    return result_body(attempt, contest_service.get_round(attempt.round_id))


@blp.route("/attempts/<int:attempt_id>/integrity-events", methods=["POST"])
@blp.doc(
    operationId="reportIntegrityEvent", summary="Report the page being hidden or shown again (切屏)"
)
@login_required
@blp.arguments(IntegrityEventInSchema())
@blp.response(200, IntegrityResultSchema)
def report_integrity_event(body: dict[str, Any], attempt_id: int) -> dict[str, Any]:
    result = attempt_service.report_integrity_event(
        attempt_id,
        current_user.id,
        kind=body["kind"],
        now=now(),
        client_duration_ms=body.get("duration_ms"),
        device_id=device_id(),
    )
    attempt = attempt_service.get_own_attempt(attempt_id, current_user.id)
    return {
        "counted": result.counted,
        "focus_losses": result.focus_losses,
        "remaining": result.remaining,
        "action": result.action,
        "status": attempt.status.value,
    }
