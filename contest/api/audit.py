"""The audit log (organizers): listAuditEvents, filtered and paged, newest first.

Admins see every event; other organizers every event but account events (accounts, rosters,
site settings), as on the audit page (:mod:`contest.services.audit_log`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
from flask_login import current_user

from contest.api.blueprint import blp
from contest.extensions import db, reads_only
from contest.input_checks import MAX_ID
from contest.models import AuditEvent
from contest.security import organizer_required
from contest.services import audit_log

MAX_PER_PAGE = 100
_EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
_LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def _in_range(moment: datetime) -> None:
    if not _EARLIEST <= moment <= _LATEST:
        raise ma.ValidationError("Must be between 1900 and 9000.")


class AuditQuerySchema(ma.Schema):
    contest_id = ma.fields.Integer(validate=ma.validate.Range(min=0, max=MAX_ID))
    action = ma.fields.String(
        validate=ma.validate.Length(max=40),
        metadata={"description": "an action (attempt.extend), or a prefix ending in a dot"},
    )
    actor = ma.fields.String(
        validate=ma.validate.Length(max=64), metadata={"description": "the actor's username"}
    )
    target_type = ma.fields.String(validate=ma.validate.Length(max=20))
    target_id = ma.fields.Integer(validate=ma.validate.Range(min=0, max=MAX_ID))
    since = ma.fields.AwareDateTime(
        default_timezone=UTC, validate=_in_range, metadata={"description": "at or after"}
    )
    until = ma.fields.AwareDateTime(
        default_timezone=UTC, validate=_in_range, metadata={"description": "before"}
    )
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=1_000_000))
    per_page = ma.fields.Integer(
        load_default=50, validate=ma.validate.Range(min=1, max=MAX_PER_PAGE)
    )


class AuditChangeSchema(ma.Schema):
    key = ma.fields.String()
    before = ma.fields.String(metadata={"description": "as text; empty when absent"})
    after = ma.fields.String()
    label = ma.fields.String(metadata={"description": "the key in the interface language"})
    before_text = ma.fields.String(
        metadata={"description": "as pages show it (labels, local times)"}
    )
    after_text = ma.fields.String()


class AuditEventSchema(ma.Schema):
    id = ma.fields.Integer()
    at = ma.fields.DateTime()
    actor_id = ma.fields.Integer(allow_none=True)
    actor_name = ma.fields.String(metadata={"description": "empty: the system (CLI, a job)"})
    action = ma.fields.String()
    action_label = ma.fields.String(metadata={"description": "in the interface language"})
    target_type = ma.fields.String()
    target_label = ma.fields.String(metadata={"description": "in the interface language"})
    target_id = ma.fields.Integer(allow_none=True)
    contest_id = ma.fields.Integer(allow_none=True)
    reason = ma.fields.String()
    before = ma.fields.Dict(allow_none=True)
    after = ma.fields.Dict(allow_none=True)
    changes = ma.fields.List(
        ma.fields.Nested(AuditChangeSchema), metadata={"description": "the keys that differ"}
    )


class AuditEventListSchema(ma.Schema):
    events = ma.fields.List(ma.fields.Nested(AuditEventSchema))
    total = ma.fields.Integer()
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()


def event_body(event: AuditEvent, names: dict[int, str] | None = None) -> dict[str, Any]:
    """One event for the API; ``names``: organization names by id
    (:func:`audit_log.organization_names`)."""
    return {
        "id": event.id,
        "at": event.at,
        "actor_id": event.actor_id,
        "actor_name": event.actor_name,
        "action": event.action,
        "action_label": audit_log.action_label(event.action),
        "target_type": event.target_type,
        "target_label": audit_log.target_label(event.target_type),
        "target_id": event.target_id,
        "contest_id": event.contest_id,
        "reason": event.reason,
        "before": event.before,
        "after": event.after,
        "changes": [
            vars(c)
            for c in audit_log.changes(
                event.before, event.after, target_type=event.target_type, names=names
            )
        ],
    }


@blp.route("/audit-events", methods=["GET"])
@blp.doc(
    operationId="listAuditEvents",
    summary="Audit log, newest first (organizers; account events for admins only)",
)
@organizer_required
@reads_only
@blp.arguments(AuditQuerySchema(), location="query")
@blp.response(200, AuditEventListSchema)
@blp.alt_response(401, description="Not logged in")
@blp.alt_response(403, description="Not an organizer")
def list_audit_events(args: dict[str, Any]) -> dict[str, Any]:
    filters = audit_log.AuditFilter(
        contest_id=args.get("contest_id"),
        action=args.get("action", "").strip(),
        actor=args.get("actor", "").strip(),
        target_type=args.get("target_type", "").strip(),
        target_id=args.get("target_id"),
        since=args.get("since"),
        until=args.get("until"),
    )
    query = audit_log.events_query(filters, viewer=current_user)
    page, per_page = args["page"], args["per_page"]
    pagination = db.paginate(query, page=page, per_page=per_page, error_out=False, count=True)
    names = audit_log.organization_names(pagination.items)
    return {
        "events": [event_body(e, names) for e in pagination.items],
        "total": pagination.total or 0,
        "page": page,
        "per_page": per_page,
    }
