"""The contestant's attempt in a real browser (Chromium via Playwright), phone-sized first.

Answers survive a reload, answers made offline are sent when the connection returns, the deadline
submits and shows the result, leaving the page too often ends the attempt, and the basic flow
works at desktop width. Visible strings are matched as Chinese or English (the catalogue may not
have translated the newest ones yet); states are read from data attributes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from contest.extensions import db
from contest.models import Attempt, AttemptItem, AttemptStatus, Round
from contest.services import contests as contest_service
from tests.support import browser as browser_support
from tests.support.attempt_page import (
    ATTEMPT_URL,
    RIGHT_ORDER,
    answer,
    expect_saved,
    go_to,
    open_attempt,
    question,
)
from tests.support.browser import (
    BROWSER_MARKS,
    CONTESTANT,
    PHONE,
    fits_the_screen,
    log_in,
    new_page,
    targets_are_large_enough,
    watch_errors,
)
from tests.support.browser import make_round as make_round  # the fixture
from workers import queues
from workers.runner import make_worker

browser = browser_support.browser
live_app = browser_support.live_app
live_server = browser_support.live_server
phone = browser_support.phone
desktop = browser_support.desktop

pytestmark = BROWSER_MARKS

RESULT_URL = re.compile(r"^https?://[^/]+/attempts/\d+/result$")


def expect_answered(page: Page, kind: str) -> None:
    """The question on screen shows the answer :func:`answer` gives."""
    box = page.get_by_test_id("question")
    if kind == "single":
        expect(box.get_by_role("radio", name="乙", exact=True)).to_be_checked()
        expect(box.get_by_role("radio", name="甲", exact=True)).not_to_be_checked()
    elif kind == "multiple":
        for text, checked in (("甲", True), ("乙", False), ("丙", True), ("丁", False)):
            expect(box.get_by_role("checkbox", name=text, exact=True)).to_be_checked(
                checked=checked
            )
    elif kind == "true_false":
        expect(box.get_by_role("radio", name=re.compile(r"^(对|True)$"))).to_be_checked()
    elif kind == "fill_blank":
        expect(box.get_by_label(re.compile(r"第 ?1 ?空|Blank 1"))).to_have_value("6")
    else:
        expect(box.locator(".order-list li .text")).to_have_text(RIGHT_ORDER)
        expect(box.locator(".keep-order")).to_be_hidden()


def card_cell(page: Page, position: int) -> Any:
    return page.get_by_test_id("answer-card").locator("li").nth(position - 1).locator("button")


def saved_answers(app: Flask, attempt_id: int) -> dict[int, Any]:
    with app.app_context():
        rows = db.session.execute(
            select(AttemptItem.position, AttemptItem.answer).where(
                AttemptItem.attempt_id == attempt_id
            )
        ).all()
        return {position: stored for position, stored in rows}


def queued_saves(page: Page, attempt_id: int) -> dict[str, Any]:
    """The page's unsent saves (its localStorage queue), by position."""
    stored = page.evaluate(
        "key => JSON.parse(localStorage.getItem(key) || '{}')", f"netsec.attempt.{attempt_id}"
    )
    return stored.get("pending", {})


def test_answers_survive_a_reload_and_submit_shows_the_review(
    phone: Page, live_app: Flask, make_round: Callable[..., int]
) -> None:
    page = phone
    errors = watch_errors(page)
    round_id = make_round(integrity_threshold=3, integrity_action="submit")
    attempt_id = open_attempt(page, round_id, screenshots="-phone")
    expect(page.get_by_test_id("progress")).to_have_text(re.compile(r"1.*10"))
    expect(page.get_by_test_id("countdown")).to_have_text(re.compile(r"^(9|10):\d\d$"))
    kinds: dict[int, str] = {}
    for position in range(1, 6):
        assert question(page)[0] == position
        kinds[position] = answer(page)
        if position == 2:
            page.locator("#flag").click()
            expect(page.locator("#flag")).to_have_attribute("aria-pressed", "true")
        page.locator("#next").click()
    expect_saved(page)
    fits_the_screen(page)
    page.locator("#answer-card summary").click()
    targets_are_large_enough(page, "#attempt")
    page.screenshot(path="/tmp/play-attempt-card.png", full_page=True)
    page.locator("#answer-card summary").click()
    go_to(page, 1)
    page.screenshot(path="/tmp/play-attempt.png")

    page.reload()
    expect(page.get_by_test_id("question")).to_have_attribute("aria-busy", "false")
    page.locator("#answer-card summary").click()
    for position in range(1, 11):
        cell = card_cell(page, position)
        state = "answered" if position in kinds else "unanswered"
        expect(cell).to_have_attribute("data-state", state)
        expect(cell).to_have_attribute("data-flagged", "true" if position == 2 else "false")
        name = r"(已答|已作答|answered)" if position in kinds else r"(未答|未作答|not answered)"
        expect(cell).to_have_accessible_name(re.compile(name))
    expect(page.get_by_test_id("card-count")).to_have_text(re.compile(r"5.*10"))
    for position, kind in kinds.items():
        go_to(page, position)
        expect_answered(page, kind)
    go_to(page, 2)
    expect(page.locator("#flag")).to_have_attribute("aria-pressed", "true")
    page.set_viewport_size({"width": 360, "height": 640})  # the narrowest phones
    for position in range(1, 11):
        go_to(page, position)
        fits_the_screen(page)
        targets_are_large_enough(page, "#question")
        page.screenshot(path=f"/tmp/play-360-{question(page)[1]}.png")
    page.set_viewport_size(PHONE["viewport"])
    stored = saved_answers(live_app, attempt_id)
    assert all(stored[p] is not None for p in kinds)
    assert all(stored[p] is None for p in range(6, 11))

    page.get_by_test_id("submit").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_test_id("unanswered")).to_have_text(re.compile(r"6.*7.*8.*9.*10"))
    page.screenshot(path="/tmp/play-confirm.png")
    dialog.get_by_role("button", name=re.compile("交卷|Submit")).click()
    expect(page).to_have_url(RESULT_URL)
    expect(page.get_by_test_id("score")).to_have_text(re.compile("评分中|Scoring"))
    page.screenshot(path="/tmp/play-result-pending.png", full_page=True)
    make_worker(live_app, [queues.SCORING]).work(burst=True)
    # The page polls getAttemptResult and shows the score once the worker has written it.
    expect(page.get_by_test_id("score")).to_have_text(re.compile(r"/\s*20"), timeout=15_000)
    expect(page.get_by_test_id("review-item")).to_have_count(10)
    with live_app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt is not None and attempt.status is AttemptStatus.SCORED
        score = float(attempt.score or 0)
    expect(page.get_by_test_id("score")).to_contain_text(f"{score:g}")
    fits_the_screen(page)
    page.screenshot(path="/tmp/play-result.png", full_page=True)
    assert not errors, errors


def test_answers_made_offline_are_sent_when_the_connection_returns(
    phone: Page, live_app: Flask, make_round: Callable[..., int]
) -> None:
    page = phone
    errors = watch_errors(page)
    attempt_id = open_attempt(page, make_round())
    answer(page)
    expect_saved(page)
    page.context.set_offline(True)
    kinds = {}
    for position in (2, 3, 4):
        page.locator("#next").click()
        expect(page.get_by_test_id("question")).to_have_attribute("data-position", str(position))
        kinds[position] = answer(page)
    state = page.get_by_test_id("save-state")
    expect(state).to_have_attribute("data-state", "offline")
    expect(state).to_have_text(re.compile("离线|Offline"))
    expect(card_cell(page, 3)).to_have_attribute("data-state", "answered")
    page.screenshot(path="/tmp/play-offline.png")
    assert all(saved_answers(live_app, attempt_id)[p] is None for p in kinds)

    page.context.set_offline(False)
    expect_saved(page)
    stored = saved_answers(live_app, attempt_id)
    assert all(stored[p] is not None for p in (1, 2, 3, 4)), stored
    page.reload()
    for position, kind in kinds.items():
        go_to(page, position)
        expect_answered(page, kind)
    assert not errors, errors


def test_the_deadline_submits_and_shows_the_result(
    phone: Page, live_app: Flask, make_round: Callable[..., int]
) -> None:
    page = phone
    errors = watch_errors(page)
    attempt_id = open_attempt(page, make_round(duration_override=8))
    answer(page)
    expect(page).to_have_url(RESULT_URL, timeout=20_000)
    expect(page.get_by_test_id("score")).to_be_visible()
    with live_app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt is not None and attempt.status is not AttemptStatus.IN_PROGRESS
        first = db.session.scalars(
            select(AttemptItem).where(
                AttemptItem.attempt_id == attempt_id, AttemptItem.position == 1
            )
        ).one()
        assert first.answer is not None  # the answer made before the deadline counts
    assert not errors, errors


def test_a_deadline_moved_later_keeps_the_attempt_going(
    phone: Page, live_app: Flask, make_round: Callable[..., int]
) -> None:
    """The organizers lengthen the round while the page counts down from the old deadline: at
    that deadline the page asks the server, finds the new one and counts on instead of
    submitting. An answer made while it asks is saved like any other."""
    page = phone
    errors = watch_errors(page)
    round_id = make_round(duration_override=8)
    attempt_id = open_attempt(page, round_id)
    with live_app.app_context():
        round_ = db.session.get_one(Round, round_id)
        contest_service.save_round(round_.contest_id, round_id, duration_s=600)
        db.session.commit()
    held: list[Any] = []  # the page's question at its deadline, answered when the test says

    def hold_reads(route: Any) -> None:
        if route.request.method == "GET":
            held.append(route)
        else:
            route.continue_()

    page.route(f"**/api/v1/attempts/{attempt_id}/clock", hold_reads)
    countdown = page.locator("#countdown")
    expect(countdown).to_have_text("0:00", timeout=20_000)  # the deadline: the page is asking
    answer(page)
    expect_saved(page)
    assert len(held) == 1
    held[0].continue_()
    expect(countdown).to_have_text(re.compile(r"^(9:[0-5]\d|10:00)$"))
    expect(page).to_have_url(ATTEMPT_URL)
    with live_app.app_context():
        attempt = db.session.get_one(Attempt, attempt_id)
        assert attempt.status is AttemptStatus.IN_PROGRESS
    assert saved_answers(live_app, attempt_id)[1] is not None
    assert not errors, errors


def test_a_close_moved_earlier_reaches_the_timer_with_the_next_save(
    phone: Page, live_app: Flask, make_round: Callable[..., int]
) -> None:
    """The organizers bring the close forward: the countdown still shows the old time until the
    contestant's next answer, whose save answers with the new deadline."""
    page = phone
    errors = watch_errors(page)
    round_id = make_round()
    open_attempt(page, round_id)
    countdown = page.locator("#countdown")
    expect(countdown).to_have_text(re.compile(r"^(9:[0-5]\d|10:00)$"))
    with live_app.app_context():
        round_ = db.session.get_one(Round, round_id)
        contest_service.save_round(
            round_.contest_id, round_id, closes_at=datetime.now(UTC) + timedelta(seconds=90)
        )
        db.session.commit()
    answer(page)
    expect_saved(page)
    expect(countdown).to_have_text(re.compile(r"^1:[0-3]\d$"))
    expect(page.get_by_test_id("banner")).to_contain_text("组织者调整了截止时间")
    assert not errors, errors


def test_an_idle_page_learns_of_a_moved_close_when_it_comes_back_into_view(
    phone: Page, live_app: Flask, make_round: Callable[..., int]
) -> None:
    """A phone put away while the organizers bring the close forward asks the server's clock
    when it is looked at again, instead of counting down to a close that has moved."""
    page = phone
    errors = watch_errors(page)
    round_id = make_round()
    open_attempt(page, round_id)
    page.evaluate(FAKE_VISIBILITY)
    countdown = page.locator("#countdown")
    expect(countdown).to_have_text(re.compile(r"^(9:[0-5]\d|10:00)$"))
    page.evaluate(SWITCH, "hidden")
    with live_app.app_context():
        round_ = db.session.get_one(Round, round_id)
        contest_service.save_round(
            round_.contest_id, round_id, closes_at=datetime.now(UTC) + timedelta(seconds=90)
        )
        db.session.commit()
    page.evaluate(SWITCH, "visible")
    expect(countdown).to_have_text(re.compile(r"^1:[0-3]\d$"))
    expect(page.get_by_test_id("banner")).to_contain_text("组织者调整了截止时间")
    assert not errors, errors


FAKE_VISIBILITY = """() => {
  window.__visibility = "visible";
  Object.defineProperty(document, "visibilityState", {
    configurable: true, get: () => window.__visibility });
  Object.defineProperty(document, "hidden", {
    configurable: true, get: () => window.__visibility === "hidden" });
}"""
SWITCH = """state => {
  window.__visibility = state;
  document.dispatchEvent(new Event("visibilitychange"));
}"""
WINDOW_EVENT = "type => window.dispatchEvent(new FocusEvent(type))"


def test_leaving_the_page_too_often_submits(
    phone: Page, live_app: Flask, make_round: Callable[..., int]
) -> None:
    page = phone
    errors = watch_errors(page)
    round_id = make_round(integrity_threshold=1, integrity_action="submit", focus_grace_s=0)
    attempt_id = open_attempt(page, round_id)
    integrity = page.get_by_test_id("integrity")
    expect(integrity).to_have_text(re.compile(r"1"))
    page.evaluate(FAKE_VISIBILITY)
    page.evaluate(SWITCH, "hidden")
    page.evaluate(SWITCH, "visible")
    expect(integrity).to_have_text(re.compile(r"(^|\D)0(\D|$)"))
    page.evaluate(SWITCH, "hidden")
    page.evaluate(SWITCH, "visible")
    expect(page).to_have_url(RESULT_URL)
    with live_app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt is not None
        assert attempt.submitted_by == "integrity" and attempt.focus_losses == 2
    expect(page.get_by_role("status").first).to_be_visible()
    assert not errors, errors


def test_the_window_losing_focus_counts_once_per_absence(
    desktop: Page, live_app: Flask, make_round: Callable[..., int]
) -> None:
    page = desktop
    errors = watch_errors(page)
    round_id = make_round(integrity_threshold=1, integrity_action="submit", focus_grace_s=0)
    attempt_id = open_attempt(page, round_id)
    integrity = page.get_by_test_id("integrity")
    expect(integrity).to_have_text(re.compile(r"1"))
    page.evaluate(FAKE_VISIBILITY)
    # Another window takes focus, then the tab is hidden too: one absence, not two.
    page.evaluate(WINDOW_EVENT, "blur")
    page.evaluate(SWITCH, "hidden")
    page.evaluate(SWITCH, "visible")
    page.evaluate(WINDOW_EVENT, "focus")
    expect(integrity).to_have_text(re.compile(r"(^|\D)0(\D|$)"))
    with live_app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt is not None and attempt.status is AttemptStatus.IN_PROGRESS
    page.evaluate(WINDOW_EVENT, "blur")
    page.evaluate(WINDOW_EVENT, "focus")
    expect(page).to_have_url(RESULT_URL)
    with live_app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt is not None
        assert attempt.submitted_by == "integrity" and attempt.focus_losses == 2
    assert not errors, errors


def test_a_blank_is_saved_when_the_ime_commits_not_while_composing(
    phone: Page, live_app: Flask, make_round: Callable[..., int]
) -> None:
    page = phone
    errors = watch_errors(page)
    attempt_id = open_attempt(page, make_round())
    sent: list[str] = []
    page.on(
        "request",
        lambda request: sent.append(request.post_data or "") if request.method == "PUT" else None,
    )
    for position in range(1, 11):
        go_to(page, position)
        if question(page)[1] == "fill_blank":
            break
    blank = page.get_by_test_id("question").get_by_label(re.compile(r"第 ?1 ?空|Blank 1"))
    blank.evaluate(
        """input => {
          input.focus();
          input.dispatchEvent(new CompositionEvent("compositionstart", { data: "" }));
          for (const value of ["n", "ni", "ni h", "ni hao"]) {
            input.value = value;
            input.dispatchEvent(new InputEvent("input", {
              inputType: "insertCompositionText", data: value, isComposing: true }));
          }
        }"""
    )
    # Mid-composition nothing is queued and the question is not answered yet.
    expect(card_cell(page, position)).to_have_attribute("data-state", "unanswered")
    assert str(position) not in queued_saves(page, attempt_id)
    blank.evaluate(
        """input => {
          input.value = "你好";
          input.dispatchEvent(new InputEvent("input", {
            inputType: "insertCompositionText", data: "你好", isComposing: true }));
          input.dispatchEvent(new CompositionEvent("compositionend", { data: "你好" }));
        }"""
    )
    expect(card_cell(page, position)).to_have_attribute("data-state", "answered")
    expect_saved(page)
    assert saved_answers(live_app, attempt_id)[position] == ["你好"]
    assert not any("ni" in body for body in sent), sent
    assert not errors, errors


def test_a_refused_save_shows_an_error_not_saved(
    phone: Page, live_app: Flask, make_round: Callable[..., int]
) -> None:
    page = phone
    errors = watch_errors(page)
    attempt_id = open_attempt(page, make_round())
    refusals: list[str] = []

    def refuse(route: Any) -> None:
        if route.request.method != "PUT":
            route.continue_()
            return
        refusals.append(route.request.url)
        body = {"error": {"code": "invalid_answer", "message": "The answer does not fit."}}
        route.fulfill(status=422, json=body)

    page.route(re.compile(rf"/api/.*attempts/{attempt_id}/items/\d+$"), refuse)
    answer(page)
    state = page.get_by_test_id("save-state")
    expect(state).to_have_attribute("data-state", "refused")
    expect(state).to_have_attribute("role", "alert")
    expect(state).to_have_text(re.compile("未能保存|Not saved"))
    expect(card_cell(page, 1)).to_have_attribute("data-state", "unanswered")
    expect(page.get_by_test_id("card-count")).to_have_text(re.compile(r"^\D*0\D"))
    assert refusals and queued_saves(page, attempt_id) == {}  # dropped, so never retried
    assert saved_answers(live_app, attempt_id)[1] is None

    page.unroute(re.compile(rf"/api/.*attempts/{attempt_id}/items/\d+$"))
    page.reload()  # the refused answer is not kept as unsent: the server's copy is shown
    expect(page.get_by_test_id("question")).to_have_attribute("aria-busy", "false")
    expect_saved(page)
    answer(page)  # answering again saves as usual
    expect_saved(page)
    expect(state).to_have_attribute("role", "status")
    assert saved_answers(live_app, attempt_id)[1] is not None
    assert not errors, errors


def test_the_basic_flow_at_desktop_width(
    desktop: Page, live_app: Flask, make_round: Callable[..., int]
) -> None:
    page = desktop
    errors = watch_errors(page)
    round_id = make_round()
    attempt_id = open_attempt(page, round_id)
    expect(page.locator("#answer-card")).to_have_attribute("open", "")
    for position in range(1, 11):
        box = page.get_by_test_id("question")
        expect(box).to_have_attribute("data-position", str(position))
        if question(page)[1] == "single":  # by keyboard: focus the option, Space picks it
            radio = box.get_by_role("radio", name="乙", exact=True)
            radio.focus()
            page.keyboard.press("Space")
            expect(radio).to_be_checked()
        else:
            answer(page)
        if position < 10:
            page.locator("#next").focus()
            page.keyboard.press("Enter")
    expect_saved(page)
    expect(page.get_by_test_id("card-count")).to_have_text(re.compile(r"10.*10"))
    page.screenshot(path="/tmp/play-attempt-desktop.png")
    page.get_by_test_id("submit").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_test_id("unanswered")).to_have_text(
        re.compile("全部|每|Every question is answered")
    )
    dialog.get_by_role("button", name=re.compile("继续|Keep")).click()
    expect(dialog).to_be_hidden()
    page.get_by_test_id("submit").click()
    dialog.get_by_role("button", name=re.compile("交卷|Submit")).click()
    expect(page).to_have_url(RESULT_URL)
    make_worker(live_app, [queues.SCORING]).work(burst=True)
    expect(page.get_by_test_id("score")).to_have_text(re.compile(r"^\s*20\s*/\s*20\s*$"))
    with live_app.app_context():
        round_ = contest_service.get_round(round_id)
        assert round_.review_policy.value == "after_submit"
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt is not None and float(attempt.score or 0) == 20
    expect(page.get_by_test_id("review-item")).to_have_count(10)
    expect(page.get_by_test_id("review-item").first).to_contain_text("解析")
    assert not errors, errors


def test_a_second_device_takes_over_and_the_first_can_take_it_back(
    browser: Browser, live_server: str, live_app: Flask, make_round: Callable[..., int]
) -> None:
    round_id = make_round()
    with (
        new_page(browser, live_server, **PHONE) as first,
        new_page(browser, live_server, **PHONE) as second,
    ):
        errors = [watch_errors(first), watch_errors(second)]
        attempt_id = open_attempt(first, round_id)
        kind = answer(first)
        expect_saved(first)

        log_in(second, CONTESTANT)  # another phone continues from its home page
        second.locator(f'[data-round-id="{round_id}"]').get_by_role(
            "button", name=re.compile("继续|Continue")
        ).click()
        expect(second).to_have_url(ATTEMPT_URL)
        expect(second.get_by_test_id("question")).to_have_attribute("data-position", "1")
        expect_answered(second, kind)

        first.locator("#next").click()
        first.locator("#flag").click()  # the first phone's next save is refused
        banner = first.get_by_test_id("banner")
        expect(banner).to_contain_text(re.compile("另一|another device"))
        expect(first.get_by_test_id("save-state")).to_have_attribute("data-state", "stopped")
        with live_app.app_context():
            item = db.session.get(AttemptItem, (attempt_id, 2))
            assert item is not None and not item.flagged

        banner.get_by_role("button").click()  # continue on this device: the flag is sent
        expect(first.get_by_test_id("question")).to_have_attribute("data-position", "2")
        expect(first.locator("#flag")).to_have_attribute("aria-pressed", "true")
        expect_saved(first)
        with live_app.app_context():
            item = db.session.get(AttemptItem, (attempt_id, 2))
            assert item is not None and item.flagged
        second.locator("#flag").click()
        expect(second.get_by_test_id("banner")).to_contain_text(re.compile("另一|another device"))
        # Opening the page again on the phone that lost it says so at once, before any answer.
        second.reload()
        expect(second.get_by_test_id("banner")).to_contain_text(re.compile("另一|another device"))
        expect(second.get_by_test_id("save-state")).to_have_attribute("data-state", "stopped")
        expect(second.locator("#next")).to_be_disabled()
        assert errors == [[], []], errors
