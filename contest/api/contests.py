"""Organizer operations on contests and rounds: createContest, getContest, createRound,
updateRound, listRoundAttempts. A blueprint the bank cannot fill is refused with 422 and the
list of every short row."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from contest.api.blueprint import blp
from contest.api.schemas import (
    AttemptAdminListSchema,
    ContestInSchema,
    ContestOutSchema,
    RoundInSchema,
    RoundOutSchema,
)
from contest.errors import DomainError
from contest.extensions import db
from contest.models import Attempt, Organization, Round, User
from contest.security import organizer_required
from contest.services import contests as contest_service


class ShortfallError(DomainError):
    status = 422
    code = "blueprint_shortfall"


def round_body(round_: Round) -> dict[str, Any]:
    body = {key: getattr(round_, key) for key in contest_service.ROUND_FIELDS}
    body.update(id=round_.id, contest_id=round_.contest_id, position=round_.position)
    return body


def _save(contest_id: int, round_id: int | None, fields: dict[str, Any]) -> Round:
    try:
        round_ = contest_service.save_round(contest_id, round_id, **fields)
    except contest_service.BlueprintShortfall as exc:
        db.session.rollback()
        raise ShortfallError(exc.message) from exc
    db.session.commit()
    return round_


@blp.route("/contests", methods=["POST"])
@blp.doc(operationId="createContest", summary="Create a contest (organizers)")
@organizer_required
@blp.arguments(ContestInSchema())
@blp.response(201, ContestOutSchema)
def create_contest(body: dict[str, Any]) -> Any:
    contest = contest_service.create_contest(body.pop("title"), **body)
    db.session.commit()
    return {**body, "title": contest.title, "id": contest.id, "rounds": []}, 201


@blp.route("/contests/<int:contest_id>", methods=["GET"])
@blp.doc(operationId="getContest", summary="A contest with every round's settings (organizers)")
@organizer_required
@blp.response(200, ContestOutSchema)
def get_contest(contest_id: int) -> dict[str, Any]:
    contest = contest_service.get_contest(contest_id)
    return {
        "id": contest.id,
        "title": contest.title,
        "description": contest.description,
        "schedule": contest.schedule,
        "registration_mode": contest.registration_mode.value,
        "invite_code": contest.invite_code,
        "board_visibility": contest.board_visibility.value,
        "mask_names": contest.mask_names,
        "rounds": [round_body(r) for r in contest.rounds],
    }


@blp.route("/contests/<int:contest_id>/rounds", methods=["POST"])
@blp.doc(
    operationId="createRound",
    summary="Add a round; 422 lists every blueprint row the bank cannot fill",
)
@organizer_required
@blp.arguments(RoundInSchema())
@blp.response(201, RoundOutSchema)
def create_round(body: dict[str, Any], contest_id: int) -> Any:
    return round_body(_save(contest_id, None, body)), 201


@blp.route("/contests/<int:contest_id>/rounds/<int:round_id>", methods=["PATCH"])
@blp.doc(operationId="updateRound", summary="Change a round's settings")
@organizer_required
@blp.arguments(RoundInSchema())
@blp.response(200, RoundOutSchema)
def update_round(body: dict[str, Any], contest_id: int, round_id: int) -> dict[str, Any]:
    return round_body(_save(contest_id, round_id, body))


@blp.route("/rounds/<int:round_id>/attempts", methods=["GET"])
@blp.doc(
    operationId="listRoundAttempts",
    summary="Every attempt of a round with integrity figures (organizers)",
)
@organizer_required
@blp.response(200, AttemptAdminListSchema)
def list_round_attempts(round_id: int) -> dict[str, Any]:
    contest_service.get_round(round_id)
    rows = db.session.execute(
        select(Attempt, User, Organization.name)
        .join(User, User.id == Attempt.user_id)
        .outerjoin(Organization, Organization.id == User.organization_id)
        .where(Attempt.round_id == round_id)
        .order_by(Attempt.id)
    ).all()
    return {
        "attempts": [
            {
                "id": a.id,
                "username": u.username,
                "display_name": u.display_name,
                "organization": org,
                "number": a.number,
                "status": a.status.value,
                "score": float(a.score) if a.score is not None else None,
                "time_used_s": a.time_used_s,
                "focus_losses": a.focus_losses,
                "flagged": a.flagged,
                "submitted_by": a.submitted_by,
            }
            for a, u, org in rows
        ]
    }
