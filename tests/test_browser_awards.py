"""An organizer on a phone sets the award tiers of a finished contest, previews them, locks them
and publishes the winners list; a spectator (no login) sees the list with the names masked.

The steps are small functions (:func:`publish_winners`, :func:`finished_contest`; the ones other
flows reuse, :func:`open_awards`, :func:`set_tiers`, :func:`lock_awards`, live in
``tests/support/awards_page.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from contest.extensions import db
from contest.models import ContestStatus
from tests.support import browser as browser_support
from tests.support.awards import contest_with
from tests.support.awards_page import lock_awards, open_awards, set_tiers
from tests.support.browser import BROWSER_MARKS, ORGANIZER, log_in, new_page

browser = browser_support.browser
live_app = browser_support.live_app
live_server = browser_support.live_server

pytestmark = BROWSER_MARKS

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
PEOPLE = [("zsf", "张三丰", 90.0), ("lsi", "李四", 80.0), ("ww", "王五六", 70.0)]


def finished_contest(live_app: Flask, people: list[tuple[str, str, float]] = PEOPLE) -> int:
    """A finished contest with one scored attempt per (username, full name, score)."""
    with live_app.app_context():
        contest_id, _ids = contest_with(people, status=ContestStatus.FINISHED)
        db.session.remove()
        return contest_id


def publish_winners(page: Page, start: str = "2026-05-02", end: str = "2026-05-09") -> None:
    form = page.get_by_test_id("publish-form")
    form.get_by_label("公示开始").fill(start)
    form.get_by_label("公示结束").fill(end)
    form.get_by_label("异议受理").fill("电话 010-12345678")
    page.get_by_test_id("publish-winners").click()
    expect(page.get_by_test_id("winners-link")).to_be_visible()


@pytest.fixture
def organizer_phone(browser: Browser, live_server: str) -> Iterator[Page]:
    with new_page(browser, live_server, **PHONE) as page:
        yield page


def test_organizer_locks_awards_and_the_public_sees_masked_winners(
    browser: Browser, live_server: str, live_app: Flask, organizer_phone: Page
) -> None:
    page = organizer_phone
    contest_id = finished_contest(live_app)
    log_in(page, ORGANIZER)
    open_awards(page, contest_id)
    set_tiers(page, [("一等奖", "count", "1"), ("二等奖", "count", "1")])
    preview = page.get_by_test_id("awards-preview")
    expect(preview.locator("tr", has_text="张三丰")).to_contain_text("一等奖")
    expect(preview.locator("tr", has_text="李四")).to_contain_text("二等奖")
    expect(preview.locator("tr", has_text="王五六")).not_to_contain_text("奖")
    expect(page.get_by_test_id("tier-counts")).to_contain_text("一等奖: 1")
    # The page fits a phone: nothing wider than the screen but the scrolling tables.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1
    lock_awards(page)
    publish_winners(page)
    with new_page(browser, live_server, **PHONE) as spectator:
        spectator.goto(f"/contests/{contest_id}/winners")
        tiers = spectator.get_by_test_id("winners-tier")
        expect(tiers.nth(0)).to_contain_text("张*丰")
        expect(tiers.nth(1)).to_contain_text("李*")
        expect(spectator.get_by_test_id("objection-contact")).to_contain_text("010-12345678")
        html = spectator.content()
        assert "张三丰" not in html and "李四" not in html and "王五六" not in html
        assert spectator.evaluate("document.documentElement.scrollWidth") <= 390 + 1
        spectator.emulate_media(media="print")  # the page prints without the site's menus
        expect(spectator.locator(".topbar")).to_be_hidden()
        expect(tiers.nth(0)).to_be_visible()
