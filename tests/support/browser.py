"""Shared pieces of the browser tests: the system Chromium, a live server, pages, logging in,
and the checks every page passes (no script errors, no sideways scrolling, large touch targets).

The fixtures are plain pytest fixtures; a browser test module imports the ones it uses::

    from tests.support import browser as browser_support

    browser = browser_support.browser
    live_app = browser_support.live_app
    live_server = browser_support.live_server

Each test gets its own app (``live_app``: seeded with an organization, a contestant and an
organizer) served by a threaded Werkzeug server on a free port (``live_server``: its base URL),
its own database (a SQLite file, or the CI PostgreSQL from ``CONTEST_DATABASE_URL``) and a fresh
browser context.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect, sync_playwright
from werkzeug.serving import make_server

from contest.extensions import db, redis_hub
from contest.models import Organization, Role
from tests.conftest import PASSWORD, add_user, make_app, reset_database
from tests.support.contests import paper_round, published_bank

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

# ``pytestmark = BROWSER_MARKS`` in a module: marked ``browser``, skipped without Chromium.
BROWSER_MARKS = [
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
def live_app(tmp_path: Path, redis_url: str) -> Iterator[Flask]:
    """A fresh app with seeded users; open ``with live_app.app_context():`` to use the database.

    Its database is a file that other processes (an RQ worker) can share with the live server.
    """
    app = make_app(tmp_path, redis_url)
    with app.app_context():
        reset_database()  # a shared PostgreSQL may hold tables from an interrupted run
        db.create_all()
        redis_hub.client.flushdb()  # login throttling counters live in Redis
        org = Organization(name="第一中学")
        db.session.add(org)
        db.session.commit()
        add_user(CONTESTANT, Role.CONTESTANT, org.id)
        add_user(ORGANIZER, Role.ADMIN)
        db.session.remove()
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            reset_database()
            redis_hub.client.flushdb()
            redis_hub.close(app)
            db.engine.dispose()


def _static_read_whole(app: Any) -> Any:
    """WSGI middleware for the test server: static files are read into memory and their file
    closed before the first byte is sent. Werkzeug's development server skips closing a
    response whose client went away mid-write (a page navigating on while its favicon is
    sent), and the open file's ResourceWarning would fail whichever test the collector next
    runs in."""

    def serve(environ: dict[str, Any], start_response: Any) -> Any:
        body = app(environ, start_response)
        if not str(environ.get("PATH_INFO", "")).startswith("/static/"):
            return body
        try:
            return [b"".join(body)]
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    return serve


@pytest.fixture
def live_server(live_app: Flask) -> Iterator[str]:
    """Serve ``live_app`` on 127.0.0.1; yield its base URL."""
    server = make_server("127.0.0.1", 0, _static_read_whole(live_app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def start_worker(
    live_app: Flask, redis_url: str, tmp_path: Path
) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """Start ``contest worker --queue imports`` on the live app's database and Redis.

    Started on demand, so that a test can look at an import that is still queued first. Stopped
    (SIGTERM: RQ's warm shutdown) before the live app drops its tables.
    """
    env = {
        "CONTEST_DATABASE_URL": live_app.config["SQLALCHEMY_DATABASE_URI"],
        "CONTEST_REDIS_URL": redis_url,
        "CONTEST_INSTANCE_PATH": live_app.instance_path,
        "CONTEST_SECRET_KEY": "test-secret",
        "PATH": "/usr/bin:/bin",
    }
    log = tmp_path / "worker.log"
    started: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "contest", "worker", "--queue", "imports", "--no-boards"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        started.append(process)
        return process

    yield start
    for process in started:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for process in started:  # stopped by SIGTERM before RQ handles it when a test fails early
        assert process.returncode in (0, -signal.SIGTERM), log.read_text(errors="replace")


@contextmanager
def new_page(browser: Browser, live_server: str, **options: Any) -> Iterator[Page]:
    """A page in a fresh browser context (no cookies), closed afterwards."""
    context = browser.new_context(base_url=live_server, **options)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def phone(browser: Browser, live_server: str) -> Iterator[Page]:
    """A phone-sized page (375×667, touch); the server outlives its context."""
    with new_page(browser, live_server, **PHONE) as page:
        yield page


@pytest.fixture
def desktop(browser: Browser, live_server: str) -> Iterator[Page]:
    """A desktop page (1280×800)."""
    with new_page(browser, live_server, **DESKTOP) as page:
        yield page


def log_in(page: Page, username: str, password: str = PASSWORD) -> None:
    """Fill the login page (in Chinese, the default) and submit it."""
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()


def path_is(path: str) -> re.Pattern[str]:
    """A URL pattern for ``expect(page).to_have_url``: this path (and query) on any host."""
    return re.compile(r"^https?://[^/]+" + re.escape(path) + r"$")


@pytest.fixture
def make_round(live_app: Flask) -> Callable[..., int]:
    """A paper round over a fresh bank of published questions; returns its id."""

    def make(**settings: Any) -> int:
        duration = settings.pop("duration_override", None)
        with live_app.app_context():
            round_ = paper_round(published_bank(), **settings)
            if duration is not None:  # shorter than the organizer pages allow
                round_.duration_s = duration
                db.session.commit()
            return round_.id

    return make


def watch_errors(page: Page) -> list[str]:
    """Uncaught script errors and CSP refusals on the page (failed loads while offline are fine)."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and "Failed to load resource" not in message.text
            else None
        ),
    )
    return errors


MIN_TARGET = 44


def fits_the_screen(page: Page) -> None:
    fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert fits, f"{page.url} scrolls sideways"


def targets_are_large_enough(page: Page, scope: str) -> None:
    controls = page.locator(scope).locator("button, a, input, summary").filter(visible=True)
    for index in range(controls.count()):
        element = controls.nth(index)
        box = element.bounding_box()
        assert box is not None
        if element.evaluate("e => e.type === 'radio' || e.type === 'checkbox'"):
            # The whole label is the target of a radio or checkbox.
            box = element.evaluate(
                "e => { const r = e.closest('label').getBoundingClientRect(); "
                "return {height: r.height, width: r.width}; }"
            )
        label = element.evaluate("e => e.outerHTML.slice(0, 80)")
        expect(element).to_have_accessible_name(re.compile(r"\S"))
        assert box["height"] >= MIN_TARGET, f"{label} is {box['height']} px tall"
        assert box["width"] >= MIN_TARGET, f"{label} is {box['width']} px wide"
