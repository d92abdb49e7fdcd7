"""The statistics report of a contest: participation, score distributions and item analysis.

What it counts
--------------
Every figure is computed from the contestants' *counting* attempts (the board's rule:
:func:`contest.services.leaderboards.counting_entries` — the best or last scored, non-void attempt
of each round) and, for the contest as a whole, from the sum over rounds
(:func:`~contest.services.leaderboards.contest_standings`).

- **Participation** per unit: enrolled, started, submitted and the rate (submitted of enrolled)
  with the organization board's definitions (:func:`~contest.services.leaderboards.unit_counts`
  and :func:`~contest.services.leaderboards.organization_rows`); over time, the same counts as of
  the end of each Beijing day (cumulative) from the first attempt's day to the last one's.
- **Score distribution** per round and for the contest total: ten equal bins from 0 to the full
  marks (the last bin includes the full marks), mean, population standard deviation, median and
  quartiles (linear interpolation between order statistics, "inclusive": Excel's QUARTILE.INC).
- **Items**: one item is one *question version* (versions are immutable, so an item has one
  text, one set of options, one key; a corrected question is a new version and a new item; the
  rows carry the question id and version number, so a question's versions sit side by side).
  Per item: *facility* = earned / points summed over the contestants who had it on their
  counting paper; *discrimination* D = facility of the upper group − facility of the lower
  group, the groups being the top and bottom ``g = floor(0.27·n + 0.5)`` of those ``n``
  contestants ordered by their total (the round's score; the contest total for the contest's
  table), ties broken by account id; undefined below two contestants; *point-biserial* r_pb =
  the Pearson correlation between the item score (earned / points: 0 or 1 for an item scored
  right or wrong) and the total score **including the item** (the classical r_pb; on a short
  paper it runs higher than the item-rest correlation would); undefined when either does not
  vary. *Option counts*: answers mapped back through the paper's option ids and order to the
  version's options (letters are the author's order, not the shuffled display). *Time*: the
  mean gap between the item's last save and the save before it in the same attempt (the start
  for the first): only the last save of an item is kept, so this is an approximation.
- **Flags**: an item to review has negative discrimination, a facility above 0.95 or below 0.2
  (an item void by an appeal's ruling is marked ``voided`` and never flagged; keys shown are the
  keys as corrected by the rulings).
- **Breakdowns**: by area (the top level of the question's category: 法律法规/基础知识/事件处置),
  by law cited (the version's citation) and by unit (the contestant's organization).

Caching
-------
A report is computed on the RQ ``default`` queue (:mod:`workers.statistics`) and kept in Redis
with the :func:`fingerprint` of the contest's scores it was computed from: the attempts' count by
status, their latest start, submission and scoring time, the sum of scores, the registrations, the
units taking part and the rounds' score policies. Any score change — a submission, a void, a
restore, a re-score after an appeal (scoring stamps ``scored_at``) — changes the fingerprint, and
the next read computes the report again.
"""

from __future__ import annotations

import hashlib
import json
import math
import statistics as pystats
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import case, func, select

from contest.errors import NotFound
from contest.extensions import db, redis_hub
from contest.i18n import zone
from contest.models import (
    Attempt,
    AttemptItem,
    AttemptStatus,
    Contest,
    ItemRuling,
    Organization,
    Registration,
    Role,
    Round,
    User,
)
from contest.services import leaderboards, rulings
from question_bank.domain import OPTION_LETTERS, QuestionType, answer_from_json
from question_bank.models import Category, Question, QuestionVersion

# Bump when the report's content or shape changes: cached reports of older code are recomputed.
REPORT_VERSION = 2  # 2: items carry ``voided``; keys follow the rulings
BINS = 10
GROUP_SHARE = 0.27
EASY, HARD = 0.95, 0.2  # facility above / below: flagged
MAX_DAYS = 92  # days of the participation series (a longer contest shows its last ones)
STEM_CHARS = 80
OPTION_CHARS = 40
CHUNK = 900  # ids per IN list
JOB_TIMEOUT_S = 600
FAILED_TTL_S = 60  # a failed computation is tried again after this long

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
AREA_NONE = ""  # questions without a category

Progress = Callable[[int, int], None]


# Numbers -----------------------------------------------------------------------------------------


def _round4(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _num(value: Decimal | float | int) -> int | float:
    """A score as a JSON number: 12 rather than 12.00; 12.5 stays 12.5."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return int(value) if float(value).is_integer() else round(float(value), 4)


def quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    """(Q1, median, Q3), interpolating linearly between order statistics (QUARTILE.INC)."""
    if len(values) == 1:
        return values[0], values[0], values[0]
    q1, q2, q3 = pystats.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def distribution(scores: Sequence[Decimal], full_marks: Decimal) -> dict[str, Any]:
    """Summary figures and a ten-bin histogram of ``scores`` on 0 … ``full_marks``."""
    values = sorted(float(s) for s in scores)
    top = float(full_marks) if full_marks > 0 else max(values, default=0.0)
    width = top / BINS if top > 0 else 1.0
    counts = [0] * BINS
    for value in values:
        counts[min(BINS - 1, max(0, int(value // width)))] += 1
    bins = [
        {"low": _num(round(i * width, 4)), "high": _num(round((i + 1) * width, 4)), "count": c}
        for i, c in enumerate(counts)
    ]
    summary: dict[str, Any] = {"n": len(values), "full_marks": _num(full_marks), "bins": bins}
    if not values:
        return summary | dict.fromkeys(("mean", "sd", "min", "q1", "median", "q3", "max"))
    q1, median, q3 = quartiles(values)
    return summary | {
        "mean": _round4(pystats.fmean(values)),
        "sd": _round4(pystats.pstdev(values)),
        "min": _num(values[0]),
        "q1": _round4(q1),
        "median": _round4(median),
        "q3": _round4(q3),
        "max": _num(values[-1]),
    }


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """The Pearson correlation; None when fewer than two pairs or either does not vary."""
    n = len(xs)
    if n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx <= 1e-12 or syy <= 1e-12:
        return None
    return sxy / math.sqrt(sxx * syy)


def group_size(n: int) -> int:
    """Contestants in each of the upper and lower groups: 27 % of ``n``, rounded half up."""
    return math.floor(GROUP_SHARE * n + 0.5)


# Sittings: one contestant's answer to one item ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sitting:
    user_id: int
    version_id: int
    points: int
    earned: Decimal
    answer: Any  # option indexes (see workers.scoring.to_indexes), a bool, text, or None
    gap_s: float | None  # seconds since the previous save in the attempt (None: never saved)

    @property
    def share(self) -> float:
        return float(self.earned) / self.points if self.points else 0.0


@dataclass(frozen=True, slots=True)
class VersionInfo:
    version_id: int
    question_id: int
    number: int
    type: QuestionType
    stem: str
    options: tuple[str, ...]
    key: Any
    area: str
    category: str
    law: str | None
    article: int | None
    voided: bool = False  # void by an appeal's ruling: everyone holding it earns its points


def ruled(info: VersionInfo, ruling: rulings.Ruling | None) -> VersionInfo:
    """The version as its round grades it after appeals: the corrected key, or void."""
    if ruling is None:
        return info
    key = info.key if ruling.key is None else answer_from_json(info.type, ruling.key)
    return replace(info, key=key, voided=info.voided or ruling.voided)


def infos_for_round(
    infos: Mapping[int, VersionInfo], found: Mapping[tuple[int, int], rulings.Ruling], round_id: int
) -> dict[int, VersionInfo]:
    """The versions as this round grades them (its rulings applied)."""
    return {v: ruled(info, found.get((round_id, v))) for v, info in infos.items()}


def infos_for_total(
    infos: Mapping[int, VersionInfo],
    found: Mapping[tuple[int, int], rulings.Ruling],
    rounds_of: Mapping[int, set[int]],
) -> dict[int, VersionInfo]:
    """The versions across the contest: a ruling applies when every round holding the version
    rules it alike (rounds ruling it differently: the version's own key)."""
    result = {}
    for v, info in infos.items():
        seen = [found.get((r, v)) for r in sorted(rounds_of.get(v, set()))]
        alike = bool(seen) and all(ruling == seen[0] for ruling in seen)
        result[v] = ruled(info, seen[0]) if alike else info
    return result


def _facility(sittings: Iterable[Sitting]) -> float | None:
    earned = points = 0.0
    for s in sittings:
        earned += float(s.earned)
        points += s.points
    return earned / points if points else None


def _answered(answer: Any) -> bool:
    if answer is None or answer == [] or answer == "":
        return False
    if isinstance(answer, list) and all(isinstance(a, str) for a in answer):
        return any(a.strip() for a in answer)
    return True


def option_counts(info: VersionInfo, sittings: Sequence[Sitting]) -> list[dict[str, Any]]:
    """Per option of the version (author's order): how many chose it and whether it is the key.
    True/false items have two options, 对 and 错 (True, False); fill-in and ordering items none."""
    if info.type is QuestionType.TRUE_FALSE:
        labels: list[tuple[Any, str]] = [(True, "T"), (False, "F")]
        return [
            {
                "letter": letter,
                "text": "",
                "count": sum(1 for s in sittings if s.answer is value),
                "key": info.key is value,
            }
            for value, letter in labels
        ]
    if info.type not in (QuestionType.SINGLE, QuestionType.MULTIPLE):
        return []
    counts = [0] * len(info.options)
    for s in sittings:
        chosen = [s.answer] if isinstance(s.answer, int) else s.answer or []
        for index in chosen:
            if isinstance(index, int) and 0 <= index < len(counts):
                counts[index] += 1
    key = {info.key} if isinstance(info.key, int) else set(info.key or ())
    return [
        {
            "letter": OPTION_LETTERS[i] if i < len(OPTION_LETTERS) else str(i + 1),
            "text": text[:OPTION_CHARS],
            "count": counts[i],
            "key": i in key,
        }
        for i, text in enumerate(info.options)
    ]


def flags(facility: float | None, discrimination: float | None) -> list[str]:
    """Why an item should be reviewed: ``negative_discrimination``, ``too_easy``, ``too_hard``."""
    found = []
    if discrimination is not None and discrimination < 0:
        found.append("negative_discrimination")
    if facility is not None and facility > EASY:
        found.append("too_easy")
    if facility is not None and facility < HARD:
        found.append("too_hard")
    return found


def item_row(
    info: VersionInfo, sittings: Sequence[Sitting], totals: Mapping[int, Decimal]
) -> dict[str, Any]:
    """One item's figures (see the module's docstring for the definitions)."""
    n = len(sittings)
    ordered = sorted(sittings, key=lambda s: (-totals.get(s.user_id, Decimal(0)), s.user_id))
    g = group_size(n) if n >= 2 else 0
    upper = _facility(ordered[:g]) if g else None
    lower = _facility(ordered[n - g :]) if g else None
    discrimination = upper - lower if upper is not None and lower is not None else None
    facility = _facility(sittings)
    r_pb = pearson([s.share for s in sittings], [float(totals.get(s.user_id, 0)) for s in sittings])
    gaps = [s.gap_s for s in sittings if s.gap_s is not None]
    points = sorted({s.points for s in sittings})
    return {
        "version_id": info.version_id,
        "question_id": info.question_id,
        "version": info.number,
        "type": info.type.value,
        "stem": info.stem[:STEM_CHARS],
        "area": info.area,
        "category": info.category,
        "law": info.law,
        "article": info.article,
        "points": points[-1] if points else 0,
        "n": n,
        "facility": _round4(facility),
        "group_size": g,
        "upper_facility": _round4(upper),
        "lower_facility": _round4(lower),
        "discrimination": _round4(discrimination),
        "point_biserial": _round4(r_pb),
        "options": option_counts(info, sittings),
        "blank": sum(1 for s in sittings if not _answered(s.answer)),
        "mean_gap_s": _round4(pystats.fmean(gaps)) if gaps else None,
        "timed": len(gaps),
        "voided": info.voided,
        "flags": [] if info.voided else flags(facility, discrimination),
    }


def item_rows(
    infos: Mapping[int, VersionInfo], sittings: Sequence[Sitting], totals: Mapping[int, Decimal]
) -> list[dict[str, Any]]:
    """One row per question version met in ``sittings``, by question then version."""
    by_version: dict[int, list[Sitting]] = defaultdict(list)
    for s in sittings:
        by_version[s.version_id].append(s)
    rows = [item_row(infos[v], group, totals) for v, group in by_version.items()]
    rows.sort(key=lambda r: (r["question_id"], r["version"]))
    return rows


def _group_rows(
    keyed: Mapping[str, list[Sitting]], extra: Callable[[str], dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    rows = []
    for name, group in keyed.items():
        row = {
            "name": name,
            "items": len({s.version_id for s in group}),
            "sittings": len(group),
            "contestants": len({s.user_id for s in group}),
            "facility": _round4(_facility(group)),
        }
        rows.append(row | (extra(name) if extra else {}))
    return rows


def area_rows(
    infos: Mapping[int, VersionInfo], sittings: Sequence[Sitting]
) -> list[dict[str, Any]]:
    """Per area (top-level category): items, sittings, facility; in the bank's usual order."""
    keyed: dict[str, list[Sitting]] = defaultdict(list)
    for s in sittings:
        keyed[infos[s.version_id].area].append(s)
    order = {"法律法规": 0, "基础知识": 1, "事件处置": 2}
    rows = _group_rows(keyed)
    rows.sort(key=lambda r: (order.get(r["name"], 3), r["name"] == AREA_NONE, r["name"]))
    return rows


def law_rows(infos: Mapping[int, VersionInfo], sittings: Sequence[Sitting]) -> list[dict[str, Any]]:
    """Per law cited: items, sittings, facility and the articles cited; uncited items left out."""
    keyed: dict[str, list[Sitting]] = defaultdict(list)
    articles: dict[str, set[int]] = defaultdict(set)
    for s in sittings:
        info = infos[s.version_id]
        if info.law:
            keyed[info.law].append(s)
            if info.article is not None:
                articles[info.law].add(info.article)
    rows = _group_rows(keyed, lambda law: {"articles": sorted(articles[law])})
    rows.sort(key=lambda r: (-r["sittings"], r["name"]))
    return rows


def unit_rows(
    infos: Mapping[int, VersionInfo],
    sittings: Sequence[Sitting],
    totals: Mapping[int, Decimal],
    units: Mapping[int, int | None],
    names: Mapping[int, str],
) -> list[dict[str, Any]]:
    """Per unit of the contestants: contestants, mean total, facility overall and per area."""
    by_unit: dict[int | None, list[Sitting]] = defaultdict(list)
    for s in sittings:
        by_unit[units.get(s.user_id)].append(s)
    members: dict[int | None, list[int]] = defaultdict(list)
    for user_id in totals:
        members[units.get(user_id)].append(user_id)
    rows: list[dict[str, Any]] = []
    for unit, users in members.items():
        group = by_unit.get(unit, [])
        per_area: dict[str, list[Sitting]] = defaultdict(list)
        for s in group:
            per_area[infos[s.version_id].area].append(s)
        scores = [float(totals[u]) for u in users]
        rows.append(
            {
                "organization_id": unit,
                "name": names.get(unit, "") if unit is not None else "",
                "contestants": len(users),
                "mean_score": _round4(pystats.fmean(scores)) if scores else None,
                "facility": _round4(_facility(group)),
                "areas": {a: _round4(_facility(g)) for a, g in sorted(per_area.items())},
            }
        )
    rows.sort(key=lambda r: (-float(r["mean_score"] or 0), str(r["name"])))
    return rows


# Reading the database ----------------------------------------------------------------------------


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start : start + CHUNK])


def load_sittings(attempt_ids: Sequence[int]) -> list[tuple[int, Sitting]]:
    """(attempt id, sitting) for every item of these attempts; answers mapped to the version's
    option indexes as grading maps them."""
    from workers.scoring import to_indexes  # the workers import the services

    found: list[tuple[int, Sitting]] = []
    for ids in _chunks(list(attempt_ids)):
        rows = db.session.execute(
            select(
                AttemptItem.attempt_id,
                AttemptItem.question_version_id,
                AttemptItem.points,
                AttemptItem.earned,
                AttemptItem.answer,
                AttemptItem.option_ids,
                AttemptItem.option_order,
                AttemptItem.saved_at,
                Attempt.user_id,
                Attempt.started_at,
                QuestionVersion.type,
            )
            .join(Attempt, Attempt.id == AttemptItem.attempt_id)
            .join(QuestionVersion, QuestionVersion.id == AttemptItem.question_version_id)
            .where(AttemptItem.attempt_id.in_(ids))
        ).all()
        by_attempt: dict[int, list[Any]] = defaultdict(list)
        for row in rows:
            by_attempt[row.attempt_id].append(row)
        for items in by_attempt.values():
            gaps = _gaps(items)
            for row in items:
                kind = QuestionType(row.type)
                try:
                    answer = to_indexes(row.answer, row.option_ids, row.option_order, kind)
                except (ValueError, TypeError, KeyError):
                    answer = None
                found.append(
                    (
                        row.attempt_id,
                        Sitting(
                            row.user_id,
                            row.question_version_id,
                            row.points,
                            Decimal(row.earned or 0),
                            answer,
                            gaps.get(row.question_version_id),
                        ),
                    )
                )
    return found


def _gaps(items: Sequence[Any]) -> dict[int, float]:
    """Per version of one attempt: seconds from the previous save (or the start) to its last."""
    saved = sorted((r for r in items if r.saved_at is not None), key=lambda r: r.saved_at)
    gaps = {}
    previous = items[0].started_at if items else None
    for row in saved:
        if previous is not None:
            gaps[row.question_version_id] = max(0.0, (row.saved_at - previous).total_seconds())
        previous = row.saved_at
    return gaps


def load_versions(version_ids: Iterable[int]) -> dict[int, VersionInfo]:
    infos = {}
    ids = sorted(set(version_ids))
    for chunk in _chunks(ids):
        rows = db.session.execute(
            select(QuestionVersion, Category.path)
            .join(Question, Question.id == QuestionVersion.question_id)
            .outerjoin(Category, Category.id == Question.category_id)
            .where(QuestionVersion.id.in_(chunk))
        ).all()
        for version, path in rows:
            area = (path or "").split("/")[0].strip()
            infos[version.id] = VersionInfo(
                version.id,
                version.question_id,
                version.number,
                version.type,
                version.stem,
                tuple(version.options or ()),
                answer_from_json(version.type, version.answer),
                area,
                path or "",
                version.citation_law,
                version.citation_article,
            )
    return infos


def _full_marks(round_id: int) -> Decimal:
    value = db.session.scalar(
        select(func.max(Attempt.max_score)).where(Attempt.round_id == round_id)
    )
    return Decimal(value or 0)


# Participation -----------------------------------------------------------------------------------


def participation(
    contest: Contest,
    standings: Sequence[leaderboards.Standing | leaderboards.RawEntry],
    names: Mapping[int, str],
    progress: Callable[[], None] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Per unit (the organization board's rows) and cumulative per Beijing day."""
    current, _earlier = leaderboards.unit_counts(contest, None)
    rows = leaderboards.organization_rows(standings, current, names)
    for row, unit_id in zip(rows, _row_units(rows, names), strict=True):
        row["organization_id"] = unit_id
    days = _days(contest.id, now or datetime.now(UTC))
    series, by_unit = [], []
    for day, cutoff in days:
        counts = _counts_as_of(contest, cutoff)
        sums = [0, 0, 0]
        for unit_id, (enrolled, started, submitted) in sorted(counts.items()):
            sums = [sums[0] + enrolled, sums[1] + started, sums[2] + submitted]
            by_unit.append(
                {
                    "date": day.isoformat(),
                    "organization_id": unit_id,
                    "name": names.get(unit_id, ""),
                    "enrolled": enrolled,
                    "started": started,
                    "submitted": submitted,
                    "rate": _round4(submitted / enrolled) if enrolled else None,
                }
            )
        total = {
            "date": day.isoformat(),
            "enrolled": sums[0],
            "started": sums[1],
            "submitted": sums[2],
            "rate": _round4(sums[2] / sums[0]) if sums[0] else None,
        }
        series.append(total)
        if progress:
            progress()
    return {"units": rows, "days": series, "by_unit_day": by_unit}


def _row_units(rows: Sequence[dict[str, Any]], names: Mapping[int, str]) -> list[int | None]:
    by_name = {name: unit for unit, name in names.items()}
    return [by_name.get(row["name"]) for row in rows]


def _days(contest_id: int, now: datetime) -> list[tuple[date, datetime]]:
    """(Beijing date, the UTC end of that day) from the first attempt's day to the last
    activity's (at most :data:`MAX_DAYS`, the last ones)."""
    first, last_start, last_submit = db.session.execute(
        select(
            func.min(Attempt.started_at),
            func.max(Attempt.started_at),
            func.max(Attempt.submitted_at),
        )
        .join(Round, Round.id == Attempt.round_id)
        .where(Round.contest_id == contest_id)
    ).one()
    if first is None:
        return []
    first = _aware(first)
    last = max(_aware(last_start), _aware(last_submit) if last_submit else _aware(last_start))
    last = min(last, now) if now >= first else last
    tz = zone()
    start_day, end_day = first.astimezone(tz).date(), last.astimezone(tz).date()
    span = (end_day - start_day).days + 1
    if span > MAX_DAYS:
        start_day = end_day - timedelta(days=MAX_DAYS - 1)
    days = []
    day = start_day
    while day <= end_day:
        end = datetime.combine(day + timedelta(days=1), time(), tzinfo=tz).astimezone(UTC)
        days.append((day, end))
        day += timedelta(days=1)
    return days


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _counts_as_of(contest: Contest, cutoff: datetime) -> dict[int, tuple[int, int, int]]:
    """Per unit as of ``cutoff``: enrolled and started (the board's definitions) and submitted
    (members with a scored attempt submitted before it); like the board, never more submitted
    than enrolled or started."""
    _, before = leaderboards.unit_counts(contest, cutoff)
    submitted: dict[Any, int] = dict(
        db.session.execute(
            select(User.organization_id, func.count(func.distinct(Attempt.user_id)))
            .join(User, User.id == Attempt.user_id)
            .join(Round, Round.id == Attempt.round_id)
            .where(
                Round.contest_id == contest.id,
                Attempt.status == AttemptStatus.SCORED,
                Attempt.submitted_at < cutoff,
                User.organization_id.is_not(None),
            )
            .group_by(User.organization_id)
        ).all()
    )
    counts = {}
    for unit in set(before.enrolled) | set(before.started) | set(before.listed):
        submitted.setdefault(unit, 0)
    for unit, count in submitted.items():
        if unit is None:
            continue
        done = int(count)
        counts[int(unit)] = (
            max(before.enrolled.get(unit, 0), done),
            max(before.started.get(unit, 0), done),
            done,
        )
    return counts


# The report --------------------------------------------------------------------------------------


@dataclass
class _Scope:
    """What the figures of a round (or of the contest) are computed from."""

    sittings: list[Sitting] = field(default_factory=list)
    totals: dict[int, Decimal] = field(default_factory=dict)


def compute_report(contest_id: int, progress: Progress | None = None) -> dict[str, Any]:
    """The full report of a contest as JSON-ready data (reads the database; no cache)."""
    contest = db.session.get(Contest, contest_id)
    if contest is None:
        raise NotFound(_("No contest %(id)s.", id=contest_id))
    rounds = list(contest.rounds)
    days_total = len(_days(contest.id, datetime.now(UTC)))
    total_steps = len(rounds) + days_total + 1
    step = [0]

    def advance() -> None:
        step[0] += 1
        if progress:
            progress(step[0], total_steps)

    if progress:
        progress(0, total_steps)
    names = dict(db.session.execute(select(Organization.id, Organization.name)).all())
    per_round_entries: list[list[leaderboards.RawEntry]] = []
    scopes: list[tuple[Round, _Scope, Decimal]] = []
    units: dict[int, int | None] = {}
    for round_ in rounds:
        entries = leaderboards.counting_entries(round_)
        per_round_entries.append(list(entries.values()))
        by_attempt = {e.attempt_id: e for e in entries.values()}
        scope = _Scope(
            [s for _, s in load_sittings(list(by_attempt))],
            {e.user_id: e.score for e in entries.values()},
        )
        units.update({e.user_id: e.organization_id for e in entries.values()})
        scopes.append((round_, scope, _full_marks(round_.id)))
        advance()
    infos = load_versions(s.version_id for _, scope, _ in scopes for s in scope.sittings)
    found = rulings.rulings_for([r.id for r in rounds])
    rounds_of: dict[int, set[int]] = defaultdict(set)
    for r, scope, _marks in scopes:
        for s in scope.sittings:
            rounds_of[s.version_id].add(r.id)
    standings = leaderboards.contest_standings(per_round_entries)
    contest_scope = _Scope(
        [s for _, scope, _ in scopes for s in scope.sittings],
        {s.user_id: s.score for s in standings},
    )
    full = sum((marks for _, _, marks in scopes), Decimal(0))
    report = {
        "version": REPORT_VERSION,
        "contest_id": contest.id,
        "title": contest.title,
        "computed_at": datetime.now(UTC).isoformat(),
        "rounds": [
            {"id": r.id, "position": r.position, "title": r.title}
            | _scope_body(infos_for_round(infos, found, r.id), scope, marks, units, names)
            for r, scope, marks in scopes
        ],
        "total": _scope_body(
            infos_for_total(infos, found, rounds_of), contest_scope, full, units, names
        ),
        "participation": participation(contest, standings, names, advance),
    }
    advance()
    return report


def _scope_body(
    infos: Mapping[int, VersionInfo],
    scope: _Scope,
    full_marks: Decimal,
    units: Mapping[int, int | None],
    names: Mapping[int, str],
) -> dict[str, Any]:
    items = item_rows(infos, scope.sittings, scope.totals)
    return {
        "contestants": len(scope.totals),
        "distribution": distribution(list(scope.totals.values()), full_marks),
        "items": items,
        "flagged": sum(1 for i in items if i["flags"]),
        "areas": area_rows(infos, scope.sittings),
        "laws": law_rows(infos, scope.sittings),
        "units": unit_rows(infos, scope.sittings, scope.totals, units, names),
    }


# Fingerprint, cache and job ----------------------------------------------------------------------


def fingerprint(contest_id: int) -> str:
    """A short hash of everything the report depends on that changes while a contest runs (see
    the module's docstring): equal fingerprints, equal reports."""
    scored = Attempt.status == AttemptStatus.SCORED
    attempts = db.session.execute(
        select(
            func.count(Attempt.id),
            func.count(case((scored, 1))),
            func.count(case((Attempt.status == AttemptStatus.VOID, 1))),
            func.count(case((Attempt.status == AttemptStatus.SUBMITTED, 1))),
            func.max(Attempt.started_at),
            func.max(Attempt.submitted_at),
            func.max(Attempt.scored_at),
            func.sum(case((scored, Attempt.score))),
            func.max(Attempt.id),
        )
        .join(Round, Round.id == Attempt.round_id)
        .where(Round.contest_id == contest_id)
    ).one()
    registrations = db.session.execute(
        select(func.count(), func.max(Registration.registered_at)).where(
            Registration.contest_id == contest_id
        )
    ).one()
    contest = db.session.get(Contest, contest_id)
    if contest is None:
        raise NotFound(_("No contest %(id)s.", id=contest_id))
    listed = sorted(o.id for o in contest.organizations)
    members = (
        db.session.execute(
            select(func.count(), func.max(User.created_at)).where(
                User.organization_id.in_(listed), User.role == Role.CONTESTANT
            )
        ).one()
        if listed
        else (0, None)
    )
    rounds = [(r.id, r.score_policy.value) for r in contest.rounds]
    ruled_items = db.session.execute(
        select(func.count(ItemRuling.id), func.max(ItemRuling.updated_at))
        .join(Round, Round.id == ItemRuling.round_id)
        .where(Round.contest_id == contest_id)
    ).one()
    parts = [
        REPORT_VERSION,
        list(attempts),
        list(registrations),
        listed,
        list(members),
        rounds,
        list(ruled_items),
    ]
    text = json.dumps(parts, default=str, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def report_key(contest_id: int) -> str:
    return f"stats:report:{contest_id}"


def job_key(contest_id: int, print_: str) -> str:
    return f"stats:job:{contest_id}:{print_}"


def cached_report(contest_id: int, print_: str | None = None) -> dict[str, Any] | None:
    """The stored report if it was computed from the scores as they are (``print_``: the
    fingerprint, computed when not given); None otherwise."""
    raw = redis_hub.client.get(report_key(contest_id))
    if raw is None:
        return None
    stored = json.loads(raw)
    current = print_ or fingerprint(contest_id)
    if stored.get("fingerprint") != current:
        return None
    report: dict[str, Any] = stored["report"]
    return report


@dataclass(frozen=True)
class ReportState:
    """Either the report (``report``) or how its computation stands."""

    fingerprint: str
    status: str  # done, queued, running, failed
    report: dict[str, Any] | None = None
    done: int = 0
    total: int = 0
    error: str = ""

    def body(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "done": self.done,
            "total": self.total,
            "error": self.error or None,
        }


def report_state(contest_id: int) -> ReportState:
    """The current report, or its computation's state — queued now if nothing computes it."""
    if db.session.get(Contest, contest_id) is None:
        raise NotFound(_("No contest %(id)s.", id=contest_id))
    print_ = fingerprint(contest_id)
    report = cached_report(contest_id, print_)
    if report is not None:
        return ReportState(print_, DONE, report)
    client = redis_hub.client
    key = job_key(contest_id, print_)
    state: dict[str, str] = {"status": QUEUED, "done": "0", "total": "0", "error": ""}
    if client.hsetnx(key, "status", QUEUED):
        client.hset(key, mapping=dict(state))  # type: ignore[arg-type]
        client.expire(key, JOB_TIMEOUT_S + 60)
        try:
            _enqueue(contest_id, print_)
        except Exception:
            client.delete(key)
            raise
    else:
        raw: dict[bytes, bytes] = client.hgetall(key)  # type: ignore[assignment]
        stored = {k.decode(): v.decode() for k, v in raw.items()}
        state |= stored
    return ReportState(
        print_, state["status"], None, int(state["done"]), int(state["total"]), state["error"]
    )


def _enqueue(contest_id: int, print_: str) -> None:
    from workers import queues
    from workers.runner import get_queue
    from workers.statistics import compute_contest_report

    get_queue(current_app._get_current_object(), queues.DEFAULT).enqueue(  # type: ignore[attr-defined]
        compute_contest_report,
        contest_id,
        print_,
        job_id=f"stats-{contest_id}-{print_}",
        job_timeout=JOB_TIMEOUT_S,
        result_ttl=0,
        failure_ttl=24 * 3600,
    )


def run_report_job(contest_id: int, print_: str) -> str:
    """The job's body: compute the report and store it with the fingerprint read before its
    data (a change while it computes makes the next read compute again). Progress and failure
    are published in the job's hash, which the page and the API read."""
    client = redis_hub.client
    key = job_key(contest_id, print_)

    def publish(done: int, total: int) -> None:
        client.hset(key, mapping={"status": RUNNING, "done": done, "total": total})

    try:
        current = fingerprint(contest_id)
        publish(0, 0)
        report = compute_report(contest_id, publish)
        body = json.dumps(
            {"fingerprint": current, "report": report}, ensure_ascii=False, separators=(",", ":")
        )
        client.set(report_key(contest_id), body)
    except Exception as exc:
        db.session.rollback()
        client.hset(key, mapping={"status": FAILED, "error": type(exc).__name__})
        client.expire(key, FAILED_TTL_S)
        raise
    client.delete(key)
    return DONE


def item_table(report: Mapping[str, Any], round_id: int | None) -> dict[str, Any]:
    """The per-item rows of one round of the report (None: the contest's); NotFound for a
    round of another contest."""
    if round_id is None:
        return {
            "contest_id": report["contest_id"],
            "round_id": None,
            "items": report["total"]["items"],
        }
    for round_ in report["rounds"]:
        if round_["id"] == round_id:
            return {
                "contest_id": report["contest_id"],
                "round_id": round_id,
                "items": round_["items"],
            }
    raise NotFound(_("No round %(id)s.", id=round_id))
