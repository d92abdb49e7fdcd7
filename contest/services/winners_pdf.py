"""The printable winners list (公示名单): :func:`contest.services.award_results.winners_list`
as an A4 PDF, with the names exactly as the public page shows them (masked when the contest
masks names).

The PDF is public and costly to lay out, so :func:`cached` keeps its bytes in Redis for
:data:`CACHE_TTL_S` under a key naming everything it is made from (the contest, when the awards
were locked and published, a hash of the list with its title and name masking, the language):
any change gives a new key, so a stale PDF is never served.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict

import redis
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from contest import pdf
from contest.errors import NotFound
from contest.extensions import redis_hub
from contest.services import award_results

log = logging.getLogger(__name__)

CACHE_TTL_S = 600


def render(contest_id: int) -> bytes:
    """The contest's published winners list as a PDF; NotFound while it is not published."""
    return _render(_listing(contest_id))


def cached(contest_id: int) -> bytes:
    """:func:`render`, served from Redis when the same list was rendered in the last
    :data:`CACHE_TTL_S` seconds (rendered without the cache when Redis cannot be reached)."""
    listing = _listing(contest_id)
    key = cache_key(listing)
    try:
        found = redis_hub.client.get(key)
    except redis.RedisError:
        log.warning("winners PDF not cached: Redis is unreachable")
        return _render(listing)
    if isinstance(found, bytes):
        return found
    content = _render(listing)
    try:
        redis_hub.client.set(key, content, ex=CACHE_TTL_S)
    except redis.RedisError:
        log.warning("winners PDF not cached: Redis is unreachable")
    return content


def cache_key(listing: award_results.WinnersList) -> str:
    """The Redis key of the PDF of ``listing``: changes whenever anything printed changes."""
    facts = {
        "listing": asdict(listing),  # title, mask_names, winners, period, contact, dates
        "published_at": listing.published_at.isoformat(),
        "locked_at": listing.locked_at.isoformat(),
        "locale": str(current_app.config["BABEL_DEFAULT_LOCALE"]),
    }
    digest = hashlib.sha256(
        json.dumps(facts, sort_keys=True, default=str, ensure_ascii=False).encode()
    ).hexdigest()[:32]
    return f"winners-pdf:{listing.contest_id}:{digest}"


def _listing(contest_id: int) -> award_results.WinnersList:
    listing = award_results.winners_list(contest_id)
    if listing is None:
        raise NotFound(_("The winners list is not public."))
    return listing


def _render(listing: award_results.WinnersList) -> bytes:
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        return pdf.table(document(listing))


def document(listing: award_results.WinnersList) -> pdf.Table:
    """The PDF's words (in the current language) from the winners list: one row per winner,
    tier by tier in the list's order, then the unit awards."""
    lines = []
    if listing.publish_from and listing.publish_until:
        lines.append(
            _(
                "Publication period: %(start)s to %(end)s",
                start=listing.publish_from.isoformat(),
                end=listing.publish_until.isoformat(),
            )
        )
    rows: list[list[str]] = []
    for tier in listing.tiers:
        for number, winner in enumerate(tier.winners, start=1):
            rows.append([tier.label, str(number), winner.name, winner.organization])
    for unit in listing.units:
        rows.append([unit["label"], "", "", unit["organization"]])
    contact = listing.objection_contact.strip()
    return pdf.Table(
        heading=_("%(contest)s: list of award winners", contest=listing.title),
        lines=lines,
        columns=[_("Award"), _("No."), _("Name"), _("Unit")],
        rows=rows,
        note=_("Objections during the publication period: %(contact)s", contact=contact)
        if contact
        else "",
        empty=_("No awards."),
    )
