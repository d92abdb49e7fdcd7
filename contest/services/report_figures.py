"""The statistics report's figures from plain values: score distributions, the item analysis
(facility, discrimination, point-biserial, option counts, flags) and the breakdowns by area, law
and unit. Nothing here reads the database; :mod:`contest.services.statistics` says what each
figure counts and loads the sittings these are computed from.
"""

from __future__ import annotations

import math
import statistics as pystats
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from contest.services import rulings
from question_bank.domain import OPTION_LETTERS, QuestionType, answer_from_json

BINS = 10
GROUP_SHARE = 0.27
EASY, HARD = 0.95, 0.2  # facility above / below: flagged
STEM_CHARS = 80
OPTION_CHARS = 40
AREA_NONE = ""  # questions without a category


# Numbers -----------------------------------------------------------------------------------------


def round4(value: float | None) -> float | None:
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
        "mean": round4(pystats.fmean(values)),
        "sd": round4(pystats.pstdev(values)),
        "min": _num(values[0]),
        "q1": round4(q1),
        "median": round4(median),
        "q3": round4(q3),
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
    answer: Any  # option indexes (contest.services.scoring.to_indexes), a bool, text or None
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
        "facility": round4(facility),
        "group_size": g,
        "upper_facility": round4(upper),
        "lower_facility": round4(lower),
        "discrimination": round4(discrimination),
        "point_biserial": round4(r_pb),
        "options": option_counts(info, sittings),
        "blank": sum(1 for s in sittings if not _answered(s.answer)),
        "mean_gap_s": round4(pystats.fmean(gaps)) if gaps else None,
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
            "facility": round4(_facility(group)),
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
                "mean_score": round4(pystats.fmean(scores)) if scores else None,
                "facility": round4(_facility(group)),
                "areas": {a: round4(_facility(g)) for a, g in sorted(per_area.items())},
            }
        )
    rows.sort(key=lambda r: (-float(r["mean_score"] or 0), str(r["name"])))
    return rows
