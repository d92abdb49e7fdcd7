"""The contestant's attempt page driven in a real browser: start an attempt from the home page,
move between questions, answer the test bank's questions right, wait for the save."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from tests.support.browser import CONTESTANT, fits_the_screen, log_in, path_is

ATTEMPT_URL = re.compile(r"^https?://[^/]+/attempts/(\d+)(#q\d+)?$")


# The test bank's keys (tests/support/contests.py), by the options' text.
RIGHT_ORDER = ["三", "一", "二"]


def open_attempt(page: Page, round_id: int, screenshots: str = "") -> int:
    """Log in, go from the home page to the round's lobby and start; returns the attempt id."""
    log_in(page, CONTESTANT)
    expect(page).to_have_url(path_is("/"))
    expect(page.locator(f'[data-round-id="{round_id}"]')).to_be_visible()
    if screenshots:
        fits_the_screen(page)
        page.screenshot(path=f"/tmp/play-home{screenshots}.png", full_page=True)
    page.locator(f'[data-round-id="{round_id}"] h3 a').click()
    expect(page).to_have_url(path_is(f"/rounds/{round_id}"))
    if screenshots:
        fits_the_screen(page)
        page.screenshot(path=f"/tmp/play-lobby{screenshots}.png", full_page=True)
    dialogs: list[str] = []

    def accept(dialog: Any) -> None:  # the only attempt of a round: the page asks first
        dialogs.append(dialog.message)
        dialog.accept()

    only_attempt = page.locator("form[data-confirm]").count() == 1  # set by the server
    page.once("dialog", accept)
    page.get_by_test_id("start").click()
    expect(page).to_have_url(ATTEMPT_URL)
    expect(page.get_by_test_id("question")).to_have_attribute("aria-busy", "false")
    page.remove_listener("dialog", accept)
    assert len(dialogs) == int(only_attempt)
    if only_attempt:
        assert "本轮只能作答一次" in dialogs[0]
    match = ATTEMPT_URL.match(page.url)
    assert match
    return int(match.group(1))


def question(page: Page) -> tuple[int, str]:
    box = page.get_by_test_id("question")
    return int(box.get_attribute("data-position") or 0), box.get_attribute("data-type") or ""


def go_to(page: Page, position: int) -> None:
    """Open question ``position`` from the answer card."""
    card = page.locator("#answer-card")
    if not card.evaluate("d => d.open"):
        card.locator("summary").click()
    page.get_by_test_id("answer-card").locator("li").nth(position - 1).get_by_role("button").click()
    expect(page.get_by_test_id("question")).to_have_attribute("data-position", str(position))


def answer(page: Page) -> str:
    """Answer the question on screen correctly, as a contestant would; returns its type."""
    _, kind = question(page)
    box = page.get_by_test_id("question")
    if kind == "single":
        box.get_by_role("radio", name="乙", exact=True).check()
    elif kind == "multiple":
        box.get_by_role("checkbox", name="甲", exact=True).check()
        box.get_by_role("checkbox", name="丙", exact=True).check()
    elif kind == "true_false":
        box.get_by_role("radio", name=re.compile(r"^(对|True)$")).check()
    elif kind == "fill_blank":
        blank = box.get_by_label(re.compile(r"第 ?1 ?空|Blank 1"))
        blank.fill("6")
        blank.blur()
    else:
        for place, text in enumerate(RIGHT_ORDER):
            texts = box.locator(".order-list li .text").all_inner_texts()
            for _ in range(texts.index(text) - place):
                box.get_by_role("button", name=re.compile(rf"(上移|Move up).*{text}$")).click()
        if box.locator(".keep-order").is_visible():  # already in the right order
            box.locator(".keep-order").click()
        expect(box.locator(".order-list li .text")).to_have_text(RIGHT_ORDER)
    return kind


def expect_saved(page: Page) -> None:
    state = page.get_by_test_id("save-state")
    expect(state).to_have_attribute("data-state", "saved")
    expect(state).to_have_text(re.compile("已保存|Saved"))
