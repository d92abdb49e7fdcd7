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
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from contest.errors import Conflict, InvalidInput, NotFound
from contest.extensions import db
from contest.models import AwardPlan, Contest, ContestStatus, Organization, User, utcnow
from contest.services import audit, leaderboards

MAX_TIERS = 10
MAX_LABEL = 40
MAX_REASON = 500
MAX_CONTACT = 500
MAX_COUNT = 100_000
MODES = ("count", "percent")
UNIT_METRICS = ("rate", "mean")
DEFAULT_TIER_KEYS = ("first", "second", "third", "merit")


# Results ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Awardee:
    """A contestant's award in the locked result."""

    user_id: int
    full_name: str  # User.display_name
    username: str
    organization: str
    tier_key: str  # "first", "second", "third", "merit" or an organizer's own key
    tier_label: str  # 一等奖 …
    rank: int
    score: Decimal


@dataclass(frozen=True)
class UnitAwardee:
    """A unit's award (优秀组织奖): ``value`` is its participation rate (0–1) or mean score."""

    organization_id: int
    organization: str
    label: str
    value: Decimal


@dataclass(frozen=True)
class TierRule:
    key: str
    label: str
    mode: str  # "count" or "percent"
    value: Decimal
    per_unit: bool = False
    min_score: Decimal | None = None


@dataclass(frozen=True)
class UnitRule:
    label: str
    metric: str  # "rate" or "mean"
    top: int
    min_enrolled: int = 0


@dataclass
class PreviewRow:
    """One participant in the preview: the rank, the tier computed from the rules and the tier
    after the organizers' adjustment (None: no award)."""

    rank: int
    user_id: int
    full_name: str
    username: str
    organization_id: int | None
    organization: str
    score: Decimal
    computed_key: str | None
    tier_key: str | None
    tier_label: str
    adjustment_reason: str = ""


@dataclass
class Preview:
    participants: int
    rows: list[PreviewRow]
    counts: dict[str, int]  # tier key → awarded (after adjustments)
    units: list[UnitAwardee]


@dataclass(frozen=True)
class WinnerRow:
    name: str  # masked unless the contest shows full names
    organization: str


@dataclass(frozen=True)
class WinnerTier:
    key: str
    label: str
    winners: list[WinnerRow]


@dataclass(frozen=True)
class WinnersList:
    """The public winners list (公示): no scores, no ids, names masked per Contest.mask_names."""

    contest_id: int
    title: str
    masked: bool
    tiers: list[WinnerTier]
    units: list[dict[str, str]]  # {"organization", "label"}
    publish_from: date | None
    publish_until: date | None
    objection_contact: str
    published_at: datetime
    locked_at: datetime


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


# Used by certificates and appeals ----------------------------------------------------------------


def awardees(contest_id: int) -> list[Awardee]:
    """The locked result's contestants in rank order; [] while the awards are not locked."""
    plan = db.session.get(AwardPlan, contest_id)
    if plan is None or plan.locked_at is None or plan.snapshot is None:
        return []
    return [
        Awardee(
            user_id=int(a["user_id"]),
            full_name=str(a["full_name"]),
            username=str(a["username"]),
            organization=str(a["organization"]),
            tier_key=str(a["tier_key"]),
            tier_label=str(a["tier_label"]),
            rank=int(a["rank"]),
            score=Decimal(a["score"]),
        )
        for a in plan.snapshot.get("awardees", [])
    ]


def unit_awardees(contest_id: int) -> list[UnitAwardee]:
    """The locked result's units; [] while the awards are not locked."""
    plan = db.session.get(AwardPlan, contest_id)
    if plan is None or plan.locked_at is None or plan.snapshot is None:
        return []
    return [_unit_from_json(u) for u in plan.snapshot.get("units", [])]


def is_locked(contest_id: int) -> bool:
    return locked_at(contest_id) is not None


def locked_at(contest_id: int) -> datetime | None:
    plan = db.session.get(AwardPlan, contest_id)
    return plan.locked_at if plan is not None else None


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


def winners_list(contest_id: int) -> WinnersList | None:
    """The published winners list, or None (a draft contest, awards not locked or the list not
    published). Names are masked unless the contest shows full names."""
    contest = db.session.get(Contest, contest_id)
    plan = db.session.get(AwardPlan, contest_id)
    if (
        contest is None
        or contest.status is ContestStatus.DRAFT
        or plan is None
        or plan.locked_at is None
        or plan.published_at is None
        or plan.snapshot is None
    ):
        return None
    masked = contest.mask_names
    grouped: dict[str, list[WinnerRow]] = defaultdict(list)
    labels: dict[str, str] = {}
    for a in awardees(contest_id):
        name = leaderboards.mask_name(a.full_name) if masked else a.full_name
        grouped[a.tier_key].append(WinnerRow(name, a.organization))
        labels.setdefault(a.tier_key, a.tier_label)
    order = [str(t.get("key")) for t in plan.snapshot.get("tiers", [])]
    keys = [k for k in order if k in grouped] + [k for k in grouped if k not in order]
    return WinnersList(
        contest_id=contest.id,
        title=contest.title,
        masked=masked,
        tiers=[WinnerTier(k, labels[k], grouped[k]) for k in keys],
        units=[
            {"organization": u.organization, "label": u.label} for u in unit_awardees(contest_id)
        ],
        publish_from=plan.publish_from,
        publish_until=plan.publish_until,
        objection_contact=plan.objection_contact,
        published_at=plan.published_at,
        locked_at=plan.locked_at,
    )


# Rules -----------------------------------------------------------------------------------------


def default_tiers() -> list[dict[str, Any]]:
    """A starting point for a contest without rules: 10 %, 20 %, 30 % and no 优秀奖."""
    return [
        {"key": "first", "label": _("First prize"), "mode": "percent", "value": "10"},
        {"key": "second", "label": _("Second prize"), "mode": "percent", "value": "20"},
        {"key": "third", "label": _("Third prize"), "mode": "percent", "value": "30"},
    ]


def _decimal(value: Any, what: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidInput(_("%(what)s is not a number.", what=what)) from None
    if not number.is_finite():
        raise InvalidInput(_("%(what)s is not a number.", what=what))
    return number


def parse_tiers(raw: Sequence[dict[str, Any]]) -> list[TierRule]:
    """Check and normalize tier rows (InvalidInput naming the first problem)."""
    if len(raw) > MAX_TIERS:
        raise InvalidInput(_("At most %(n)d tiers.", n=MAX_TIERS))
    tiers: list[TierRule] = []
    for index, row in enumerate(raw):
        label = str(row.get("label") or "").strip()
        if not label or len(label) > MAX_LABEL:
            raise InvalidInput(_("Tier %(n)d needs a name (at most 40 characters).", n=index + 1))
        key = str(row.get("key") or "").strip() or (
            DEFAULT_TIER_KEYS[index] if index < len(DEFAULT_TIER_KEYS) else f"tier{index + 1}"
        )
        if len(key) > 20 or not key.replace("_", "").isalnum() or not key.isascii():
            raise InvalidInput(_("Tier %(n)d has an invalid key.", n=index + 1))
        mode = str(row.get("mode") or "count")
        if mode not in MODES:
            raise InvalidInput(_("Tier %(n)d: choose by count or by percentage.", n=index + 1))
        value = _decimal(row.get("value", ""), label)
        limit = Decimal(100) if mode == "percent" else Decimal(MAX_COUNT)
        if value < 0 or value > limit or (mode == "count" and value != value.to_integral()):
            raise InvalidInput(_("Tier %(n)d: the number is out of range.", n=index + 1))
        min_raw = row.get("min_score")
        min_score = None
        if min_raw not in (None, ""):
            min_score = _decimal(min_raw, label)
        tiers.append(TierRule(key, label, mode, value, bool(row.get("per_unit")), min_score))
    keys = [t.key for t in tiers]
    if len(set(keys)) != len(keys):
        raise InvalidInput(_("Two tiers have the same key."))
    return tiers


def parse_unit_rule(raw: dict[str, Any] | None) -> UnitRule | None:
    """Check a unit award rule; None or a rule with ``top`` 0 means no unit award."""
    if not raw:
        return None
    label = str(raw.get("label") or "").strip()
    metric = str(raw.get("metric") or "rate")
    try:
        top = int(raw.get("top") or 0)
        min_enrolled = int(raw.get("min_enrolled") or 0)
    except (TypeError, ValueError):
        raise InvalidInput(_("The unit award needs whole numbers.")) from None
    if top <= 0:
        return None
    if not label or len(label) > MAX_LABEL:
        raise InvalidInput(_("The unit award needs a name (at most 40 characters)."))
    if metric not in UNIT_METRICS:
        raise InvalidInput(_("Rank units by participation rate or by mean score."))
    if top > MAX_COUNT or not 0 <= min_enrolled <= MAX_COUNT:
        raise InvalidInput(_("The unit award's numbers are out of range."))
    return UnitRule(label, metric, top, min_enrolled)


def _tier_json(tier: TierRule) -> dict[str, Any]:
    return {
        "key": tier.key,
        "label": tier.label,
        "mode": tier.mode,
        "value": str(tier.value),
        "per_unit": tier.per_unit,
        "min_score": str(tier.min_score) if tier.min_score is not None else None,
    }


def tiers_of(plan: AwardPlan) -> list[TierRule]:
    return parse_tiers(plan.tiers or [])


def unit_rule_of(plan: AwardPlan) -> UnitRule | None:
    return parse_unit_rule(plan.unit_rule)


# Computing -------------------------------------------------------------------------------------


@dataclass
class _Participant:
    rank: int
    user_id: int
    name: str
    organization_id: int | None
    organization: str
    score: Decimal


def participants(contest: Contest) -> tuple[list[_Participant], list[Any]]:
    """The contest board's ranking of everyone with a counting scored attempt (live, nothing
    frozen), and the standings it was made from."""
    per_round = [list(leaderboards.counting_entries(r).values()) for r in contest.rounds]
    standings = leaderboards.contest_standings(per_round)
    ranking = leaderboards.ranked(standings)
    people = [
        _Participant(rank, s.user_id, s.name, s.organization_id, s.organization, s.score)
        for rank, s in ranking
    ]
    return people, standings


def _quota(tier: TierRule, group_size: int) -> int:
    if tier.mode == "count":
        return int(tier.value)
    return int((tier.value * group_size / 100).to_integral_value(rounding=ROUND_HALF_UP))


def _take(tier: TierRule, candidates: list[_Participant], group_size: int) -> list[_Participant]:
    """The candidates (in rank order) a tier takes: its quota, plus everyone tied with the last
    one taken; none below the tier's minimum score."""
    eligible = [p for p in candidates if tier.min_score is None or p.score >= tier.min_score]
    quota = _quota(tier, group_size)
    if quota <= 0 or not eligible:
        return []
    if quota >= len(eligible):
        return eligible
    cutoff = eligible[quota - 1].rank
    return [p for p in eligible if p.rank <= cutoff]


def assign_tiers(people: Sequence[_Participant], tiers: Sequence[TierRule]) -> dict[int, str]:
    """user id → tier key from the rules (no adjustments)."""
    assigned: dict[int, str] = {}
    for tier in tiers:
        groups: dict[Any, list[_Participant]] = {None: list(people)}
        if tier.per_unit:
            groups = defaultdict(list)
            for p in people:
                groups[p.organization_id].append(p)
        for members in groups.values():
            remaining = [p for p in members if p.user_id not in assigned]
            for p in _take(tier, remaining, len(members)):
                assigned[p.user_id] = tier.key
    return assigned


def compute_units(contest: Contest, standings: Sequence[Any], rule: UnitRule) -> list[UnitAwardee]:
    """The units the unit award goes to: the organization board's rows ranked by the rule's
    metric, the top ``rule.top`` (ties at the cutoff included)."""
    units, _before = leaderboards.unit_counts(contest, None)
    ids = (
        set(units.enrolled)
        | set(units.listed)
        | {s.organization_id for s in standings if s.organization_id is not None}
    )
    names: dict[int, str] = dict(
        db.session.execute(
            select(Organization.id, Organization.name).where(Organization.id.in_(list(ids)))
        ).all()
    )
    # Each unit's row carries its id in its name ("<id>\t<name>"): names need not be unique.
    tagged = {org_id: f"{org_id}\t{name}" for org_id, name in names.items()}
    rows = leaderboards.organization_rows(standings, units, tagged)
    scored: list[tuple[Decimal, Decimal, int, str]] = []
    for row in rows:
        if not row["submitted"] or row["enrolled"] < rule.min_enrolled or "\t" not in row["name"]:
            continue
        org_id, name = row["name"].split("\t", 1)
        rate = Decimal(str(row["participation_rate"] or 0))
        mean = Decimal(str(row["mean_score"] or 0))
        value, second = (rate, mean) if rule.metric == "rate" else (mean, rate)
        scored.append((value, second, int(org_id), name))
    scored.sort(key=lambda item: (-item[0], -item[1], item[3]))
    if len(scored) > rule.top:
        cutoff = scored[rule.top - 1][:2]
        scored = [s for s in scored if s[:2] >= cutoff]
    return [UnitAwardee(org_id, name, rule.label, value) for value, _second, org_id, name in scored]


def compute_preview(contest: Contest, plan: AwardPlan) -> Preview:
    """The awards as the rules and adjustments give them now, from the current scores."""
    tiers = tiers_of(plan)
    people, standings = participants(contest)
    adjustments = plan.adjustments or {}
    # A disqualified contestant (adjusted to no award) takes no place: the tiers go to the others.
    removed = {int(k) for k, v in adjustments.items() if not (v or {}).get("tier")}
    computed = assign_tiers([p for p in people if p.user_id not in removed], tiers)
    labels = {t.key: t.label for t in tiers}
    usernames = _usernames([p.user_id for p in people])
    rows: list[PreviewRow] = []
    counts = {t.key: 0 for t in tiers}
    for p in people:
        key = computed.get(p.user_id)
        reason = ""
        adjusted = adjustments.get(str(p.user_id))
        if adjusted is not None:
            key = adjusted.get("tier") or None
            reason = str(adjusted.get("reason") or "")
            if key is not None and key not in labels:
                key = None
        if key is not None:
            counts[key] += 1
        rows.append(
            PreviewRow(
                rank=p.rank,
                user_id=p.user_id,
                full_name=p.name,
                username=usernames.get(p.user_id, ""),
                organization_id=p.organization_id,
                organization=p.organization,
                score=p.score,
                computed_key=computed.get(p.user_id),
                tier_key=key,
                tier_label=labels.get(key, "") if key else "",
                adjustment_reason=reason,
            )
        )
    rule = unit_rule_of(plan)
    units = compute_units(contest, standings, rule) if rule is not None else []
    return Preview(len(people), rows, counts, units)


def _usernames(user_ids: Sequence[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    return dict(
        db.session.execute(select(User.id, User.username).where(User.id.in_(list(user_ids)))).all()
    )


def _snapshot(preview: Preview, tiers: Sequence[TierRule]) -> dict[str, Any]:
    return {
        "participants": preview.participants,
        "tiers": [_tier_json(t) for t in tiers],
        "awardees": [
            {
                "user_id": r.user_id,
                "full_name": r.full_name,
                "username": r.username,
                "organization_id": r.organization_id,
                "organization": r.organization,
                "tier_key": r.tier_key,
                "tier_label": r.tier_label,
                "rank": r.rank,
                "score": str(r.score),
                "adjustment_reason": r.adjustment_reason,
            }
            for r in preview.rows
            if r.tier_key is not None
        ],
        "units": [{**asdict(u), "value": str(u.value)} for u in preview.units],
    }


def _unit_from_json(u: dict[str, Any]) -> UnitAwardee:
    return UnitAwardee(
        int(u["organization_id"]), str(u["organization"]), str(u["label"]), Decimal(u["value"])
    )


def _preview_from_snapshot(snapshot: dict[str, Any]) -> Preview:
    rows = [
        PreviewRow(
            rank=int(a["rank"]),
            user_id=int(a["user_id"]),
            full_name=a["full_name"],
            username=a["username"],
            organization_id=a.get("organization_id"),
            organization=a["organization"],
            score=Decimal(a["score"]),
            computed_key=None,
            tier_key=a["tier_key"],
            tier_label=a["tier_label"],
            adjustment_reason=a.get("adjustment_reason", ""),
        )
        for a in snapshot.get("awardees", [])
    ]
    counts: dict[str, int] = {str(t["key"]): 0 for t in snapshot.get("tiers", [])}
    for row in rows:
        counts[str(row.tier_key)] = counts.get(str(row.tier_key), 0) + 1
    units = [_unit_from_json(u) for u in snapshot.get("units", [])]
    return Preview(int(snapshot.get("participants", 0)), rows, counts, units)


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
        _preview_from_snapshot(plan.snapshot or {}) if locked else compute_preview(contest, plan)
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
    plan.tiers = [_tier_json(t) for t in parsed]
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
    plan.snapshot = _snapshot(preview, tiers_of(plan))
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
    from contest.services import certificates

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
