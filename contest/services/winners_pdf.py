"""The printable winners list (公示名单): :func:`contest.services.awards.winners_list` as an A4
PDF, with the names exactly as the public page shows them (masked when the contest masks names).
"""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from contest import pdf
from contest.errors import NotFound
from contest.services import awards


def render(contest_id: int) -> bytes:
    """The contest's published winners list as a PDF; NotFound while it is not published."""
    listing = awards.winners_list(contest_id)
    if listing is None:
        raise NotFound(_("The winners list is not public."))
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        return pdf.table(document(listing))


def document(listing: awards.WinnersList) -> pdf.Table:
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
