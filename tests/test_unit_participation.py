"""The organization board counts each unit's members: enrolled (from the roster, the
registrations and the organizations taking part), started and submitted, the participation
rate (submitted of enrolled), and lists the units where nobody took part yet (0 of N)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from flask import Flask
from playwright.sync_api import Browser, expect
from sqlalchemy import event

from contest.extensions import db, redis_hub
from contest.models import (
    Contest,
    Organization,
    Registration,
    RegistrationMode,
    Role,
    Round,
    User,
)
from contest.services import contests as contest_service
from contest.services import leaderboards
from contest.services.roster import import_roster
from tests.conftest import add_user
from tests.support import browser as browser_support
from tests.support.boards import board, freeze, settle, sit
from tests.support.browser import BROWSER_MARKS, DESKTOP, new_page, watch_errors
from tests.support.browser import make_round as make_round  # the fixture
from tests.support.contests import paper_round, published_bank
from tests.support.players import Player
from workers.boards import render_pending

browser = browser_support.browser
live_app = browser_support.live_app
live_server = browser_support.live_server


def contest_round(app: Flask, mode: RegistrationMode) -> tuple[int, int]:
    """A published contest in ``mode`` with one open round: (contest id, round id)."""
    with app.app_context():
        round_ = paper_round(published_bank(), attempts_allowed=0)
        contest = db.session.get_one(Contest, round_.contest_id)
        contest.registration_mode = mode
        db.session.commit()
        return contest.id, round_.id


def make_unit(app: Flask, name: str) -> int:
    with app.app_context():
        unit = Organization(name=name)
        db.session.add(unit)
        db.session.commit()
        return unit.id


def add_members(app: Flask, unit_id: int, prefix: str, count: int) -> None:
    with app.app_context():
        for n in range(count):
            add_user(f"{prefix}{n}", Role.CONTESTANT, unit_id)


def enroll(app: Flask, contest_id: int, *unit_ids: int) -> None:
    with app.app_context():
        contest_service.enroll_organizations(contest_id, unit_ids, now=datetime.now(UTC))
        db.session.commit()
        render_pending(redis_hub.client, wait=False)


def units(app: Flask, contest_id: int) -> dict[str, dict[str, Any]]:
    body = board(app, f"/api/v1/contests/{contest_id}/organizations/leaderboard")
    return {row["name"]: row for row in body["organizations"]}


def row_text(page: str, unit: str) -> str:
    """The text of the unit's row on a rendered board page (tags dropped)."""
    match = re.search(rf'<tr data-key="{re.escape(unit)}".*?</tr>', page, re.S)
    assert match is not None, f"no row for {unit}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(0)))


def test_ten_enrolled_and_three_submitted_shows_3_of_10(app: Flask) -> None:
    contest_id, round_id = contest_round(app, RegistrationMode.ROSTER)
    first, second = make_unit(app, "第一中学"), make_unit(app, "第二中学")
    sitters = [Player(app, f"s{n}", organization_id=first) for n in range(4)]
    add_members(app, first, "m", 6)  # 10 members in all
    add_members(app, second, "q", 5)
    enroll(app, contest_id, first, second)
    for n, player in enumerate(sitters[:3]):
        sit(app, player, round_id, right=4 + n)
    sitters[3].call("POST", f"/api/v1/rounds/{round_id}/attempts")  # starts only
    settle(app)
    scores = sorted(p.expected for p in sitters[:3])  # type: ignore[attr-defined]

    rows = units(app, contest_id)
    assert rows["第一中学"] == {
        "rank": 1,
        "name": "第一中学",
        "enrolled": 10,
        "started": 4,
        "submitted": 3,
        "participants": 3,
        "registered": 10,
        "participation_rate": 0.3,
        "mean_score": round(sum(scores) / 3, 2),
        "top_score": scores[-1],
    }
    assert rows["第二中学"] | {"rank": 0} == {
        "rank": 0,
        "name": "第二中学",
        "enrolled": 5,
        "started": 0,
        "submitted": 0,
        "participants": 0,
        "registered": 5,
        "participation_rate": 0.0,
        "mean_score": None,
        "top_score": None,
    }

    page = app.test_client().get(f"/boards/contests/{contest_id}").get_data(as_text=True)
    assert "10 人中 3 人交卷（30%） · 4 人已开始" in row_text(page, "第一中学")
    assert "5 人中 0 人交卷（0%） · 0 人已开始" in row_text(page, "第二中学")
    english = app.test_client()
    english.set_cookie("lang", "en")
    page = english.get(f"/boards/contests/{contest_id}").get_data(as_text=True)
    assert "3 of 10 submitted (30%) · 4 started" in row_text(page, "第一中学")
    assert "0 of 5 submitted (0%) · 0 started" in row_text(page, "第二中学")


def test_units_taking_part_in_an_open_contest_count_every_member(app: Flask) -> None:
    """Members of the organizations taking part are expected before they begin; others count
    from their registration (an open contest registers them as they start)."""
    contest_id, round_id = contest_round(app, RegistrationMode.OPEN)
    taking_part, other = make_unit(app, "东区"), make_unit(app, "西区")
    with app.app_context():
        contest = db.session.get_one(Contest, contest_id)
        contest_service.update_contest(
            contest, {"organizations": [db.session.get_one(Organization, taking_part)]}
        )
        db.session.commit()
    east = Player(app, "east", organization_id=taking_part)
    add_members(app, taking_part, "e", 3)
    west = Player(app, "west", organization_id=other)
    add_members(app, other, "w", 3)  # not taking part: only who registers counts
    sit(app, east, round_id, right=5)
    sit(app, west, round_id, right=5)
    settle(app)
    rows = units(app, contest_id)
    assert (rows["东区"]["submitted"], rows["东区"]["enrolled"]) == (1, 4)
    assert rows["东区"]["participation_rate"] == 0.25
    assert (rows["西区"]["submitted"], rows["西区"]["enrolled"]) == (1, 1)


def test_a_sign_up_contestant_counts_in_the_unit_they_chose(app: Flask) -> None:
    contest_id, round_id = contest_round(app, RegistrationMode.OPEN)
    chosen = make_unit(app, "高新区")
    make_unit(app, "不相干单位")
    player = Player(app, "newcomer", organization_id=chosen)
    with app.app_context():
        user = db.session.scalars(db.select(User).filter_by(username="newcomer")).one()
        db.session.add(
            Registration(
                contest_id=contest_id,
                user_id=user.id,
                source="signup",
                registered_at=datetime.now(UTC),
                consented_at=datetime.now(UTC),
            )
        )
        leaderboards.render_after_commit(contest_id)
        db.session.commit()
        render_pending(redis_hub.client, wait=False)
    rows = units(app, contest_id)
    assert set(rows) == {"高新区"}
    assert (rows["高新区"]["enrolled"], rows["高新区"]["started"]) == (1, 0)
    assert rows["高新区"]["submitted"] == 0 and rows["高新区"]["participation_rate"] == 0.0
    sit(app, player, round_id, right=3)
    settle(app)
    row = units(app, contest_id)["高新区"]
    assert (row["enrolled"], row["started"], row["submitted"]) == (1, 1, 1)


def test_registering_renders_the_organization_board(app: Flask) -> None:
    contest_id, _round_id = contest_round(app, RegistrationMode.INVITE)
    unit = make_unit(app, "第三中学")
    with app.app_context():
        contest = db.session.get_one(Contest, contest_id)
        contest.invite_code = "join-us"
        db.session.commit()
        render_pending(redis_hub.client, wait=False)
    assert units(app, contest_id) == {}
    player = Player(app, "invited", organization_id=unit)
    response = player.call(
        "POST", f"/api/v1/contests/{contest_id}/registration", {"invite_code": "join-us"}
    )
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    with app.app_context():
        render_pending(redis_hub.client, wait=False)
    row = units(app, contest_id)["第三中学"]
    assert (row["enrolled"], row["started"], row["submitted"]) == (1, 0, 0)


def test_a_roster_import_renders_the_boards_of_the_contests_its_units_take_part_in(
    app: Flask,
) -> None:
    contest_id, _round_id = contest_round(app, RegistrationMode.OPEN)
    unit = make_unit(app, "第四中学")
    add_members(app, unit, "old", 2)
    with app.app_context():
        contest = db.session.get_one(Contest, contest_id)
        contest.organizations.append(db.session.get_one(Organization, unit))
        db.session.commit()
        render_pending(redis_hub.client, wait=False)
    assert units(app, contest_id)["第四中学"]["enrolled"] == 2
    roster = "单位,用户名,姓名,密码\n" + "".join(
        f"第四中学,new{n},新生{n},pass-word-{n:04d}\n" for n in range(3)
    )
    with app.app_context():
        import_roster("名单.csv", roster.encode())
        render_pending(redis_hub.client, wait=False)
    assert units(app, contest_id)["第四中学"]["enrolled"] == 5


def test_a_freeze_holds_the_unit_counts(app: Flask) -> None:
    contest_id, round_id = contest_round(app, RegistrationMode.OPEN)
    unit = make_unit(app, "南区")
    early = [Player(app, f"early{n}", organization_id=unit) for n in range(2)]
    for player in early:
        sit(app, player, round_id, right=4)
    settle(app)
    freeze(app, round_id, datetime.now(UTC))
    url = f"/api/v1/contests/{contest_id}/organizations/leaderboard"
    before = board(app, url)
    assert before["frozen"] is True
    row = before["organizations"][0]
    assert (row["enrolled"], row["started"], row["submitted"]) == (2, 2, 2)
    # After the freeze: newcomers register and start (one submits), an early one sits again.
    sit(app, Player(app, "late0", organization_id=unit), round_id, right=10)
    Player(app, "late1", organization_id=unit).call("POST", f"/api/v1/rounds/{round_id}/attempts")
    sit(app, early[0], round_id, right=10)
    settle(app)
    after = board(app, url)
    assert after == before  # the same counts and the same version
    with app.app_context():
        leaderboards.reveal(round_id, datetime.now(UTC))
        render_pending(redis_hub.client, wait=False)
    row = board(app, url)["organizations"][0]
    assert (row["enrolled"], row["started"], row["submitted"]) == (4, 4, 3)


def test_a_freeze_holds_the_members_of_units_taking_part(app: Flask) -> None:
    """A member who registers after the freeze was expected before it (no change); a member
    added after the freeze shows once revealed; a deactivated member is not expected."""
    contest_id, round_id = contest_round(app, RegistrationMode.OPEN)
    unit = make_unit(app, "中区")
    with app.app_context():
        contest = db.session.get_one(Contest, contest_id)
        contest_service.update_contest(
            contest, {"organizations": [db.session.get_one(Organization, unit)]}
        )
        db.session.commit()
    first = Player(app, "first", organization_id=unit)
    later = Player(app, "later", organization_id=unit)
    add_members(app, unit, "c", 2)
    with app.app_context():
        gone = db.session.scalars(db.select(User).filter_by(username="c1")).one()
        gone.active = False
        db.session.commit()
    sit(app, first, round_id, right=4)
    settle(app)
    freeze(app, round_id, datetime.now(UTC))
    url = f"/api/v1/contests/{contest_id}/organizations/leaderboard"
    before = board(app, url)
    row = before["organizations"][0]
    assert (row["enrolled"], row["started"], row["submitted"]) == (3, 1, 1)
    sit(app, later, round_id, right=4)  # registers now
    add_members(app, unit, "new", 1)
    settle(app)
    assert board(app, url) == before
    with app.app_context():
        leaderboards.reveal(round_id, datetime.now(UTC))
        render_pending(redis_hub.client, wait=False)
    row = board(app, url)["organizations"][0]
    assert (row["enrolled"], row["started"], row["submitted"]) == (4, 2, 2)


def test_the_organization_board_names_no_contestant(app: Flask) -> None:
    contest_id, round_id = contest_round(app, RegistrationMode.OPEN)
    unit = make_unit(app, "北区")
    sit(app, Player(app, "zhangsan", organization_id=unit), round_id, right=2)
    settle(app)
    text = (
        app.test_client()
        .get(f"/api/v1/contests/{contest_id}/organizations/leaderboard")
        .get_data(as_text=True)
    )
    assert "zhangsan" not in text and "北区" in text
    entries = board(app, f"/api/v1/rounds/{round_id}/leaderboard")["entries"]
    assert entries[0]["name"] == leaderboards.mask_name("zhangsan 名")


def statements(app: Flask, contest_id: int) -> int:
    """How many SQL statements loading a contest's board data takes."""
    count = 0

    def counted(*_args: Any) -> None:
        nonlocal count
        count += 1

    with app.app_context():
        db.session.get_one(Contest, contest_id)  # not counted: the render holds it already
        event.listen(db.engine, "before_cursor_execute", counted)
        try:
            data = leaderboards.load_contest_data(contest_id, {})
            assert data is not None
        finally:
            event.remove(db.engine, "before_cursor_execute", counted)
    return count


def test_unit_counts_take_the_same_few_queries_for_any_number_of_units(app: Flask) -> None:
    contest_id, _round_id = contest_round(app, RegistrationMode.ROSTER)
    first = make_unit(app, "一号单位")
    add_members(app, first, "a", 2)
    enroll(app, contest_id, first)
    few = statements(app, contest_id)
    many = [make_unit(app, f"单位{n}") for n in range(12)]
    for n, unit in enumerate(many):
        add_members(app, unit, f"u{n}x", 2)
    enroll(app, contest_id, *many)
    assert statements(app, contest_id) == few <= 7
    assert len(units(app, contest_id)) == 13


@BROWSER_MARKS[0]  # browser
@BROWSER_MARKS[1]  # skipped without Chromium
def test_the_board_page_rewrites_a_unit_line_when_it_changes(
    browser: Browser, live_app: Flask, live_server: str, make_round: Callable[..., int]
) -> None:
    """board.js writes the same line as the page: a submission moves 0 of 2 to 1 of 2."""
    round_id = make_round(attempts_allowed=0)
    with live_app.app_context():
        contest_id = db.session.get_one(Round, round_id).contest_id
    unit = make_unit(live_app, "第九中学")
    add_members(live_app, unit, "n", 2)
    enroll(live_app, contest_id, unit)
    with new_page(browser, live_server, **DESKTOP) as page:
        errors = watch_errors(page)
        page.goto(f"/boards/contests/{contest_id}")
        line = page.get_by_test_id("organizations-board").locator("tbody tr .org")
        expect(line).to_have_text("2 人中 0 人交卷（0%） · 0 人已开始")
        page.evaluate("window.__notReloaded = true")
        with live_app.app_context():
            member = db.session.scalars(db.select(User).filter_by(username="n0")).one()
            entry = leaderboards.RawEntry(
                member.id, member.display_name, unit, "第九中学", Decimal(12), 300,
                datetime.now(UTC), 1,
            )  # fmt: skip
            redis_hub.client.hset(
                leaderboards.raw_key(round_id), mapping={str(member.id): entry.to_json()}
            )
            leaderboards.render_contest(redis_hub.client, contest_id)
        expect(line).to_have_text("2 人中 1 人交卷（50%） · 1 人已开始")
        assert page.evaluate("window.__notReloaded === true"), "the board page reloaded"
        assert not errors, errors
