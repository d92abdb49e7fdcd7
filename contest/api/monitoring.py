"""Organizer operations on a round's attempts: listRoundAttempts (the monitoring list, filtered
and paged), getAttemptPaper (one contestant's paper as they saw it, with the key), and the
actions on one attempt — extendAttempt, voidAttempt, restoreAttempt, rescoreAttempt — each with
a required reason, recorded in the audit log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import marshmallow as ma

from contest.api.blueprint import blp
from contest.input_checks import MAX_ID
from contest.security import organizer_required
from contest.services import attempt_admin, attempt_papers
from contest.services.attempt_admin import ListFilters, Shown


def now() -> datetime:
    return datetime.now(UTC)


# Schemas ---------------------------------------------------------------------------------------


class AttemptListQuerySchema(ma.Schema):
    status = ma.fields.String(
        load_default=None,
        validate=ma.validate.OneOf([s.value for s in Shown]),
        metadata={
            "description": "answering, submitted, auto_submitted, ended_by_organizer, voided or "
            "flagged"
        },
    )
    organization = ma.fields.Integer(
        load_default=None,
        validate=ma.validate.Range(min=1, max=MAX_ID),
        metadata={"description": "an organization's id: its members and its units' members"},
    )
    q = ma.fields.String(
        load_default="",
        validate=ma.validate.Length(max=64),
        metadata={"description": "part of the contestant's name or username"},
    )
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=100_000))
    per_page = ma.fields.Integer(
        load_default=attempt_admin.PER_PAGE,
        validate=ma.validate.Range(min=1, max=attempt_admin.MAX_PER_PAGE),
    )


class AttemptAdminSchema(ma.Schema):
    id = ma.fields.Integer()
    username = ma.fields.String()
    display_name = ma.fields.String()
    organization = ma.fields.String(allow_none=True)
    number = ma.fields.Integer()
    status = ma.fields.String(metadata={"enum": ["in_progress", "submitted", "scored", "void"]})
    shown_status = ma.fields.String(
        metadata={
            "enum": ["answering", "submitted", "auto_submitted", "ended_by_organizer", "voided"],
            "description": "auto_submitted: by the deadline or the integrity rule; "
            "ended_by_organizer: ended by a void and restored after its time was over",
        }
    )
    score = ma.fields.Float(allow_none=True)
    time_used_s = ma.fields.Integer(allow_none=True)
    focus_losses = ma.fields.Integer()
    flagged = ma.fields.Boolean()
    submitted_by = ma.fields.String(allow_none=True)
    answered = ma.fields.Integer(metadata={"description": "questions with a saved answer"})
    questions = ma.fields.Integer()
    seconds_left = ma.fields.Integer(
        allow_none=True, metadata={"description": "to the deadline; null unless in progress"}
    )
    deadline_at = ma.fields.AwareDateTime()
    extended_s = ma.fields.Integer()
    last_saved_at = ma.fields.AwareDateTime(allow_none=True)
    device_changes = ma.fields.Integer(
        metadata={"description": "times the attempt continued on another device"}
    )


class AttemptAdminListSchema(ma.Schema):
    attempts = ma.fields.List(ma.fields.Nested(AttemptAdminSchema))
    total = ma.fields.Integer(metadata={"description": "attempts passing the filters"})
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()
    pages = ma.fields.Integer()


class PaperOptionSchema(ma.Schema):
    letter = ma.fields.String(metadata={"description": "A, B, C … as the contestant saw it"})
    id = ma.fields.String()
    text = ma.fields.String()
    chosen = ma.fields.Boolean()
    key = ma.fields.Boolean(metadata={"description": "part of the correct answer"})


class PaperItemSchema(ma.Schema):
    position = ma.fields.Integer()
    type = ma.fields.String()
    question_id = ma.fields.Integer()
    version_id = ma.fields.Integer()
    version_number = ma.fields.Integer()
    stem = ma.fields.String()
    options = ma.fields.List(ma.fields.Nested(PaperOptionSchema))
    points = ma.fields.Integer()
    answer = ma.fields.Raw(allow_none=True)
    key = ma.fields.Raw(allow_none=True)
    answer_letters = ma.fields.List(ma.fields.String())
    key_letters = ma.fields.List(ma.fields.String())
    earned = ma.fields.Float(allow_none=True)
    correct = ma.fields.Boolean(allow_none=True)
    flagged = ma.fields.Boolean()
    saved_at = ma.fields.AwareDateTime(
        allow_none=True,
        metadata={"description": "the item's last save (earlier ones are not kept)"},
    )
    seq = ma.fields.Integer()


class AttemptPaperSchema(ma.Schema):
    attempt = ma.fields.Nested(AttemptAdminSchema)
    round_id = ma.fields.Integer()
    items = ma.fields.List(ma.fields.Nested(PaperItemSchema))


class ReasonSchema(ma.Schema):
    reason = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=attempt_admin.MAX_REASON),
        metadata={"description": "why: kept in the audit log"},
    )


class ExtendInSchema(ReasonSchema):
    minutes = ma.fields.Integer(
        required=True,
        validate=ma.validate.Range(min=1, max=attempt_admin.MAX_EXTENSION_S // 60),
        metadata={"description": "added to the deadline; at most a day in all per attempt"},
    )
    beyond_close = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "let the deadline pass the round's close"},
    )


# Serialization ---------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    return float(value) if value is not None else None


def row_body(row: attempt_admin.AttemptRow, at: datetime) -> dict[str, Any]:
    return {
        "id": row.id,
        "username": row.username,
        "display_name": row.display_name,
        "organization": row.organization,
        "number": row.number,
        "status": row.status.value,
        "shown_status": row.shown.value,
        "score": _number(row.score),
        "time_used_s": row.time_used_s,
        "focus_losses": row.focus_losses,
        "flagged": row.flagged,
        "submitted_by": row.submitted_by,
        "answered": row.answered,
        "questions": row.questions,
        "seconds_left": row.seconds_left(at),
        "deadline_at": row.deadline_at,
        "extended_s": row.extended_s,
        "last_saved_at": row.last_saved_at,
        "device_changes": row.device_changes,
    }


# Operations ------------------------------------------------------------------------------------


@blp.route("/rounds/<int:round_id>/attempts", methods=["GET"])
@blp.doc(
    operationId="listRoundAttempts",
    summary="A round's attempts with progress and integrity figures, filtered and paged "
    "(organizers)",
)
@organizer_required
@blp.arguments(AttemptListQuerySchema(), location="query")
@blp.response(200, AttemptAdminListSchema)
def list_round_attempts(query: dict[str, Any], round_id: int) -> dict[str, Any]:
    filters = ListFilters(
        Shown(query["status"]) if query["status"] else None,
        query["organization"],
        query["q"].strip(),
    )
    page = attempt_admin.list_attempts(
        round_id, filters, page=query["page"], per_page=query["per_page"]
    )
    at = now()
    return {
        "attempts": [row_body(row, at) for row in page.rows],
        "total": page.total,
        "page": page.page,
        "per_page": page.per_page,
        "pages": page.pages,
    }


@blp.route("/attempts/<int:attempt_id>/paper", methods=["GET"])
@blp.doc(
    operationId="getAttemptPaper",
    summary="One contestant's paper as they saw it, with their answers and the key (organizers)",
)
@organizer_required
@blp.response(200, AttemptPaperSchema)
def get_attempt_paper(attempt_id: int) -> dict[str, Any]:
    row = attempt_admin.one_row(attempt_id)
    attempt = attempt_admin.get_attempt(attempt_id)
    return {
        "attempt": row_body(row, now()),
        "round_id": attempt.round_id,
        "items": [
            vars(item) | {"type": item.type.value} for item in attempt_papers.paper(attempt_id)
        ],
    }


def _act(action: str, attempt_id: int, **kwargs: Any) -> dict[str, Any]:
    """Run an action, commit, then let the boards and workers follow."""
    attempt_admin.act(action, attempt_id, now=now(), **kwargs)
    return row_body(attempt_admin.one_row(attempt_id), now())


@blp.route("/attempts/<int:attempt_id>/extension", methods=["POST"])
@blp.doc(
    operationId="extendAttempt",
    summary="Add minutes to an attempt in progress (at most a day in all; the round's close "
    "bounds it unless beyond_close) (organizers)",
)
@organizer_required
@blp.arguments(ExtendInSchema())
@blp.response(200, AttemptAdminSchema)
def extend_attempt(body: dict[str, Any], attempt_id: int) -> dict[str, Any]:
    return _act(
        "extend",
        attempt_id,
        minutes=body["minutes"],
        reason=body["reason"],
        beyond_close=body["beyond_close"],
    )


@blp.route("/attempts/<int:attempt_id>/void", methods=["POST"])
@blp.doc(
    operationId="voidAttempt",
    summary="Void an attempt: it leaves the boards; one in progress ends at once, unsubmitted "
    "(organizers)",
)
@organizer_required
@blp.arguments(ReasonSchema())
@blp.response(200, AttemptAdminSchema)
def void_attempt(body: dict[str, Any], attempt_id: int) -> dict[str, Any]:
    return _act("void", attempt_id, reason=body["reason"])


@blp.route("/attempts/<int:attempt_id>/restore", methods=["POST"])
@blp.doc(
    operationId="restoreAttempt",
    summary="Give a void attempt back its status: the boards include it again; one voided in "
    "progress continues if its time is not over, else is submitted (organizers)",
)
@organizer_required
@blp.arguments(ReasonSchema())
@blp.response(200, AttemptAdminSchema)
def restore_attempt(body: dict[str, Any], attempt_id: int) -> dict[str, Any]:
    return _act("restore", attempt_id, reason=body["reason"])


@blp.route("/attempts/<int:attempt_id>/rescore", methods=["POST"])
@blp.doc(
    operationId="rescoreAttempt",
    summary="Grade a submitted attempt again on the scoring worker; the boards follow (organizers)",
)
@organizer_required
@blp.arguments(ReasonSchema())
@blp.response(200, AttemptAdminSchema)
def rescore_attempt(body: dict[str, Any], attempt_id: int) -> dict[str, Any]:
    return _act("rescore", attempt_id, reason=body["reason"])
