"""The statistics report (organizers): getContestReport — the cached report, or 202 and the
state of its computation on the worker — and getItemStatistics, the per-item table of a round or
of the contest as a whole. See :mod:`contest.services.statistics` for what the figures mean."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response, url_for

from contest.api.blueprint import blp
from contest.input_checks import MAX_ID
from contest.security import organizer_required
from contest.services import leaderboards
from contest.services import statistics as stats


class ReportStateSchema(ma.Schema):
    status = ma.fields.String(metadata={"enum": ["queued", "running", "failed"]})
    done = ma.fields.Integer(metadata={"description": "steps done (rounds, days, …)"})
    total = ma.fields.Integer(metadata={"description": "steps in all; 0 until known"})
    error = ma.fields.String(allow_none=True)


class ContestReportSchema(ma.Schema):
    version = ma.fields.Integer()
    contest_id = ma.fields.Integer()
    title = ma.fields.String()
    computed_at = ma.fields.String()
    rounds = ma.fields.List(
        ma.fields.Dict(),
        metadata={"description": "per round: distribution, items, flagged, areas, laws, units"},
    )
    total = ma.fields.Dict(metadata={"description": "the same for the contest total"})
    participation = ma.fields.Dict(
        metadata={"description": "units (the organization board's rows), days, by_unit_day"}
    )


class ItemQuerySchema(ma.Schema):
    round_id = ma.fields.Integer(
        load_default=None,
        validate=ma.validate.Range(min=1, max=MAX_ID),
        metadata={"description": "a round of the contest; none: the contest as a whole"},
    )


class ItemOptionSchema(ma.Schema):
    letter = ma.fields.String(metadata={"description": "in the author's order (not as shown)"})
    text = ma.fields.String()
    count = ma.fields.Integer()
    key = ma.fields.Boolean()


class ItemSchema(ma.Schema):
    version_id = ma.fields.Integer()
    question_id = ma.fields.Integer()
    version = ma.fields.Integer()
    type = ma.fields.String()
    stem = ma.fields.String()
    area = ma.fields.String()
    category = ma.fields.String()
    law = ma.fields.String(allow_none=True)
    article = ma.fields.Integer(allow_none=True)
    points = ma.fields.Integer()
    n = ma.fields.Integer(metadata={"description": "contestants whose counting paper had it"})
    facility = ma.fields.Float(allow_none=True)
    group_size = ma.fields.Integer(metadata={"description": "floor(0.27·n + 0.5)"})
    upper_facility = ma.fields.Float(allow_none=True)
    lower_facility = ma.fields.Float(allow_none=True)
    discrimination = ma.fields.Float(allow_none=True)
    point_biserial = ma.fields.Float(
        allow_none=True, metadata={"description": "against the total including the item"}
    )
    options = ma.fields.List(ma.fields.Nested(ItemOptionSchema))
    blank = ma.fields.Integer()
    mean_gap_s = ma.fields.Float(
        allow_none=True,
        metadata={
            "description": "approximate: between the item's last save and the save before it"
        },
    )
    timed = ma.fields.Integer()
    flags = ma.fields.List(
        ma.fields.String(metadata={"enum": ["negative_discrimination", "too_easy", "too_hard"]})
    )


class ItemTableSchema(ma.Schema):
    contest_id = ma.fields.Integer()
    round_id = ma.fields.Integer(allow_none=True)
    items = ma.fields.List(ma.fields.Nested(ItemSchema))


def _pending(state: stats.ReportState, contest_id: int) -> Response:
    """202 with the computation's state (a Response: the 200 schema does not describe it)."""
    response = _private(leaderboards.dumps(state.body()))
    response.status_code = 202
    response.headers["Location"] = url_for("api.get_contest_report", contest_id=contest_id)
    response.headers["Retry-After"] = "2"
    return response


@blp.route("/contests/<int:contest_id>/report", methods=["GET"])
@blp.doc(
    operationId="getContestReport",
    summary="The contest's statistics report; 202 with the computation's state while the "
    "worker computes it (organizers)",
)
@organizer_required
@blp.response(200, ContestReportSchema)
@blp.alt_response(202, schema=ReportStateSchema, description="Computing: poll again")
@blp.alt_response(401, description="Not logged in")
@blp.alt_response(403, description="Not an organizer")
@blp.alt_response(404, description="No such contest")
def get_contest_report(contest_id: int) -> Any:
    state = stats.report_state(contest_id)
    if state.report is None:
        return _pending(state, contest_id)
    return _private(leaderboards.dumps(state.report))


@blp.route("/contests/<int:contest_id>/report/items", methods=["GET"])
@blp.doc(
    operationId="getItemStatistics",
    summary="Per-item statistics of a round of the contest or of the contest as a whole; 202 "
    "while the report is computed (organizers)",
)
@organizer_required
@blp.arguments(ItemQuerySchema(), location="query")
@blp.response(200, ItemTableSchema)
@blp.alt_response(202, schema=ReportStateSchema, description="Computing: poll again")
@blp.alt_response(401, description="Not logged in")
@blp.alt_response(403, description="Not an organizer")
@blp.alt_response(404, description="No such contest, or the round is not one of its rounds")
def get_item_statistics(query: dict[str, Any], contest_id: int) -> Any:
    state = stats.report_state(contest_id)
    if state.report is None:
        return _pending(state, contest_id)
    return _private(leaderboards.dumps(stats.item_table(state.report, query["round_id"])))


def _private(body: bytes) -> Response:
    response = Response(body, mimetype="application/json")
    response.headers["Cache-Control"] = "private, no-store"
    return response
