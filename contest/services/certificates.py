"""Award certificates (获奖证书): issuing, numbering, verifying and printing them.

**Issuing.** :func:`issue_certificates` brings a contest's certificates in line with its locked
awards (:func:`contest.services.award_results.awardees`); it is called before any certificate is
printed, so nothing has to remember to call it. An awardee keeps their certificate and number for as
long as what it says (name, unit, award) stays the same; a certificate whose awardee is no longer
awarded, or whose wording changed, is revoked and a new one is issued under a new number, so a
printed certificate never verifies as something it does not say. While the awards are not locked
nothing changes (and nothing new is printed).

**Numbers.** ``NSC<contest>-<year>-<random>-<check>``, e.g. ``NSC12-2026-7KQ3M9XW2D-8F4H``: ten
random Crockford base-32 characters (50 bits: not guessable, no sequence to walk through) and four
characters of an HMAC of the rest under the app's secret key, so a mistyped or made-up number is
told apart before the database is asked (a number issued under a rotated-out key still checks
while that key is listed in ``SECRET_KEY_FALLBACKS``). Verification (:func:`verify`) is public,
rate-limited per client address (``CERTIFICATE_VERIFY_LIMIT``, default :data:`VERIFY_LIMIT`),
and shows the name masked (张*丰), the contest, the award, the date and whether the certificate
was revoked.

**Printing.** :func:`render` lays out one certificate with :mod:`contest.pdf` in the contest's
design; :func:`build_zip` (the ``certificates`` export kind, run on the RQ queue through
:mod:`contest.services.exports`) puts one PDF per awardee in a ZIP.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import logging
import re
import secrets
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from PIL import Image
from sqlalchemy import select

from contest import pdf
from contest.auth.throttle import client_network, over_limit
from contest.config import default
from contest.errors import InvalidInput, NotFound, TooManyAttempts
from contest.extensions import db
from contest.i18n import zone
from contest.models import Certificate, CertificateSettings, Contest, ExportJob, User
from contest.services import audit, award_results, exports
from contest.services.images import ImageInvalid
from contest.services.leaderboards import mask_name
from question_bank.images import ImageRefused, prepare

log = logging.getLogger(__name__)

PREFIX = "NSC"
VERIFY_PATH = "/certificates/"  # + number: the public verification page (contest.main)
VERIFY_LIMIT = default("CERTIFICATE_VERIFY_LIMIT")
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base 32: no I, L, O, U
_RANDOM_CHARS = 10
_CHECK_CHARS = 4
_SYMBOL = "[0-9A-HJKMNP-TV-Z]"
NUMBER = re.compile(
    rf"{PREFIX}([1-9][0-9]{{0,8}})-([0-9]{{4}})-({_SYMBOL}{{{_RANDOM_CHARS}}})-({_SYMBOL}{{{_CHECK_CHARS}}})"
)
_TYPOS = str.maketrans({"O": "0", "I": "1", "L": "1"})

SEAL_MAX_BYTES = 2 * 2**20
SEAL_MAX_SIDE = 800  # pixels kept: 38 mm printed at about 500 dpi


# Numbers ----------------------------------------------------------------------------------------


def _check_part(body: str, secret: Any = None) -> str:
    """The check characters of ``body`` under ``secret`` (default: the current secret key)."""
    secret = current_app.secret_key if secret is None else secret
    key = hmac.new(str(secret).encode(), b"certificate-number", hashlib.sha256)
    digest = hmac.new(key.digest(), body.encode(), hashlib.sha256).digest()
    value = int.from_bytes(digest[:4], "big")
    return "".join(_ALPHABET[(value >> (5 * i)) & 31] for i in range(_CHECK_CHARS))


def new_number(contest_id: int, year: int) -> str:
    """A fresh certificate number of ``contest_id`` issued in ``year``."""
    random_part = "".join(secrets.choice(_ALPHABET) for _ in range(_RANDOM_CHARS))
    body = f"{PREFIX}{contest_id}-{year:04d}-{random_part}"
    return f"{body}-{_check_part(body)}"


def normalize(text: str) -> str:
    """A number as typed or scanned: spaces dropped, upper case, O read as 0 and I, L as 1
    (after the prefix)."""
    compact = re.sub(r"\s+", "", text or "").upper()[:64]
    if compact.startswith(PREFIX):
        return PREFIX + compact[len(PREFIX) :].translate(_TYPOS)
    return compact


def is_genuine_form(number: str) -> bool:
    """Whether ``number`` (normalized) has the form of a number and its check part matches
    under the secret key or one of ``SECRET_KEY_FALLBACKS`` (numbers are issued under the
    current key)."""
    match = NUMBER.fullmatch(number)
    if match is None:
        return False
    body = number[: -(_CHECK_CHARS + 1)]
    given = match.group(4)
    # Numbers printed before the secret key was rotated stay genuine under the old keys.
    keys = [current_app.secret_key, *(current_app.config["SECRET_KEY_FALLBACKS"] or ())]
    matches = [hmac.compare_digest(_check_part(body, key), given) for key in keys if key]
    return any(matches)


# Verification -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    """What the public verification says of a certificate."""

    number: str
    name: str  # masked
    contest: str
    tier: str
    issued_on: date
    revoked: bool


class NotGenuine(NotFound):
    """No certificate has this number: it was mistyped, changed or made up."""

    code = "no_such_certificate"


def verify(number: str) -> Verification:
    """The verification of the certificate ``number`` (as typed); :class:`NotGenuine` if no
    certificate has it (the message says whether the number itself is malformed)."""
    wanted = normalize(number)
    if not is_genuine_form(wanted):
        raise NotGenuine(_("This is not a valid certificate number: it was mistyped or altered."))
    row = db.session.execute(
        select(Certificate, Contest.title)
        .join(Contest, Contest.id == Certificate.contest_id)
        .where(Certificate.number == wanted)
    ).first()
    if row is None:
        raise NotGenuine(_("No certificate has this number."))
    cert, title = row
    return Verification(
        number=cert.number,
        name=mask_name(cert.full_name),
        contest=title,
        tier=cert.tier_label,
        issued_on=_issue_date(cert.contest_id, cert.issued_at),
        revoked=cert.revoked_at is not None,
    )


def check_verify_rate(address: str, now: float) -> None:
    """Count one verification from ``address`` (``now``: epoch seconds); :class:`TooManyAttempts`
    past ``CERTIFICATE_VERIFY_LIMIT`` in its window (see
    :func:`contest.auth.throttle.over_limit`)."""
    name = f"throttle:certificate:{client_network(address)}"
    retry_after = over_limit(name, "CERTIFICATE_VERIFY_LIMIT", VERIFY_LIMIT, now)
    if retry_after is not None:
        raise TooManyAttempts(
            _("Too many verifications from this network. Please wait a moment and try again."),
            retry_after=retry_after,
        )


# Settings ---------------------------------------------------------------------------------------


def settings_for(contest_id: int) -> CertificateSettings:
    """The contest's certificate settings (defaults, not added to the session, when none)."""
    found = db.session.get(CertificateSettings, contest_id)
    return found or CertificateSettings(contest_id=contest_id, design="classic", issuer="")


def prepare_seal(content: bytes) -> bytes:
    """An uploaded seal or logo as the PNG kept (at most :data:`SEAL_MAX_SIDE` pixels a side,
    transparency kept); :class:`ImageInvalid` for anything but a PNG, JPEG, GIF or WebP image
    within the limits of question images."""
    if len(content) > SEAL_MAX_BYTES:
        raise ImageInvalid(_("The image is larger than %(size)s.", size="2 MB"))
    try:
        image = prepare(content)
    except ImageRefused as exc:
        raise ImageInvalid(_(exc.message, **exc.params)) from None
    with Image.open(io.BytesIO(image.content)) as opened:
        picture = opened.convert("RGBA")
    picture.thumbnail((SEAL_MAX_SIDE, SEAL_MAX_SIDE))
    out = io.BytesIO()
    picture.save(out, format="PNG", optimize=True)
    return out.getvalue()


def save_settings(
    contest_id: int,
    *,
    design: str,
    issuer: str,
    issue_date: date | None,
    seal: bytes | None,
    remove_seal: bool,
    actor: User,
    now: datetime,
) -> CertificateSettings:
    """Change the contest's certificate settings (audited, not committed). ``seal``: the bytes
    uploaded, or None to keep the current seal (``remove_seal`` drops it)."""
    if db.session.get(Contest, contest_id) is None:
        raise NotFound(_("No contest %(id)s.", id=contest_id))
    if design not in pdf.DESIGNS:
        raise InvalidInput(_("Choose one of the designs."))
    issuer = issuer.strip()
    if len(issuer) > 120:
        raise InvalidInput(_("The issuer's name is too long (at most 120 characters)."))
    kept_seal = prepare_seal(seal) if seal else None
    current = db.session.get(CertificateSettings, contest_id)
    if current is None:
        current = CertificateSettings(contest_id=contest_id)
        db.session.add(current)
    before = _settings_record(current)
    current.design, current.issuer, current.issue_date = design, issuer, issue_date
    if kept_seal is not None:
        current.seal = kept_seal
    elif remove_seal:
        current.seal = None
    current.updated_at = now
    after = _settings_record(current)
    if before != after:
        audit.record(
            "certificate.settings",
            target_type="contest",
            target_id=contest_id,
            contest_id=contest_id,
            before=before,
            after=after,
            actor=actor,
        )
    db.session.flush()
    return current


def _settings_record(settings: CertificateSettings) -> dict[str, Any]:
    return {
        "design": settings.design,
        "issuer": settings.issuer,
        "issue_date": settings.issue_date.isoformat() if settings.issue_date else None,
        "seal_sha256": hashlib.sha256(settings.seal).hexdigest()[:16] if settings.seal else None,
    }


# Issuing ----------------------------------------------------------------------------------------


def _wording(cert: Certificate) -> tuple[str, str, str, str]:
    return cert.full_name, cert.organization, cert.tier_key, cert.tier_label


def issue_certificates(contest_id: int, *, now: datetime | None = None) -> list[Certificate]:
    """Bring the contest's certificates in line with its locked awards (not committed) and return
    the valid ones in award order. Idempotent: unchanged awardees keep their numbers. While the
    awards are not locked, nothing changes and nothing is returned."""
    if not award_results.is_locked(contest_id):
        return []
    moment = now or datetime.now(UTC)
    # One issuer at a time per contest (PostgreSQL; SQLite writes one at a time anyway).
    db.session.execute(select(Contest.id).where(Contest.id == contest_id).with_for_update())
    current = {
        cert.user_id: cert
        for cert in db.session.scalars(
            select(Certificate).where(
                Certificate.contest_id == contest_id,
                Certificate.revoked_at.is_(None),
                Certificate.user_id.is_not(None),  # a deleted account's paper stays valid
            )
        )
    }
    issued: list[Certificate] = []
    year = moment.astimezone(zone()).year
    for awardee in award_results.awardees(contest_id):
        wording = (
            awardee.full_name[:120],
            (awardee.organization or "")[:120],
            awardee.tier_key[:40],
            awardee.tier_label[:60],
        )
        cert = current.pop(awardee.user_id, None)
        if cert is not None and _wording(cert) == wording:
            cert.rank = awardee.rank
            issued.append(cert)
            continue
        if cert is not None:
            cert.revoked_at = moment
        cert = Certificate(
            number=new_number(contest_id, year),
            contest_id=contest_id,
            user_id=awardee.user_id,
            full_name=wording[0],
            organization=wording[1],
            tier_key=wording[2],
            tier_label=wording[3],
            rank=awardee.rank,
            issued_at=moment,
        )
        db.session.add(cert)
        issued.append(cert)
    for stale in current.values():
        stale.revoked_at = moment
    db.session.flush()
    return issued


def has_award(contest_id: int, user_id: int) -> bool:
    """Whether ``user_id`` has a locked award in the contest (reads only)."""
    if not award_results.is_locked(contest_id):
        return False
    return any(a.user_id == user_id for a in award_results.awardees(contest_id))


def certificate_of(contest_id: int, user_id: int) -> Certificate:
    """The valid certificate of ``user_id`` in the contest (issued if due; not committed);
    NotFound when the awards are not locked or the user has no award."""
    for cert in issue_certificates(contest_id):
        if cert.user_id == user_id:
            return cert
    raise NotFound(_("No certificate: there is no locked award for this contestant."))


# Printing ---------------------------------------------------------------------------------------


def verify_url(number: str, base_url: str) -> str:
    """The public verification page of ``number`` under ``base_url`` (the site's address)."""
    return base_url.rstrip("/") + VERIFY_PATH + number


def public_base_url(request_root: str) -> str:
    """The site's address for printed links: ``CONTEST_PUBLIC_URL`` when set, else the address
    of the request."""
    return str(current_app.config["CONTEST_PUBLIC_URL"] or request_root).rstrip("/")


def _issue_date(contest_id: int, issued_at: datetime) -> date:
    settings = db.session.get(CertificateSettings, contest_id)
    if settings is not None and settings.issue_date is not None:
        return settings.issue_date
    return issued_at.astimezone(zone()).date()


def date_text(value: date) -> str:
    """A date as printed on a certificate (2026年12月5日 in Chinese)."""
    return _("%(year)s-%(month)s-%(day)s", year=value.year, month=value.month, day=value.day)


def _text(cert: Certificate, contest: Contest, settings: CertificateSettings, base: str) -> Any:
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        return pdf.CertificateText(
            heading=_("Certificate of Award"),
            name=cert.full_name,
            organization=cert.organization,
            lines=[
                _(
                    "for an outstanding performance in “%(contest)s” is awarded",
                    contest=contest.title,
                ),
            ],
            tier=cert.tier_label,
            closing=_("Presented in recognition of this achievement."),
            issuer=settings.issuer or contest.title,
            date=date_text(_issue_date(contest.id, cert.issued_at)),
            number_label=_("Certificate No. %(number)s", number=cert.number),
            verify_hint=_("Scan the code to verify this certificate"),
            verify_url=verify_url(cert.number, base),
        )


def render(cert: Certificate, base_url: str) -> bytes:
    """The certificate as a PDF in its contest's design; the QR code links to its verification
    page under ``base_url``."""
    contest = db.session.get(Contest, cert.contest_id)
    if contest is None:
        raise NotFound(_("No contest %(id)s.", id=cert.contest_id))
    settings = settings_for(cert.contest_id)
    text = _text(cert, contest, settings, base_url)
    return pdf.certificate(text, settings.design, settings.seal)


def pdf_filename(cert: Certificate) -> str:
    """The download name of a certificate: its number (ASCII, safe anywhere)."""
    return f"certificate-{cert.number}.pdf"


_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def _zip_name(index: int, cert: Certificate) -> str:
    name = _UNSAFE.sub("_", cert.full_name).strip() or "_"
    return f"{index:03d}-{name}-{cert.number}.pdf"


def build_zip(job: ExportJob, progress: Callable[[int, int], None]) -> tuple[str, str, bytes]:
    """The ``certificates`` export: one PDF per awardee of the job's contest, in a ZIP (files
    named ``<order>-<name>-<number>.pdf``). ``params["base_url"]``: the site's address for the
    QR codes."""
    certs = issue_certificates(job.contest_id)
    if not certs:
        raise InvalidInput(_("The awards are not locked yet: there are no certificates to print."))
    db.session.commit()
    base = str((job.params or {}).get("base_url") or "")
    out = io.BytesIO()
    total = len(certs)
    progress(0, total)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, cert in enumerate(certs, start=1):
            archive.writestr(_zip_name(index, cert), render(cert, base))
            progress(index, total)
    return f"certificates-contest-{job.contest_id}.zip", "application/zip", out.getvalue()


def start_zip(contest_id: int, base_url: str, actor: User) -> ExportJob:
    """Queue the ZIP of the contest's certificates (committed); InvalidInput while the awards are
    not locked."""
    if db.session.get(Contest, contest_id) is None:
        raise NotFound(_("No contest %(id)s.", id=contest_id))
    if not award_results.is_locked(contest_id):
        raise InvalidInput(_("The awards are not locked yet: there are no certificates to print."))
    return exports.start_export("certificates", contest_id, {"base_url": base_url}, actor)


def _register() -> None:
    exports.register_kind("certificates", build_zip)


_register()
