"""Award certificates: getCertificate (a contestant's own PDF, or any awardee's for organizers),
exportCertificates (the ZIP of a contest's certificates, built on the queue) and
verifyCertificate (public, rate-limited: what a certificate number stands for, name masked).

See :mod:`contest.services.certificates` for the rules.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from contest.api.blueprint import blp
from contest.api.exports import ExportOutSchema, export_out
from contest.auth import throttle
from contest.errors import Forbidden, InvalidInput
from contest.extensions import db, login_manager
from contest.input_checks import MAX_ID
from contest.security import organizer_required
from contest.services import certificates as service


class CertificateQuerySchema(ma.Schema):
    user_id = ma.fields.Integer(
        load_default=None,
        validate=ma.validate.Range(min=1, max=MAX_ID),
        metadata={"description": "organizers: whose certificate (a contestant: their own only)"},
    )


class VerificationSchema(ma.Schema):
    number = ma.fields.String()
    name = ma.fields.String(metadata={"description": "masked: 张*丰"})
    contest = ma.fields.String()
    tier = ma.fields.String(metadata={"description": "the award as printed, e.g. 一等奖"})
    issued_on = ma.fields.Date()
    status = ma.fields.String(metadata={"enum": ["valid", "revoked"]})


@blp.route("/contests/<int:contest_id>/certificate", methods=["GET"])
@blp.doc(
    operationId="getCertificate",
    summary="A certificate as a PDF: the contestant's own, or an awardee's (organizers)",
    description="A contestant gets their own certificate once the awards are locked "
    "(`user_id`, if given, must be their own: 403 otherwise); an organizer names the awardee "
    "with `user_id`. 404 without a locked award.",
)
@blp.arguments(CertificateQuerySchema(), location="query")
@blp.response(200, description="The certificate (A4 landscape)", content_type="application/pdf")
@blp.alt_response(401, description="Not logged in")
@blp.alt_response(403, description="Someone else's certificate")
@blp.alt_response(404, description="No locked award for this contestant")
def get_certificate(query: dict[str, Any], contest_id: int) -> Any:
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    user_id = query.get("user_id")
    if current_user.is_organizer:
        if user_id is None:
            raise InvalidInput(_("Name the awardee: user_id."))
    elif user_id not in (None, current_user.id):
        raise Forbidden(_("You may download your own certificate only."))
    else:
        user_id = current_user.id
    cert = service.certificate_of(contest_id, user_id)
    db.session.commit()
    return Response(
        service.render(cert, service.public_base_url(request.url_root)),
        content_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{service.pdf_filename(cert)}"',
            "Cache-Control": "private, no-store",
        },
    )


@blp.route("/contests/<int:contest_id>/certificates/export", methods=["POST"])
@blp.doc(
    operationId="exportCertificates",
    summary="Start the ZIP of a contest's certificates, one PDF per awardee (organizers)",
    description="Built on the queue: follow it with getExport (the Location header). 422 while "
    "the awards are not locked.",
)
@organizer_required
@blp.response(202, ExportOutSchema)
@blp.alt_response(404, description="No such contest")
@blp.alt_response(422, description="The awards are not locked yet")
def export_certificates(contest_id: int) -> Any:
    job = service.start_zip(contest_id, service.public_base_url(request.url_root), current_user)
    return export_out(job), 202, {"Location": url_for("api.get_export", export_id=job.id)}


@blp.route("/certificates/<string:number>", methods=["GET"])
@blp.doc(
    operationId="verifyCertificate",
    summary="What a certificate number stands for (public): name masked, contest, award, date",
    description="404 `no_such_certificate` for a number no certificate has (mistyped, altered "
    "or made up); a revoked certificate answers with status `revoked`. Rate-limited per client "
    "address (429).",
)
@blp.response(200, VerificationSchema)
@blp.alt_response(404, description="No such certificate")
@blp.alt_response(429, description="Too many verifications from this address")
def verify_certificate(number: str) -> Any:
    service.check_verify_rate(request.remote_addr or "", throttle.now_s())
    found = service.verify(number)
    return {
        "number": found.number,
        "name": found.name,
        "contest": found.contest,
        "tier": found.tier,
        "issued_on": found.issued_on,
        "status": "revoked" if found.revoked else "valid",
    }
