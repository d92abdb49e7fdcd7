"""The organizers' certificate page of a contest: the design, issuer, date and seal, the
address the QR codes carry (with a warning while ``CONTEST_PUBLIC_URL`` is unset), the
certificates issued (with their numbers and whether revoked), one certificate's PDF, a sample
and the ZIP of all of them (an export on the RQ queue, followed on the export status page).

Every change is audited by :mod:`contest.services.certificates` (``certificate.settings``) and
:mod:`contest.services.exports` (``export.start``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import BooleanField, DateField, SelectField, StringField
from wtforms.validators import Length, Optional

from contest.admin import bp
from contest.errors import DomainError, NotFound
from contest.extensions import db
from contest.http_limits import takes_upload
from contest.models import Certificate, Contest
from contest.services import award_results
from contest.services import certificates as service


def _design_choices() -> list[tuple[str, str]]:
    return [
        ("classic", str(_l("Classic (red frame, serif)"))),
        ("modern", str(_l("Modern (blue band, sans-serif)"))),
    ]


class CertificateSettingsForm(FlaskForm):
    design = SelectField(_l("Design"), choices=_design_choices)
    issuer = StringField(_l("Issued by"), validators=[Length(max=120)])
    issue_date = DateField(_l("Date printed"), validators=[Optional()])
    seal = FileField(_l("Seal or logo (PNG, JPEG, GIF or WebP, at most 2 MB)"))
    remove_seal = BooleanField(_l("Remove the seal"))


class ZipForm(FlaskForm):
    """Start the ZIP of every certificate (a button: the CSRF token only)."""


def _now() -> datetime:
    return datetime.now(UTC)


def _pdf_response(content: bytes, filename: str) -> Response:
    return Response(
        content,
        content_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )


@bp.route("/contests/<int:contest_id>/certificates", methods=["GET", "POST"])
@takes_upload
def contest_certificates(contest_id: int) -> Any:
    """The settings (POST saves them) and the certificates issued."""
    contest = db.get_or_404(Contest, contest_id)
    settings = service.settings_for(contest.id)
    form = CertificateSettingsForm(
        data={
            "design": settings.design,
            "issuer": settings.issuer,
            "issue_date": settings.issue_date,
        }
        if request.method == "GET"
        else None
    )
    status = 200
    if form.validate_on_submit():
        upload = form.seal.data
        content = upload.read(service.SEAL_MAX_BYTES + 1) if upload else None
        try:
            service.save_settings(
                contest.id,
                design=form.design.data or "classic",
                issuer=form.issuer.data or "",
                issue_date=form.issue_date.data,
                seal=content or None,
                remove_seal=bool(form.remove_seal.data),
                actor=current_user,
                now=_now(),
            )
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            form.seal.errors = [exc.message]
            status = exc.status
        else:
            flash(_("Certificate settings saved."), "info")
            return redirect(url_for("admin.contest_certificates", contest_id=contest.id))
    elif request.method == "POST":
        status = 422
    locked = award_results.is_locked(contest.id)
    if locked:
        service.issue_certificates(contest.id)
        db.session.commit()
    issued = db.session.scalars(
        select(Certificate)
        .where(Certificate.contest_id == contest.id)
        .order_by(Certificate.revoked_at.is_not(None), Certificate.rank, Certificate.id)
    ).all()
    return render_template(
        "admin/contests/certificates.html",
        contest=contest,
        form=form,
        zip_form=ZipForm(),
        settings=settings,
        locked=locked,
        issued=issued,
        verify_base=service.verify_url("", service.public_base_url(request.url_root)),
        public_url_set=bool(current_app.config["CONTEST_PUBLIC_URL"]),
    ), status


@bp.route("/contests/<int:contest_id>/certificates/export", methods=["POST"])
def export_certificates(contest_id: int) -> Any:
    """Queue the ZIP of every certificate and follow it on the export status page."""
    if not ZipForm().validate_on_submit():
        flash(_("The security token is missing or expired. Reload the page and retry."), "error")
        return redirect(url_for("admin.contest_certificates", contest_id=contest_id))
    try:
        job = service.start_zip(contest_id, service.public_base_url(request.url_root), current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("admin.contest_certificates", contest_id=contest_id))
    return redirect(url_for("admin.export_status", export_id=job.id))


@bp.route("/contests/<int:contest_id>/certificates/<int:user_id>.pdf")
def certificate_pdf(contest_id: int, user_id: int) -> Any:
    """One awardee's certificate."""
    db.get_or_404(Contest, contest_id)
    try:
        cert = service.certificate_of(contest_id, user_id)
    except NotFound as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("admin.contest_certificates", contest_id=contest_id))
    db.session.commit()
    content = service.render(cert, service.public_base_url(request.url_root))
    return _pdf_response(content, service.pdf_filename(cert))


@bp.route("/contests/<int:contest_id>/certificates/sample.pdf")
def certificate_sample(contest_id: int) -> Any:
    """A sample certificate in the contest's current design and settings (not a real number:
    it verifies as no certificate)."""
    contest = db.get_or_404(Contest, contest_id)
    sample = Certificate(
        number=f"{service.PREFIX}{contest.id}-{_now().year}-SAMP1E0000-0000",
        contest_id=contest.id,
        full_name=_("Zhang San"),
        organization=_("Sample Unit"),
        tier_key="first",
        tier_label=_("First Prize"),
        rank=1,
        issued_at=_now(),
    )
    content = service.render(sample, service.public_base_url(request.url_root))
    return _pdf_response(content, f"certificate-sample-{contest.id}.pdf")


@bp.route("/contests/<int:contest_id>/certificates/seal.png")
def certificate_seal(contest_id: int) -> Any:
    """The uploaded seal or logo, as kept (a re-encoded PNG)."""
    settings = service.settings_for(contest_id)
    if not settings.seal:
        raise NotFound(_("No seal uploaded."))
    return Response(settings.seal, content_type="image/png")
