"""Preparing a live final in a real browser: an organizer on a phone-width screen and on a desktop
fills the set-up page (two teams, a 抢答 segment whose buzz-only field shows), creates the round,
finds it on the contest page, opens it again to edit (prefilled), saves, and opens the host
console, then deletes it after a confirmation; nothing scrolls sideways, no script fails."""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from contest.extensions import db
from contest.models import ContestStatus, LiveSegment, LiveTeam, Role, Round
from contest.services import contests as contest_service
from tests.conftest import add_user
from tests.support import browser as browser_support
from tests.support.browser import BROWSER_MARKS, ORGANIZER, log_in, new_page, watch_errors
from tests.support.contests import published_bank

browser = browser_support.browser
live_app = browser_support.live_app
live_server = browser_support.live_server

pytestmark = BROWSER_MARKS

SIZES = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1440, "height": 900}},
}


@pytest.mark.parametrize("size", sorted(SIZES))
def test_an_organizer_prepares_a_live_final_on_the_page(
    browser: Browser, live_app: Flask, live_server: str, size: str
) -> None:
    with live_app.app_context():
        published_bank()
        contest_id = contest_service.create_contest("决赛", status=ContestStatus.PUBLISHED).id
        db.session.commit()
        for name in ("p1", "p2", "p3"):
            add_user(name, Role.CONTESTANT)
    with new_page(browser, live_server, **SIZES[size]) as page:
        errors = watch_errors(page)
        log_in(page, ORGANIZER)
        page.goto(f"/admin/contests/{contest_id}")
        page.get_by_test_id("add-live-round").click()
        form = page.get_by_test_id("live-round-form")
        expect(form).to_be_visible()
        page.locator('[name="teams-0-name"]').fill("红队")
        page.locator('[name="teams-0-members"]').fill("p1, p2")
        page.locator('[name="teams-1-name"]').fill("蓝队")
        page.locator('[name="teams-1-members"]').fill("p3")
        page.locator('[name="segments-0-kind"]').select_option("buzz")
        pass_on = page.locator('[name="segments-0-pass_on_wrong"]')
        expect(pass_on).to_be_visible()  # a 抢答 field, shown for 抢答 only
        pass_on.check()
        page.locator('[name="segments-0-count"]').fill("2")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= SIZES[size]["viewport"]["width"]  # the form does not scroll sideways
        page.get_by_test_id("create-live-round").click()
        rounds = page.get_by_test_id("live-round")
        expect(rounds).to_have_count(1)
        expect(page.get_by_test_id("live-teams")).to_contain_text("2")
        # Edit before the day: the form comes back filled in; saved as it is.
        page.get_by_test_id("edit-live-round").click()
        expect(page.locator('[name="teams-0-members"]')).to_have_value("p1, p2")
        page.get_by_test_id("save-live-round").click()
        expect(rounds).to_have_count(1)
        page.get_by_test_id("live-host-link").click()
        expect(page.locator("#connection")).to_have_attribute("data-state", "live")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= SIZES[size]["viewport"]["width"]
        with live_app.app_context():
            round_ = db.session.scalars(select(Round).where(Round.contest_id == contest_id)).one()
            teams = db.session.scalars(
                select(LiveTeam).where(LiveTeam.round_id == round_.id).order_by(LiveTeam.position)
            ).all()
            segment = db.session.scalars(
                select(LiveSegment).where(LiveSegment.round_id == round_.id)
            ).one()
            assert round_.mode == "live"
            assert [t.name for t in teams] == ["红队", "蓝队"]
            assert (segment.kind.value, len(segment.questions), segment.options) == (
                "buzz",
                2,
                {"pass_on_wrong": True},
            )
        # Not started yet: it can still be deleted, after a confirmation.
        page.goto(f"/admin/contests/{contest_id}")
        page.get_by_test_id("delete-live-round").click()
        page.get_by_test_id("confirm-delete-live-round").click()
        expect(page.get_by_test_id("live-round")).to_have_count(0)
        assert errors == []
    with live_app.app_context():
        assert db.session.scalars(select(Round).where(Round.contest_id == contest_id)).all() == []
