"""The audit log page (/admin/audit): who did what, on what, when and why, filtered, paged
newest first, and exported as CSV or XLSX. Account events are for admins only
(:mod:`contest.services.audit_log`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import Response, abort, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.routing import BuildError

from contest.admin import bp
from contest.extensions import db, reads_only
from contest.i18n import to_utc
from contest.input_checks import MAX_ID
from contest.models import Attempt, AuditEvent, Contest, Registration, Round, User
from contest.services import audit_log

PAGE_SIZE = 50
EXPORTS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# Where a target's page is, by target type: (endpoint, its id argument), the first that exists.
_TARGET_PAGES = {
    "contest": [("admin.contest", "contest_id")],
    "round": [("admin.edit_round", "round_id")],
    "attempt": [("admin.attempt_timeline", "attempt_id"), ("admin.attempt_paper", "attempt_id")],
    "user": [("admin.user_edit", "user_id")],
}
# The objects a target id names, by target type: a target that is gone shows as deleted.
_TARGET_MODELS: dict[str, Any] = {
    "contest": Contest,
    "round": Round,
    "attempt": Attempt,
    "registration": Registration,
    "user": User,
}
# The filter fields of the page and the exports, as the query string names them.
FILTER_ARGS = ("contest", "action", "actor", "target_type", "target_id", "from", "to")


def _id_arg(name: str) -> int | None:
    value = request.args.get(name, type=int)
    return value if value is not None and 0 <= value <= MAX_ID else None


def _date_arg(name: str) -> date | None:
    """A calendar day (YYYY-MM-DD) within years a time zone can move without overflowing."""
    try:
        day = date.fromisoformat(request.args.get(name, "").strip())
    except ValueError:
        return None
    return day if 1900 <= day.year <= 9000 else None


def _start_of(day: date | None) -> datetime | None:
    """The start of a local calendar day, in UTC."""
    return None if day is None else to_utc(datetime.combine(day, time.min))


def request_filters() -> audit_log.AuditFilter:
    """The filters of the query string; a value that does not parse filters nothing."""
    until = _date_arg("to")
    return audit_log.AuditFilter(
        contest_id=_id_arg("contest"),
        action=request.args.get("action", "").strip()[:40],
        actor=request.args.get("actor", "").strip()[:64],
        target_type=request.args.get("target_type", "").strip()[:20],
        target_id=_id_arg("target_id"),
        since=_start_of(_date_arg("from")),
        until=_start_of(until + timedelta(days=1)) if until else None,
    )


def target_url(event: AuditEvent) -> str | None:
    """The organizer page of the event's target, where there is one."""
    if event.target_id is None:
        return None
    for endpoint, argument in _TARGET_PAGES.get(event.target_type, []):
        try:
            values: dict[str, Any] = {argument: event.target_id}
            return url_for(endpoint, **values)
        except BuildError:
            continue
    return None


def deleted_targets(events: Sequence[AuditEvent]) -> set[tuple[str, int]]:
    """The (target type, id) of the events' targets that no longer exist: one query per
    target type on the page."""
    wanted: dict[str, set[int]] = {}
    for event in events:
        if event.target_id is not None and event.target_type in _TARGET_MODELS:
            wanted.setdefault(event.target_type, set()).add(event.target_id)
    gone = set()
    for kind, ids in wanted.items():
        model = _TARGET_MODELS[kind]
        found = set(db.session.scalars(select(model.id).where(model.id.in_(ids))))
        gone |= {(kind, id_) for id_ in ids - found}
    return gone


@bp.route("/audit")
@reads_only
def audit() -> Any:
    filters = request_filters()
    query = audit_log.events_query(filters, viewer=current_user)
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    pagination = db.paginate(query, page=page, per_page=PAGE_SIZE, error_out=False)
    contests = db.session.execute(select(Contest.id, Contest.title).order_by(Contest.id.desc()))
    titles = dict(contests.all())
    args = {k: v for k, v in request.args.items() if k in FILTER_ARGS and v}
    names = audit_log.organization_names(pagination.items)
    return render_template(
        "admin/audit.html",
        pagination=pagination,
        args=args,
        filters=filters,
        contests=titles,
        actions=audit_log.actions_seen(current_user),
        action_label=audit_log.action_label,
        target_label=audit_log.target_label,
        target_url=target_url,
        deleted=deleted_targets(pagination.items),
        changes=lambda event: audit_log.changes(
            event.before, event.after, target_type=event.target_type, names=names
        ),
        account_events=current_user.is_admin,
    )


@bp.route("/audit/export.<kind>")
@reads_only
def audit_export(kind: str) -> Any:
    if kind not in EXPORTS:
        abort(404)
    query = audit_log.events_query(request_filters(), viewer=current_user)
    events = audit_log.export_events(query)
    body = audit_log.export_csv(events) if kind == "csv" else audit_log.export_xlsx(events)
    name = audit_log.export_name(kind, datetime.now(UTC))
    return Response(
        body,
        content_type=EXPORTS[kind],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
