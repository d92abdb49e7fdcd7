"""End-to-end checks in a real browser: the system Chromium driven by Playwright.

Each test gets its own app served by a threaded Werkzeug server on a free port, its own database
(a SQLite file, or the CI PostgreSQL from ``CONTEST_DATABASE_URL``) and a fresh browser context.
The interface is Chinese by default, so the Chinese strings below are those of the zh_CN catalog.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.support import browser as browser_support
from tests.support.browser import BROWSER_MARKS, CONTESTANT, ORGANIZER, log_in, path_is

# The fixtures these tests use (pytest looks for fixtures among a module's attributes).
browser = browser_support.browser
live_app = browser_support.live_app
live_server = browser_support.live_server
phone = browser_support.phone
desktop = browser_support.desktop

MIN_TARGET = 44  # px: the smallest comfortable touch target

pytestmark = BROWSER_MARKS


def test_contestant_logs_in_switches_language_and_logs_out(phone: Page) -> None:
    page = phone
    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", level=1)).to_have_text("登录")

    log_in(page, CONTESTANT)
    expect(page).to_have_url(path_is("/"))
    heading = page.get_by_test_id("home-heading")
    expect(heading).to_have_text("欢迎，demo01 名")
    expect(page.get_by_role("button", name=re.compile("退出"))).to_be_visible()
    fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert fits, "the contestant home scrolls sideways at 375 px"

    page.get_by_test_id("lang-en").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(path_is("/"))
    expect(heading).to_have_text("Welcome, demo01 名")
    nav = page.get_by_role("navigation", name="Main navigation")
    expect(nav.get_by_test_id("lang-zh_CN")).to_have_text("中文")

    nav.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(path_is("/login"))
    expect(page.get_by_role("status")).to_have_text("You have logged out.")
    expect(page.get_by_role("button", name="Log in", exact=True)).to_be_visible()


def test_organizer_dashboard_in_both_languages(desktop: Page) -> None:
    page = desktop
    log_in(page, ORGANIZER)
    expect(page).to_have_url(path_is("/admin/"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    heading = page.get_by_test_id("home-heading")
    expect(heading).to_have_text("组织者控制台")

    page.get_by_test_id("lang-en").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(path_is("/admin/"))
    expect(heading).to_have_text("Organizer dashboard")

    nav = page.get_by_role("navigation", name="Main navigation")
    nav.get_by_role("link", name="Users", exact=True).click()
    expect(page).to_have_url(path_is("/admin/users"))
    expect(page.get_by_role("cell", name=CONTESTANT, exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name="demo01 名", exact=True)).to_be_visible()


def test_wrong_password_shows_an_error_and_stays_on_login(phone: Page) -> None:
    page = phone
    log_in(page, CONTESTANT, "not-the-password")
    expect(page).to_have_url(path_is("/login"))
    expect(page.get_by_role("alert")).to_have_text("用户名或密码错误。")
    expect(page.get_by_label("密码")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("用户名")).to_have_value(CONTESTANT)


def test_contestant_gets_403_page_for_admin(phone: Page) -> None:
    page = phone
    log_in(page, CONTESTANT)
    expect(page).to_have_url(path_is("/"))
    response = page.goto("/admin/")
    assert response is not None
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("403")
    expect(page.get_by_role("alert")).to_have_text("您无权执行此操作。")


def test_login_page_targets_are_named_and_large_enough_on_a_phone(phone: Page) -> None:
    page = phone
    page.goto("/login")
    for field in (page.get_by_label("用户名"), page.get_by_label("密码")):
        expect(field).to_be_visible()
    selector = "a, button, select, textarea, input:not([type=hidden])"
    interactive = page.locator(selector).filter(visible=True)
    count = interactive.count()
    assert count >= 5  # brand, login link, language switch, two inputs, submit
    for index in range(count):
        element = interactive.nth(index)
        expect(element).to_have_accessible_name(re.compile(r"\S"))
        box = element.bounding_box()
        assert box is not None
        label = element.evaluate("e => e.outerHTML.slice(0, 80)")
        assert box["height"] >= MIN_TARGET, f"{label} is {box['height']} px tall"
    fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert fits, "the login page scrolls sideways at 375 px"
    page.screenshot(path="/tmp/login-phone.png", full_page=True)
