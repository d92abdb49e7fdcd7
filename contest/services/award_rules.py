"""Award rules: the tiers and the unit award as the organizers set them, and the awards they
give from the contest board's current ranking (the preview, and what locking stores).

See :mod:`contest.services.awards` for how tiers are taken, ties and adjustments.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from contest.errors import InvalidInput
from contest.extensions import db
from contest.models import AwardPlan, Contest, Organization, User
from contest.services import leaderboards
from contest.services.award_results import UnitAwardee, unit_from_json

MAX_TIERS = 10
MAX_LABEL = 40
MAX_COUNT = 100_000
MODES = ("count", "percent")
UNIT_METRICS = ("rate", "mean")
DEFAULT_TIER_KEYS = ("first", "second", "third", "merit")


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


def tier_json(tier: TierRule) -> dict[str, Any]:
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


def snapshot_json(preview: Preview, tiers: Sequence[TierRule]) -> dict[str, Any]:
    return {
        "participants": preview.participants,
        "tiers": [tier_json(t) for t in tiers],
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


def preview_from_snapshot(snapshot: dict[str, Any]) -> Preview:
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
    units = [unit_from_json(u) for u in snapshot.get("units", [])]
    return Preview(int(snapshot.get("participants", 0)), rows, counts, units)
