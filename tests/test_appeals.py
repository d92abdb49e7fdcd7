"""Appeals (申诉): filing on the result page and the API, who may do what, the decisions, and an
accepted appeal regrading 1,000 attempts through a real RQ worker (boards equal a rebuild, scores
equal a regrade)."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, insert, select

from contest.errors import InvalidInput
from contest.extensions import db, redis_hub
from contest.models import (
    Appeal,
    AppealStatus,
    Attempt,
    AttemptItem,
    AttemptStatus,
    AuditEvent,
    ItemRuling,
    Role,
    User,
)
from contest.services import appeal_decisions, attempt_papers, leaderboards
from contest.services import appeals as appeal_service
from contest.services import bank as bank_service
from contest.services import contests as contest_service
from contest.services.rulings import Ruling, grade_item
from contest.services.scoring import request_scoring
from question_bank.domain import QuestionData, QuestionType
from question_bank.grading import MultipleRule
from question_bank.models import Question, QuestionStatus, QuestionVersion
from tests.conftest import CHEAP_HASH, add_user, api_login, csrf_token
from tests.support.contests import paper_round, published_bank
from tests.support.players import answer_for
from workers import queues
from workers.runner import make_worker

KEY_MARKERS = ("explanation", "correct_answer", '"correct"', "解析")


@pytest.fixture(autouse=True)
def fresh_version_cache() -> Iterator[None]:
    """The scoring worker keeps question versions by id for its process's life; each test's
    fresh database reuses the ids (with other questions), before and after this module's."""
    from contest.services import scoring

    scoring._versions.clear()
    yield
    scoring._versions.clear()


@pytest.fixture(autouse=True)
def awards_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    """What the awards were told (the awards service decides what a change means)."""
    from contest.services import awards

    calls: list[tuple[int, str]] = []
    monkeypatch.setattr(awards, "scores_changed", lambda cid, reason: calls.append((cid, reason)))
    return calls


class Player:
    """A logged-in API client (contestant or organizer)."""

    def __init__(self, app: Flask, username: str, role: Role = Role.CONTESTANT) -> None:
        with app.app_context():
            add_user(username, role)
        self.client: FlaskClient = app.test_client()
        assert api_login(self.client, username).status_code == 200
        self.token = csrf_token(self.client)

    def call(self, method: str, url: str, body: Any = None) -> Any:
        return self.client.open(url, method=method, json=body, headers={"X-CSRFToken": self.token})

    def sit(self, round_id: int, right: bool = True) -> int:
        """Start, answer every item (right or wrong), submit; returns the attempt id."""
        attempt = self.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
        for seq, item in enumerate(attempt["items"], start=1):
            saved = self.call(
                "PUT",
                f"/api/v1/attempts/{attempt['id']}/items/{item['position']}",
                {"answer": answer_for(item, right), "seq": seq},
            )
            assert saved.status_code == 200, saved.get_json()
        assert self.call("POST", f"/api/v1/attempts/{attempt['id']}/submission").status_code == 200
        return int(attempt["id"])


def drain(app: Flask) -> None:
    make_worker(app, [queues.SCORING]).work(burst=True)


@pytest.fixture
def round_id(app: Flask) -> int:
    with app.app_context():
        return paper_round(published_bank(), review_policy="after_submit").id


def item_of_type(app: Flask, attempt_id: int, kind: str) -> tuple[int, int]:
    """(position, question version id) of the attempt's first item of this type."""
    with app.app_context():
        return db.session.execute(
            select(AttemptItem.position, AttemptItem.question_version_id)
            .join(QuestionVersion, QuestionVersion.id == AttemptItem.question_version_id)
            .where(AttemptItem.attempt_id == attempt_id, QuestionVersion.type == kind)
            .order_by(AttemptItem.position)
            .limit(1)
        ).one()


def score_of(app: Flask, attempt_id: int) -> Decimal:
    with app.app_context():
        attempt = db.session.get_one(Attempt, attempt_id)
        assert attempt.status is AttemptStatus.SCORED
        return Decimal(attempt.score or 0)


# Who may do what -------------------------------------------------------------------------------


def test_authorization_of_every_operation(app: Flask, round_id: int) -> None:
    alice, bob = Player(app, "alice"), Player(app, "bob")
    boss = Player(app, "boss", Role.ADMIN)
    mine = alice.sit(round_id)
    drain(app)
    position, _ = item_of_type(app, mine, "single")
    body = {"position": position, "reason": "题目有歧义"}
    # Another contestant's attempt: as if it did not exist.
    other = bob.call("POST", f"/api/v1/attempts/{mine}/appeals", body)
    assert other.status_code == 404
    assert bob.call("POST", "/api/v1/attempts/999999/appeals", body).status_code == 404
    # Organizers do not take part; contestants do not decide or list.
    assert boss.call("POST", f"/api/v1/attempts/{mine}/appeals", body).status_code == 403
    filed = alice.call("POST", f"/api/v1/attempts/{mine}/appeals", body)
    assert filed.status_code == 201, filed.get_json()
    appeal_id = filed.get_json()["id"]
    with app.app_context():
        contest_id = contest_service.get_round(round_id).contest_id
    assert alice.call("GET", f"/api/v1/contests/{contest_id}/appeals").status_code == 403
    decision = {"decision": "reject", "reply": "no"}
    assert alice.call("POST", f"/api/v1/appeals/{appeal_id}/decision", decision).status_code == 403
    anonymous = app.test_client()
    token = csrf_token(anonymous)
    headers = {"X-CSRFToken": token}
    assert (
        anonymous.post(f"/api/v1/attempts/{mine}/appeals", json=body, headers=headers).status_code
        == 401
    )
    assert anonymous.get(f"/api/v1/contests/{contest_id}/appeals").status_code == 401
    assert (
        anonymous.post(
            f"/api/v1/appeals/{appeal_id}/decision", json=decision, headers=headers
        ).status_code
        == 401
    )
    assert boss.call("GET", "/api/v1/contests/999999/appeals").status_code == 404
    assert boss.call("POST", "/api/v1/appeals/999999/decision", decision).status_code == 404
    # One appeal per item.
    again = alice.call("POST", f"/api/v1/attempts/{mine}/appeals", body)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "appeal_exists"
    listed = boss.call("GET", f"/api/v1/contests/{contest_id}/appeals").get_json()
    assert listed["open"] == 1 and listed["groups"][0]["appeals"][0]["reason"] == "题目有歧义"
    assert listed["groups"][0]["key"] == "B"  # the test bank's single key: 乙, the second option
    # The organizers' page: the group, the reason, the key, the answers given; theirs only.
    listing = boss.client.get(f"/admin/contests/{contest_id}/appeals")
    assert listing.status_code == 200
    html = listing.get_data(as_text=True)
    assert 'data-testid="appeal-group"' in html and "题目有歧义" in html
    assert 'data-testid="decide-form"' in html and 'data-testid="distribution"' in html
    assert alice.client.get(f"/admin/contests/{contest_id}/appeals").status_code == 403
    decided = boss.client.post(
        f"/admin/appeals/{appeal_id}/decision",
        data={"csrf_token": boss.token, "decision": "reject", "reply": "维持", "all_open": "y"},
    )
    assert decided.status_code == 302
    result = alice.client.get(f"/attempts/{mine}/result").get_data(as_text=True)
    assert 'data-status="rejected"' in result and "维持" in result


def test_no_appeal_and_no_key_before_review_opens(app: Flask) -> None:
    with app.app_context():
        round_id = paper_round(published_bank(), review_policy="after_close").id
    alice = Player(app, "alice")
    mine = alice.sit(round_id)
    drain(app)
    response = alice.call(
        "POST", f"/api/v1/attempts/{mine}/appeals", {"position": 1, "reason": "x"}
    )
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "review_closed"
    text = response.get_data(as_text=True)
    assert not any(marker in text for marker in KEY_MARKERS)
    page = alice.client.get(f"/attempts/{mine}/result").get_data(as_text=True)
    assert 'data-testid="appeal-form"' not in page and "解析" not in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Appeal)) == 0


def test_the_window_and_the_switch(app: Flask, round_id: int) -> None:
    alice = Player(app, "alice")
    mine = alice.sit(round_id)
    drain(app)
    with app.app_context():
        round_ = contest_service.get_round(round_id)
        round_.appeal_window_h = 0
        db.session.commit()
    off = alice.call("POST", f"/api/v1/attempts/{mine}/appeals", {"position": 1, "reason": "x"})
    assert off.status_code == 409 and off.get_json()["error"]["code"] == "appeals_off"
    with app.app_context():
        round_ = contest_service.get_round(round_id)
        round_.appeal_window_h = 1
        round_.closes_at = datetime.now(UTC) - timedelta(hours=2)
        db.session.commit()
    late = alice.call("POST", f"/api/v1/attempts/{mine}/appeals", {"position": 1, "reason": "x"})
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "appeals_closed"


def test_appeals_are_rate_limited(app: Flask, round_id: int) -> None:
    app.config["APPEAL_LIMIT_USER"] = "3 per hour"
    alice = Player(app, "alice")
    mine = alice.sit(round_id)
    drain(app)
    codes = [
        alice.call(
            "POST", f"/api/v1/attempts/{mine}/appeals", {"position": n, "reason": "x"}
        ).status_code
        for n in (1, 2, 3, 4)
    ]
    assert codes == [201, 201, 201, 429]


# Decisions --------------------------------------------------------------------------------------


def test_reject_then_the_contestant_reads_the_reply(app: Flask, round_id: int) -> None:
    alice = Player(app, "alice")
    boss = Player(app, "boss", Role.ADMIN)
    mine = alice.sit(round_id, right=False)
    drain(app)
    before = score_of(app, mine)
    position, _ = item_of_type(app, mine, "single")
    # The result page's form files the appeal (CSRF token from the page's form).
    page = alice.client.get(f"/attempts/{mine}/result").get_data(as_text=True)
    assert page.count('data-testid="appeal-form"') == 10
    filed = alice.client.post(
        f"/attempts/{mine}/items/{position}/appeal",
        data={"csrf_token": alice.token, "reason": "我认为甲也对"},
    )
    assert filed.status_code == 302
    with app.app_context():
        appeal = db.session.scalars(select(Appeal)).one()
        appeal_id = appeal.id
    refused = boss.call("POST", f"/api/v1/appeals/{appeal_id}/decision", {"decision": "reject"})
    assert refused.status_code == 422  # a reply is required
    decided = boss.call(
        "POST",
        f"/api/v1/appeals/{appeal_id}/decision",
        {"decision": "reject", "reply": "答案依据第二十一条，维持原判"},
    )
    assert decided.status_code == 200, decided.get_json()
    assert decided.get_json()["appeal"]["status"] == "rejected"
    again = boss.call(
        "POST", f"/api/v1/appeals/{appeal_id}/decision", {"decision": "reject", "reply": "x"}
    )
    assert again.status_code == 409
    page = alice.client.get(f"/attempts/{mine}/result").get_data(as_text=True)
    assert "答案依据第二十一条，维持原判" in page and 'data-status="rejected"' in page
    assert score_of(app, mine) == before
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "appeal.reject"))
        assert event.one().reason == "答案依据第二十一条，维持原判"


def test_accepting_an_answer_settles_the_item_and_regrades_everyone(
    app: Flask, round_id: int, awards_calls: list[tuple[int, str]]
) -> None:
    players = [Player(app, name) for name in ("alice", "bob", "carol")]
    boss = Player(app, "boss", Role.ADMIN)
    sheets = [p.sit(round_id, right=False) for p in players]  # 甲 for every single choice
    drain(app)
    before = [score_of(app, s) for s in sheets]
    _position, version_id = item_of_type(app, sheets[0], "single")
    # Two contestants holding the same version appeal it.
    holders = []
    for player, sheet in zip(players, sheets, strict=True):
        with app.app_context():
            found = db.session.scalar(
                select(AttemptItem.position).where(
                    AttemptItem.attempt_id == sheet, AttemptItem.question_version_id == version_id
                )
            )
        if found is not None:
            holders.append((player, sheet, found))
    assert holders[0][1] == sheets[0]
    ids = []
    for player, sheet, found in holders[:2]:
        filed = player.call(
            "POST", f"/api/v1/attempts/{sheet}/appeals", {"position": found, "reason": "甲也对"}
        )
        assert filed.status_code == 201
        ids.append(filed.get_json()["id"])
    decided = boss.call(
        "POST",
        f"/api/v1/appeals/{ids[0]}/decision",
        {"decision": "accept_answer", "reply": "甲亦可，予以采纳"},  # the appellant's answer
    )
    assert decided.status_code == 200, decided.get_json()
    assert sorted(decided.get_json()["settled"]) == sorted(ids)
    drain(app)
    points = 2  # single choice in the test blueprint
    for _player, sheet, _found in holders:
        assert score_of(app, sheet) == before[sheets.index(sheet)] + points
    with app.app_context():
        assert {a.status for a in db.session.scalars(select(Appeal))} == {AppealStatus.ACCEPTED}
        assert appeal_service.score_differences(round_id) == []
        contest_id = contest_service.get_round(round_id).contest_id
    assert awards_calls and awards_calls[-1][0] == contest_id
    page = holders[0][0].client.get(f"/attempts/{sheets[0]}/result").get_data(as_text=True)
    assert 'data-testid="ruling"' in page and "甲亦可，予以采纳" in page


def test_changing_the_key_adds_a_bank_version_and_voiding_gives_the_points(
    app: Flask, round_id: int
) -> None:
    alice = Player(app, "alice")
    boss = Player(app, "boss", Role.ADMIN)
    mine = alice.sit(round_id, right=True)
    drain(app)
    before = score_of(app, mine)
    single, version_id = item_of_type(app, mine, "single")
    ordering, _ = item_of_type(app, mine, "ordering")
    first = alice.call(
        "POST", f"/api/v1/attempts/{mine}/appeals", {"position": single, "reason": "x"}
    )
    second = alice.call(
        "POST", f"/api/v1/attempts/{mine}/appeals", {"position": ordering, "reason": "y"}
    )
    bad = boss.call(
        "POST",
        f"/api/v1/appeals/{first.get_json()['id']}/decision",
        {"decision": "change_key", "reply": "更正", "answer": "Z"},
    )
    assert bad.status_code == 422
    changed = boss.call(
        "POST",
        f"/api/v1/appeals/{first.get_json()['id']}/decision",
        {"decision": "change_key", "reply": "答案更正为丙", "answer": "C"},
    )
    assert changed.status_code == 200, changed.get_json()
    drain(app)
    assert score_of(app, mine) == before - 2  # 乙 was right, the corrected key is 丙
    with app.app_context():
        ruling = db.session.scalars(select(ItemRuling)).one()
        assert ruling.key == 2 and ruling.new_version_id is not None
        question = db.session.get_one(QuestionVersion, version_id).question_id
        current = db.session.get_one(Question, question).current_version
        assert current is not None and current.id == ruling.new_version_id
        assert current.answer == 2 and current.number == 2
        # The attempt keeps the version it saw.
        held = db.session.get_one(AttemptItem, (mine, single)).question_version_id
        assert held == version_id
    voided = boss.call(
        "POST",
        f"/api/v1/appeals/{second.get_json()['id']}/decision",
        {"decision": "void_item", "reply": "本题作废，全员得分"},
    )
    assert voided.status_code == 200
    drain(app)
    assert score_of(app, mine) == before - 2  # right already: the void changes nothing for it
    with app.app_context():
        assert appeal_service.score_differences(round_id) == []
        actions = set(db.session.scalars(select(AuditEvent.action)))
        assert {"appeal.change_key", "appeal.void_item"} <= actions
        # The organizers' paper shows the key grading uses and what the appeals changed.
        items = {item.position: item for item in attempt_papers.paper(mine)}
    assert items[single].ruled == ("key_corrected",) and items[ordering].ruled == ("voided",)
    keyed = [option.text for option in items[single].options if option.key]
    assert keyed == ["丙"], keyed


# 1,000 attempts -----------------------------------------------------------------------------------


QUESTIONS = 5
POINTS = 2


def seed_round(attempts: int) -> tuple[int, int, list[int]]:
    """A round of five single-choice questions (key B) and ``attempts`` submitted attempts with
    random answers, bulk-inserted (app context); returns round id, contest id, version ids."""
    now = datetime.now(UTC)
    bank = bank_service.create_bank("申诉题库")
    for n in range(QUESTIONS):
        bank_service.add_question(
            bank.id,
            QuestionData(
                QuestionType.SINGLE, f"单选{n}", 1, ("甲", "乙", "丙", "丁"), category="基础知识"
            ),
            actor_id=None,
            now=now,
            status=QuestionStatus.PUBLISHED,
        )
    round_ = paper_round(
        bank.id,
        blueprint=[
            {"category": "基础知识", "type": "single", "count": QUESTIONS, "points": POINTS}
        ],
        review_policy="after_submit",
        shuffle_questions=False,
    )
    versions = list(db.session.scalars(select(QuestionVersion.id).order_by(QuestionVersion.id)))
    db.session.execute(
        insert(User),
        [
            {
                "username": f"c{n:05d}",
                "display_name": f"选手{n:04d}",
                "password_hash": CHEAP_HASH,
                "role": Role.CONTESTANT,
            }
            for n in range(attempts)
        ],
    )
    users = list(
        db.session.scalars(select(User.id).where(User.username.like("c%")).order_by(User.id))
    )
    db.session.execute(
        insert(Attempt),
        [
            {
                "round_id": round_.id,
                "user_id": user_id,
                "number": 1,
                "seed": n,
                "status": AttemptStatus.SUBMITTED,
                "started_at": now - timedelta(minutes=20),
                "deadline_at": now + timedelta(minutes=10),
                "submitted_at": now - timedelta(seconds=n % 600),
                "submitted_by": "contestant",
                "time_used_s": 600 + n % 600,
                "max_score": QUESTIONS * POINTS,
                "extended_s": 0,
                "focus_losses": 0,
                "flagged": False,
            }
            for n, user_id in enumerate(users)
        ],
    )
    ids = list(db.session.scalars(select(Attempt.id).order_by(Attempt.id)))
    rng = random.Random(7)  # noqa: S311 (answers, not secrets)
    db.session.execute(
        insert(AttemptItem),
        [
            {
                "attempt_id": attempt_id,
                "position": position + 1,
                "question_version_id": version,
                "points": POINTS,
                "option_order": [0, 1, 2, 3],
                "option_ids": ["o0", "o1", "o2", "o3"],
                "answer": f"o{rng.choice([0, 1, 1, 2])}",
                "seq": 1,
                "flagged": False,
            }
            for attempt_id in ids
            for position, version in enumerate(versions)
        ],
    )
    db.session.commit()
    return round_.id, round_.contest_id, versions


def expected_scores(round_id: int, key_of: dict[int, set[str]]) -> dict[int, Decimal]:
    """Each attempt's score by counting, independently of the grading code: an item earns its
    points when its answer is one of the option ids that earn full points for its version."""
    totals: dict[int, Decimal] = {}
    for item in db.session.scalars(
        select(AttemptItem).join(Attempt).where(Attempt.round_id == round_id)
    ):
        right = item.answer in key_of[item.question_version_id]
        totals[item.attempt_id] = totals.get(item.attempt_id, Decimal(0)) + (
            Decimal(item.points) if right else Decimal(0)
        )
    return totals


def test_an_accepted_appeal_regrades_a_thousand_attempts_through_the_worker(app: Flask) -> None:
    with app.app_context():
        round_id, contest_id, versions = seed_round(1000)
        ids = list(db.session.scalars(select(Attempt.id).where(Attempt.round_id == round_id)))
        request_scoring(ids)
    drain(app)
    client = redis_hub.client_for_app(app)
    with app.app_context():
        scored = db.session.scalar(
            select(func.count()).where(Attempt.status == AttemptStatus.SCORED)
        )
        assert scored == 1000
        keys = {v: {"o1"} for v in versions}
        stored = dict(db.session.execute(select(Attempt.id, Attempt.score)).all())
        assert stored == expected_scores(round_id, keys)
        attempt_id = next(
            item.attempt_id
            for item in db.session.scalars(
                select(AttemptItem)
                .where(AttemptItem.position == 1)
                .order_by(AttemptItem.attempt_id)
            )
            if item.answer == "o2"
        )
        appellant = db.session.get_one(Attempt, attempt_id).user_id
        username = db.session.get_one(User, appellant).username
        leaderboards.rebuild_contest(client, contest_id)
        board_before = leaderboards.counting_entries(contest_service.get_round(round_id))
    contestant = app.test_client()
    assert api_login(contestant, username).status_code == 200
    token = csrf_token(contestant)
    filed = contestant.post(
        f"/api/v1/attempts/{attempt_id}/appeals",
        json={"position": 1, "reason": "丙也符合规定"},
        headers={"X-CSRFToken": token},
    )
    assert filed.status_code == 201, filed.get_json()
    boss = Player(app, "boss", Role.ADMIN)
    began = time.perf_counter()
    decided = boss.call(
        "POST",
        f"/api/v1/appeals/{filed.get_json()['id']}/decision",
        {"decision": "accept_answer", "reply": "丙亦正确"},
    )
    assert decided.status_code == 200, decided.get_json()
    assert decided.get_json()["attempts_regraded"] == 1000
    drain(app)
    seconds = time.perf_counter() - began
    print(f"\nregrade of 1000 attempts through the worker: {seconds:.2f} s")
    with app.app_context():
        db.session.expire_all()
        keys[versions[0]] = {"o1", "o2"}
        stored = dict(db.session.execute(select(Attempt.id, Attempt.score)).all())
        expected = expected_scores(round_id, keys)
        assert stored == expected
        assert appeal_service.score_differences(round_id) == []
        raised = sum(1 for a in board_before.values() if expected[a.attempt_id] != a.score)
        assert raised > 100  # about a quarter answered 丙 to question 1
        assert (
            db.session.scalar(select(func.count()).where(Attempt.status != AttemptStatus.SCORED))
            == 0
        )
        leaderboards.render_contest(client, contest_id)
        assert leaderboards.check_contest(client, contest_id) == []
        round_ = contest_service.get_round(round_id)
        live = {e.user_id: e.score for e in leaderboards.read_raw(client, [round_id])[round_id]}
        assert live == {u: e.score for u, e in leaderboards.counting_entries(round_).items()}
        # A rebuild from the database changes nothing.
        leaderboards.rebuild_contest(client, contest_id)
        assert leaderboards.check_contest(client, contest_id) == []
        assert {
            e.user_id: e.score for e in leaderboards.read_raw(client, [round_id])[round_id]
        } == live


# The round setting and the grading rules ----------------------------------------------------------


def test_the_window_is_a_round_setting(app: Flask) -> None:
    with app.app_context():
        round_ = paper_round(published_bank())
        assert round_.appeal_window_h == 72  # the default
        contest_service.save_round(round_.contest_id, round_.id, appeal_window_h=0)
        db.session.commit()
        assert contest_service.get_round(round_.id).appeal_window_h == 0
        with pytest.raises(InvalidInput):
            contest_service.save_round(round_.contest_id, round_.id, appeal_window_h=-1)
        db.session.rollback()


def test_rulings_grade_alternatives_keys_and_voids() -> None:
    single = QuestionData(QuestionType.SINGLE, "s", 1, ("甲", "乙", "丙"))
    assert grade_item(single, 2, 2, MultipleRule.ALL_OR_NOTHING, None).points == 0
    accepted = Ruling(accepted=(2,))
    assert grade_item(single, 2, 2, MultipleRule.ALL_OR_NOTHING, accepted).points == 2
    assert grade_item(single, 1, 2, MultipleRule.ALL_OR_NOTHING, accepted).points == 2
    corrected = Ruling(key=2)
    assert grade_item(single, 1, 2, MultipleRule.ALL_OR_NOTHING, corrected).points == 0
    assert grade_item(single, None, 2, MultipleRule.ALL_OR_NOTHING, Ruling(voided=True)).correct
    multiple = QuestionData(QuestionType.MULTIPLE, "m", (0, 2), ("甲", "乙", "丙"))
    half = MultipleRule.HALF_FOR_SUBSET
    assert grade_item(multiple, [0, 1], 4, half, Ruling(accepted=([0, 1, 2],))).points == 2
    blanks = QuestionData(QuestionType.FILL_BLANK, "____ ____", (("六", "6"), ("七",)))
    merged = Ruling(accepted=([["陆"], []],))
    assert grade_item(blanks, ["陆", "八"], 2, half, merged).points == 1
    assert grade_item(blanks, ["陆", "七"], 2, half, merged).correct


def test_answers_are_written_in_the_versions_terms(app: Flask) -> None:
    with app.app_context():
        published_bank(per_type=1)
        by_type = {v.type.value: v for v in db.session.scalars(select(QuestionVersion))}
        assert appeal_service.parse_answer(by_type["single"], " c ") == 2
        assert appeal_service.parse_answer(by_type["multiple"], "C,A") == [0, 2]
        assert appeal_service.parse_answer(by_type["ordering"], "CAB") == [2, 0, 1]
        assert appeal_service.parse_answer(by_type["true_false"], "错") is False
        assert appeal_service.parse_answer(by_type["fill_blank"], "陆/6") == [["陆", "6"]]
        for kind, text in (
            ("single", "AB"),
            ("ordering", "CA"),
            ("multiple", "E"),
            ("fill_blank", "a;b"),
        ):
            with pytest.raises(InvalidInput):
                appeal_service.parse_answer(by_type[kind], text)
        assert appeal_service.answer_text(QuestionType.MULTIPLE, [2, 0]) == "AC"


# When the queue refuses, concurrent decisions, the regrade's last chunk ---------------------------


def holding(
    app: Flask, round_id: int, names: tuple[str, ...] = ("alice", "bob", "carol")
) -> tuple[list[tuple[Player, int, int]], int]:
    """Contestants who sat the round wrong (甲 for every single choice), scored; those holding
    the first one's first single choice as (player, attempt, position), and its version id."""
    players = [Player(app, name) for name in names]
    sheets = [p.sit(round_id, right=False) for p in players]
    drain(app)
    _position, version_id = item_of_type(app, sheets[0], "single")
    found = []
    for player, sheet in zip(players, sheets, strict=True):
        with app.app_context():
            position = db.session.scalar(
                select(AttemptItem.position).where(
                    AttemptItem.attempt_id == sheet, AttemptItem.question_version_id == version_id
                )
            )
        if position is not None:
            found.append((player, sheet, position))
    return found, version_id


def test_a_refused_regrade_keeps_the_decision_and_can_be_queued_again(
    app: Flask, round_id: int, monkeypatch: pytest.MonkeyPatch, awards_calls: list[Any]
) -> None:
    import redis

    from contest.services import scoring

    holders, version_id = holding(app, round_id, ("alice",))
    alice, sheet, position = holders[0]
    boss = Player(app, "boss", Role.ADMIN)
    before = score_of(app, sheet)
    filed = alice.call(
        "POST", f"/api/v1/attempts/{sheet}/appeals", {"position": position, "reason": "甲也对"}
    )
    real_enqueue = scoring.enqueue_regrade

    def refuse(*args: Any, **kwargs: Any) -> int:
        raise redis.ConnectionError("the queue is down")

    monkeypatch.setattr(scoring, "enqueue_regrade", refuse)
    decided = boss.call(
        "POST",
        f"/api/v1/appeals/{filed.get_json()['id']}/decision",
        {"decision": "accept_answer", "reply": "甲亦可"},
    )
    assert decided.status_code == 200, decided.get_data(as_text=True)
    body = decided.get_json()
    assert body["regrade_queued"] is False and body["note"]
    assert body["appeal"]["status"] == "accepted"
    drain(app)
    assert score_of(app, sheet) == before  # nothing was queued
    # Regrading the item again: organizers only (CSRF as every API call), audited.
    url = f"/api/v1/rounds/{round_id}/versions/{version_id}/regrade"
    anonymous = app.test_client()
    headers = {"X-CSRFToken": csrf_token(anonymous)}
    assert anonymous.post(url, headers=headers).status_code == 401
    assert alice.call("POST", url).status_code == 403
    assert boss.client.post(url).status_code in (400, 403)  # no CSRF token
    assert boss.call("POST", url).status_code == 503  # the queue is still down
    monkeypatch.setattr(scoring, "enqueue_regrade", real_enqueue)
    again = boss.call("POST", url)
    assert again.status_code == 200, again.get_data(as_text=True)
    assert again.get_json()["attempts_regraded"] == 1
    drain(app)
    assert score_of(app, sheet) == before + 2
    assert awards_calls
    with app.app_context():
        assert appeal_service.score_differences(round_id) == []
        events = list(
            db.session.scalars(select(AuditEvent).where(AuditEvent.action == "appeal.regrade"))
        )
        assert len(events) == 1
        assert (events[0].after or {}).get("question_version_id") == version_id
        contest_id = contest_service.get_round(round_id).contest_id
    # The page's button (one per question group, CSRF from the page's form).
    page = boss.client.get(f"/admin/contests/{contest_id}/appeals?status=all")
    assert page.get_data(as_text=True).count('data-testid="regrade-form"') == 1
    pressed = boss.client.post(
        f"/admin/rounds/{round_id}/versions/{version_id}/regrade",
        data={"csrf_token": boss.token},
    )
    assert pressed.status_code == 302
    assert (
        alice.client.post(
            f"/admin/rounds/{round_id}/versions/{version_id}/regrade",
            data={"csrf_token": alice.token},
        ).status_code
        == 403
    )


def test_two_accepted_answers_of_one_item_both_stand(app: Flask) -> None:
    # Every paper holds all four single choices, so the contestants hold the same one (with two
    # of four drawn, the first contestant's could be on no other paper, and the test failed).
    with app.app_context():
        round_id = paper_round(
            published_bank(),
            review_policy="after_submit",
            blueprint=[{"category": "基础知识", "type": "single", "count": 4, "points": 2}],
        ).id
    holders, version_id = holding(app, round_id)
    assert len(holders) == 3
    boss = Player(app, "boss", Role.ADMIN)
    for (player, sheet, position), answer in zip(holders[:2], ("C", "D"), strict=False):
        filed = player.call(
            "POST", f"/api/v1/attempts/{sheet}/appeals", {"position": position, "reason": "x"}
        )
        assert filed.status_code == 201, filed.get_json()
        decided = boss.call(
            "POST",
            f"/api/v1/appeals/{filed.get_json()['id']}/decision",
            {"decision": "accept_answer", "reply": "采纳", "answer": answer},
        )
        assert decided.status_code == 200, decided.get_json()
    with app.app_context():
        ruling = db.session.scalars(select(ItemRuling)).one()
        assert ruling.question_version_id == version_id and ruling.accepted == [2, 3]


def test_a_ruling_written_meanwhile_is_a_conflict_not_an_error(
    app: Flask, round_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another decision's first ruling of the item committed between the read and the write:
    the unique constraint refuses the second insert; the organizer gets 409, nothing changes."""
    holders, version_id = holding(app, round_id, ("alice",))
    alice, sheet, position = holders[0]
    boss = Player(app, "boss", Role.ADMIN)
    filed = alice.call(
        "POST", f"/api/v1/attempts/{sheet}/appeals", {"position": position, "reason": "x"}
    )
    real_decide = appeal_decisions.decide

    def decide_meanwhile(*args: Any, **kwargs: Any) -> Any:
        decided = real_decide(*args, **kwargs)
        db.session.add(
            ItemRuling(round_id=round_id, question_version_id=version_id, key=None, accepted=[])
        )
        return decided

    monkeypatch.setattr(appeal_decisions, "decide", decide_meanwhile)
    decided = boss.call(
        "POST",
        f"/api/v1/appeals/{filed.get_json()['id']}/decision",
        {"decision": "accept_answer", "reply": "采纳"},
    )
    assert decided.status_code == 409, decided.get_data(as_text=True)
    assert decided.get_json()["error"]["code"] == "decision_conflict"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ItemRuling)) == 0
        assert db.session.get_one(Appeal, filed.get_json()["id"]).status is AppealStatus.OPEN


def test_a_chunk_run_twice_tells_the_awards_once_after_every_chunk(
    app: Flask, round_id: int, monkeypatch: pytest.MonkeyPatch, awards_calls: list[Any]
) -> None:
    from contest.services import scoring
    from workers.scoring import regrade_attempts

    players = [Player(app, name) for name in ("alice", "bob")]
    sheets = sorted(p.sit(round_id) for p in players)
    drain(app)
    monkeypatch.setattr(scoring, "REGRADE_CHUNK", 1)
    with app.app_context():
        contest_id = contest_service.get_round(round_id).contest_id
        assert scoring.enqueue_regrade(sheets, contest_id=contest_id, reason="r", tag="t") == 2
        key = "score:regrade:t"
        # The first chunk runs twice (a retry after it finished): the second chunk is still due.
        regrade_attempts([sheets[0]], contest_id, "r", key, 0)
        regrade_attempts([sheets[0]], contest_id, "r", key, 0)
    assert awards_calls == []
    drain(app)  # both queued chunks: the first a third time, then the second
    assert awards_calls == [(contest_id, "r")]
    with app.app_context():
        regrade_attempts([sheets[1]], contest_id, "r", key, 1)
    assert awards_calls == [(contest_id, "r")]
