"""Appeals (申诉): createAppeal (the contestant, on an item of their own attempt once review is
open, within the round's window, one per item, rate-limited), listAppeals (organizers: a contest's
appeals grouped by question, with the key and how the round answered) and decideAppeal
(organizers: reject, accept another answer, correct the key or void the item, with a reply; an
accepting decision regrades every attempt holding the item on the scoring workers), and
regradeAppealItem (organizers: queue that regrade again, e.g. when Redis refused it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
from flask_login import current_user, login_required

from contest.api.attempts import contestant_only
from contest.api.blueprint import blp
from contest.auth import throttle
from contest.extensions import db
from contest.models import AppealDecision, AppealStatus
from contest.security import organizer_required
from contest.services import appeal_decisions, appeals
from contest.services import contests as contest_service


def now() -> datetime:
    return datetime.now(UTC)


# Schemas ---------------------------------------------------------------------------------------


class AppealInSchema(ma.Schema):
    position = ma.fields.Integer(
        required=True,
        validate=ma.validate.Range(min=1, max=10_000),
        metadata={"description": "the item's position in the attempt (1 = the first question)"},
    )
    reason = ma.fields.String(
        required=True, validate=ma.validate.Length(min=1, max=appeals.MAX_REASON)
    )


class AppealSchema(ma.Schema):
    id = ma.fields.Integer()
    attempt_id = ma.fields.Integer()
    position = ma.fields.Integer()
    reason = ma.fields.String()
    status = ma.fields.String(metadata={"enum": [s.value for s in AppealStatus]})
    decision = ma.fields.String(
        allow_none=True, metadata={"enum": [d.value for d in AppealDecision]}
    )
    reply = ma.fields.String()
    created_at = ma.fields.AwareDateTime()
    decided_at = ma.fields.AwareDateTime(allow_none=True)


class AppealAdminSchema(AppealSchema):
    username = ma.fields.String()
    display_name = ma.fields.String()
    organization = ma.fields.String()
    answer = ma.fields.String(metadata={"description": "their answer, in the version's terms"})
    earned = ma.fields.Float(allow_none=True)
    points = ma.fields.Integer()


class AnswerCountSchema(ma.Schema):
    answer = ma.fields.String()
    attempts = ma.fields.Integer()
    full_points = ma.fields.Boolean(metadata={"description": "earns full points now"})


class AppealGroupSchema(ma.Schema):
    round_id = ma.fields.Integer()
    round_title = ma.fields.String()
    question_id = ma.fields.Integer()
    version_id = ma.fields.Integer()
    version_number = ma.fields.Integer()
    type = ma.fields.String()
    stem = ma.fields.String()
    options = ma.fields.List(
        ma.fields.String(), metadata={"description": "in the bank's order, lettered A, B, C …"}
    )
    key = ma.fields.String(metadata={"description": "the version's key, in its own terms"})
    corrected_key = ma.fields.String(allow_none=True)
    accepted = ma.fields.List(ma.fields.String())
    voided = ma.fields.Boolean()
    appeals_total = ma.fields.Integer()
    appeals_open = ma.fields.Integer()
    attempts_holding = ma.fields.Integer()
    distribution = ma.fields.List(ma.fields.Nested(AnswerCountSchema))
    appeals = ma.fields.List(ma.fields.Nested(AppealAdminSchema))


class AppealListSchema(ma.Schema):
    groups = ma.fields.List(ma.fields.Nested(AppealGroupSchema))
    open = ma.fields.Integer(metadata={"description": "open appeals in the contest"})


class AppealListQuerySchema(ma.Schema):
    status = ma.fields.String(
        load_default=None, validate=ma.validate.OneOf([s.value for s in AppealStatus])
    )


class DecisionInSchema(ma.Schema):
    decision = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf([d.value for d in AppealDecision]),
        metadata={
            "description": "reject; accept_answer (another answer earns full points); "
            "change_key (a corrected key, also a new bank version); void_item (every attempt "
            "holding the item gets its points)"
        },
    )
    reply = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=appeals.MAX_REPLY),
        metadata={"description": "what the contestants read; kept in the audit log"},
    )
    answer = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(max=500),
        metadata={
            "description": "accept_answer / change_key: the answer in the version's terms "
            "(B; AC; CAB; 对/错; blanks split by ';', alternatives by '/'); accept_answer "
            "without it accepts the appellant's answer"
        },
    )
    all_open = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "reject: every open appeal of the item (accepting always does)"},
    )


class DecisionSchema(ma.Schema):
    appeal = ma.fields.Nested(AppealSchema)
    settled = ma.fields.List(ma.fields.Integer(), metadata={"description": "appeals decided"})
    attempts_regraded = ma.fields.Integer(
        metadata={"description": "attempts queued for grading again"}
    )
    note = ma.fields.String()
    regrade_queued = ma.fields.Boolean(
        metadata={
            "description": "false: the decision stands but the regrade could not be queued; "
            "call regradeAppealItem"
        }
    )


class RegradeSchema(ma.Schema):
    attempts_regraded = ma.fields.Integer(
        metadata={"description": "attempts queued for grading again"}
    )


# Serialization ---------------------------------------------------------------------------------


def group_body(group: appeals.AppealGroup) -> dict[str, Any]:
    version = group.version
    ruling = group.ruling
    return {
        "round_id": group.round.id,
        "round_title": group.round.title,
        "question_id": version.question_id,
        "version_id": version.id,
        "version_number": version.number,
        "type": version.type.value,
        "stem": version.stem,
        "options": list(version.options),
        "key": group.key_text,
        "corrected_key": group.corrected_key_text,
        "accepted": group.accepted_texts,
        "voided": bool(ruling and ruling.voided),
        "appeals_total": len(group.rows),
        "appeals_open": group.open_count,
        "attempts_holding": group.holders,
        "distribution": [
            {"answer": text, "attempts": n, "full_points": full}
            for text, n, full in group.distribution
        ],
        "appeals": [
            appeals.appeal_body(row.appeal)
            | {
                "username": row.username,
                "display_name": row.display_name,
                "organization": row.organization,
                "answer": row.answer,
                "earned": float(row.earned) if row.earned is not None else None,
                "points": row.points,
            }
            for row in group.rows
        ],
    }


# Operations ------------------------------------------------------------------------------------


@blp.route("/attempts/<int:attempt_id>/appeals", methods=["POST"])
@blp.doc(
    operationId="createAppeal",
    summary="Appeal one item of your attempt once review is open, within the round's window "
    "(one per item)",
)
@login_required
@blp.arguments(AppealInSchema())
@blp.response(201, AppealSchema)
def create_appeal(body: dict[str, Any], attempt_id: int) -> Any:
    contestant_only()
    appeals.check_rate(current_user.id, throttle.now_s())
    appeal = appeals.create_appeal(
        attempt_id, current_user.id, body["position"], body["reason"], now=now()
    )
    return appeals.appeal_body(appeal), 201


@blp.route("/contests/<int:contest_id>/appeals", methods=["GET"])
@blp.doc(
    operationId="listAppeals",
    summary="A contest's appeals grouped by question, with the key and the answers given "
    "(organizers)",
)
@organizer_required
@blp.arguments(AppealListQuerySchema(), location="query")
@blp.response(200, AppealListSchema)
def list_appeals(query: dict[str, Any], contest_id: int) -> dict[str, Any]:
    contest_service.get_contest(contest_id)
    status = AppealStatus(query["status"]) if query["status"] else None
    groups = appeals.list_groups(contest_id, status)
    return {"groups": [group_body(g) for g in groups], "open": appeals.open_count(contest_id)}


@blp.route("/appeals/<int:appeal_id>/decision", methods=["POST"])
@blp.doc(
    operationId="decideAppeal",
    summary="Reject an appeal, or accept it for its item: accept another answer, correct the "
    "key or void the item; every attempt holding the item is graded again (organizers)",
)
@organizer_required
@blp.arguments(DecisionInSchema())
@blp.response(200, DecisionSchema)
def decide_appeal(body: dict[str, Any], appeal_id: int) -> dict[str, Any]:
    decided = appeal_decisions.decide_and_commit(
        appeal_id,
        AppealDecision(body["decision"]),
        reply=body["reply"],
        answer=body.get("answer"),
        all_open=body["all_open"],
        now=now(),
    )
    db.session.refresh(decided.appeal)
    return {
        "appeal": appeals.appeal_body(decided.appeal),
        "settled": decided.settled,
        "attempts_regraded": len(decided.regrade),
        "note": decided.note,
        "regrade_queued": decided.queued,
    }


@blp.route("/rounds/<int:round_id>/versions/<int:version_id>/regrade", methods=["POST"])
@blp.doc(
    operationId="regradeAppealItem",
    summary="Grade every attempt of the round holding this question version again, with the "
    "rulings in force (e.g. when the regrade after a decision could not be queued) (organizers)",
)
@organizer_required
@blp.response(200, RegradeSchema)
def regrade_appeal_item(round_id: int, version_id: int) -> dict[str, Any]:
    count = appeal_decisions.regrade_item(round_id, version_id, now=now())
    return {"attempts_regraded": count}
