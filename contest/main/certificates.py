"""Public certificate pages and the contestant's own certificate.

- ``/certificates/verify?number=…`` and ``/certificates/<number>`` (the address in a certificate's
  QR code): anyone may check a number; the page confirms the certificate with the name masked,
  or says that the number is not genuine or that the certificate was revoked. Rate-limited per
  client address (:func:`contest.services.certificates.check_verify_rate`).
- ``/contests/<id>/certificate.pdf``: a contestant's own certificate, once the awards are locked.
- ``/contests/<id>/winners.pdf``: the printable winners list (公示名单), while it is public
  (rate-limited with the winners page, ``WINNERS_LIMIT``; cached in Redis).
"""

from __future__ import annotations

from typing import Any

from flask import Response, render_template, request, url_for
from flask_login import current_user

from contest.auth import throttle
from contest.errors import NotFound
from contest.extensions import db
from contest.main import bp, contestant_required
from contest.main.winners import check_rate
from contest.services import certificates as service
from contest.services import winners_pdf


def _verification_page(number: str) -> Any:
    """The form, and the answer for ``number`` (each lookup counts towards the rate limit)."""
    found, problem = None, ""
    if number:
        service.check_verify_rate(request.remote_addr or "", throttle.now_s())
        try:
            found = service.verify(number)
        except NotFound as exc:
            problem = exc.message
    response = render_template(
        "certificates/verify.html", number=number[:64], found=found, problem=problem
    )
    return response, (404 if problem else 200), {"Cache-Control": "no-store"}


@bp.route("/certificates/verify")
def verify_certificate_form() -> Any:
    """The verification form; with ``?number=`` the answer too."""
    return _verification_page(request.args.get("number", "").strip())


@bp.route("/certificates/<string:number>")
def verify_certificate(number: str) -> Any:
    """The page a certificate's QR code opens."""
    return _verification_page(number)


@bp.route("/contests/<int:contest_id>/certificate.pdf")
@contestant_required
def my_certificate(contest_id: int) -> Any:
    """The signed-in contestant's own certificate (404 until the awards are locked, or without
    an award)."""
    cert = service.certificate_of(contest_id, current_user.id)
    db.session.commit()
    content = service.render(cert, service.public_base_url(request.url_root))
    return Response(
        content,
        content_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{service.pdf_filename(cert)}"',
            "Cache-Control": "private, no-store",
        },
    )


@bp.route("/contests/<int:contest_id>/winners.pdf")
def winners_list_pdf(contest_id: int) -> Any:
    """The printable winners list, names masked as the contest's setting says (rate-limited as
    the winners page, served from the cache while the list is unchanged)."""
    check_rate(request.remote_addr or "", throttle.now_s())
    content = winners_pdf.cached(contest_id)
    return Response(
        content,
        content_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="winners-{contest_id}.pdf"',
            "Cache-Control": "no-cache",
        },
    )


def own_certificate_url(contest_id: int) -> str | None:
    """The signed-in contestant's certificate link on the result page: only once the awards are
    locked and with an award."""
    if not service.has_award(contest_id, current_user.id):
        return None
    return url_for("main.my_certificate", contest_id=contest_id)
