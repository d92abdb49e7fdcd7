"""An organizer runs a contest from the browser (Chromium via Playwright, 1440×900, Chinese), with
a contestant on a phone beside them: a 200-row roster imported from the page (a broken row first:
nothing imported, the row named; then fixed: 200 accounts and the passwords file), a contest
created as a draft (hidden from the contestant, its pages 404), published (it shows), the
contestant answering while the monitoring list follows without a reload, the contestant's paper,
five more minutes for that contestant (their timer follows), then finish and archive."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from openpyxl import load_workbook
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select

from contest.extensions import db
from contest.models import Contest, ContestStatus, Role, User
from tests.support import browser as browser_support
from tests.support.attempt_page import ATTEMPT_URL, answer, expect_saved, go_to
from tests.support.browser import BROWSER_MARKS, CONTESTANT, ORGANIZER, log_in, new_page, path_is
from tests.support.contests import published_bank

browser = browser_support.browser
live_app = browser_support.live_app
live_server = browser_support.live_server
start_worker = browser_support.start_worker

pytestmark = BROWSER_MARKS

WIDE = {"viewport": {"width": 1440, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
TIMEOUT_MS = 120_000
UNITS = ("第一中学", "高新区实验小学", "滨海区政务服务中心", "市网信办")
ROSTER = "单位,用户名,姓名,密码\n" + "".join(
    f"{UNITS[i % len(UNITS)]},r{i:03d},选手{i},\n" for i in range(1, 201)
)
# Row 58 of the file (header = row 1) holds an impossible username.
BROKEN = ROSTER.replace("r057,选手57,", "r 057,选手57,")
TITLE = "2027年网络安全知识竞赛"
CONTEST_URL = re.compile(r"^https?://[^/]+/admin/contests/(\d+)$")


@pytest.fixture
def organizer(browser: Browser, live_server: str) -> Iterator[Page]:
    with new_page(browser, live_server, **WIDE) as page:
        yield page


@pytest.fixture
def contestant(browser: Browser, live_server: str) -> Iterator[Page]:
    with new_page(browser, live_server, **PHONE) as page:
        yield page


@pytest.fixture
def bank_name(live_app: Flask) -> str:
    with live_app.app_context():
        bank_id = published_bank()
        from question_bank.models import Bank

        name = db.session.get_one(Bank, bank_id).name
        db.session.remove()
        return name


def import_roster(page: Page, content: str) -> None:
    page.goto("/admin/users")
    page.locator("#import-roster").click()
    page.get_by_label("名单文件（CSV 或 XLSX）").set_input_files(
        files=[{"name": "名单.csv", "mimeType": "text/csv", "buffer": content.encode()}]
    )
    page.locator("#roster-upload").click()


def roster_step(page: Page, live_app: Flask) -> None:
    import_roster(page, BROKEN)
    box = page.locator("#roster-import")
    expect(box).to_have_attribute("data-status", "failed", timeout=TIMEOUT_MS)
    expect(page.locator("#roster-problems")).to_contain_text(re.compile(r"第\s*58\s*行"))
    with live_app.app_context():
        assert db.session.scalar(select(func.count()).where(User.username.like("r%"))) == 0
        db.session.remove()

    import_roster(page, ROSTER)
    expect(box).to_have_attribute("data-status", "ready", timeout=TIMEOUT_MS)
    expect(page.get_by_test_id("count-rows")).to_have_text("200")
    page.locator("#roster-confirm").click()
    expect(box).to_have_attribute("data-status", "succeeded", timeout=TIMEOUT_MS)
    with page.expect_download() as info:
        page.locator("#download-passwords").click()
    book = load_workbook(io.BytesIO(Path(info.value.path()).read_bytes()))
    assert sorted(book.sheetnames) == sorted(UNITS)
    assert sum(sheet.max_row - 1 for sheet in book.worksheets) == 200
    with live_app.app_context():
        count = select(func.count()).where(User.username.like("r%"), User.role == Role.CONTESTANT)
        assert db.session.scalar(count) == 200
        db.session.remove()


def create_draft(page: Page, bank_name: str) -> tuple[int, int]:
    """A contest and its round through the organizer pages; returns their ids."""
    page.goto("/admin/contests/new")
    page.locator('[name="title"]').fill(TITLE)
    page.locator('button.primary[type="submit"]').click()
    expect(page).to_have_url(CONTEST_URL)
    match = CONTEST_URL.match(page.url)
    assert match
    contest_id = int(match.group(1))
    expect(page.get_by_test_id("contest-status")).to_have_attribute("data-status", "draft")

    page.get_by_role("link", name="添加轮次").click()
    page.locator('[name="title"]').fill("初赛")
    page.locator('[name="bank_id"]').select_option(label=bank_name)
    page.locator('button[value="reload"]').click()  # the bank's categories for the blueprint
    page.locator('[name="title"]').fill("初赛")
    page.locator('[name="duration_min"]').fill("30")
    page.locator('[name="attempts_allowed"]').fill("1")
    page.locator('[name="review_policy"]').select_option("after_submit")
    page.locator('[name="blueprint-0-type"]').select_option("single")
    page.locator('[name="blueprint-0-count"]').fill("3")
    page.locator('[name="blueprint-0-points"]').fill("2")
    page.locator('button.primary[value="save"]').click()
    expect(page).to_have_url(path_is(f"/admin/contests/{contest_id}"))
    round_link = page.get_by_test_id("rounds").get_by_role("link", name="初赛")
    round_id = int((round_link.get_attribute("href") or "").rstrip("/").split("/")[-2])
    return contest_id, round_id


def test_an_organizer_runs_a_contest_from_the_browser(
    organizer: Page,
    contestant: Page,
    live_app: Flask,
    bank_name: str,
    start_worker: Callable[[], object],
) -> None:
    admin = organizer
    admin.on("dialog", lambda dialog: dialog.accept())  # publish, finish and archive ask first
    log_in(admin, ORGANIZER)
    expect(admin).to_have_url(path_is("/admin/"))
    start_worker()
    roster_step(admin, live_app)

    contest_id, round_id = create_draft(admin, bank_name)
    log_in(contestant, CONTESTANT)
    expect(contestant).to_have_url(path_is("/"))
    expect(contestant.locator(f'[data-round-id="{round_id}"]')).to_have_count(0)
    for url in (f"/rounds/{round_id}", f"/boards/contests/{contest_id}"):
        response = contestant.goto(url)
        assert response is not None and response.status == 404, url

    admin.get_by_test_id("publish").click()
    expect(admin.get_by_test_id("contest-status")).to_have_attribute("data-status", "published")
    contestant.goto("/")
    contestant.locator(f'[data-round-id="{round_id}"] h3 a').click()
    contestant.once("dialog", lambda dialog: dialog.accept())  # the round's only attempt
    contestant.get_by_test_id("start").click()
    expect(contestant).to_have_url(ATTEMPT_URL)
    expect(contestant.get_by_test_id("question")).to_have_attribute("aria-busy", "false")
    countdown = contestant.locator("#countdown")
    expect(countdown).to_have_text(re.compile(r"^(29:[0-5]\d|30:00)$"))

    admin.goto(f"/admin/rounds/{round_id}/attempts")
    row = admin.locator("tr[data-attempt]")
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("answered")).to_have_text(re.compile(r"^0 / 3$"))
    admin.evaluate("window.sameDocument = true")
    answer(contestant)
    expect_saved(contestant)
    # No reload: the list's script brings the save in.
    expect(row.get_by_test_id("answered")).to_have_text(re.compile(r"^1 / 3$"), timeout=30_000)
    assert admin.evaluate("window.sameDocument === true")

    row.get_by_role("link").first.click()
    expect(admin).to_have_url(re.compile(r"/admin/attempts/\d+$"))
    expect(admin.get_by_test_id("paper-item")).to_have_count(3)
    extend = admin.get_by_test_id("extend-form")
    extend.get_by_label("延长分钟数").fill("5")
    extend.get_by_label(re.compile("^原因")).fill("手机没电，换机继续")
    extend.get_by_role("button").click()
    expect(admin.get_by_test_id("deadline")).to_contain_text("已延时 5 分钟")

    go_to(contestant, 2)
    answer(contestant)
    expect_saved(contestant)
    expect(countdown).to_have_text(re.compile(r"^3[45]:[0-5]\d$"))
    contestant.get_by_test_id("submit").click()
    contestant.get_by_role("dialog").get_by_role("button", name="交卷").click()
    expect(contestant).to_have_url(re.compile(r"/attempts/\d+/result$"))

    admin.goto(f"/admin/contests/{contest_id}")
    admin.get_by_test_id("finish").click()
    expect(admin.get_by_test_id("contest-status")).to_have_attribute("data-status", "finished")
    admin.get_by_test_id("archive").click()
    expect(admin.get_by_test_id("contest-status")).to_have_attribute("data-status", "archived")
    admin.goto("/admin/contests")
    expect(admin.get_by_role("link", name=TITLE)).to_have_count(0)
    contestant.goto("/")
    expect(contestant.locator(f'[data-round-id="{round_id}"]')).to_have_count(0)
    with live_app.app_context():
        contest = db.session.get_one(Contest, contest_id)
        assert contest.status is ContestStatus.ARCHIVED
        db.session.remove()
