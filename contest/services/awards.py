"""Awards (评奖): tiers from the contest board's ranking, the unit award, the organizers' hand
adjustments, locking, and the public winners list (公示).

The rules live in :class:`contest.models.AwardPlan`. Tiers are taken in order (the first is the
highest), each from the participants not yet awarded:

- a tier takes ``value`` contestants (``mode`` "count") or ``value`` per cent of the participants
  (``mode`` "percent", rounded half up); with ``per_unit`` the quota is per unit (of the unit's
  participants), contestants without a unit forming one group;
- a contestant below the tier's ``min_score`` is not eligible for it;
- ties at a cutoff all get the tier: once the quota is reached, everyone of the same rank as the
  last one taken joins it (the ranks are the contest board's: score, then time used).

Participants are the contestants with a counting scored attempt in the contest
(:func:`contest.services.leaderboards.counting_entries`), summed over its rounds as the contest
board does. The unit award (优秀组织奖) ranks the units of the organization board by participation
rate (submitted of enrolled) or mean score and gives it to the top ``top`` (ties included),
optionally only to units with at least ``min_enrolled`` enrolled.

Adjustments move a contestant to another tier or remove them (a disqualification), each with a
reason, recorded in the audit log; a removed contestant frees their place (the tiers are taken
from the others). Until the awards are locked, the preview is recomputed from the
current scores every time; locking stores the result (``snapshot``), which later score changes
never alter: :func:`scores_changed` only flags it for a second look (and commits that). Every
other change here is added to the caller's session with its audit event; the caller commits.

This module holds the organizers' actions; parsing the rules and computing the awards from the
board is :mod:`contest.services.award_rules`, reading the locked result (the awardees, the
winners list) is :mod:`contest.services.award_results`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _

from contest.errors import Conflict, InvalidInput, NotFound
from contest.extensions import db
from contest.models import AwardPlan, Contest, ContestStatus, User, utcnow
from contest.services import audit, certificates
from contest.services.award_rules import (
    Preview,
    TierRule,
    UnitRule,
    compute_preview,
    default_tiers,
    parse_tiers,
    parse_unit_rule,
    participants,
    preview_from_snapshot,
    snapshot_json,
    tier_json,
    tiers_of,
    unit_rule_of,
)

MAX_REASON = 500
MAX_CONTACT = 500


@dataclass
class AwardsState:
    """What the organizers' page and getAwards show."""

    contest: Contest
    plan: AwardPlan
    tiers: list[TierRule]
    unit_rule: UnitRule | None
    locked: bool
    published: bool
    needs_review: bool
    review_reason: str
    preview: Preview  # the locked result while locked, else recomputed now


# Told by scoring -------------------------------------------------------------------------------


def scores_changed(contest_id: int, reason: str) -> None:
    """Scores of the contest changed (an appeal accepted, a rescore): locked awards are flagged
    for a second look with ``reason``; they are never changed here. Unlocked awards need nothing
    (the preview is recomputed). Commits the flag (called after the score change committed,
    from a request or a worker job)."""
    plan = db.session.get(AwardPlan, contest_id)
    if plan is None or plan.locked_at is None:
        return
    reason = reason.strip()[:MAX_REASON] or _("Scores changed after the awards were locked.")
    plan.review_reason = reason
    plan.review_flagged_at = utcnow()
    _record(
        "awards.flag",
        contest_id,
        after={"review_reason": reason},
        reason=reason,
    )
    db.session.commit()


def _record(action: str, contest_id: int, **fields: Any) -> None:
    """Audit one action on the contest's awards (not committed)."""
    audit.record(
        action, target_type="contest", target_id=contest_id, contest_id=contest_id, **fields
    )


# Organizer actions -----------------------------------------------------------------------------


def _contest(contest_id: int) -> Contest:
    contest = db.session.get(Contest, contest_id)
    if contest is None:
        raise NotFound(_("No such contest."))
    return contest


def get_plan(contest_id: int, *, lock: bool = False) -> AwardPlan:
    """The contest's award plan, made (with default tiers, not yet flushed) when there is none;
    ``lock`` locks its row to the commit (PostgreSQL)."""
    _contest(contest_id)
    plan = db.session.get(AwardPlan, contest_id, with_for_update=lock or None)
    if plan is None:
        plan = AwardPlan(contest_id=contest_id, tiers=default_tiers(), adjustments={})
        db.session.add(plan)
    return plan


def state(contest_id: int) -> AwardsState:
    """Rules, status and the result (locked, or a preview from the current scores)."""
    contest = _contest(contest_id)
    plan = get_plan(contest_id)
    locked = plan.locked_at is not None and plan.snapshot is not None
    preview = (
        preview_from_snapshot(plan.snapshot or {}) if locked else compute_preview(contest, plan)
    )
    return AwardsState(
        contest=contest,
        plan=plan,
        tiers=tiers_of(plan),
        unit_rule=unit_rule_of(plan),
        locked=locked,
        published=locked and plan.published_at is not None,
        needs_review=bool(plan.review_reason),
        review_reason=plan.review_reason or "",
        preview=preview,
    )


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Give a reason."))
    if len(reason) > MAX_REASON:
        raise InvalidInput(_("The reason is too long (at most 500 characters)."))
    return reason


def _unlocked(plan: AwardPlan) -> None:
    if plan.locked_at is not None:
        raise Conflict(_("The awards are locked: unlock them first."), code="awards_locked")


def set_rules(
    contest_id: int,
    tiers: Sequence[dict[str, Any]],
    unit_rule: dict[str, Any] | None,
    *,
    actor: User | None = None,
) -> AwardPlan:
    """Replace the tier rules and the unit award rule (only while unlocked). Adjustments naming
    a tier that no longer exists are kept and count as "no award" until the tier returns."""
    plan = get_plan(contest_id, lock=True)
    _unlocked(plan)
    parsed = parse_tiers(tiers)
    unit = parse_unit_rule(unit_rule)
    before = {"tiers": plan.tiers, "unit_rule": plan.unit_rule}
    plan.tiers = [tier_json(t) for t in parsed]
    plan.unit_rule = asdict(unit) if unit is not None else None
    plan.updated_at = utcnow()
    _record(
        "awards.rules",
        contest_id,
        before=before,
        after={"tiers": plan.tiers, "unit_rule": plan.unit_rule},
        actor=actor,
    )
    db.session.flush()
    return plan


def adjust(
    contest_id: int, user_id: int, tier_key: str | None, reason: str, *, actor: User | None = None
) -> AwardPlan:
    """Set a participant's tier by hand (``tier_key`` None or "": no award, a disqualification;
    "auto": back to what the rules give), with a reason (audited). Only while unlocked."""
    reason = _reason(reason)
    plan = get_plan(contest_id, lock=True)
    _unlocked(plan)
    contest = _contest(contest_id)
    people, _standings = participants(contest)
    if user_id not in {p.user_id for p in people}:
        raise NotFound(_("This contestant has no counting score in the contest."))
    keys = {t.key for t in tiers_of(plan)}
    adjustments = dict(plan.adjustments or {})
    before = adjustments.get(str(user_id))
    if tier_key == "auto":
        adjustments.pop(str(user_id), None)
        after: dict[str, Any] | None = None
    else:
        tier_key = tier_key or ""
        if tier_key and tier_key not in keys:
            raise InvalidInput(_("No such tier."))
        after = {"tier": tier_key, "reason": reason}
        adjustments[str(user_id)] = after
    plan.adjustments = adjustments  # a new dict: the JSON column sees the change
    plan.updated_at = utcnow()
    audit.record(
        "awards.adjust",
        target_type="user",
        target_id=user_id,
        contest_id=contest_id,
        before={"adjustment": before},
        after={"adjustment": after},
        reason=reason,
        actor=actor,
    )
    db.session.flush()
    return plan


def lock(contest_id: int, *, actor: User | None = None) -> AwardPlan:
    """Store the current result as the awards (audited), clear any review flag and bring the
    certificates in line with it (revoking those no longer due). Locking again while locked
    (after a second look) recomputes nothing: unlock first to change the result."""
    contest = _contest(contest_id)
    if contest.status is ContestStatus.DRAFT:
        raise Conflict(_("A draft contest has no awards."), code="wrong_status")
    plan = get_plan(contest_id, lock=True)
    _unlocked(plan)
    preview = compute_preview(contest, plan)
    plan.snapshot = snapshot_json(preview, tiers_of(plan))
    plan.locked_at = utcnow()
    plan.locked_by_id = actor.id if actor is not None else None
    plan.review_reason = ""
    plan.review_flagged_at = None
    plan.updated_at = utcnow()
    _record(
        "awards.lock",
        contest_id,
        after={"awardees": len(plan.snapshot["awardees"]), "counts": preview.counts},
        actor=actor,
    )
    db.session.flush()
    # Certificates follow the new result at once: a withdrawn award's paper verifies as revoked
    # even if nobody prints a certificate again.
    certificates.issue_certificates(contest_id)
    return plan


def unlock(contest_id: int, reason: str, *, actor: User | None = None) -> AwardPlan:
    """Unlock for a second look (reason required, audited); the published list is withdrawn."""
    reason = _reason(reason)
    plan = get_plan(contest_id, lock=True)
    if plan.locked_at is None:
        raise Conflict(_("The awards are not locked."), code="awards_unlocked")
    before = {
        "locked_at": plan.locked_at.isoformat(),
        "published": plan.published_at is not None,
        "awardees": len((plan.snapshot or {}).get("awardees", [])),
    }
    plan.locked_at = None
    plan.locked_by_id = None
    plan.snapshot = None
    plan.published_at = None
    plan.review_reason = ""
    plan.review_flagged_at = None
    plan.updated_at = utcnow()
    _record(
        "awards.unlock",
        contest_id,
        before=before,
        after={"locked_at": None, "published": False},
        reason=reason,
        actor=actor,
    )
    db.session.flush()
    return plan


def confirm_review(contest_id: int, reason: str, *, actor: User | None = None) -> AwardPlan:
    """Keep the locked awards after a second look: clears the "needs a second look" flag."""
    reason = _reason(reason)
    plan = get_plan(contest_id, lock=True)
    if plan.locked_at is None or not plan.review_reason:
        raise Conflict(_("Nothing to confirm."), code="nothing_to_confirm")
    before = {"review_reason": plan.review_reason}
    plan.review_reason = ""
    plan.review_flagged_at = None
    _record(
        "awards.confirm",
        contest_id,
        before=before,
        after={"review_reason": ""},
        reason=reason,
        actor=actor,
    )
    db.session.flush()
    return plan


def publish(
    contest_id: int,
    *,
    publish_from: date | None,
    publish_until: date | None,
    objection_contact: str,
    actor: User | None = None,
) -> AwardPlan:
    """Publish the winners list (公示) with its period and objection contact (audited); the
    awards must be locked. Publishing again updates the period and contact."""
    plan = get_plan(contest_id, lock=True)
    if plan.locked_at is None:
        raise Conflict(_("Lock the awards before publishing the list."), code="awards_unlocked")
    if _contest(contest_id).status is ContestStatus.DRAFT:
        raise Conflict(_("A draft contest has no awards."), code="wrong_status")
    contact = (objection_contact or "").strip()
    if len(contact) > MAX_CONTACT:
        raise InvalidInput(_("The contact text is too long (at most 500 characters)."))
    if publish_from and publish_until and publish_until < publish_from:
        raise InvalidInput(_("The publication period ends before it starts."))
    before = {
        "published_at": plan.published_at.isoformat() if plan.published_at else None,
        "publish_from": plan.publish_from.isoformat() if plan.publish_from else None,
        "publish_until": plan.publish_until.isoformat() if plan.publish_until else None,
    }
    plan.publish_from, plan.publish_until = publish_from, publish_until
    plan.objection_contact = contact
    plan.published_at = plan.published_at or utcnow()
    _record(
        "awards.publish",
        contest_id,
        before=before,
        after={
            "published_at": plan.published_at.isoformat(),
            "publish_from": publish_from.isoformat() if publish_from else None,
            "publish_until": publish_until.isoformat() if publish_until else None,
            "objection_contact": contact,
        },
        actor=actor,
    )
    db.session.flush()
    return plan


def unpublish(contest_id: int, reason: str, *, actor: User | None = None) -> AwardPlan:
    """Withdraw the public winners list (reason required, audited)."""
    reason = _reason(reason)
    plan = get_plan(contest_id, lock=True)
    if plan.published_at is None:
        raise Conflict(_("The list is not published."), code="not_published")
    before = {"published_at": plan.published_at.isoformat()}
    plan.published_at = None
    _record(
        "awards.unpublish",
        contest_id,
        before=before,
        after={"published_at": None},
        reason=reason,
        actor=actor,
    )
    db.session.flush()
    return plan
