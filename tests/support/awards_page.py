"""The organizer's awards page driven in a real browser: open it, set the tiers, lock them."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.support.browser import path_is


def open_awards(page: Page, contest_id: int) -> None:
    """From the contest's admin page to its awards page."""
    page.goto(f"/admin/contests/{contest_id}")
    page.get_by_test_id("awards-link").click()
    expect(page).to_have_url(path_is(f"/admin/contests/{contest_id}/awards"))


def set_tiers(page: Page, tiers: list[tuple[str, str, str]]) -> None:
    """Fill the row editor with (label, mode, value) rows, empty the others, save."""
    rows = page.get_by_test_id("tier-row")
    for index in range(rows.count()):
        row = rows.nth(index)
        if index < len(tiers):
            label, mode, value = tiers[index]
            row.get_by_label("奖项名称").fill(label)
            row.get_by_label("评定方式").select_option(mode)
            row.get_by_label("数量").fill(value)
        else:
            row.get_by_label("奖项名称").fill("")
    page.get_by_test_id("save-rules").click()


def lock_awards(page: Page) -> None:
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("lock-awards").click()
    expect(page.get_by_test_id("awards-status")).to_contain_text("已锁定")
