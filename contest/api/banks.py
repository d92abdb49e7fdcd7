"""Question banks (organizer only): listBanks, importQuestions, getImport, exportQuestions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
from flask import Response, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import abort
from sqlalchemy import select

from contest.api.blueprint import blp
from contest.api.schemas import (
    BankListSchema,
    ExportQuerySchema,
    ImportFormSchema,
    ImportSchema,
    ImportUploadSchema,
)
from contest.extensions import db, reads_only
from contest.http_limits import takes_upload
from contest.security import organizer_required
from contest.services import bank as bank_service
from contest.services.imports import create_import, get_import
from question_bank.domain import Problem
from question_bank.formats import get_format
from question_bank.models import Bank, ImportJob, ImportStatus, QuestionStatus
from workers.imports import enqueue_import, read_progress

COUNTS = {
    "problems": "problem_count",
    "skipped": "skipped_count",
    "files_skipped": "files_skipped_count",
    "duplicates": "duplicate_count",
}


def import_body(job: ImportJob) -> dict[str, Any]:
    """An import as the API and the import page show it (messages in the current language)."""
    done, total = job.done, job.total
    if job.status is ImportStatus.RUNNING:
        done, total = read_progress(job.id) or (done, total)
    report = None
    if job.report:
        report = dict(job.report)
        for key in ("problems", "skipped"):
            report[key] = [
                {
                    "line": item["line"],
                    "message": Problem(item["line"], item["message"], item["params"]).render(_),
                }
                for item in job.report.get(key, [])
            ]
        report["files_skipped"] = [
            {
                "line": item["line"],
                "name": item["name"],
                "message": Problem(item["line"], item["message"], item["params"]).render(_),
            }
            for item in job.report.get("files_skipped", [])
        ]
        # The report keeps the first REPORT_LIMIT items of each list and the total counts.
        for key, count in COUNTS.items():
            report.setdefault(count, len(report.get(key, [])))
    return {
        "id": job.id,
        "bank_id": job.bank_id,
        "filename": job.filename,
        "format": job.format,
        "status": job.status.value,
        "done": done,
        "total": total,
        "report": report,
    }


@blp.route("/banks", methods=["GET"])
@blp.doc(operationId="listBanks", summary="Question banks with question counts per status")
@organizer_required
@blp.response(200, BankListSchema)
def list_banks() -> dict[str, Any]:
    banks = db.session.scalars(select(Bank).order_by(Bank.id)).all()
    return {
        "banks": [
            {
                "id": b.id,
                "name": b.name,
                "description": b.description,
                "questions": {s.value: n for s, n in bank_service.status_counts(b.id).items()},
            }
            for b in banks
        ]
    }


@blp.route("/banks/<int:bank_id>/imports", methods=["POST"])
@blp.doc(
    operationId="importQuestions",
    summary="Upload a question file; it is validated and imported by a worker",
)
@organizer_required
@takes_upload
@blp.arguments(ImportUploadSchema(), location="files")
@blp.response(202, ImportSchema)
def import_questions(files: dict[str, Any], bank_id: int) -> Any:
    # webargs reads a "files" schema from request.files only: the text fields come from the form.
    try:
        form = ImportFormSchema().load(request.form)
    except ma.ValidationError as exc:
        abort(422, messages={"form": exc.messages})
    upload = files["file"]
    job = create_import(
        bank_id,
        upload.filename or "upload",
        upload.read(),
        actor_id=current_user.id,
        now=datetime.now(UTC),
        format_name=form.get("format"),
        on_duplicate=form["on_duplicate"],
        initial_status=QuestionStatus(form["status"]),
    )
    enqueue_import(job.id)
    return import_body(job), 202, {"Location": url_for("api.get_import_view", import_id=job.id)}


@blp.route("/imports/<int:import_id>", methods=["GET"])
@blp.doc(operationId="getImport", summary="An import's status, progress and report")
@organizer_required
@blp.response(200, ImportSchema)
@reads_only
def get_import_view(import_id: int) -> dict[str, Any]:
    return import_body(get_import(import_id))


@blp.route("/banks/<int:bank_id>/export", methods=["GET"])
@blp.doc(operationId="exportQuestions", summary="Download a bank in one of the formats")
@organizer_required
@blp.arguments(ExportQuerySchema(), location="query")
@blp.response(
    200,
    description="The file; XLSX or CSV whose questions link to images: a ZIP of the sheet and"
    " an images/ folder",
    content_type="application/octet-stream",
)
def export_questions(query: dict[str, Any], bank_id: int) -> Response:
    bank = bank_service.get_bank(bank_id)
    fmt = get_format(query["format"])
    statuses = [QuestionStatus(s) for s in query.get("status", [])] or None
    exported = bank_service.export_file(bank.id, fmt.name, statuses)
    filename = f"bank-{bank.id}{exported.extension}"
    return Response(
        exported.content,
        content_type=exported.media_type,  # the media type carries its own charset
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
