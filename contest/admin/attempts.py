"""Organizer pages for a round's attempts: the live monitoring list, the flagged attempts, one
contestant's paper with its integrity timeline, and the actions on one attempt (extend, void,
restore, rescore), each with a required reason.

The list refreshes itself: its script asks :func:`round_attempt_rows` for the page it shows
every few seconds while the page is in view, with the ETag of what it has (an unchanged page
is a 304 with no body). Every figure comes from one query per page.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, or_, select
from wtforms import BooleanField, IntegerField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from contest.admin import PAGE_SIZE, bp
from contest.admin.contest_labels import attempt_status_label
from contest.errors import DomainError
from contest.extensions import db
from contest.main import points_text, type_text
from contest.models import (
    Attempt,
    AttemptStatus,
    AuditEvent,
    IntegrityEvent,
    Organization,
    Round,
    User,
)
from contest.services import attempt_admin, attempt_papers
from contest.services.attempt_admin import ListFilters, Shown
from question_bank import markdown

LIVE_REFRESH_S = 5  # how often the list asks for its page while in view


def _now() -> datetime:
    return datetime.now(UTC)


# Forms -------------------------------------------------------------------------------------------


class ReasonForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (kept in the audit log)"),
        validators=[DataRequired(), Length(max=attempt_admin.MAX_REASON)],
    )


class ExtendForm(ReasonForm):
    minutes = IntegerField(
        _l("Minutes to add"),
        validators=[InputRequired(), NumberRange(min=1, max=attempt_admin.MAX_EXTENSION_S // 60)],
        default=10,
    )
    beyond_close = BooleanField(_l("Beyond the round's close"), default=False)


# The monitoring list -----------------------------------------------------------------------------


def _filters() -> tuple[ListFilters, dict[str, Any]]:
    """The list's filters from the query string, and the same as URL arguments."""
    status = request.args.get("status", "")
    shown = Shown(status) if status in {s.value for s in Shown} else None
    organization = request.args.get("organization", type=int)
    q = (request.args.get("q") or "").strip()[:64]
    args = {
        "status": shown.value if shown else None,
        "organization": organization,
        "q": q or None,
    }
    return ListFilters(shown, organization, q), {k: v for k, v in args.items() if v}


def _page_of(round_: Round) -> tuple[attempt_admin.AttemptPage, dict[str, Any]]:
    filters, args = _filters()
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    return attempt_admin.list_attempts(round_.id, filters, page=page, per_page=PAGE_SIZE), args


@bp.route("/rounds/<int:round_id>/attempts")
def round_attempts(round_id: int) -> Any:
    round_ = db.get_or_404(Round, round_id)
    listing, args = _page_of(round_)
    organizations = db.session.execute(
        select(Organization.id, Organization.name).order_by(Organization.name)
    ).all()
    return render_template(
        "admin/attempts/list.html",
        round=round_,
        contest=round_.contest,
        listing=listing,
        args=args,
        organizations=organizations,
        statuses=[(s.value, shown_label(s)) for s in Shown],
        live_url=url_for("admin.round_attempt_rows", round_id=round_.id, page=listing.page, **args),
        refresh_s=LIVE_REFRESH_S,
        now=_now(),
    )


@bp.route("/rounds/<int:round_id>/attempts/rows")
def round_attempt_rows(round_id: int) -> Any:
    """The list's live part (summary, rows, pager) for the page's script; 304 when unchanged."""
    round_ = db.get_or_404(Round, round_id)
    listing, args = _page_of(round_)
    html = render_template(
        "admin/attempts/_live.html", round=round_, listing=listing, args=args, now=_now()
    )
    tag = hashlib.sha256(html.encode()).hexdigest()[:32]
    if request.if_none_match.contains(tag):
        return "", 304, {"ETag": f'"{tag}"'}
    return html, 200, {"ETag": f'"{tag}"', "Content-Type": "text/html; charset=utf-8"}


# Flagged attempts --------------------------------------------------------------------------------


def _flagged_or_void() -> Any:
    return or_(Attempt.flagged.is_(True), Attempt.status == AttemptStatus.VOID)


@bp.route("/rounds/<int:round_id>/flagged")
def flagged_attempts(round_id: int) -> Any:
    round_ = db.get_or_404(Round, round_id)
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    query = (
        select(Attempt, User, Organization)
        .join(User, User.id == Attempt.user_id)
        .outerjoin(Organization, Organization.id == User.organization_id)
        .where(Attempt.round_id == round_.id, _flagged_or_void())
        .order_by(Attempt.focus_losses.desc(), Attempt.id)
    )
    total = (
        db.session.scalar(
            select(func.count())
            .select_from(Attempt)
            .where(Attempt.round_id == round_.id, _flagged_or_void())
        )
        or 0
    )
    rows = db.session.execute(query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    pages = max(1, -(-total // PAGE_SIZE))
    return render_template(
        "admin/attempts/flagged.html",
        round=round_,
        contest=round_.contest,
        rows=rows,
        total=total,
        page=page,
        pages=pages,
    )


# One attempt: the paper, the timeline, the actions -----------------------------------------------


@dataclass
class TimelineEntry:
    at: datetime
    kind: str
    label: str
    counted: bool | None = None
    duration_ms: int | None = None
    detail: str = ""


def _timeline(attempt: Attempt) -> tuple[list[TimelineEntry], int]:
    """The attempt's start, integrity events and submission in server time; and the event count."""
    events = db.session.scalars(
        select(IntegrityEvent)
        .where(IntegrityEvent.attempt_id == attempt.id)
        .order_by(IntegrityEvent.occurred_at, IntegrityEvent.id)
    ).all()
    entries = [TimelineEntry(attempt.started_at, "started", _("Attempt started"))]
    entries += [
        TimelineEntry(
            e.occurred_at, e.kind, event_label(e.kind), e.counted, e.duration_ms, e.detail
        )
        for e in events
    ]
    if attempt.submitted_at is not None:
        entries.append(
            TimelineEntry(
                attempt.submitted_at,
                "submitted",
                _("Submitted (%(by)s)", by=submitted_by_text(attempt.submitted_by)),
            )
        )
    # Stable: at equal times the start stays first and the submission last.
    entries.sort(key=lambda e: e.at)
    return entries, len(events)


def _attempt_page(attempt_id: int, forms: dict[str, FlaskForm] | None = None) -> Any:
    attempt = db.session.get(Attempt, attempt_id)
    if attempt is None:
        abort(404)
    round_ = db.get_or_404(Round, attempt.round_id)
    user = db.session.get(User, attempt.user_id)
    entries, event_count = _timeline(attempt)
    audit = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.target_type == "attempt", AuditEvent.target_id == attempt.id)
        .order_by(AuditEvent.at, AuditEvent.id)
    ).all()
    forms = forms or {}
    now = _now()
    return render_template(
        "admin/attempts/paper.html",
        attempt=attempt,
        row=attempt_admin.one_row(attempt.id),
        round=round_,
        contest=round_.contest,
        user=user,
        entries=entries,
        event_count=event_count,
        items=attempt_papers.paper(attempt.id),
        audit=audit,
        extend_form=forms.get("extend") or ExtendForm(prefix="extend"),
        void_form=forms.get("void") or ReasonForm(prefix="void"),
        restore_form=forms.get("restore") or ReasonForm(prefix="restore"),
        rescore_form=forms.get("rescore") or ReasonForm(prefix="rescore"),
        can_extend=attempt_admin.extendable(attempt, round_, now),
        reopens=attempt_admin.reopens_on_restore(attempt, round_, now),
        another_open=attempt_admin.another_open(attempt),
        max_extension_min=attempt_admin.MAX_EXTENSION_S // 60,
        now=now,
        type_text=type_text,
        points_text=points_text,
        render_md=markdown.render,
        render_inline=markdown.render_inline,
    ), (422 if any(f.errors for f in forms.values()) else 200)


@bp.route("/attempts/<int:attempt_id>")
def attempt_paper(attempt_id: int) -> Any:
    """The contestant's paper as they saw it, their answers, the key, and the timeline."""
    return _attempt_page(attempt_id)


@bp.route("/attempts/<int:attempt_id>/<action>", methods=["POST"])
def attempt_action(attempt_id: int, action: str) -> Any:
    """One organizer action on the attempt (extend, void, restore, rescore); refused ones say
    why and change nothing."""
    if action not in attempt_admin.ACTIONS:
        abort(404)
    db.get_or_404(Attempt, attempt_id)
    form: FlaskForm = ExtendForm(prefix=action) if action == "extend" else ReasonForm(prefix=action)
    if not form.validate_on_submit():
        return _attempt_page(attempt_id, {action: form})
    extra: dict[str, Any] = {}
    if isinstance(form, ExtendForm):
        extra = {"minutes": form.minutes.data, "beyond_close": bool(form.beyond_close.data)}
    try:
        attempt_admin.act(action, attempt_id, now=_now(), reason=form.reason.data or "", **extra)
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(action_done_text(action), "success")
    return redirect(url_for("admin.attempt_paper", attempt_id=attempt_id))


# Labels ----------------------------------------------------------------------------------------


def shown_label(shown: Shown | str) -> str:
    return {
        Shown.ANSWERING: _("Answering"),
        Shown.SUBMITTED: _("Submitted"),
        Shown.AUTO_SUBMITTED: _("Auto-submitted"),
        Shown.ENDED_BY_ORGANIZER: _("Ended by an organizer"),
        Shown.VOIDED: _("Voided"),
        Shown.FLAGGED: _("Flagged"),
    }[Shown(shown)]


def submitted_by_text(by: str | None) -> str:
    return {
        "contestant": _("by the contestant"),
        "deadline": _("at the deadline"),
        "integrity": _("by the integrity rule"),
        "organizer": _("ended by an organizer"),
        None: "",
    }.get(by, by or "")


def voided_from_text(status: str) -> str:
    """The status an attempt had before its void, as the paper page names it."""
    if status == AttemptStatus.IN_PROGRESS.value:
        return _("still answering")
    return attempt_status_label(AttemptStatus(status))


def event_label(kind: str) -> str:
    return {
        "hidden": _("Page hidden (left the page)"),
        "visible": _("Page shown again"),
        "action_warn": _("Integrity rule: warned"),
        "action_submit": _("Integrity rule: attempt submitted"),
        "action_void": _("Integrity rule: attempt voided for review"),
        "device_changed": _("Continued on another device"),
    }.get(kind, kind)


def action_done_text(action: str) -> str:
    return {
        "extend": _("The deadline is moved; the contestant's timer follows."),
        "void": _("The attempt is void: it has left the boards."),
        "restore": _("The attempt is restored: the boards include it again."),
        "rescore": _("The attempt is queued for scoring again; the boards follow."),
    }[action]


def audit_action_label(action: str) -> str:
    return {
        "attempt.extend": _("Extended"),
        "attempt.void": _("Voided"),
        "attempt.restore": _("Restored"),
        "attempt.rescore": _("Rescored"),
    }.get(action, action)


def clock_text(seconds: int | None) -> str:
    """Seconds left as H:MM:SS or M:SS ("" for none)."""
    if seconds is None:
        return ""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@bp.app_context_processor
def attempt_labels() -> dict[str, Any]:
    return {
        "shown_label": shown_label,
        "submitted_by_text": submitted_by_text,
        "voided_from_text": voided_from_text,
        "audit_action_label": audit_action_label,
        "clock_text": clock_text,
    }
