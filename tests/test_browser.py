"""End-to-end checks in a real browser: the system Chromium driven by Playwright.

Each test gets its own app served by a threaded Werkzeug server on a free port, its own database
(a SQLite file, or the CI PostgreSQL from ``CONTEST_DATABASE_URL``) and a fresh browser context.
The interface is Chinese by default, so the Chinese strings below are those of the zh_CN catalog.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from werkzeug.serving import make_server

from contest.extensions import db, redis_hub
from contest.models import Organization, Role
from tests.conftest import PASSWORD, add_user, make_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE: dict[str, Any] = {
    "viewport": {"width": 375, "height": 667},
    "is_mobile": True,
    "has_touch": True,
}
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}}
MIN_TARGET = 44  # px: the smallest comfortable touch target

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Chromium not installed at /usr/bin/chromium; CI installs it with "
        "apt-get install chromium",
    ),
]

CONTESTANT = "demo01"
ORGANIZER = "organizer"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live_server(tmp_path: Path, redis_url: str) -> Iterator[str]:
    """Serve a fresh app with seeded users on 127.0.0.1; yield its base URL."""
    app = make_app(tmp_path, redis_url)
    with app.app_context():
        db.drop_all()  # a shared PostgreSQL may hold tables from an interrupted run
        db.create_all()
        redis_hub.client.flushdb()  # login throttling counters live in Redis
        org = Organization(name="第一中学")
        db.session.add(org)
        db.session.commit()
        add_user(CONTESTANT, Role.CONTESTANT, org.id)
        add_user(ORGANIZER, Role.ORGANIZER)
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with app.app_context():
            db.session.remove()
            db.drop_all()
            redis_hub.client.flushdb()
            redis_hub.close(app)
            db.engine.dispose()


@contextmanager
def _page(browser: Browser, live_server: str, **options: Any) -> Iterator[Page]:
    """A page in a fresh browser context (no cookies), closed afterwards."""
    context = browser.new_context(base_url=live_server, **options)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def phone(browser: Browser, live_server: str) -> Iterator[Page]:
    """A phone-sized page (375×667, touch); the server outlives its context."""
    with _page(browser, live_server, **PHONE) as page:
        yield page


@pytest.fixture
def desktop(browser: Browser, live_server: str) -> Iterator[Page]:
    with _page(browser, live_server, **DESKTOP) as page:
        yield page


def log_in(page: Page, username: str, password: str = PASSWORD) -> None:
    """Fill the login page (in Chinese, the default) and submit it."""
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()


def path_is(path: str) -> re.Pattern[str]:
    return re.compile(r"^https?://[^/]+" + re.escape(path) + r"$")


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
