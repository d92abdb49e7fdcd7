"""Organizer operations on contests and rounds: createContest, getContest, createRound,
updateRound (a round's attempts: :mod:`contest.api.monitoring`). A blueprint the bank cannot
fill is refused with 422 and the list of every short row."""

from __future__ import annotations

from typing import Any

from contest.api.blueprint import blp
from contest.api.schemas import (
    ContestInSchema,
    ContestOutSchema,
    RoundInSchema,
    RoundOutSchema,
)
from contest.errors import DomainError
from contest.extensions import db
from contest.models import Contest, Round
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
    return contest_out(contest), 201


@blp.route("/contests/<int:contest_id>", methods=["GET"])
@blp.doc(operationId="getContest", summary="A contest with every round's settings (organizers)")
@organizer_required
@blp.response(200, ContestOutSchema)
def get_contest(contest_id: int) -> dict[str, Any]:
    return contest_out(contest_service.get_contest(contest_id))


def contest_out(contest: Contest) -> dict[str, Any]:
    """A contest as organizers see it: settings, status (draft, published …) and rounds."""
    return {
        "id": contest.id,
        "title": contest.title,
        "description": contest.description,
        "schedule": contest.schedule,
        "registration_mode": contest.registration_mode.value,
        "invite_code": contest.invite_code,
        "board_visibility": contest.board_visibility.value,
        "mask_names": contest.mask_names,
        "status": contest.status.value,
        "published_at": contest.published_at,
        "finished_at": contest.finished_at,
        "archived_at": contest.archived_at,
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
