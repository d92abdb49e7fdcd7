"""Labels of contest and round settings, statuses and durations, as organizer pages and the
audit log show them; also given to every template."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from contest.admin import bp
from contest.i18n import local_time
from contest.models import (
    AttemptStatus,
    ContestStatus,
    IntegrityAction,
    RegistrationMode,
    ReviewPolicy,
    ScoreVisibility,
)
from contest.services import contests as contest_service


def duration_text(seconds: int) -> str:
    minutes, rest = divmod(seconds, 60)
    if not rest:
        return _("%(m)d min", m=minutes)
    if not minutes:
        return _("%(s)d s", s=rest)
    return _("%(m)d min %(s)d s", m=minutes, s=rest)


def registration_mode_label(mode: RegistrationMode) -> str:
    return {
        RegistrationMode.OPEN: _("Open to every contestant"),
        RegistrationMode.INVITE: _("With the invite code"),
        RegistrationMode.ROSTER: _("Roster only (organizers enrol)"),
    }[RegistrationMode(mode)]


def contest_status_label(status: str) -> str:
    return {
        ContestStatus.DRAFT: _("Draft"),
        ContestStatus.PUBLISHED: _("Published"),
        ContestStatus.FINISHED: _("Finished"),
        ContestStatus.ARCHIVED: _("Archived"),
    }.get(ContestStatus(status), status)


def round_status_label(status: str) -> str:
    return {"scheduled": _("Scheduled"), "open": _("Open"), "closed": _("Closed")}.get(
        status, status
    )


def multiple_rule_label(rule: str) -> str:
    return {
        "all_or_nothing": _("All or nothing (少选、错选不得分)"),
        "half_for_subset": _("Half the points for a correct subset"),
        "proportional": _("Points in proportion to the correct options chosen"),
    }.get(rule, rule)


def review_policy_label(policy: ReviewPolicy) -> str:
    return {
        ReviewPolicy.AFTER_SUBMIT: _("After the attempt is submitted"),
        ReviewPolicy.AFTER_CLOSE: _("After the round closes"),
        ReviewPolicy.NEVER: _("Never"),
    }[ReviewPolicy(policy)]


def score_visibility_label(visibility: ScoreVisibility) -> str:
    return {
        ScoreVisibility.AFTER_SUBMIT: _("After the attempt is submitted"),
        ScoreVisibility.AFTER_CLOSE: _("After the round closes"),
    }[ScoreVisibility(visibility)]


def integrity_action_label(action: IntegrityAction) -> str:
    return {
        IntegrityAction.WARN: _("Warn and flag"),
        IntegrityAction.SUBMIT: _("Submit the attempt and flag it"),
        IntegrityAction.VOID: _("Void the attempt for review"),
    }[IntegrityAction(action)]


def qualification_label(rule: str) -> str:
    return {
        "top_n": _("Top N overall"),
        "top_n_per_organization": _("Top N of each organization"),
        "min_score": _("Minimum score"),
    }.get(rule, rule)


def qualification_text(qualification: dict[str, Any] | None) -> str:
    if not qualification:
        return _("None")
    rule, value = qualification.get("kind", ""), qualification.get("value")
    if rule == "top_n":
        return _("Top %(n)s overall", n=value)
    if rule == "top_n_per_organization":
        return _("Top %(n)s of each organization", n=value)
    if rule == "min_score":
        return _("At least %(score)s points", score=value)
    return str(qualification)


def attempt_status_label(status: AttemptStatus) -> str:
    return {
        AttemptStatus.IN_PROGRESS: _("In progress"),
        AttemptStatus.SUBMITTED: _("Submitted"),
        AttemptStatus.SCORED: _("Scored"),
        AttemptStatus.VOID: _("Void (for review)"),
    }[AttemptStatus(status)]


def submitted_by_label(by: str | None) -> str:
    return {
        "contestant": _("by the contestant"),
        "deadline": _("at the deadline"),
        "integrity": _("by the integrity rule"),
        None: "",
    }.get(by, by or "")


@bp.app_context_processor
def contest_labels() -> dict[str, Any]:
    return {
        "local_time": local_time,
        "duration_text": duration_text,
        "round_status": contest_service.contest_round_status,
        "round_status_label": round_status_label,
        "contest_status_label": contest_status_label,
        "registration_mode_label": registration_mode_label,
        "review_policy_label": review_policy_label,
        "score_visibility_label": score_visibility_label,
        "integrity_action_label": integrity_action_label,
        "multiple_rule_label": multiple_rule_label,
        "qualification_text": qualification_text,
        "attempt_status_label": attempt_status_label,
        "submitted_by_label": submitted_by_label,
    }
