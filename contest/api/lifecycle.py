"""Organizer operations on a contest's life: publishContest, finishContest, archiveContest,
deleteContest and copyContest (see :mod:`contest.services.lifecycle` for the rules).

A draft that cannot be published yet is refused with 422 and ``problems``, every reason at once;
a transition the contest's status does not allow is 409.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
from flask import Response, url_for
from flask_login import current_user

from contest.api.blueprint import blp
from contest.api.contests import contest_out
from contest.api.schemas import ContestOutSchema
from contest.extensions import db
from contest.http_errors import error_response
from contest.security import organizer_required
from contest.services import lifecycle


def _now() -> datetime:
    return datetime.now(UTC)


def _actor() -> Any:
    return current_user._get_current_object()


class PublishedContestSchema(ContestOutSchema):
    warnings = ma.fields.List(
        ma.fields.String(),
        metadata={
            "description": "What the organizers may want to look at, without blocking: rounds "
            "whose pool cites law articles superseded on the day the round opens"
        },
    )


@blp.route("/contests/<int:contest_id>/publish", methods=["POST"])
@blp.doc(
    operationId="publishContest",
    summary="Publish a draft: contestants and spectators see it (organizers)",
    description="Checks every round first: 422 with `problems` listing every reason the contest "
    "cannot be published yet (no round, a blueprint the bank cannot fill, windows out of order, "
    "an invite-only contest without a code …); 409 when the contest is not a draft.",
)
@organizer_required
@blp.response(200, PublishedContestSchema)
@blp.alt_response(422, description="Not publishable yet: `error.problems` lists every reason")
@blp.alt_response(409, description="Not a draft")
def publish_contest(contest_id: int) -> Any:
    try:
        contest = lifecycle.publish(contest_id, now=_now(), actor=_actor())
    except lifecycle.PublishRefused as exc:
        db.session.rollback()
        return error_response(exc.status, exc.code, exc.message, problems=exc.problems)
    warnings = lifecycle.law_warnings(contest, _now())
    db.session.commit()
    return {**contest_out(contest), "warnings": warnings}


@blp.route("/contests/<int:contest_id>/finish", methods=["POST"])
@blp.doc(
    operationId="finishContest",
    summary="Finish a published contest: readable, no new attempts or registrations",
    description="409 while a round with a closing time has not closed or an attempt is in "
    "progress, or when the contest is not published.",
)
@organizer_required
@blp.response(200, ContestOutSchema)
@blp.alt_response(409, description="Not published, or still running")
def finish_contest(contest_id: int) -> Any:
    contest = lifecycle.finish(contest_id, now=_now(), actor=_actor())
    db.session.commit()
    return contest_out(contest)


@blp.route("/contests/<int:contest_id>/archive", methods=["POST"])
@blp.doc(
    operationId="archiveContest",
    summary="Archive a finished contest: off every list, every record kept",
)
@organizer_required
@blp.response(200, ContestOutSchema)
@blp.alt_response(409, description="Not finished")
def archive_contest(contest_id: int) -> Any:
    contest = lifecycle.archive(contest_id, now=_now(), actor=_actor())
    db.session.commit()
    return contest_out(contest)


@blp.route("/contests/<int:contest_id>", methods=["DELETE"])
@blp.doc(operationId="deleteContest", summary="Delete a draft with its rounds (organizers)")
@organizer_required
@blp.response(204)
@blp.alt_response(409, description="Not a draft: its records are kept")
def delete_contest(contest_id: int) -> Response:
    lifecycle.delete_draft(contest_id, actor=_actor())
    db.session.commit()
    return Response(status=204)


@blp.route("/contests/<int:contest_id>/copy", methods=["POST"])
@blp.doc(
    operationId="copyContest",
    summary="Copy a contest as a new draft: settings, rounds, blueprints, organizations",
)
@organizer_required
@blp.response(201, ContestOutSchema)
def copy_contest(contest_id: int) -> Any:
    contest = lifecycle.copy_contest(contest_id, now=_now(), actor=_actor())
    db.session.commit()
    headers = {"Location": url_for("api.get_contest", contest_id=contest.id)}
    return contest_out(contest), 201, headers
