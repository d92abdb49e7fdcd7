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

The figures are computed by :mod:`contest.services.report_figures` from the sittings read here.

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
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
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
from contest.services.report_figures import (
    Sitting,
    VersionInfo,
    area_rows,
    distribution,
    infos_for_round,
    infos_for_total,
    item_rows,
    law_rows,
    round4,
    unit_rows,
)
from question_bank.domain import QuestionType, answer_from_json
from question_bank.models import Category, Question, QuestionVersion

# Bump when the report's content or shape changes: cached reports of older code are recomputed.
REPORT_VERSION = 2  # 2: items carry ``voided``; keys follow the rulings
MAX_DAYS = 92  # days of the participation series (a longer contest shows its last ones)
CHUNK = 900  # ids per IN list
JOB_TIMEOUT_S = 600
# The job, by its dotted path (RQ imports it in the worker; the worker module imports this one).
REPORT_JOB = "workers.statistics.compute_contest_report"
FAILED_TTL_S = 60  # a failed computation is tried again after this long

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"

Progress = Callable[[int, int], None]


# Reading the database ----------------------------------------------------------------------------


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start : start + CHUNK])


def load_sittings(attempt_ids: Sequence[int]) -> list[tuple[int, Sitting]]:
    """(attempt id, sitting) for every item of these attempts; answers mapped to the version's
    option indexes as grading maps them."""
    from contest.services.scoring import to_indexes

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
                    "rate": round4(submitted / enrolled) if enrolled else None,
                }
            )
        total = {
            "date": day.isoformat(),
            "enrolled": sums[0],
            "started": sums[1],
            "submitted": sums[2],
            "rate": round4(sums[2] / sums[0]) if sums[0] else None,
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

    get_queue(current_app._get_current_object(), queues.DEFAULT).enqueue(  # type: ignore[attr-defined]
        REPORT_JOB,
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
