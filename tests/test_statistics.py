"""The statistics report against a round worked out by hand.

The fixture round: four questions, eight contestants (A … H), graded by the real scoring worker
(all-or-nothing, so each item is right or wrong), full marks 10.

    item  type        points  key     area      law cited
    Q1    single      1       乙 (B)  法律法规  中华人民共和国网络安全法 art. 21
    Q2    multiple    2       A, C    基础知识  —
    Q3    true/false  3       对      基础知识  —
    Q4    fill-in     4       六/6    事件处置  —

    who  unit        Q1 Q2 Q3 Q4  total   answers (original options: A甲 B乙 C丙 D丁)
    A    一中(=1+1)  1  0  1  1   8       Q2 [A]      Q3 对  Q4 "6"
    B    一中        1  1  1  0   6       Q2 [A,C]    Q3 对  Q4 "五"
    C    一中        1  0  1  0   4       Q2 [A,B]    Q3 对  Q4 "五"
    D    一中        1  0  1  0   4       Q2 [B,D]    Q3 对  Q4 "五"
    E    二中        1  0  1  0   4       Q2 —        Q3 对  Q4 "五"
    F    二中        1  0  1  0   4       Q2 [C]      Q3 对  Q4 "五"
    G    二中        1  1  0  0   3       Q2 [A,C]    Q3 错  Q4 —
    H    二中        1  1  0  0   3       Q2 [A,C]    Q3 —   Q4 —
    (everyone answers Q1 乙; "—" is no answer, never saved)

Totals, ordered: 8 6 | 4 4 4 4 | 3 3.  n = 8, sum 36, mean 4.5.
Deviations from the mean: 3.5, 1.5, -0.5 ×4, -1.5 ×2; squares 12.25 + 2.25 + 1 + 4.5 = 20,
so Syy = 20, the population variance 20/8 = 2.5 and SD = √2.5 = 1.5811.

Groups: g = floor(0.27·8 + 0.5) = floor(2.66) = 2 contestants each (27 % rounded half up).
Upper = A (8), B (6); lower = G (3), H (3). No tie crosses a boundary (6 > 4, 4 > 3).

Facility (right / 8, items are all-or-nothing) and discrimination D = upper − lower:
    Q1  8/8 = 1.0     upper 2/2 = 1.0, lower 2/2 = 1.0   D = 0.0
    Q2  3/8 = 0.375   upper 1/2 = 0.5, lower 2/2 = 1.0   D = -0.5
    Q3  6/8 = 0.75    upper 2/2 = 1.0, lower 0/2 = 0.0   D = 1.0
    Q4  1/8 = 0.125   upper 1/2 = 0.5, lower 0/2 = 0.0   D = 0.5

Point-biserial against the total INCLUDING the item, r = Sxy / √(Sxx·Syy) with x the item
score (0/1), Sxy = Σ over the right ones of (total − 4.5), Sxx = n·p·q:
    Q1  everyone right: x does not vary, r undefined (None)
    Q2  right B, G, H: Sxy = 1.5 − 1.5 − 1.5 = −1.5; Sxx = 8·0.375·0.625 = 1.875;
        r = −1.5 / √37.5 = −1.5 / 6.1237 = −0.2449
        (check: M1 = 4, M0 = 4.8, (M1 − M0)/SD·√(pq) = −0.8/1.5811·0.4841 = −0.2449)
    Q3  right A–F: Sxy = 3.5 + 1.5 − 4·0.5 = 3; Sxx = 8·0.75·0.25 = 1.5;
        r = 3 / √30 = 0.5477
    Q4  right A: Sxy = 3.5; Sxx = 8·(1/8)·(7/8) = 0.875; r = 3.5 / √17.5 = 0.8367

Flags: Q1 facility 1.0 > 0.95 (too easy); Q2 D < 0; Q4 facility 0.125 < 0.2 (too hard).

Option counts (author's order; each paper shows the options shuffled, answers are stored as the
paper's option ids): Q1 B = 8; Q2 A = 5 (A, B, C, G, H), B = 2 (C, D), C = 4 (B, F, G, H),
D = 1 (D), unanswered 1 (E); Q3 对 = 6, 错 = 1 (G), unanswered 1 (H); Q4 unanswered 2 (G, H).

Histogram, ten bins of width 1 on 0–10: 3,3 → [3,4); 4 ×4 → [4,5); 6 → [6,7); 8 → [8,9]:
counts 0 0 0 2 4 0 1 0 1 0. Quartiles (linear interpolation, QUARTILE.INC) of
3 3 4 4 4 4 6 8: Q1 at position 1.75 = 3 + 0.75·(4 − 3) = 3.75; median at 3.5 = 4;
Q3 at 5.25 = 4 + 0.25·(6 − 4) = 4.5.

Time between saves: each attempt starts at t0 and saves Q1 … Q4 at t0 + 10, 30, 60, 100 s
(unanswered items are never saved): Q1 10 s (8); Q2 20 s (7); Q3 30 s for six and 50 s for E
(whose previous save is Q1 at 10 s) = 230/7 = 32.8571; Q4 40 s for A–F (E: 100 − 60) = 40.

Participation: 一中 has A–D and a fifth registered member who never starts; 二中 E–H. Everyone
registered on 1 March (Beijing); A–D sit on 1 March, E–H on 2 March. So on 1 March: enrolled
9, started 4, submitted 4, rate 4/9 = 0.4444; on 2 March: 9, 8, 8, 8/9 = 0.8889. Per unit: 一中
5 enrolled, 4 submitted (0.8); 二中 4 of 4 (1.0).
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from playwright.sync_api import Browser, expect

from contest.extensions import db, redis_hub
from contest.models import (
    Attempt,
    AttemptItem,
    AttemptStatus,
    ItemRuling,
    Organization,
    Registration,
    Role,
    Round,
    User,
)
from contest.services import bank as bank_service
from contest.services import contests as contest_service
from contest.services import report_figures as figures
from contest.services import statistics as stats
from contest.services.scoring import request_scoring
from question_bank.domain import Citation, QuestionData, QuestionType
from question_bank.models import QuestionStatus
from tests.conftest import add_user, api_login, csrf_token
from tests.support import browser as browser_support
from tests.support.browser import log_in, new_page
from workers import queues
from workers.runner import make_worker

browser = browser_support.browser
live_app = browser_support.live_app
live_server = browser_support.live_server

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)  # 1 March, 10:00 in Beijing
SAVES = (10, 30, 60, 100)  # seconds after the start at which Q1 … Q4 are saved
LAW = "中华人民共和国网络安全法"

# Per contestant: unit (0 一中, 1 二中), day (0: 1 March, 1: 2 March) and answers to Q1 … Q4
# as original option indexes (None: no answer).
SITTERS: dict[str, tuple[int, int, list[Any]]] = {
    "A": (0, 0, [1, [0], True, "6"]),
    "B": (0, 0, [1, [0, 2], True, "五"]),
    "C": (0, 0, [1, [0, 1], True, "五"]),
    "D": (0, 0, [1, [1, 3], True, "五"]),
    "E": (1, 1, [1, None, True, "五"]),
    "F": (1, 1, [1, [2], True, "五"]),
    "G": (1, 1, [1, [0, 2], False, None]),
    "H": (1, 1, [1, [0, 2], None, None]),
}


def questions(bank_id: int) -> list[int]:
    """Q1 … Q4 (see the module's docstring); their version ids."""
    data = [
        QuestionData(
            QuestionType.SINGLE,
            "网络运营者应当履行的安全保护义务",
            1,
            ("甲", "乙", "丙", "丁"),
            category="法律法规/网络安全法",
            citation=Citation(LAW, 21),
        ),
        QuestionData(
            QuestionType.MULTIPLE,
            "哪些是强口令的特征",
            (0, 2),
            ("甲", "乙", "丙", "丁"),
            category="基础知识",
        ),
        QuestionData(QuestionType.TRUE_FALSE, "应定期备份重要数据", True, category="基础知识"),
        QuestionData(
            QuestionType.FILL_BLANK, "应急预案分为____级", (("六", "6"),), category="事件处置"
        ),
    ]
    ids = []
    for item in data:
        question = bank_service.add_question(
            bank_id, item, actor_id=None, now=T0, status=QuestionStatus.PUBLISHED
        )
        assert question.current_version_id is not None
        ids.append(question.current_version_id)
    return ids


def stored_answer(kind: QuestionType, chosen: Any, ids: list[str], order: list[int]) -> Any:
    """The answer as the paper stores it: option ids for choices (as shown), text as a list."""
    if chosen is None:
        return None
    if kind is QuestionType.SINGLE:
        return ids[order.index(chosen)]
    if kind is QuestionType.MULTIPLE:
        return [ids[order.index(c)] for c in chosen]
    if kind is QuestionType.FILL_BLANK:
        return [chosen]
    return chosen


def build_round(app: Flask) -> dict[str, Any]:
    """The fixture contest, its attempts submitted and graded by a real scoring worker."""
    with app.app_context():
        bank = bank_service.create_bank("统计题库")
        versions = questions(bank.id)
        contest = contest_service.create_contest("统计竞赛")
        round_ = Round(
            contest_id=contest.id, position=1, title="初赛", bank_id=bank.id, duration_s=600
        )
        other = contest_service.create_contest("另一竞赛")
        db.session.add(round_)
        units = [Organization(name="=1+1"), Organization(name="二中")]
        db.session.add_all(units)
        db.session.commit()
        unit_ids = [u.id for u in units]
        kinds = [
            QuestionType.SINGLE,
            QuestionType.MULTIPLE,
            QuestionType.TRUE_FALSE,
            QuestionType.FILL_BLANK,
        ]
        attempt_ids = {}
        registered = T0 - timedelta(hours=1)
        idle = add_user("idle", Role.CONTESTANT, unit_ids[0])
        db.session.add(
            Registration(
                contest_id=contest.id, user_id=idle.id, source="open", registered_at=registered
            )
        )
        for n, (name, (unit, day, answers)) in enumerate(SITTERS.items()):
            user = add_user(f"u{name}", Role.CONTESTANT, unit_ids[unit])
            db.session.add(
                Registration(
                    contest_id=contest.id, user_id=user.id, source="open", registered_at=registered
                )
            )
            start = T0 + timedelta(days=day, minutes=n)
            attempt = Attempt(
                round_id=round_.id,
                user_id=user.id,
                number=1,
                seed=n,
                status=AttemptStatus.SUBMITTED,
                started_at=start,
                deadline_at=start + timedelta(minutes=10),
                submitted_at=start + timedelta(minutes=2),
                submitted_by="contestant",
                time_used_s=120,
                max_score=10,
            )
            db.session.add(attempt)
            db.session.flush()
            for position, (kind, version_id, chosen) in enumerate(
                zip(kinds, versions, answers, strict=True), start=1
            ):
                count = 4 if kind in (QuestionType.SINGLE, QuestionType.MULTIPLE) else 0
                order = [(i + n) % count for i in range(count)] if count else []  # shuffled
                ids = [f"o{n}{position}{i}" for i in range(count)]
                db.session.add(
                    AttemptItem(
                        attempt_id=attempt.id,
                        position=position,
                        question_version_id=version_id,
                        points=position,
                        option_order=order,
                        option_ids=ids,
                        answer=stored_answer(kind, chosen, ids, order),
                        saved_at=None
                        if chosen is None
                        else start + timedelta(seconds=SAVES[position - 1]),
                    )
                )
            attempt_ids[name] = attempt.id
        db.session.commit()
        request_scoring(list(attempt_ids.values()))
        made = {"contest": contest.id, "round": round_.id, "other": other.id, "units": unit_ids}
    make_worker(app, [queues.SCORING]).work(burst=True)
    with app.app_context():
        scores = {
            name: float(db.session.get_one(Attempt, attempt_id).score or 0)
            for name, attempt_id in attempt_ids.items()
        }
    assert scores == {"A": 8, "B": 6, "C": 4, "D": 4, "E": 4, "F": 4, "G": 3, "H": 3}
    return made | {"attempts": attempt_ids, "versions": versions}


@pytest.fixture
def fixture_round(app: Flask) -> dict[str, Any]:
    return build_round(app)


def computed(app: Flask, client: FlaskClient, contest_id: int) -> dict[str, Any]:
    """The report through getContestReport: 202 first, then 200 once a real worker ran."""
    first = client.get(f"/api/v1/contests/{contest_id}/report")
    assert first.status_code == 202, first.get_data(as_text=True)
    assert first.get_json()["status"] == "queued"
    make_worker(app, [queues.DEFAULT]).work(burst=True)
    ready = client.get(f"/api/v1/contests/{contest_id}/report")
    assert ready.status_code == 200, ready.get_data(as_text=True)
    report: dict[str, Any] = ready.get_json()
    return report


def by_question(report: dict[str, Any], versions: list[int]) -> list[dict[str, Any]]:
    items = {i["version_id"]: i for i in report["rounds"][0]["items"]}
    return [items[v] for v in versions]


def test_the_item_statistics_equal_the_hand_computed_ones(
    app: Flask, organizer_client: FlaskClient, fixture_round: dict[str, Any]
) -> None:
    report = computed(app, organizer_client, fixture_round["contest"])
    q1, q2, q3, q4 = by_question(report, fixture_round["versions"])
    figures = [
        (
            i["n"],
            i["facility"],
            i["group_size"],
            i["upper_facility"],
            i["lower_facility"],
            i["discrimination"],
            i["point_biserial"],
        )
        for i in (q1, q2, q3, q4)
    ]
    assert figures == [
        (8, 1.0, 2, 1.0, 1.0, 0.0, None),
        (8, 0.375, 2, 0.5, 1.0, -0.5, -0.2449),
        (8, 0.75, 2, 1.0, 0.0, 1.0, 0.5477),
        (8, 0.125, 2, 0.5, 0.0, 0.5, 0.8367),
    ]
    assert [i["flags"] for i in (q1, q2, q3, q4)] == [
        ["too_easy"],
        ["negative_discrimination"],
        [],
        ["too_hard"],
    ]
    assert report["rounds"][0]["flagged"] == 3
    # Option choices in the author's order, the key marked; unanswered apart.
    assert [(o["letter"], o["count"], o["key"]) for o in q1["options"]] == [
        ("A", 0, False),
        ("B", 8, True),
        ("C", 0, False),
        ("D", 0, False),
    ]
    assert [(o["letter"], o["count"], o["key"]) for o in q2["options"]] == [
        ("A", 5, True),
        ("B", 2, False),
        ("C", 4, True),
        ("D", 1, False),
    ]
    assert [(o["letter"], o["count"], o["key"]) for o in q3["options"]] == [
        ("T", 6, True),
        ("F", 1, False),
    ]
    assert q4["options"] == []
    assert [i["blank"] for i in (q1, q2, q3, q4)] == [0, 1, 1, 2]
    assert [(i["mean_gap_s"], i["timed"]) for i in (q1, q2, q3, q4)] == [
        (10.0, 8),
        (20.0, 7),
        (32.8571, 7),
        (40.0, 6),
    ]
    # Breakdowns: areas from the category's top level, the law from the citation.
    areas = {
        a["name"]: (a["items"], a["sittings"], a["facility"]) for a in report["total"]["areas"]
    }
    # 基础知识: Q2 and Q3, earned 3·2 + 6·3 = 24 of 8·2 + 8·3 = 40 points.
    assert areas == {"法律法规": (1, 8, 1.0), "基础知识": (2, 16, 0.6), "事件处置": (1, 8, 0.125)}
    assert [(law["name"], law["articles"], law["facility"]) for law in report["total"]["laws"]] == [
        (LAW, [21], 1.0)
    ]
    # By unit: 一中 A–D earned 8+6+4+4 = 22 of 40, mean 5.5; 二中 E–H 4+4+3+3 = 14 of 40, 3.5.
    units = {
        u["name"]: (u["contestants"], u["mean_score"], u["facility"])
        for u in report["total"]["units"]
    }
    assert units == {"=1+1": (4, 5.5, 0.55), "二中": (4, 3.5, 0.35)}


def test_the_distribution_equals_the_hand_computed_one(
    app: Flask, organizer_client: FlaskClient, fixture_round: dict[str, Any]
) -> None:
    report = computed(app, organizer_client, fixture_round["contest"])
    dist = report["rounds"][0]["distribution"]
    assert [b["count"] for b in dist["bins"]] == [0, 0, 0, 2, 4, 0, 1, 0, 1, 0]
    assert (dist["bins"][3]["low"], dist["bins"][3]["high"]) == (3, 4)
    assert {k: dist[k] for k in ("n", "mean", "sd", "min", "q1", "median", "q3", "max")} == {
        "n": 8,
        "mean": 4.5,
        "sd": 1.5811,
        "min": 3,
        "q1": 3.75,
        "median": 4.0,
        "q3": 4.5,
        "max": 8,
    }
    assert report["total"]["distribution"] == dist  # one round: the contest total is the round
    part = report["participation"]
    assert [
        (d["date"], d["enrolled"], d["started"], d["submitted"], d["rate"]) for d in part["days"]
    ] == [
        ("2026-03-01", 9, 4, 4, 0.4444),
        ("2026-03-02", 9, 8, 8, 0.8889),
    ]
    rows = {
        u["name"]: (u["enrolled"], u["started"], u["submitted"], u["participation_rate"])
        for u in part["units"]
    }
    assert rows == {"=1+1": (5, 4, 4, 0.8), "二中": (4, 4, 4, 1.0)}


def test_the_pure_figures_on_small_cases() -> None:
    assert [figures.group_size(n) for n in (2, 3, 4, 7, 8, 10, 100)] == [1, 1, 1, 2, 2, 3, 27]
    assert figures.pearson([1, 0, 1], [5, 5, 5]) is None
    assert figures.quartiles([2.0]) == (2.0, 2.0, 2.0)
    assert figures.flags(0.96, -0.01) == ["negative_discrimination", "too_easy"]
    assert figures.flags(0.95, 0.0) == [] and figures.flags(0.2, None) == []


def test_item_statistics_per_round_and_for_the_contest(
    app: Flask, organizer_client: FlaskClient, fixture_round: dict[str, Any]
) -> None:
    contest_id, round_id = fixture_round["contest"], fixture_round["round"]
    computed(app, organizer_client, contest_id)
    url = f"/api/v1/contests/{contest_id}/report/items"
    per_round = organizer_client.get(f"{url}?round_id={round_id}").get_json()
    assert per_round["round_id"] == round_id
    assert [i["facility"] for i in per_round["items"]] == [1.0, 0.375, 0.75, 0.125]
    whole = organizer_client.get(url).get_json()
    assert whole["round_id"] is None
    assert [i["discrimination"] for i in whole["items"]] == [0.0, -0.5, 1.0, 0.5]
    assert organizer_client.get(f"{url}?round_id=999999").status_code == 404


def test_a_score_change_invalidates_the_cached_report(
    app: Flask, organizer_client: FlaskClient, fixture_round: dict[str, Any]
) -> None:
    """An appeal upheld for H on Q3: the answer is corrected and the attempt re-scored on the
    worker; the report is computed again and Q3's facility becomes 7/8."""
    contest_id = fixture_round["contest"]
    report = computed(app, organizer_client, contest_id)
    q3 = by_question(report, fixture_round["versions"])[2]
    assert q3["facility"] == 0.75
    again = organizer_client.get(f"/api/v1/contests/{contest_id}/report")
    assert again.status_code == 200  # nothing changed: served from the cache
    attempt_id = fixture_round["attempts"]["H"]
    with app.app_context():
        item = db.session.get_one(AttemptItem, (attempt_id, 3))
        item.answer = True
        db.session.commit()
    rescored = organizer_client.post(
        f"/api/v1/attempts/{attempt_id}/rescore",
        json={"reason": "申诉成立：第3题"},
        headers={"X-CSRFToken": csrf_token(organizer_client)},
    )
    assert rescored.status_code == 200, rescored.get_data(as_text=True)
    make_worker(app, [queues.SCORING]).work(burst=True)
    report = computed(app, organizer_client, contest_id)
    q3 = by_question(report, fixture_round["versions"])[2]
    assert (q3["facility"], q3["blank"]) == (0.875, 0)


def test_a_void_changes_the_fingerprint(app: Flask, fixture_round: dict[str, Any]) -> None:
    with app.app_context():
        before = stats.fingerprint(fixture_round["contest"])
        assert stats.fingerprint(fixture_round["contest"]) == before
        attempt = db.session.get_one(Attempt, fixture_round["attempts"]["A"])
        attempt.status = AttemptStatus.VOID
        db.session.commit()
        assert stats.fingerprint(fixture_round["contest"]) != before


def test_the_key_and_flags_follow_the_appeal_rulings(
    app: Flask, organizer_client: FlaskClient, fixture_round: dict[str, Any]
) -> None:
    """Q2's key corrected to A, B and Q1 void by appeals: the key column follows the ruling,
    the void item is marked and no longer flagged (the figures themselves are the graded ones)."""
    q1_version, q2_version = fixture_round["versions"][:2]
    with app.app_context():
        round_id = db.session.get_one(Attempt, fixture_round["attempts"]["A"]).round_id
        db.session.add_all(
            [
                ItemRuling(round_id=round_id, question_version_id=q2_version, key=[0, 1]),
                ItemRuling(
                    round_id=round_id, question_version_id=q1_version, key=None, voided=True
                ),
            ]
        )
        db.session.commit()
    report = computed(app, organizer_client, fixture_round["contest"])
    for scope in (report["rounds"][0], report["total"]):
        items = {i["version_id"]: i for i in scope["items"]}
        q1, q2 = items[q1_version], items[q2_version]
        assert [(o["letter"], o["count"], o["key"]) for o in q2["options"]] == [
            ("A", 5, True),
            ("B", 2, True),
            ("C", 4, False),
            ("D", 1, False),
        ]
        assert (q1["voided"], q1["flags"]) == (True, [])
        assert (q2["voided"], q2["flags"]) == (False, ["negative_discrimination"])
        assert scope["flagged"] == 2  # Q2 and Q4; Q1 (too easy) is void
    page = organizer_client.get(f"/admin/contests/{fixture_round['contest']}/report")
    assert 'data-testid="item-voided"' in page.get_data(as_text=True)


def test_the_page_polls_then_shows_charts_each_with_its_table(
    app: Flask, organizer_client: FlaskClient, fixture_round: dict[str, Any]
) -> None:
    contest_id = fixture_round["contest"]
    contest_page = organizer_client.get(f"/admin/contests/{contest_id}").get_data(as_text=True)
    assert f'href="/admin/contests/{contest_id}/report"' in contest_page
    waiting = organizer_client.get(f"/admin/contests/{contest_id}/report")
    assert waiting.status_code == 200
    text = waiting.get_data(as_text=True)
    assert 'data-testid="report-computing"' in text and 'data-status="queued"' in text
    assert "js/report.js" in text
    make_worker(app, [queues.DEFAULT]).work(burst=True)
    page = organizer_client.get(f"/admin/contests/{contest_id}/report").get_data(as_text=True)
    assert 'data-testid="report-ready"' in page
    figures = re.findall(r"<figure>(.*?)</figure>", page, re.S)
    assert len(figures) == 5  # days, units, and the round's histogram, items and areas
    for figure in figures:
        svgs = re.findall(r"<svg.*?</svg>", figure, re.S)
        assert len(svgs) == 1
        chart = ET.fromstring(svgs[0])  # noqa: S314 (our own page): well-formed XML
        assert chart.tag == "{http://www.w3.org/2000/svg}svg"
        assert chart.get("role") == "img"
        assert chart.find("{http://www.w3.org/2000/svg}title") is not None
        assert figure.count("<table") == 1
    assert "<script>" not in page and "style=" not in page  # the CSP allows neither
    assert page.count('data-flag="negative_discrimination"') == 1
    assert "css/report.css" in page


def test_the_xlsx_opens_and_neutralizes_formulas(
    app: Flask, organizer_client: FlaskClient, fixture_round: dict[str, Any]
) -> None:
    contest_id = fixture_round["contest"]
    early = organizer_client.get(f"/admin/contests/{contest_id}/report.xlsx")
    assert early.status_code == 302  # not computed yet: back to the page
    computed(app, organizer_client, contest_id)
    response = organizer_client.get(f"/admin/contests/{contest_id}/report.xlsx")
    assert response.status_code == 200
    assert str(response.mimetype).endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(response.data))
    assert len(book.sheetnames) == 7
    units = [[c.value for c in row] for row in book.worksheets[0].iter_rows()]
    assert ["'=1+1", 5, 4, 4, 0.8] in units  # the unit named "=1+1" is text, not a formula
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f"
    items = [[c.value for c in row] for row in book.worksheets[3].iter_rows()]
    assert len(items) == 1 + 4 + 4  # header, the round's items and the contest's


@pytest.mark.parametrize("who", ["anonymous", "contestant", "district", "admin"])
def test_only_organizers_read_the_report(
    app: Flask, client: FlaskClient, fixture_round: dict[str, Any], who: str
) -> None:
    contest_id, round_id = fixture_round["contest"], fixture_round["round"]
    if who != "anonymous":
        role = {"contestant": Role.CONTESTANT, "district": Role.ORGANIZER, "admin": Role.ADMIN}[who]
        with app.app_context():
            add_user(who, role)
        assert api_login(client, who).status_code == 200
    urls = {
        "getContestReport": f"/api/v1/contests/{contest_id}/report",
        "getItemStatistics": f"/api/v1/contests/{contest_id}/report/items?round_id={round_id}",
        "page": f"/admin/contests/{contest_id}/report",
        "xlsx": f"/admin/contests/{contest_id}/report.xlsx",
    }
    codes = {name: client.get(url).status_code for name, url in urls.items()}
    expected = {
        "anonymous": {"getContestReport": 401, "getItemStatistics": 401, "page": 302, "xlsx": 302},
        "contestant": dict.fromkeys(urls, 403),
        # Organizers (district ones too: every organizer sees every contest's monitoring).
        "district": {"getContestReport": 202, "getItemStatistics": 202, "page": 200, "xlsx": 302},
        "admin": {"getContestReport": 202, "getItemStatistics": 202, "page": 200, "xlsx": 302},
    }[who]
    assert codes == expected
    if who in ("district", "admin"):
        missing = client.get("/api/v1/contests/999999/report")
        assert missing.status_code == 404
        other = fixture_round["other"]
        refused = client.get(f"/api/v1/contests/{other}/report/items?round_id={round_id}")
        assert refused.status_code in (202, 404)  # computing, then 404 for another's round
        make_worker(app, [queues.DEFAULT]).work(burst=True)
        refused = client.get(f"/api/v1/contests/{other}/report/items?round_id={round_id}")
        assert refused.status_code == 404
        with app.app_context():
            assert db.session.get(User, 1) is not None
            assert redis_hub.client.get(stats.report_key(other)) is not None


def test_a_second_round_adds_to_the_contest_total(
    app: Flask, organizer_client: FlaskClient, fixture_round: dict[str, Any]
) -> None:
    """Round 2 has one item, Q3 again (3 points): A answers 对 (right), H 错 (wrong). Contest
    totals: A 8 + 3 = 11, H 3 + 0 = 3, the others as in round 1. For the contest's item table
    Q3 has 10 answers (a contestant who met it in both rounds counts twice): right 6 + 1 → 0.7;
    g = floor(0.27·10 + 0.5) = 3; by contest total the upper group is A, A, B (all right: 1.0),
    the lower G, H, H (ties at 3 by account: G before H; all wrong: 0.0), D = 1.0."""
    with app.app_context():
        first = db.session.get_one(Round, fixture_round["round"])
        second = Round(
            contest_id=first.contest_id,
            position=2,
            title="复赛",
            bank_id=first.bank_id,
            duration_s=600,
        )
        db.session.add(second)
        db.session.flush()
        ids = []
        for name, answer in (("A", True), ("H", False)):
            user_id = db.session.get_one(Attempt, fixture_round["attempts"][name]).user_id
            start = T0 + timedelta(days=2)
            attempt = Attempt(
                round_id=second.id,
                user_id=user_id,
                number=1,
                seed=1,
                status=AttemptStatus.SUBMITTED,
                started_at=start,
                deadline_at=start + timedelta(minutes=10),
                submitted_at=start + timedelta(minutes=1),
                time_used_s=60,
                max_score=3,
            )
            db.session.add(attempt)
            db.session.flush()
            db.session.add(
                AttemptItem(
                    attempt_id=attempt.id,
                    position=1,
                    question_version_id=fixture_round["versions"][2],
                    points=3,
                    option_order=[],
                    option_ids=[],
                    answer=answer,
                    saved_at=start + timedelta(seconds=5),
                )
            )
            ids.append(attempt.id)
        db.session.commit()
        request_scoring(ids)
    make_worker(app, [queues.SCORING]).work(burst=True)
    report = computed(app, organizer_client, fixture_round["contest"])
    assert [r["title"] for r in report["rounds"]] == ["初赛", "复赛"]
    assert report["rounds"][1]["distribution"]["n"] == 2
    total = report["total"]["distribution"]
    assert (total["n"], total["full_marks"], total["max"], total["min"]) == (8, 13, 11, 3)
    q3 = next(
        i for i in report["total"]["items"] if i["version_id"] == fixture_round["versions"][2]
    )
    assert (q3["n"], q3["facility"], q3["group_size"], q3["discrimination"]) == (10, 0.7, 3, 1.0)
    page = organizer_client.get(f"/admin/contests/{fixture_round['contest']}/report")
    assert page.get_data(as_text=True).count('data-testid="report-scope"') == 3  # and the total


def test_an_empty_contest_has_an_empty_report(app: Flask, organizer_client: FlaskClient) -> None:
    with app.app_context():
        contest_id = contest_service.create_contest("空竞赛").id
        db.session.commit()
    report = computed(app, organizer_client, contest_id)
    assert report["rounds"] == [] and report["participation"]["days"] == []
    assert report["total"]["distribution"]["n"] == 0 and report["total"]["items"] == []
    page = organizer_client.get(f"/admin/contests/{contest_id}/report")
    assert page.status_code == 200 and 'data-testid="report-ready"' in page.get_data(as_text=True)
    assert organizer_client.get(f"/admin/contests/{contest_id}/report.xlsx").status_code == 200


@pytest.mark.browser
@pytest.mark.skipif(not browser_support.CHROMIUM.exists(), reason="Chromium not installed")
def test_the_page_waits_for_the_worker_then_shows_the_report_on_a_phone_and_prints(
    browser: Browser, live_app: Flask, live_server: str
) -> None:
    made = build_round(live_app)
    with new_page(browser, live_server, **browser_support.PHONE) as page:
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        log_in(page, browser_support.ORGANIZER)
        page.goto(f"/admin/contests/{made['contest']}")
        page.get_by_test_id("report-link").click()
        expect(page.get_by_test_id("report-computing")).to_be_visible()
        make_worker(live_app, [queues.DEFAULT]).work(burst=True)
        # The page polls getContestReport and reloads itself once the report is ready.
        expect(page.get_by_test_id("report-ready")).to_be_visible(timeout=15_000)
        expect(page.locator("svg.chart")).to_have_count(5)
        expect(page.locator('[data-flag="too_hard"]')).to_have_count(1)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0  # wide tables scroll inside their box, not the page
        page.emulate_media(media="print")
        expect(page.locator(".topbar")).to_be_hidden()
        expect(page.get_by_test_id("report-xlsx")).to_be_hidden()
        expect(page.locator("svg.chart").first).to_be_visible()
        assert page.pdf()[:4] == b"%PDF"
        assert errors == []


def test_a_failed_computation_is_reported_then_tried_again(
    app: Flask, organizer_client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    with app.app_context():
        contest_id = contest_service.create_contest("失败竞赛").id
        db.session.commit()

    def broken(contest_id: int, progress: Any = None) -> dict[str, Any]:
        raise RuntimeError("disk full")

    monkeypatch.setattr(stats, "compute_report", broken)
    url = f"/api/v1/contests/{contest_id}/report"
    assert organizer_client.get(url).status_code == 202
    make_worker(app, [queues.DEFAULT]).work(burst=True)
    failed = organizer_client.get(url)
    assert failed.status_code == 202
    assert failed.get_json() == {"status": "failed", "done": 0, "total": 0, "error": "RuntimeError"}
    page = organizer_client.get(f"/admin/contests/{contest_id}/report").get_data(as_text=True)
    assert 'data-testid="report-failed"' in page
    with app.app_context():  # the failure is kept a minute, then the next read queues it again
        fingerprint = stats.fingerprint(contest_id)
        assert (
            0 < redis_hub.client.ttl(stats.job_key(contest_id, fingerprint)) <= stats.FAILED_TTL_S
        )
        redis_hub.client.delete(stats.job_key(contest_id, fingerprint))
    monkeypatch.undo()
    assert organizer_client.get(url).get_json()["status"] == "queued"
    make_worker(app, [queues.DEFAULT]).work(burst=True)
    assert organizer_client.get(url).status_code == 200
