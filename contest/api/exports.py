"""Exports (organizers): exportResults starts a results export of a contest on the ``default``
queue (202 with the job), getExport reads its status and progress, downloadExport returns the
file once done (for 24 hours; then the export is ``expired``)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response, abort, url_for
from flask_login import current_user

from contest.api.blueprint import blp
from contest.input_checks import MAX_ID
from contest.models import ExportJob
from contest.security import organizer_required
from contest.services import exports, results_export
from workers.exports import read_progress


class ResultsExportInSchema(ma.Schema):
    scope = ma.fields.String(
        load_default="contest",
        validate=ma.validate.OneOf(results_export.SCOPES),
        metadata={"description": "contest (sum over rounds), round or unit"},
    )
    round_id = ma.fields.Integer(
        load_default=None, validate=ma.validate.Range(min=1, max=MAX_ID), allow_none=True
    )
    organization_id = ma.fields.Integer(
        load_default=None,
        validate=ma.validate.Range(min=1, max=MAX_ID),
        allow_none=True,
        metadata={"description": "scope unit: the organization (its units' members included)"},
    )
    format = ma.fields.String(
        load_default="xlsx", validate=ma.validate.OneOf(results_export.FORMATS)
    )
    split_units = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "XLSX: one sheet per unit after the whole list"},
    )


class ExportOutSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    contest_id = ma.fields.Integer()
    params = ma.fields.Dict()
    status = ma.fields.String(metadata={"enum": ["queued", "running", "done", "failed", "expired"]})
    done = ma.fields.Integer()
    total = ma.fields.Integer()
    filename = ma.fields.String()
    error = ma.fields.String()
    created_at = ma.fields.AwareDateTime()
    finished_at = ma.fields.AwareDateTime(allow_none=True)
    expires_at = ma.fields.AwareDateTime()
    download_url = ma.fields.String(allow_none=True, metadata={"description": "once done"})


def export_out(job: ExportJob) -> dict[str, Any]:
    """The job as the API and the status page show it (live progress from Redis)."""
    done, total = job.done, job.total
    if job.status in (exports.QUEUED, exports.RUNNING):
        done, total = read_progress(job.id) or (done, total)
    ready = job.status == exports.DONE and job.content is not None
    return {
        "id": job.id,
        "kind": job.kind,
        "contest_id": job.contest_id,
        "params": job.params or {},
        "status": job.status,
        "done": done,
        "total": total,
        "filename": job.filename,
        "error": job.error,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
        "expires_at": job.expires_at,
        "download_url": url_for("api.download_export", export_id=job.id) if ready else None,
    }


def readable(export_id: int) -> ExportJob:
    """The export, if the signed-in user may read it (404 otherwise: no hint it exists)."""
    job = exports.get_export(export_id)
    if not exports.can_access(job, current_user):
        abort(404)
    return job


def download(job: ExportJob) -> Response:
    """The export's file as an attachment (404 until done and after it expired)."""
    if job.status != exports.DONE or job.content is None:
        abort(404)
    return Response(
        job.content,
        mimetype=job.mimetype,
        headers={
            "Content-Disposition": f'attachment; filename="{job.filename}"',
            "Cache-Control": "private, no-store",
        },
    )


@blp.route("/contests/<int:contest_id>/exports/results", methods=["POST"])
@blp.doc(
    operationId="exportResults",
    summary="Start a results export (XLSX or CSV) of a contest, a round or a unit (organizers)",
    description="202 with the export; poll getExport for progress and the download link.",
)
@organizer_required
@blp.arguments(ResultsExportInSchema())
@blp.response(202, ExportOutSchema)
def export_results(body: dict[str, Any], contest_id: int) -> Any:
    params = results_export.validate_params(contest_id, body)
    job = exports.start_export("results", contest_id, params, current_user._get_current_object())
    return export_out(job), 202, {"Location": url_for("api.get_export", export_id=job.id)}


@blp.route("/exports/<int:export_id>", methods=["GET"])
@blp.doc(operationId="getExport", summary="An export's status, progress and download link")
@organizer_required
@blp.response(200, ExportOutSchema)
def get_export(export_id: int) -> dict[str, Any]:
    return export_out(readable(export_id))


@blp.route("/exports/<int:export_id>/file", methods=["GET"])
@blp.doc(
    operationId="downloadExport",
    summary="An export's file, once done and for 24 hours (organizers)",
)
@organizer_required
@blp.response(200, description="The file")
def download_export(export_id: int) -> Response:
    return download(readable(export_id))
