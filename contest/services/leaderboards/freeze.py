"""封榜: when the public sees a round frozen, and the organizers' reveal that ends it.

Once a round's ``freeze_at`` has passed, and until the organizers reveal it, its public board and
the contest's public boards count only attempts submitted before the freeze.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import redis
from flask_babel import gettext as _

from contest.errors import Conflict, NotFound
from contest.extensions import db
from contest.models import Round
from contest.services.leaderboards.dirty import settings_changed
from contest.services.leaderboards.entries import RawEntry
from contest.services.leaderboards.keys import FREEZES


def revealed(round_: Round) -> bool:
    """True once the organizers revealed the round's current freeze (a reveal counts for the
    freeze it ended: a freeze time set later than the reveal freezes the board again)."""
    return (
        round_.freeze_at is not None
        and round_.revealed_at is not None
        and round_.revealed_at >= round_.freeze_at
    )


def freeze_active(round_: Round, now: datetime) -> bool:
    """True while the public sees the round frozen (after freeze_at, before the reveal)."""
    return round_.freeze_at is not None and now >= round_.freeze_at and not revealed(round_)


def public_entries(round_: Round, entries: Iterable[RawEntry], now: datetime) -> list[RawEntry]:
    """What the public may count: while frozen, each contestant's counting attempt among those
    submitted before the freeze (the entries must be chosen for this freeze time)."""
    if not freeze_active(round_, now):
        return list(entries)
    return [shown for e in entries if (shown := e.as_of_freeze()) is not None]


def reveal(round_id: int, now: datetime) -> Round:
    """End a round's freeze for the public (committed); the boards re-render."""
    round_ = db.session.get(Round, round_id)
    if round_ is None:
        raise NotFound(_("No round %(id)s.", id=round_id))
    if round_.freeze_at is None:
        raise Conflict(_("This round has no freeze to reveal."), code="not_frozen")
    if now < round_.freeze_at:
        raise Conflict(
            _("The board is not frozen yet: it can be revealed once the freeze time has come."),
            code="not_frozen",
        )
    if not revealed(round_):
        round_.revealed_at = now
        settings_changed(round_.contest_id)
    db.session.commit()
    return round_


def due_freezes(client: redis.Redis, now: datetime) -> list[int]:
    """Contests whose freeze time has come since their last render (removed from the schedule)."""
    members: list[bytes] = client.zrangebyscore(FREEZES, "-inf", now.timestamp())  # type: ignore[assignment]
    due = [int(m) for m in members]
    if due:
        client.zrem(FREEZES, *due)
    return due
