"""Account pages in a real browser (Chromium via Playwright, 1440×900, Chinese): an admin uploads
a roster with a broken row (nothing imported, the row named), then the fixed one (preview,
confirmation, progress, the one download of the passwords) through a real RQ worker process; a
contestant changes their password from the header; the login page shows the help text."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from openpyxl import load_workbook
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from contest.extensions import db
from contest.models import User
from contest.services.accounts import verify_password
from tests.support import browser as browser_support
from tests.support.browser import BROWSER_MARKS, CONTESTANT, ORGANIZER, log_in, new_page, path_is

browser = browser_support.browser
live_app = browser_support.live_app
live_server = browser_support.live_server
start_worker = browser_support.start_worker

pytestmark = BROWSER_MARKS

WIDE = {"viewport": {"width": 1440, "height": 900}}
TIMEOUT_MS = 120_000
STATUS_URL = re.compile(r"^https?://[^/]+/admin/users/imports/\d+$")
GOOD = "单位,用户名,姓名,密码\n" + "".join(
    f"{'第一中学' if i % 2 else '高新区实验小学'},web{i:03d},选手{i},\n" for i in range(1, 41)
)
BROKEN = GOOD.replace("web007,选手7,", "web 007,选手7,")


@pytest.fixture
def wide(browser: Browser, live_server: str) -> Iterator[Page]:
    with new_page(browser, live_server, **WIDE) as page:
        yield page


def upload(page: Page, name: str, content: bytes) -> None:
    page.goto("/admin/users")
    page.locator("#import-roster").click()
    expect(page).to_have_url(path_is("/admin/users/import"))
    page.get_by_label("名单文件（CSV 或 XLSX）").set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": content}]
    )
    page.locator("#roster-upload").click()
    expect(page).to_have_url(STATUS_URL)


def no_horizontal_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_an_admin_imports_a_roster_and_downloads_its_passwords_once(
    wide: Page, live_app: Flask, start_worker: Callable[[], object]
) -> None:
    page = wide
    log_in(page, ORGANIZER)
    expect(page).to_have_url(path_is("/admin/"))
    start_worker()

    upload(page, "名单.csv", BROKEN.encode())
    box = page.locator("#roster-import")
    expect(box).to_have_attribute("data-status", "failed", timeout=TIMEOUT_MS)
    expect(page.locator("#roster-problems")).to_contain_text(re.compile(r"第\s*8\s*行"))
    expect(page.locator("#roster-problems")).to_contain_text("web 007")
    expect(page.locator("#roster-confirm")).to_have_count(0)
    with live_app.app_context():
        assert db.session.scalar(select(User.id).where(User.username == "web001")) is None
        db.session.remove()

    upload(page, "名单.csv", GOOD.encode())
    expect(box).to_have_attribute("data-status", "ready", timeout=TIMEOUT_MS)
    expect(page.get_by_test_id("count-rows")).to_have_text("40")
    expect(page.get_by_test_id("count-new-units")).to_have_text("1")
    expect(page.get_by_test_id("count-existing-units")).to_have_text("1")
    expect(page.locator("#roster-preview tbody tr")).to_have_count(10)
    no_horizontal_scroll(page)
    page.screenshot(path="/tmp/roster-preview.png", full_page=True)

    page.locator("#roster-confirm").click()
    expect(box).to_have_attribute("data-status", "succeeded", timeout=TIMEOUT_MS)
    expect(page.get_by_test_id("summary")).to_contain_text("40")
    with page.expect_download() as info:
        page.locator("#download-passwords").click()
    assert info.value.suggested_filename.endswith("-passwords.xlsx")
    book = load_workbook(io.BytesIO(Path(info.value.path()).read_bytes()))
    assert book.sheetnames == ["第一中学", "高新区实验小学"]
    rows = [r for s in book.worksheets for r in list(s.iter_rows(values_only=True))[1:]]
    assert len(rows) == 40
    with live_app.app_context():
        name, username, _, password = rows[0]
        user = db.session.scalar(select(User).where(User.username == username))
        assert user is not None and user.display_name == name
        assert verify_password(user.password_hash, password)
        db.session.remove()

    # Once sent, the box says so at once, without a reload
    expect(page.locator("#passwords-downloaded")).to_have_text(re.compile("已下载"))
    expect(page.locator("#download-passwords")).to_have_count(0)
    page.reload()
    expect(page.locator("#passwords-gone")).to_be_visible()
    expect(page.locator("#download-passwords")).to_have_count(0)
    page.screenshot(path="/tmp/roster-done.png", full_page=True)

    page.goto("/admin/users?q=web01")
    expect(page.locator("table[data-testid=user-list] tbody tr")).to_have_count(10)
    no_horizontal_scroll(page)
    page.screenshot(path="/tmp/users-list.png", full_page=True)
    page.locator("table[data-testid=user-list] tbody a").first.click()
    page.locator("#reset-password").click()
    expect(page.locator("#new-password")).to_have_text(re.compile(r"^\S{12}$"))
    page.screenshot(path="/tmp/users-reset.png", full_page=True)


def test_a_contestant_changes_the_password_from_the_header(
    browser: Browser, live_server: str, live_app: Flask
) -> None:
    with new_page(browser, live_server, **browser_support.PHONE) as page:
        log_in(page, CONTESTANT)
        page.locator("#change-password-link").click()
        expect(page).to_have_url(path_is("/account/password"))
        page.get_by_label("当前密码").fill(browser_support.PASSWORD)
        page.get_by_label("新密码", exact=True).fill("a-brand-new-pass")
        page.get_by_label("再次输入新密码").fill("a-brand-new-pass")
        page.get_by_role("button", name="修改密码").click()
        expect(page.locator(".flash")).to_contain_text("密码已修改")
        expect(page.get_by_test_id("current-user")).to_be_visible()
    with live_app.app_context():
        user = db.session.scalar(select(User).where(User.username == CONTESTANT))
        assert user is not None and verify_password(user.password_hash, "a-brand-new-pass")
        db.session.remove()


def test_the_login_page_shows_whom_to_ask(wide: Page, browser: Browser, live_server: str) -> None:
    log_in(wide, ORGANIZER)
    wide.goto("/admin/users")
    wide.locator("#password-help").fill("请联系本单位联络人 <b>王老师</b>")
    wide.locator("#password-help-form button[type=submit]").click()
    with new_page(browser, live_server, **browser_support.PHONE) as page:
        page.goto("/login")
        help_box = page.get_by_test_id("password-help")
        expect(help_box).to_contain_text("请联系本单位联络人 <b>王老师</b>")
        expect(help_box.locator("b")).to_have_count(0)
