"""Public sign-up in a real browser on a 390×844 phone: a visitor finds 注册 on the contest's
board, signs up, starts and submits a round, and appears on the public board with a masked name
and the chosen unit, while no public response the page received carries the mobile number."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Flask
from playwright.sync_api import Browser, Page, Route, expect

from contest.extensions import db, redis_hub
from contest.models import Contest, Organization, OrganizationKind, Round
from tests.support import browser as browser_support
from tests.support.attempt_page import answer
from tests.support.browser import (
    BROWSER_MARKS,
    ORGANIZER,
    fits_the_screen,
    log_in,
    new_page,
    path_is,
    targets_are_large_enough,
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

PHONE_390: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
}
MOBILE = "13912345678"
PASSWORD = "phone-sign-up-2026"
ATTEMPT_URL = re.compile(r"^https?://[^/]+/attempts/\d+(#q\d+)?$")
RESULT_URL = re.compile(r"^https?://[^/]+/attempts/\d+/result$")
# The caller's own session (getSession names its account): not a public response.
OWN = re.compile(r"/api/v1/session$")


def open_for_signup(app: Flask, round_id: int) -> int:
    """Let the round's contest take sign-ups; 第一中学 (seeded) goes under a district."""
    with app.app_context():
        round_ = db.session.get(Round, round_id)
        assert round_ is not None
        contest = db.session.get(Contest, round_.contest_id)
        assert contest is not None
        district = Organization(name="高新区", kind=OrganizationKind.DISTRICT)
        db.session.add(district)
        db.session.flush()
        school = db.session.scalar(db.select(Organization).filter_by(name="第一中学"))
        assert school is not None
        school.parent_id = district.id
        contest.signup_open = True
        contest.signup_fields = [{"key": "school", "label": "学校/班级", "required": True}]
        contest.signup_notice = "比赛规则：独立作答。\n隐私说明：手机号仅用于联系组织者。"
        db.session.commit()
        return contest.id


def sign_up(page: Page, contest_id: int) -> None:
    """From the contest's board: 注册, fill the form on the phone, submit."""
    page.goto(f"/boards/contests/{contest_id}")
    page.get_by_test_id("signup-link").click()
    expect(page).to_have_url(path_is(f"/contests/{contest_id}/signup"))
    fits_the_screen(page)
    expect(page.locator("#field-unit_other")).to_be_hidden()  # until 其他 is chosen
    page.get_by_label("姓名").fill("王小明")
    page.get_by_label("手机号").fill(MOBILE)
    page.locator("#organization").select_option(label="第一中学")
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_label("确认密码").fill(PASSWORD)
    page.get_by_label("学校/班级").fill("第一中学 初二(3)班")
    expect(page.get_by_test_id("signup-notice")).to_contain_text("隐私说明")
    page.get_by_label(re.compile("我已阅读并同意")).check()
    targets_are_large_enough(page, "[data-testid=signup-form]")
    page.screenshot(path="/tmp/signup-phone.png", full_page=True)
    page.get_by_role("button", name="注册并参赛").click()


def submit_one_answer(page: Page) -> None:
    page.get_by_test_id("start").click()
    expect(page).to_have_url(ATTEMPT_URL)
    expect(page.get_by_test_id("question")).to_have_attribute("aria-busy", "false")
    fits_the_screen(page)
    answer(page)
    page.get_by_test_id("submit").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name=re.compile("交卷|Submit")).click()
    expect(page).to_have_url(RESULT_URL)


class Recorder:
    """Every response the page receives, with its body, read as it passes (an event stream is
    let through unread: it does not end; the stream's snapshot is checked in test_signup)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def __call__(self, route: Route) -> None:
        if "/stream" in route.request.url:
            route.continue_()
            return
        response = route.fetch(max_redirects=0)
        self.seen.append((route.request.url, response.body().decode("utf-8", "replace")))
        route.fulfill(response=response)

    def public(self) -> list[tuple[str, str]]:
        """All but the caller's own session (getSession names its account)."""
        return [(url, text) for url, text in self.seen if not OWN.search(url)]


def test_a_visitor_signs_up_on_a_phone_plays_and_shows_on_the_board_without_the_mobile(
    browser: Browser, live_app: Flask, live_server: str, make_round: Callable[..., int]
) -> None:
    round_id = make_round(attempts_allowed=0)
    contest_id = open_for_signup(live_app, round_id)
    with new_page(browser, live_server, **PHONE_390) as page:
        errors = watch_errors(page)
        recorder = Recorder()
        page.route("**/*", recorder)
        sign_up(page, contest_id)
        expect(page).to_have_url(path_is(f"/rounds/{round_id}"))
        expect(page.get_by_test_id("current-user")).to_have_text("王小明")
        fits_the_screen(page)
        submit_one_answer(page)
        board_link = page.get_by_test_id("board-link")  # the board, from the result on a phone
        expect(board_link).to_be_visible()
        fits_the_screen(page)
        make_worker(live_app, [queues.SCORING]).work(burst=True)
        with live_app.app_context():
            render_pending(redis_hub.client, wait=False)
        board_link.click()
        expect(page).to_have_url(path_is(f"/boards/rounds/{round_id}"))
        rows = page.get_by_test_id("round-board").locator("tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("王*明")
        expect(rows.first).to_contain_text("第一中学")
        fits_the_screen(page)
        page.goto(f"/boards/contests/{contest_id}")
        expect(page.get_by_text("王*明").first).to_be_visible()
        page.screenshot(path="/tmp/signup-board.png", full_page=True)
        checked = recorder.public()
        assert not errors, errors
    boards = [text for url, text in checked if "/boards/" in url]
    assert len(boards) >= 3 and any("王*明" in text for text in boards)  # real bodies, read
    assert any(url.endswith("/signup") for url, _ in checked)
    leaks = [url for url, text in checked if MOBILE in text]
    assert leaks == [], leaks


def test_an_organizer_edits_the_fields_and_creates_a_unit_for_other(
    browser: Browser, live_app: Flask, live_server: str, make_round: Callable[..., int]
) -> None:
    """On a 1440-wide screen: the extra fields as rows of name and 必填, a new one added in an
    empty row; a unit typed under 其他 made into a unit under its district in one action."""
    round_id = make_round(attempts_allowed=0)
    contest_id = open_for_signup(live_app, round_id)
    with new_page(browser, live_server, **PHONE_390) as phone:
        phone.goto(f"/contests/{contest_id}/signup")
        phone.get_by_label("姓名").fill("李小红")
        phone.get_by_label("手机号").fill(MOBILE)
        phone.locator("#organization").select_option(value="other")
        phone.locator("#unit_other").fill("第九中学")
        phone.get_by_label("密码", exact=True).fill(PASSWORD)
        phone.get_by_label("确认密码").fill(PASSWORD)
        phone.get_by_label("学校/班级").fill("初二(3)班")
        phone.get_by_label(re.compile("我已阅读并同意")).check()
        phone.get_by_role("button", name="注册并参赛").click()
        expect(phone).to_have_url(path_is(f"/rounds/{round_id}"))
    with new_page(browser, live_server, viewport={"width": 1440, "height": 900}) as page:
        errors = watch_errors(page)
        log_in(page, ORGANIZER)
        page.goto(f"/admin/contests/{contest_id}/signup")
        editor = page.get_by_test_id("signup-fields")
        expect(editor.locator("#fields-0-label")).to_have_value("学校/班级")
        expect(editor.locator("#fields-0-required")).to_be_checked()
        editor.locator("#fields-1-label").fill("指导教师")
        editor.locator("#fields-1-required").check()
        page.get_by_role("button", name="保存注册设置").click()
        expect(page.get_by_test_id("signup-fields").locator("#fields-1-label")).to_have_value(
            "指导教师"
        )
        waiting = page.get_by_test_id("waiting")
        expect(waiting.locator("select[name=organization_id]")).to_have_value("")
        waiting.get_by_role("button", name="设置单位").click()  # nothing chosen: stopped
        expect(page.get_by_test_id("waiting-count")).to_have_text("1")
        expect(waiting.locator("input[name=new_name]")).to_have_value("第九中学")
        waiting.locator("select[name=parent_id]").select_option(label="高新区")
        page.screenshot(path="/tmp/signup-admin.png", full_page=True)
        waiting.get_by_test_id("create-unit").click()
        expect(page.get_by_test_id("waiting-count")).to_have_text("0")
        expect(page.get_by_test_id("signups")).to_contain_text("第九中学")
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
        assert not errors, errors
    with live_app.app_context():
        contest = db.session.get(Contest, contest_id)
        assert contest is not None
        assert contest.signup_fields == [
            {"key": "school", "label": "学校/班级", "required": True},
            {"key": "field1", "label": "指导教师", "required": True},
        ]
        unit = db.session.scalar(db.select(Organization).filter_by(name="第九中学"))
        assert unit is not None and unit.parent_id is not None
        db.session.remove()
