"""Contestant pages show a round's times in the site's time zone (Beijing), with its name,
whatever time zone the phone is set to."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask
from playwright.sync_api import Browser, expect

from tests.support import browser as browser_support
from tests.support.browser import BROWSER_MARKS, CONTESTANT, PHONE, log_in, new_page, path_is
from tests.support.contests import paper_round, published_bank

browser = browser_support.browser
live_app = browser_support.live_app
live_server = browser_support.live_server

pytestmark = BROWSER_MARKS

OPENS = datetime(2026, 1, 1, 1, 0, tzinfo=UTC)  # 09:00 in Beijing
CLOSES = datetime(2030, 1, 1, 17, 30, tzinfo=UTC)  # 01:30 the next day in Beijing


def test_a_phone_in_utc_sees_beijing_times(
    browser: Browser, live_server: str, live_app: Flask
) -> None:
    with live_app.app_context():
        round_id = paper_round(published_bank(), opens_at=OPENS, closes_at=CLOSES).id
    with new_page(browser, live_server, **PHONE, timezone_id="UTC") as page:
        assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "UTC"
        log_in(page, CONTESTANT)
        expect(page).to_have_url(path_is("/"))
        home = page.locator(f'[data-round-id="{round_id}"]')
        page.wait_for_load_state("load")  # scripts have run
        expect(home.locator("time").first).to_have_text("2026-01-01 09:00")
        expect(home.locator("time").last).to_have_text("2030-01-02 01:30")
        expect(home.get_by_test_id("time-zone")).to_have_text("（北京时间）")

        page.goto(f"/rounds/{round_id}")
        rules = page.get_by_test_id("rules")
        page.wait_for_load_state("load")
        expect(rules.locator("time").first).to_have_text("2026-01-01 09:00")
        expect(rules.locator("time").last).to_have_text("2030-01-02 01:30")
        expect(rules.get_by_test_id("time-zone")).to_have_text("（北京时间）")
