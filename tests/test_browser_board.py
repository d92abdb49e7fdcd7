"""The spectators' pages in a real browser: a board that moves live, and the big screen.

A contestant (phone) submits through the real attempt page while a spectator (desktop) watches
the round's board; a real RQ worker scores the attempt and the renderer publishes the board, and
the spectator's page shows the new entry without reloading. The big screen fits 1920×1080
without scrolling, shows the QR code and rotates between boards.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from flask import Flask
from playwright.sync_api import Browser, Page, expect

from contest.extensions import db, redis_hub
from contest.models import Round
from contest.services import leaderboards
from tests.support import browser as browser_support
from tests.support.attempt_page import answer, open_attempt
from tests.support.boards import freeze, seed_board
from tests.support.browser import (
    BROWSER_MARKS,
    DESKTOP,
    PHONE,
    fits_the_screen,
    new_page,
    path_is,
    watch_errors,
)
from tests.support.browser import make_round as make_round  # the fixture
from workers import queues
from workers.boards import render_pending
from workers.runner import make_worker

browser = browser_support.browser
live_app = browser_support.live_app
live_server = browser_support.live_server

pytestmark = BROWSER_MARKS

SCREEN = {"viewport": {"width": 1920, "height": 1080}}
# Masked names keep the first and last character: distinct surnames keep rows apart.
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫"
LONG_ORG = "网络安全学院附属实验中学"
RESULT_URL = re.compile(r"^https?://[^/]+/attempts/\d+/result$")


def contest_of(app: Flask, round_id: int) -> int:
    with app.app_context():
        round_ = db.session.get(Round, round_id)
        assert round_ is not None
        return round_.contest_id


def submit_one_answer(page: Page, round_id: int) -> None:
    """The contestant's flow: start, answer the first question, submit through the dialog."""
    open_attempt(page, round_id)
    answer(page)
    page.get_by_test_id("submit").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name=re.compile("交卷|Submit")).click()
    expect(page).to_have_url(RESULT_URL)


def test_the_open_board_shows_a_new_entry_without_a_reload(
    browser: Browser, live_app: Flask, live_server: str, make_round: Callable[..., int]
) -> None:
    round_id = make_round(attempts_allowed=0)
    with (
        new_page(browser, live_server, **DESKTOP) as spectator,
        new_page(browser, live_server, **PHONE) as contestant,
    ):
        errors = watch_errors(spectator)
        board_url = f"/boards/rounds/{round_id}"
        spectator.goto(board_url)
        state = spectator.get_by_test_id("live-state")
        expect(state).to_have_attribute("data-state", "live")
        expect(state).to_have_text(re.compile("实时|Live"))
        rows = spectator.get_by_test_id("round-board").locator("tbody tr")
        expect(rows).to_have_count(0)
        expect(spectator.get_by_test_id("round-board").locator("[data-empty]")).to_be_visible()
        spectator.evaluate("window.__notReloaded = true")

        submit_one_answer(contestant, round_id)
        make_worker(live_app, [queues.SCORING]).work(burst=True)
        with live_app.app_context():
            assert render_pending(redis_hub.client, wait=False) == 1

        expect(rows).to_have_count(1)
        expect(rows.first.locator(".name")).to_have_text("d******名")  # demo01 名, masked
        expect(rows.first.locator(".rank-mark")).to_have_text("1")
        board = spectator.get_by_test_id("round-board")
        expect(board.locator('[data-stat="submissions"]')).to_have_text("1")
        expect(board.locator("[data-empty]")).to_be_hidden()
        overall = spectator.get_by_test_id("overall-board").locator("tbody tr")
        expect(overall).to_have_count(1)  # polled soon after the streamed change
        organizations = spectator.get_by_test_id("organizations-board").locator("tbody tr")
        expect(organizations.first.locator(".name")).to_have_text("第一中学")
        assert spectator.evaluate("window.__notReloaded === true"), "the board page reloaded"
        expect(spectator).to_have_url(path_is(board_url))
        expect(state).to_have_attribute("data-state", "live")
        spectator.screenshot(path="/tmp/board-desktop.png", full_page=True)
        assert not errors, errors


def test_a_frozen_board_says_so_and_goes_live_when_revealed(
    browser: Browser, live_app: Flask, live_server: str, make_round: Callable[..., int]
) -> None:
    round_id = make_round()
    seed_board(live_app, round_id, [("赵小一", "第一中学", 10, 300)])
    freeze(live_app, round_id, datetime.now(UTC))
    with new_page(browser, live_server, **DESKTOP) as page:
        errors = watch_errors(page)
        page.goto(f"/boards/rounds/{round_id}")
        state = page.get_by_test_id("live-state")
        expect(state).to_have_attribute("data-state", "live_frozen")
        expect(state).to_have_text(re.compile("封榜|frozen"))
        title = page.locator("#round-title [data-mode-label]")
        expect(title).to_have_text(re.compile("封榜|frozen"))
        expect(page.get_by_test_id("round-board").get_by_test_id("frozen")).to_be_visible()
        with live_app.app_context():
            leaderboards.reveal(round_id, datetime.now(UTC))
            render_pending(redis_hub.client, wait=False)
        expect(state).to_have_attribute("data-state", "live")  # streamed, no reload
        expect(title).to_have_text(re.compile("实时|live"))
        expect(page.get_by_test_id("round-board").get_by_test_id("frozen")).to_be_hidden()
        assert not errors, errors


def test_the_phone_board_fits_and_follows_rank_changes(
    browser: Browser, live_app: Flask, live_server: str, make_round: Callable[..., int]
) -> None:
    round_id = make_round()
    seed_board(
        live_app,
        round_id,
        [
            (f"{SURNAMES[n]}小{n}", LONG_ORG if n % 2 else "第一中学", 20 - n, 300 + n)
            for n in range(12)
        ],
    )
    with new_page(browser, live_server, **PHONE) as page:
        errors = watch_errors(page)
        page.goto(f"/boards/rounds/{round_id}")
        expect(page.get_by_test_id("live-state")).to_have_attribute("data-state", "live")
        fits_the_screen(page)
        page.screenshot(path="/tmp/board-phone.png")
        page.screenshot(path="/tmp/board-phone-full.png", full_page=True)
        rows = page.get_by_test_id("round-board").locator("tbody tr")
        expect(rows).to_have_count(12)
        last_key = rows.nth(11).get_attribute("data-key")
        page.evaluate("window.__notReloaded = true")
        # The last contestant's best attempt now tops the board: the same row moves up.
        seed_board(live_app, round_id, [(f"{SURNAMES[11]}小11", LONG_ORG, 30, 100)], first=11)
        expect(rows).to_have_count(12)
        expect(rows.first).to_have_attribute("data-key", last_key or "")
        expect(rows.first.locator(".score")).to_have_text("30")
        assert page.evaluate("window.__notReloaded === true")
        assert not errors, errors


def test_the_board_polls_when_the_stream_is_unavailable(
    browser: Browser, live_app: Flask, live_server: str, make_round: Callable[..., int]
) -> None:
    round_id = make_round()
    with new_page(browser, live_server, **DESKTOP) as page:
        page.add_init_script("delete window.EventSource")
        page.goto(f"/boards/rounds/{round_id}")
        state = page.get_by_test_id("live-state")
        expect(state).to_have_attribute("data-state", "polling")
        seed_board(live_app, round_id, [("王五", "东区", 9, 60)])
        expect(page.get_by_test_id("round-board").locator("tbody tr")).to_have_count(1)
        expect(page.get_by_test_id("round-board").locator(".name")).to_have_text("王*")


def test_the_big_screen_fits_shows_the_qr_code_and_rotates(
    browser: Browser, live_app: Flask, live_server: str, make_round: Callable[..., int]
) -> None:
    round_id = make_round()
    seed_board(
        live_app,
        round_id,
        [(f"参赛选手{n:02d}", f"第{n % 4 + 1}区网络安全学院附属实验中学", 100 - n * 3, 600 + n)
         for n in range(14)],
    )  # fmt: skip
    contest_id = contest_of(live_app, round_id)
    with new_page(browser, live_server, **SCREEN) as page:
        errors = watch_errors(page)
        page.goto(f"/boards/contests/{contest_id}/screen?rotate=2")
        screen = page.get_by_test_id("screen")
        expect(page.get_by_test_id("live-state")).to_have_attribute("data-state", "live")
        expect(screen).to_have_attribute("data-slide-index", "0")
        qr = page.locator("svg.qr-code")
        expect(qr).to_be_visible()
        box = qr.bounding_box()
        assert box is not None and box["width"] >= 300 and box["height"] >= 300
        expect(page.get_by_test_id("join-url")).to_have_text(
            re.compile(rf"^http://127\.0\.0\.1:\d+/rounds/{round_id}$")
        )
        slide = page.locator("[data-slide]:not([hidden])")
        expect(slide.locator("tbody tr")).to_have_count(10)
        no_scrolling(page)
        page.screenshot(path="/tmp/board-screen.png", animations="disabled")
        expect(screen).to_have_attribute("data-slide-index", "1", timeout=5000)
        expect(page.locator('[data-dot="1"]')).to_have_attribute("aria-current", "true")
        expect(slide).to_have_attribute("data-board", "contest")
        no_scrolling(page)
        page.screenshot(path="/tmp/board-screen-overall.png", animations="disabled")
        expect(screen).to_have_attribute("data-slide-index", "2", timeout=5000)
        expect(slide).to_have_attribute("data-board", "organizations")
        no_scrolling(page)
        page.screenshot(path="/tmp/board-screen-organizations.png", animations="disabled")
        expect(screen).to_have_attribute("data-slide-index", "0", timeout=5000)
        assert not errors, errors


def no_scrolling(page: Page) -> None:
    sizes = page.evaluate(
        "() => { const s = document.scrollingElement; return [s.scrollHeight, s.scrollWidth, "
        "window.innerHeight, window.innerWidth]; }"
    )
    assert sizes[0] <= sizes[2] and sizes[1] <= sizes[3], f"the screen scrolls: {sizes}"


def test_round_labels_follow_the_close_without_a_reload(
    browser: Browser, live_app: Flask, live_server: str, make_round: Callable[..., int]
) -> None:
    """At the close the tab's "in progress" becomes "ended" and the round board's "live" becomes
    "final"; spectators do not reload a projected page."""
    round_id = make_round(closes_at=datetime.now(UTC) + timedelta(seconds=4))
    seed_board(live_app, round_id, [("赵小一", "第一中学", 10, 300)])
    with new_page(browser, live_server, **DESKTOP) as page:
        errors = watch_errors(page)
        page.goto(f"/boards/rounds/{round_id}")
        tab = page.locator(".board-tabs [aria-current=page] .tab-status")
        title = page.locator("#round-title [data-mode-label]")
        expect(tab).to_have_text("进行中")
        expect(title).to_have_text("· 实时")
        expect(tab).to_have_text("已结束", timeout=15_000)
        expect(title).to_have_text("· 最终结果")
        page.reload()  # the server says the same
        expect(tab).to_have_text("已结束")
        expect(title).to_have_text("· 最终结果")
        assert not errors, errors
