"""Leaderboards: scoring sets entries, renders are snapshots, rebuilds equal the live boards,
freezes hold for the public, names are masked, and reads never touch the database."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from rq import Queue
from sqlalchemy import event, select

from contest.extensions import db, redis_hub
from contest.models import Attempt, BoardVisibility, Contest, Organization, Role, Round, User
from contest.services import contests as contest_service
from contest.services import leaderboards
from contest.services import scoring as scoring_service
from contest.services.leaderboards import rebuild as board_rebuild
from contest.services.leaderboards import store as board_store
from tests.conftest import PASSWORD, add_user, api_login, csrf_token, make_app
from tests.support.boards import board, freeze, settle, sit
from tests.support.contests import paper_round, published_bank
from tests.support.players import Player
from workers import boards, queues, scoring
from workers.boards import reconcile, render_pending
from workers.runner import make_worker
from workers.scoring import score_attempt


@pytest.fixture
def round_id(app: Flask) -> int:
    with app.app_context():
        return paper_round(published_bank(), attempts_allowed=0, score_policy="best").id


def stored(app: Flask, contest_id: int) -> dict[str, Any]:
    """Every stored board of a contest without its version."""
    with app.app_context():
        contest = db.session.get(Contest, contest_id)
        assert contest is not None
        names = [leaderboards.round_board(r.id) for r in contest.rounds] + [
            leaderboards.contest_board(contest_id),
            leaderboards.organization_board(contest_id),
        ]
        return {name: board_rebuild._stored_body(redis_hub.client, name) for name in names}


def contest_of(app: Flask, round_id: int) -> int:
    with app.app_context():
        round_ = db.session.get(Round, round_id)
        assert round_ is not None
        return round_.contest_id


def test_scored_attempts_appear_ranked_with_shared_ranks(app: Flask, round_id: int) -> None:
    players = {name: Player(app, name) for name in ("wang", "zhao", "sun")}
    sit(app, players["wang"], round_id, right=6)
    sit(app, players["zhao"], round_id, right=10)
    sit(app, players["sun"], round_id, right=0)
    settle(app)
    wang = players["wang"].expected  # type: ignore[attr-defined]
    body = board(app, f"/api/v1/rounds/{round_id}/leaderboard")
    assert body["total"] == 3 and body["frozen"] is False and body["version"] > 0
    assert [e["score"] for e in body["entries"]] == [20, wang, 0]
    assert [e["name"] for e in body["entries"]] == ["z****名", "w****名", "s***名"]
    assert [e["rank"] for e in body["entries"]] == [1, 2, 3]
    average = round((20 + wang) / 3, 2)
    assert body["stats"] == {"contestants": 3, "submissions": 3, "average_score": average}
    contest = board(app, f"/api/v1/contests/{contest_of(app, round_id)}/leaderboard")
    assert [e["score"] for e in contest["entries"]] == [20, wang, 0]


def test_a_job_run_twice_gives_the_same_board(app: Flask, round_id: int) -> None:
    ids = [sit(app, Player(app, f"p{n}"), round_id, right=n * 3) for n in range(4)]
    settle(app)
    contest_id = contest_of(app, round_id)
    before = stored(app, contest_id)
    with app.app_context():
        version = leaderboards.board_version(redis_hub.client, leaderboards.round_board(round_id))
        for attempt_id in ids:
            assert score_attempt(attempt_id) == "scored"
        db.session.remove()
        assert render_pending(redis_hub.client, wait=False) == 1  # the re-run marked it dirty
        after_version = leaderboards.board_version(
            redis_hub.client, leaderboards.round_board(round_id)
        )
    # Nothing a reader sees changed, so nothing was written: not even the version moves.
    assert version is not None and after_version == version
    assert stored(app, contest_id) == before


def test_a_rebuild_equals_the_live_board_and_check_finds_differences(
    app: Flask, round_id: int
) -> None:
    for n in range(5):
        sit(app, Player(app, f"r{n}"), round_id, right=2 * n)
    settle(app)
    contest_id = contest_of(app, round_id)
    live = stored(app, contest_id)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["leaderboard", "check"]).exit_code == 0
    with app.app_context():
        redis_hub.client.delete(
            *redis_hub.client.keys("lb:board:*"), *redis_hub.client.keys("lb:raw:*")
        )
    result = runner.invoke(args=["leaderboard", "check", "--contest", str(contest_id)])
    assert result.exit_code == 1 and "not stored" in result.output
    result = runner.invoke(args=["leaderboard", "rebuild", "--contest", str(contest_id)])
    assert result.exit_code == 0, result.output
    assert "5 ranked entries" in result.output
    assert stored(app, contest_id) == live
    assert runner.invoke(args=["leaderboard", "check"]).exit_code == 0
    with app.app_context():  # an entry Redis has but the database does not is a difference
        stray = leaderboards.RawEntry(
            999999, "外人", None, "", Decimal(100), 1, datetime.now(UTC), 999999
        )
        redis_hub.client.hset(leaderboards.raw_key(round_id), "999999", stray.to_json())
    with app.app_context():
        problems = leaderboards.check_contest(redis_hub.client, contest_id)
    assert problems and "extra" in problems[0]


def test_best_and_last_attempt_policies(app: Flask) -> None:
    with app.app_context():
        bank = published_bank()
        best = paper_round(bank, attempts_allowed=0, score_policy="best", contest_title="最好")
        last = paper_round(bank, attempts_allowed=0, score_policy="last", contest_title="最后")
        best_id, last_id = best.id, last.id
    me = Player(app, "liu")
    for round_ in (best_id, last_id):
        sit(app, me, round_, right=10)
        sit(app, me, round_, right=2)
    settle(app)
    assert board(app, f"/api/v1/rounds/{best_id}/leaderboard")["entries"][0]["score"] == 20
    last_score = me.expected  # type: ignore[attr-defined]
    assert board(app, f"/api/v1/rounds/{last_id}/leaderboard")["entries"][0]["score"] == last_score


def test_changing_best_or_last_recomputes_the_boards(app: Flask) -> None:
    """The stored entries were chosen under the old policy: the render after the change
    recomputes the round, so the boards and the organizers' live view follow the new one."""
    with app.app_context():
        round_ = paper_round(published_bank(), attempts_allowed=0, score_policy="best")
        round_id, contest_id = round_.id, round_.contest_id
    me = Player(app, "liu")
    sit(app, me, round_id, right=10)
    sit(app, me, round_id, right=0)
    settle(app)
    assert board(app, f"/api/v1/rounds/{round_id}/leaderboard")["entries"][0]["score"] == 20
    for policy, score in (("last", 0), ("best", 20)):
        with app.app_context():
            contest_service.save_round(contest_id, round_id, score_policy=policy)
            db.session.commit()
            render_pending(redis_hub.client, wait=False)
            assert leaderboards.check_contest(redis_hub.client, contest_id) == []
            live = leaderboards.live_round_body(
                redis_hub.client, db.session.get_one(Round, round_id), 0, 50
            )
        assert board(app, f"/api/v1/rounds/{round_id}/leaderboard")["entries"][0]["score"] == score
        assert live["entries"][0]["score"] == score


def test_contest_board_sums_rounds_and_organizations_are_summarised(app: Flask) -> None:
    with app.app_context():
        bank = published_bank()
        first = paper_round(bank, attempts_allowed=0)
        contest_id = first.contest_id
        from contest.services import contests as contest_service

        second = contest_service.save_round(
            contest_id,
            title="复赛",
            bank_id=bank,
            duration_s=600,
            blueprint=first.blueprint,
            review_policy="after_submit",
        )
        db.session.commit()
        first_id, second_id = first.id, second.id
        east = Organization(name="东区")
        west = Organization(name="西区")
        db.session.add_all([east, west])
        db.session.commit()
        east_id, west_id = east.id, west.id
    players = []
    for name, org in (("e1", east_id), ("e2", east_id), ("w1", west_id), ("w2", west_id)):
        with app.app_context():
            add_user(name, Role.CONTESTANT, organization_id=org)
        player = Player.__new__(Player)
        player.client = app.test_client()
        assert api_login(player.client, name, PASSWORD).status_code == 200
        player.device, player.token, player.seen = "phone", csrf_token(player.client), []
        players.append(player)
    sit(app, players[0], first_id, right=10)
    sit(app, players[0], second_id, right=5)
    e1 = 20 + players[0].expected  # type: ignore[attr-defined]
    sit(app, players[1], first_id, right=0)
    sit(app, players[2], first_id, right=4)
    w1 = players[2].expected  # type: ignore[attr-defined]
    settle(app)
    contest = board(app, f"/api/v1/contests/{contest_id}/leaderboard")
    assert [e["score"] for e in contest["entries"]] == sorted([e1, w1, 0], reverse=True)
    orgs = board(app, f"/api/v1/contests/{contest_id}/organizations/leaderboard")
    by_name = {o["name"]: o for o in orgs["organizations"]}
    assert by_name["东区"] == {
        "rank": 1,
        "name": "东区",
        "enrolled": 2,
        "started": 2,
        "submitted": 2,
        "participants": 2,
        "registered": 2,
        "participation_rate": 1.0,
        "mean_score": e1 / 2,
        "top_score": e1,
    }
    assert by_name["西区"]["participants"] == 1 and by_name["西区"]["registered"] == 1
    assert by_name["西区"]["mean_score"] == w1 and by_name["西区"]["rank"] == 2


def test_public_boards_mask_names_and_never_show_contact_details(app: Flask, round_id: int) -> None:
    me = Player(app, "zhangsan")
    with app.app_context():
        user = db.session.scalars(db.select(User).filter_by(username="zhangsan")).one()
        user.display_name, user.phone, user.email = "张小三", "13800138000", "z@example.cn"
        db.session.commit()
    sit(app, me, round_id, right=3)
    settle(app)
    contest_id = contest_of(app, round_id)
    urls = [
        f"/api/v1/rounds/{round_id}/leaderboard",
        f"/api/v1/contests/{contest_id}/leaderboard",
        f"/api/v1/contests/{contest_id}/organizations/leaderboard",
    ]
    for url in urls:
        text = app.test_client().get(url).get_data(as_text=True)
        assert "张小三" not in text and "13800138000" not in text and "example.cn" not in text
        assert "zhangsan" not in text
    assert board(app, urls[0])["entries"][0]["name"] == "张*三"
    with app.app_context():
        contest = db.session.get(Contest, contest_id)
        assert contest is not None
        leaderboards.settings_changed(contest_id)
        contest.mask_names = False
        db.session.commit()
        render_pending(redis_hub.client, wait=False)
    assert board(app, urls[0])["entries"][0]["name"] == "张小三"
    assert "13800138000" not in app.test_client().get(urls[0]).get_data(as_text=True)


def test_mask_name() -> None:
    assert leaderboards.mask_name("张三丰") == "张*丰"
    assert leaderboards.mask_name("张三") == "张*"
    assert leaderboards.mask_name("欧阳娜娜") == "欧**娜"
    assert leaderboards.mask_name("Alice") == "A***e"
    assert leaderboards.mask_name("王") == "*"


def test_frozen_boards_do_not_move_for_the_public_until_revealed(app: Flask, round_id: int) -> None:
    sit(app, Player(app, "early"), round_id, right=2)
    settle(app)
    freeze(app, round_id, datetime.now(UTC))
    url = f"/api/v1/rounds/{round_id}/leaderboard"
    frozen = board(app, url)
    assert frozen["frozen"] is True and frozen["total"] == 1
    sit(app, Player(app, "late"), round_id, right=10)
    settle(app)
    still = board(app, url)
    assert still["frozen"] is True and still["entries"] == frozen["entries"]
    assert still["stats"]["submissions"] == 1
    contest_board = board(app, f"/api/v1/contests/{contest_of(app, round_id)}/leaderboard")
    assert contest_board["frozen"] is True and contest_board["total"] == 1
    # Organizers see the live standings; the public cannot ask for them.
    assert app.test_client().get(url + "?view=live").status_code == 403
    with app.app_context():
        add_user("boss", Role.ORGANIZER)
    organizer = app.test_client()
    api_login(organizer, "boss", PASSWORD)
    live = organizer.get(url + "?view=live").get_json()
    assert live["total"] == 2 and live["entries"][0]["score"] == 20
    assert live["entries"][0]["name"] == "late 名"  # full names for organizers
    # Revealing (揭榜) makes the public board show everything.
    token = csrf_token(organizer)
    reveal = organizer.post(f"/api/v1/rounds/{round_id}/reveal", headers={"X-CSRFToken": token})
    assert reveal.status_code == 200, reveal.get_data(as_text=True)
    with app.app_context():
        render_pending(redis_hub.client, wait=False)
    revealed = board(app, url)
    assert revealed["frozen"] is False and revealed["total"] == 2
    assert app.test_client().post(f"/api/v1/rounds/{round_id}/reveal").status_code in (401, 403)


def public(app: Flask, round_id: int) -> dict[str, Any]:
    """Every public board of the round's contest, as spectators read them."""
    contest_id = contest_of(app, round_id)
    return {
        "round": board(app, f"/api/v1/rounds/{round_id}/leaderboard"),
        "contest": board(app, f"/api/v1/contests/{contest_id}/leaderboard"),
        "organizations": board(app, f"/api/v1/contests/{contest_id}/organizations/leaderboard"),
    }


# Points per paper: 3, 3, 2 × 6, 1, 1 in a shuffled order. Six right are 10–16, two right 2–6:
# alpha ranks first. Then all ten right (20) is better; none right (0) is below beta.
@pytest.mark.parametrize(("policy", "again"), [("best", 10), ("last", 0)])
def test_an_attempt_after_the_freeze_changes_nothing_the_public_sees(
    app: Flask, policy: str, again: int
) -> None:
    with app.app_context():
        round_id = paper_round(published_bank(), attempts_allowed=0, score_policy=policy).id
        east, west = Organization(name="东区"), Organization(name="西区")
        db.session.add_all([east, west])
        db.session.commit()
        east_id, west_id = east.id, west.id
    alpha, beta = Player(app, "alpha", organization_id=east_id), Player(app, "beta")
    sit(app, alpha, round_id, right=6)
    first = alpha.expected  # type: ignore[attr-defined]
    sit(app, beta, round_id, right=2)
    settle(app)
    freeze(app, round_id, datetime.now(UTC))  # set after the entries were recorded
    before = public(app, round_id)
    assert before["round"]["frozen"] is True
    shown = [(e["name"], e["score"]) for e in before["round"]["entries"]]
    masked = leaderboards.mask_name
    assert shown == [(masked("alpha 名"), first), (masked("beta 名"), beta.expected)]  # type: ignore[attr-defined]
    etag = app.test_client().get(f"/api/v1/rounds/{round_id}/leaderboard").headers["ETag"]
    sit(app, alpha, round_id, right=again)  # a better score (best), a worse one (last)
    second = alpha.expected  # type: ignore[attr-defined]
    assert (second > first) if policy == "best" else (second < beta.expected)  # type: ignore[attr-defined]
    # Newcomers register as they start (an open contest): one of each organization, neither
    # counted by the organization board while the round is frozen.
    gamma = Player(app, "gamma", organization_id=west_id)
    gamma.call("POST", f"/api/v1/rounds/{round_id}/attempts")  # only starts
    sit(app, Player(app, "delta", organization_id=east_id), round_id, right=10)
    settle(app)
    # The public boards hold still: alpha keeps the pre-freeze entry, the figures and the
    # version do not move (a moving ETag would tell that something happened).
    assert public(app, round_id) == before
    unchanged = app.test_client().get(
        f"/api/v1/rounds/{round_id}/leaderboard", headers={"If-None-Match": etag}
    )
    assert unchanged.status_code == 304
    with app.app_context():
        assert leaderboards.check_contest(redis_hub.client, contest_of(app, round_id)) == []
        round_ = db.session.get(Round, round_id)
        assert round_ is not None
        live = leaderboards.live_round_body(redis_hub.client, round_, 0, 10)
    scores = {e["name"]: e["score"] for e in live["entries"]}
    assert scores == {"alpha 名": second, "beta 名": beta.expected, "delta 名": 20}  # type: ignore[attr-defined]
    with app.app_context():
        leaderboards.reveal(round_id, datetime.now(UTC))
        render_pending(redis_hub.client, wait=False)
    organizations = public(app, round_id)["organizations"]["organizations"]
    assert {o["name"]: o["registered"] for o in organizations} == {"东区": 2, "西区": 1}


def test_a_freeze_set_after_a_reveal_freezes_again_and_no_reveal_comes_early(
    app: Flask, round_id: int
) -> None:
    sit(app, Player(app, "first"), round_id, right=2)
    settle(app)
    with app.app_context():
        add_user("host", Role.ORGANIZER)
    organizer = app.test_client()
    api_login(organizer, "host", PASSWORD)
    headers = {"X-CSRFToken": csrf_token(organizer)}
    url = f"/api/v1/rounds/{round_id}/reveal"
    freeze(app, round_id, datetime.now(UTC) + timedelta(hours=1))
    early = organizer.post(url, headers=headers)
    assert early.status_code == 409 and early.get_json()["error"]["code"] == "not_frozen"
    freeze(app, round_id, datetime.now(UTC))
    assert organizer.post(url, headers=headers).status_code == 200
    with app.app_context():
        render_pending(redis_hub.client, wait=False)
    assert board(app, f"/api/v1/rounds/{round_id}/leaderboard")["frozen"] is False
    freeze(app, round_id, datetime.now(UTC) + timedelta(milliseconds=1))  # a new, later freeze
    sit(app, Player(app, "second"), round_id, right=10)
    settle(app)
    frozen = board(app, f"/api/v1/rounds/{round_id}/leaderboard")
    assert frozen["frozen"] is True and frozen["total"] == 1
    assert frozen["entries"][0]["name"] == leaderboards.mask_name("first 名")


def test_a_score_set_while_a_round_is_recomputed_is_not_overwritten(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    with app.app_context():
        round_id = paper_round(published_bank(), attempts_allowed=0, score_policy="best").id
    sit(app, Player(app, "alpha"), round_id, right=6)
    settle(app)
    sit(app, Player(app, "beta"), round_id, right=9)  # submitted; its scoring waits in the queue
    original = leaderboards.counting_entries
    raced: list[bool] = []

    def scored_meanwhile(round_: Any, *, user_ids: Any = None) -> Any:
        """The recompute reads the round, then a worker commits beta's score and sets its entry
        before the recompute writes."""
        entries = original(round_, user_ids=user_ids)
        if user_ids is None and not raced:
            raced.append(True)
            db.session.commit()  # end the read (SQLite would make the worker wait for it)
            make_worker(app, [queues.SCORING]).work(burst=True)
        return entries

    monkeypatch.setattr(board_store, "counting_entries", scored_meanwhile)
    with app.app_context():
        client = redis_hub.client
        assert leaderboards.store_round_entries(client, db.session.get_one(Round, round_id)) == 2
        names = {e.name for e in leaderboards.read_raw(client, [round_id])[round_id]}
    assert raced and names == {"alpha 名", "beta 名"}


def test_entries_set_for_an_old_freeze_time_are_never_published(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scoring job that read the round before the organizers moved its freeze sets an entry
    chosen for the old freeze time while the render recomputes: that entry's "before the
    freeze" score may be from after the new one, and must not reach the public board."""
    old_freeze = datetime.now(UTC) + timedelta(hours=1)
    with app.app_context():
        round_ = paper_round(published_bank(), attempts_allowed=0, score_policy="best")
        round_.freeze_at = old_freeze
        db.session.commit()
        round_id, contest_id = round_.id, round_.contest_id
    alpha = Player(app, "alpha")
    sit(app, alpha, round_id, right=1)
    settle(app)
    first = alpha.expected  # type: ignore[attr-defined]
    moved_to = datetime.now(UTC)
    sit(app, alpha, round_id, right=10)  # after the freeze time the organizers now set
    settle(app)
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == "alpha"))
        assert user_id is not None
        round_ = db.session.get_one(Round, round_id)
        round_.freeze_at = moved_to
        old = leaderboards.RoundRef(round_id, contest_id, round_.score_policy, old_freeze)
        db.session.commit()  # (no render is asked for: this one is called below)
    original = leaderboards.store_round_entries
    late_writes = iter([True, True, True])

    def stale_write_after(client: Any, round_: Any) -> int:
        count = original(client, round_)
        if next(late_writes, False):  # the job with the old freeze time sets alpha's entry
            leaderboards.record_attempts(client, [(round_id, user_id)], {round_id: old})
        return count

    monkeypatch.setattr(board_store, "store_round_entries", stale_write_after)
    with app.app_context():
        client = redis_hub.client
        assert leaderboards.render_contest(client, contest_id) is False  # three tries, all stale
        assert client.sismember(leaderboards.DIRTY, contest_id)  # rendered again later
        assert leaderboards.render_contest(client, contest_id) is True  # the writes stopped
    public = board(app, f"/api/v1/rounds/{round_id}/leaderboard")
    assert public["frozen"] is True
    assert [e["score"] for e in public["entries"]] == [first]


def test_reads_answer_from_redis_without_database_queries(app: Flask, round_id: int) -> None:
    sit(app, Player(app, "q"), round_id, right=1)
    settle(app)
    contest_id = contest_of(app, round_id)
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        client = app.test_client()
        for url in (
            f"/api/v1/rounds/{round_id}/leaderboard",
            f"/api/v1/rounds/{round_id}/leaderboard?offset=0&limit=7",
            f"/api/v1/contests/{contest_id}/leaderboard",
            f"/api/v1/contests/{contest_id}/organizations/leaderboard",
        ):
            assert client.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert statements == []


def test_etag_gives_304_until_the_board_changes(app: Flask, round_id: int) -> None:
    sit(app, Player(app, "e1"), round_id, right=1)
    settle(app)
    url = f"/api/v1/rounds/{round_id}/leaderboard"
    first = app.test_client().get(url)
    etag = first.headers["ETag"]
    assert app.test_client().get(url, headers={"If-None-Match": etag}).status_code == 304
    sit(app, Player(app, "e2"), round_id, right=2)
    settle(app)
    changed = app.test_client().get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.get_json()["total"] == 2


def test_paging_combines_stored_pages(app: Flask, round_id: int) -> None:
    with app.app_context():
        round_ = db.session.get(Round, round_id)
        assert round_ is not None
        contest_id = round_.contest_id
        now = datetime.now(UTC)
        entries = {
            n: leaderboards.RawEntry(n, f"选手{n}", None, "", Decimal(n % 37), n % 11, now, n)
            for n in range(1, 131)
        }
        redis_hub.client.hset(
            leaderboards.raw_key(round_id),
            mapping={str(k): e.to_json() for k, e in entries.items()},
        )
        leaderboards.render_contest(redis_hub.client, contest_id)
    everything = []
    for offset in range(0, 130, 50):
        everything += board(app, f"/api/v1/rounds/{round_id}/leaderboard?offset={offset}")[
            "entries"
        ]
    assert len(everything) == 130
    scores = [(-e["score"], e["time_used_s"]) for e in everything]
    assert scores == sorted(scores)
    middle = board(app, f"/api/v1/rounds/{round_id}/leaderboard?offset=45&limit=60")
    assert middle["entries"] == everything[45:105] and middle["total"] == 130
    past = board(app, f"/api/v1/rounds/{round_id}/leaderboard?offset=500")
    assert past["entries"] == [] and past["total"] == 130
    bad = app.test_client().get(f"/api/v1/rounds/{round_id}/leaderboard?limit=101")
    assert bad.status_code == 422


def test_boards_of_organizer_only_contests_and_unknown_rounds_are_404(
    app: Flask, round_id: int
) -> None:
    assert app.test_client().get("/api/v1/rounds/9999/leaderboard").status_code == 404
    contest_id = contest_of(app, round_id)
    with app.app_context():
        contest = db.session.get(Contest, contest_id)
        assert contest is not None
        contest.board_visibility = BoardVisibility.ORGANIZERS
        leaderboards.settings_changed(contest_id)
        db.session.commit()
        render_pending(redis_hub.client, wait=False)
    for url in (
        f"/api/v1/rounds/{round_id}/leaderboard",
        f"/api/v1/contests/{contest_id}/leaderboard",
        f"/api/v1/rounds/{round_id}/leaderboard/stream",
    ):
        response = app.test_client().get(url)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "board_not_found"


def test_a_new_contest_has_an_empty_board(app: Flask, round_id: int) -> None:
    body = board(app, f"/api/v1/rounds/{round_id}/leaderboard")
    assert body["total"] == 0 and body["entries"] == [] and body["stats"]["submissions"] == 0


def test_reconciler_rebuilds_after_redis_lost_its_data_and_rescores(
    app: Flask, round_id: int
) -> None:
    ids = [sit(app, Player(app, f"c{n}"), round_id, right=n) for n in range(3)]
    settle(app)
    contest_id = contest_of(app, round_id)
    live = stored(app, contest_id)
    with app.app_context():
        client = redis_hub.client
        client.flushdb()  # what a Redis restart without persistence leaves
        # A submitted attempt whose scoring job was lost with the queue:
        attempt = db.session.get(Attempt, ids[0])
        assert attempt is not None
        attempt.status, attempt.score = "submitted", None  # type: ignore[assignment]
        attempt.submitted_at = datetime.now(UTC) - timedelta(minutes=5)
        db.session.commit()
        done = reconcile(client)
        assert done["rebuilt"] == 1
    assert stored(app, contest_id) != live  # the unscored attempt is off the board …
    settle(app)  # … until the re-queued job scores it
    assert stored(app, contest_id) == live
    with app.app_context():
        assert leaderboards.check_contest(redis_hub.client, contest_id) == []


class Killed(BaseException):
    """A worker process dying (SIGKILL) at a chosen point: no handler runs."""


def test_a_worker_killed_between_its_commit_and_its_board_write_is_caught_up(
    app: Flask, round_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attempt is scored in the database but its entry never reached Redis: the reconciler
    sets it from the database once the note is old enough."""
    attempt_id = sit(app, Player(app, "killed"), round_id, right=5)
    contest_id = contest_of(app, round_id)
    with app.app_context():
        client = redis_hub.client
        Queue(queues.SCORING, connection=client).empty()
        client.delete(scoring_service.PENDING)

        def die(*args: Any, **kwargs: Any) -> None:
            raise Killed

        with monkeypatch.context() as patch:
            patch.setattr(leaderboards, "record_attempts", die)
            with pytest.raises(Killed):
                scoring_service.score_attempts([attempt_id])
        db.session.rollback()
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt is not None and attempt.status.value == "scored"  # committed …
        assert client.hlen(leaderboards.raw_key(round_id)) == 0  # … but not on the board
        assert reconcile(client)["recorded"] == 0  # the job may still be on its way
        later = datetime.now(UTC) + timedelta(seconds=31)
        assert reconcile(client, later)["recorded"] == 1
        assert reconcile(client, later)["recorded"] == 0
        render_pending(client, wait=False)
        assert leaderboards.check_contest(client, contest_id) == []
        assert client.zcard(leaderboards.RECORDING) == 0


def test_a_scoring_job_leaves_no_note_behind(app: Flask, round_id: int) -> None:
    sit(app, Player(app, "noted"), round_id, right=2)
    settle(app)
    with app.app_context():
        assert redis_hub.client.zcard(leaderboards.RECORDING) == 0
        assert redis_hub.client.hlen(leaderboards.raw_key(round_id)) == 1


def scoring_jobs(app: Flask) -> list[str]:
    with app.app_context():
        return Queue(queues.SCORING, connection=redis_hub.client).get_job_ids()


def test_submissions_share_one_drain_that_grades_them_in_batches(app: Flask, round_id: int) -> None:
    players = [Player(app, f"d{n}") for n in range(5)]
    ids = [sit(app, player, round_id, right=2 * n) for n, player in enumerate(players)]
    jobs = scoring_jobs(app)
    assert len(jobs) == 1 and jobs[0].startswith("score-drain-")  # not one job per submission
    with app.app_context():
        pending = [int(i) for i in redis_hub.client.lrange(scoring_service.PENDING, 0, -1)]
        assert pending == ids
    settle(app)
    with app.app_context():
        assert redis_hub.client.llen(scoring_service.PENDING) == 0
        # Released: the next one queues.
        assert not redis_hub.client.exists(scoring_service.DRAINING)
        scores = {a.id: a.score for a in db.session.query(Attempt).filter(Attempt.id.in_(ids))}
    expected = {i: p.expected for i, p in zip(ids, players, strict=True)}  # type: ignore[attr-defined]
    assert scores == expected
    body = board(app, f"/api/v1/rounds/{round_id}/leaderboard")
    assert sorted(e["score"] for e in body["entries"]) == sorted(expected.values())
    sit(app, Player(app, "d-late"), round_id, right=1)
    assert len(scoring_jobs(app)) == 1  # the mark was released, so a new drain is queued


def test_a_killed_drain_is_replaced_by_the_reconciler(app: Flask, round_id: int) -> None:
    attempt_id = sit(app, Player(app, "k1"), round_id, right=3)
    with app.app_context():
        client = redis_hub.client
        # A drain killed with -9 left its mark and its queue entry gone, the id still pending:
        Queue(queues.SCORING, connection=client).empty()
        assert reconcile(client)["drain"] == 0  # the mark still holds: nothing queued
        client.delete(scoring_service.DRAINING)  # … until it expires
        assert reconcile(client)["drain"] == 1
        assert reconcile(client)["drain"] == 0  # one drain at a time
    settle(app)
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt is not None and attempt.status.value == "scored"
        assert redis_hub.client.llen(scoring_service.PENDING) == 0


def test_a_failed_batch_goes_to_one_job_per_attempt(
    app: Flask, round_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [sit(app, Player(app, f"f{n}"), round_id, right=n) for n in range(2)]

    def unavailable(_: set[int]) -> None:
        raise RuntimeError("database went away")

    with app.app_context():
        client = redis_hub.client
        Queue(queues.SCORING, connection=client).empty()  # the drain the submissions queued
        with monkeypatch.context() as patch:
            patch.setattr(scoring_service, "versions", unavailable)
            assert scoring.drain_pending("test") == 0  # the drain itself goes on
        assert client.llen(scoring_service.PENDING) == 0
    assert sorted(scoring_jobs(app)) == sorted(f"score-{i}" for i in ids)  # retried one by one
    settle(app)
    with app.app_context():
        statuses = {a.status.value for a in db.session.query(Attempt).filter(Attempt.id.in_(ids))}
    assert statuses == {"scored"}


def test_a_voided_attempt_lost_with_a_killed_drain_is_still_graded(
    app: Flask, round_id: int
) -> None:
    attempt_id = sit(app, Player(app, "v1"), round_id, right=4)
    with app.app_context():
        client = redis_hub.client
        # Voided by the integrity rule, then its id died with a drain killed mid-batch:
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt is not None
        attempt.status = "void"  # type: ignore[assignment]
        attempt.submitted_at = datetime.now(UTC) - timedelta(minutes=5)
        db.session.commit()
        client.delete(scoring_service.PENDING)
        Queue(queues.SCORING, connection=client).empty()
        reconcile(client)
    settle(app)
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt is not None and attempt.status.value == "void"
        assert attempt.score is not None  # graded for the organizers' review, ranked nowhere


def test_a_submission_stands_when_redis_is_unreachable(
    app: Flask, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    down = make_app(tmp_path / "down", "redis://127.0.0.1:9/0")  # nothing listens on port 9
    try:
        with down.app_context(), caplog.at_level("WARNING"):
            scoring_service.request_scoring([41, 42])  # the caller's commit stands: no exception
        assert "scoring of 2 attempt(s) not queued" in caplog.text
    finally:
        with down.app_context():
            redis_hub.close(down)
            db.engine.dispose()


def test_the_render_pause_follows_the_renders_cpu_time_not_its_waits(
    app: Flask, round_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    contest_id = contest_of(app, round_id)
    real_render = leaderboards.render_contest

    def render_on_a_busy_machine(*args: Any) -> bool:
        time.sleep(0.3)  # waiting for a core (or Redis) costs no CPU
        return real_render(*args)

    monkeypatch.setattr(leaderboards, "render_contest", render_on_a_busy_machine)
    with app.app_context():
        client = redis_hub.client
        leaderboards.mark_dirty(client, contest_id)
        began = time.monotonic()
        assert render_pending(client, wait=False) == 1
        assert time.monotonic() - began >= 0.3
        took = float(client.get(f"lb:render-took:{contest_id}") or -1)
    assert 0 <= took < 0.25  # the CPU it used, so the next pause is not 4 × 0.3 s


def test_a_renderer_whose_lock_expired_leaves_the_next_renderers_lock_alone(
    app: Flask, round_id: int, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    contest_id = contest_of(app, round_id)
    name = f"lb:render-lock:{contest_id}"
    real_render = leaderboards.render_contest
    taken_over: list[Any] = []

    def slow_render(client: Any, *args: Any) -> bool:
        deadline = time.monotonic() + 5
        while client.exists(name) and time.monotonic() < deadline:
            time.sleep(0.01)  # slower than the lock's life: Redis lets the lock expire
        second = client.lock(name, timeout=30)  # another worker's renderer takes it
        assert second.acquire(blocking=False)
        taken_over.append(second)
        return real_render(client, *args)

    monkeypatch.setattr(boards, "LOCK_MS", 100)
    monkeypatch.setattr(leaderboards, "render_contest", slow_render)
    with app.app_context(), caplog.at_level("WARNING"):
        client = redis_hub.client
        leaderboards.mark_dirty(client, contest_id)
        assert render_pending(client, wait=False) == 1
        [second] = taken_over
        assert second.owned()  # the first renderer's release did not delete it
        assert 0 < client.pttl(name) <= 30_000
        second.release()
    assert f"render lock of contest {contest_id} lost" in caplog.text


def test_openapi_documents_the_board_operations(app: Flask) -> None:
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    operations = {
        op["operationId"]
        for path in spec["paths"].values()
        for op in path.values()
        if isinstance(op, dict) and "operationId" in op
    }
    assert {
        "getRoundLeaderboard",
        "getContestLeaderboard",
        "getOrganizationLeaderboard",
        "streamRoundLeaderboard",
    } <= operations
    stream = spec["paths"]["/api/v1/rounds/{round_id}/leaderboard/stream"]["get"]
    assert "text/event-stream" in json.dumps(stream)


def test_organizers_see_live_standings_and_reveal_from_the_admin_pages(
    app: Flask, round_id: int
) -> None:
    sit(app, Player(app, "before"), round_id, right=4)
    settle(app)
    with app.app_context():
        round_ = db.session.get(Round, round_id)
        assert round_ is not None
        round_.freeze_at = datetime.now(UTC)
        leaderboards.settings_changed(round_.contest_id)
        db.session.commit()
    sit(app, Player(app, "after"), round_id, right=9)
    settle(app)
    with app.app_context():
        add_user("host", Role.ORGANIZER)
    organizer = app.test_client()
    api_login(organizer, "host", PASSWORD)
    page = organizer.get(f"/admin/rounds/{round_id}/standings")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "after 名" in text and "before 名" in text  # full names, both entries
    assert "封榜" in text and "1 / 2" not in text
    assert 'data-confirm="现在揭榜' in text  # the reveal asks first: it cannot be taken back
    assert board(app, f"/api/v1/rounds/{round_id}/leaderboard")["total"] == 1
    token = csrf_token(organizer)
    assert organizer.post(f"/admin/rounds/{round_id}/reveal").status_code == 403  # no CSRF
    done = organizer.post(f"/admin/rounds/{round_id}/reveal", data={"csrf_token": token})
    assert done.status_code == 302
    with app.app_context():
        render_pending(redis_hub.client, wait=False)
    assert board(app, f"/api/v1/rounds/{round_id}/leaderboard")["total"] == 2
    contestant = app.test_client()
    api_login(contestant, "after", PASSWORD)
    assert contestant.get(f"/admin/rounds/{round_id}/standings").status_code == 403


def test_turning_boards_organizer_only_hides_them_at_once(app: Flask, round_id: int) -> None:
    sit(app, Player(app, "seen"), round_id, right=1)
    settle(app)
    contest_id = contest_of(app, round_id)
    assert app.test_client().get(f"/api/v1/rounds/{round_id}/leaderboard").status_code == 200
    with app.app_context():
        from contest.services import contests as contest_service

        contest = db.session.get(Contest, contest_id)
        assert contest is not None
        contest_service.update_contest(contest, {"board_visibility": BoardVisibility.ORGANIZERS})
        db.session.commit()  # no renderer runs here: the commit itself hides the boards
    for url in (
        f"/api/v1/rounds/{round_id}/leaderboard",
        f"/api/v1/contests/{contest_id}/leaderboard",
        f"/api/v1/contests/{contest_id}/organizations/leaderboard",
    ):
        assert app.test_client().get(url).status_code == 404, url


def test_entry_ids_are_stable_opaque_and_differ_between_contests(app: Flask) -> None:
    with app.app_context():
        bank = published_bank()
        one = paper_round(bank, attempts_allowed=0, contest_title="甲赛").id
        two = paper_round(bank, attempts_allowed=0, contest_title="乙赛").id
    me = Player(app, "idtest")
    sit(app, me, one, right=1)
    sit(app, me, two, right=1)
    settle(app)
    first = board(app, f"/api/v1/rounds/{one}/leaderboard")["entries"][0]["id"]
    sit(app, Player(app, "other"), one, right=10)
    settle(app)
    entries = board(app, f"/api/v1/rounds/{one}/leaderboard")["entries"]
    assert entries[1]["id"] == first and entries[0]["id"] != first  # moved down, same id
    with app.app_context():
        user_id = db.session.scalars(db.select(User.id).filter_by(username="idtest")).one()
    assert first != str(user_id) and len(first) == 12 and int(first, 16) >= 0
    assert board(app, f"/api/v1/rounds/{two}/leaderboard")["entries"][0]["id"] != first


def test_bad_board_queries_are_422(app: Flask, round_id: int) -> None:
    client = app.test_client()
    for query in ("offset=-1", "limit=0", "limit=abc", "view=secret"):
        response = client.get(f"/api/v1/rounds/{round_id}/leaderboard?{query}")
        assert response.status_code == 422, query
        assert response.get_json()["error"]["code"]
    assert client.get(f"/api/v1/rounds/{round_id}/leaderboard/stream?limit=500").status_code == 422


def test_a_start_alone_brings_the_contestant_count_up_to_date(app: Flask, round_id: int) -> None:
    sit(app, Player(app, "alpha"), round_id, right=2)
    settle(app)
    url = f"/api/v1/rounds/{round_id}/leaderboard"
    assert board(app, url)["stats"]["contestants"] == 1
    Player(app, "beta").call("POST", f"/api/v1/rounds/{round_id}/attempts")  # starts, no more
    with app.app_context():
        assert render_pending(redis_hub.client, wait=False) == 1
    assert board(app, url)["stats"]["contestants"] == 2
