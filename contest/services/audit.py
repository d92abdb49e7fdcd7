"""The audit log: every organizer action, who, what, on what, when, before and after, and why.

``record`` adds the event to the session of the change it describes, so both commit together or
neither does; the caller commits (as with every other service here). Events are never updated or
deleted.
"""

from __future__ import annotations

from typing import Any

from flask_login import current_user

from contest.extensions import db
from contest.models import AuditEvent, User, utcnow


def _actor(actor: User | None) -> User | None:
    if actor is not None:
        return actor
    try:
        return current_user if current_user.is_authenticated else None
    except (AttributeError, RuntimeError):  # outside a request (CLI, worker)
        return None


def record(
    action: str,
    *,
    target_type: str,
    target_id: int | None = None,
    contest_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
    actor: User | None = None,
) -> AuditEvent:
    """Add one event (not committed). ``action`` is ``<target>.<verb>``, e.g. ``attempt.extend``;
    ``actor`` defaults to the signed-in user (none from the command line or a worker)."""
    who = _actor(actor)
    event = AuditEvent(
        at=utcnow(),
        actor_id=who.id if who is not None else None,
        actor_name=who.username if who is not None else "",
        action=action,
        target_type=target_type,
        target_id=target_id,
        contest_id=contest_id,
        reason=reason.strip(),
        before=before,
        after=after,
    )
    db.session.add(event)
    return event
