"""The live final in a real browser: five screens on one run sheet.

Chromium via Playwright drives the host's console (1440×900, keyboard first), three teams' phones
(390×844, touch) and the big screen (1920×1080) through 必答 → 选答 → 抢答 (a team that buzzes
before the signal is out; a wrong answer passes to the next buzz) → 风险 → 全员 → standings.
Every screen then shows the same scores, the ones the event log gives. A second 抢答 question is
interrupted after its first buzzes: the host's console is reloaded and the winning team's phone
closed and opened again; both resume exactly where the round is, and the round goes on.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from typing import Any

from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import func, select

from contest.extensions import db, redis_hub
from contest.live_final import compensation, service, store
from contest.live_final import state as reducer
from contest.models import LiveEvent, User
from tests.conftest import PASSWORD
from tests.support import browser as browser_support
from tests.support.browser import BROWSER_MARKS, watch_errors
from tests.support.live import SINGLE_KEY, WRONG, LiveFinal, live_final

browser = browser_support.browser
live_app = browser_support.live_app
live_server = browser_support.live_server

pytestmark = BROWSER_MARKS

HOST = {"viewport": {"width": 1440, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
SCREEN = {"viewport": {"width": 1920, "height": 1080}}


def sign_in(context: BrowserContext, username: str) -> None:
    """Log the context in through the API (its cookies are the pages' cookies)."""
    token = context.request.get("/api/v1/session").json()["csrf_token"]
    response = context.request.post(
        "/api/v1/session",
        data={"username": username, "password": PASSWORD},
        headers={"X-CSRFToken": token},
    )
    assert response.ok, response.text()


def open_page(context: BrowserContext, url: str, errors: list[list[str]]) -> Page:
    """A new page of ``context`` at ``url``, following the round's stream."""
    page = context.new_page()
    errors.append(watch_errors(page))
    page.goto(url)
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    return page


def done(host: Page, do: Any) -> None:
    """Do one host action (a key or a click) and wait until its answer is drawn: the console
    is busy from the press until the server answered, and the answer is a newer version."""
    root = host.locator("#live-host")
    expect(root).not_to_have_attribute("data-busy", "true")
    before = root.get_attribute("data-version")
    assert before is not None
    do()
    expect(root).not_to_have_attribute("data-version", before)
    expect(root).not_to_have_attribute("data-busy", "true")
    expect(host.locator("#error")).to_be_hidden()


def key(host: Page, name: str) -> None:
    done(host, lambda: host.keyboard.press(name))


def play(host: Page, segment_id: int) -> None:
    done(host, lambda: host.locator(f'#segments [data-play="{segment_id}"]').click())
    expect(host.locator("#segments li.current")).to_have_attribute(
        "data-segment-id", str(segment_id)
    )


def team_on_turn(host: Page, number: int, team_id: int) -> None:
    """Keys 1–9 choose the team on turn for the next question (no action is sent yet)."""
    host.keyboard.press(str(number))
    expect(host.locator("#next-team")).to_have_value(str(team_id))


def answer(phone: Page, option: str, shown: str) -> None:
    """The team answers on its phone: one option, then the submit button."""
    expect(phone.locator("#answer-form")).to_be_visible()
    choice = phone.locator(f'#options [data-option-index="{option}"]')
    choice.tap()
    expect(choice).to_have_attribute("aria-pressed", "true")
    phone.locator("#submit-answer").tap()
    expect(phone.locator("#my-answer")).to_contain_text(shown)


def from_the_log(app: Flask, round_id: int) -> dict[str, Any]:
    """The round's state as its event log gives it (replayed from the database's rows), checked
    against the last row and against the live copy in Redis."""
    with app.app_context():
        state = reducer.replay(service.setup_for(round_id), service.events_for(round_id))
        last = db.session.scalar(
            select(func.max(LiveEvent.seq)).where(LiveEvent.round_id == round_id)
        )
        live = store.read(redis_hub.client, round_id)
    assert state["version"] == last
    assert live is not None
    assert (live["version"], live["scores"], live["step"]) == (
        state["version"],
        state["scores"],
        state["step"],
    )
    return state


def standings_shown(page: Page, rows: list[dict[str, Any]]) -> None:
    """The page's standings list holds ``rows`` in order: team, rank and score."""
    items = page.locator("#standings li")
    expect(items).to_have_count(len(rows))
    for index, row in enumerate(rows):
        item = items.nth(index)
        expect(item).to_have_attribute("data-team-id", str(row["team_id"]))
        expect(item).to_have_attribute("data-rank", str(row["rank"]))
        expect(item).to_have_attribute("data-score", str(row["score"]))
        expect(item.locator(".st-score")).to_have_text(str(row["score"]))


def same_everywhere(
    host: Page, phones: list[Page], screen: Page, final: LiveFinal, state: dict[str, Any]
) -> None:
    """Every screen is at the log's version and shows the log's scores and standings."""
    version = str(state["version"])
    rows = reducer.standings(state)
    expect(host.locator("#live-host")).to_have_attribute("data-version", version)
    standings_shown(host, rows)
    expect(screen.locator("#live-screen")).to_have_attribute("data-version", version)
    standings_shown(screen, rows)
    for team_id, phone in zip(final.teams, phones, strict=True):
        own = next(row for row in rows if row["team_id"] == team_id)
        expect(phone.locator("#live-team")).to_have_attribute("data-version", version)
        expect(phone.locator("#my-score")).to_have_text(str(state["scores"][str(team_id)]))
        expect(phone.locator("#my-rank")).to_have_text(str(own["rank"]))
        standings_shown(phone, rows)
        expect(phone.locator("#standings li.mine")).to_have_attribute("data-team-id", str(team_id))


def test_five_screens_run_the_final_and_resume_after_a_reload(
    browser: Browser, live_app: Flask, live_server: str
) -> None:
    with live_app.app_context():
        final = live_final(teams=3)
        db.session.remove()
    required, choice, buzz, risk, everyone, _tiebreak = final.segments
    one, two, three = final.teams
    base = f"/live/{final.round_id}"
    errors: list[list[str]] = []

    with ExitStack() as stack:

        def context(username: str | None, options: dict[str, Any]) -> BrowserContext:
            made = browser.new_context(base_url=live_server, **options)
            stack.callback(made.close)
            if username is not None:
                sign_in(made, username)
            return made

        host_context = context(final.organizer, HOST)
        phone_contexts = [context(names[0], PHONE) for names in final.usernames]
        phones = [open_page(c, f"{base}/team", errors) for c in phone_contexts]
        screen = open_page(context(None, SCREEN), f"{base}/screen", errors)
        host = open_page(host_context, f"{base}/host", errors)
        console = host.locator("#live-host")
        expect(screen.locator("#live-screen")).to_have_attribute("data-view", "lobby")
        for phone in phones:
            expect(phone.locator("#live-team")).to_have_attribute("data-status", "lobby")

        # The host starts the final; the console sees the three phones.
        key(host, "g")
        expect(console).to_have_attribute("data-status", "running")
        expect(host.locator('#connected li[data-online="true"]')).to_have_count(3)
        for phone in phones:
            expect(phone.locator("#live-team")).to_have_attribute("data-status", "running")

        # 必答: team 1 on turn answers on its phone (乙, right); the host accepts it. 1: +10.
        play(host, required)
        key(host, "n")
        expect(console).to_have_attribute("data-phase", "ready")
        expect(host.locator("#step-team")).to_contain_text("答题队：1号队")
        key(host, "o")
        expect(console).to_have_attribute("data-phase", "open")
        expect(screen.locator("#question")).not_to_be_empty()
        expect(screen.locator("#countdown")).to_be_visible()
        expect(phones[1].locator("#live-team")).to_have_attribute("data-phase", "open")
        expect(phones[1].locator("#answer-form")).to_be_hidden()
        expect(phones[2].locator("#answer-form")).to_be_hidden()
        answer(phones[0], str(SINGLE_KEY), "B")
        expect(host.locator("#answers li[data-team-id]")).to_have_count(1)
        key(host, "d")
        expect(console).to_have_attribute("data-phase", "judged")
        expect(host.locator("#results li.right")).to_have_text("1号队：答对，+10 分")
        expect(phones[0].locator("#result")).to_have_attribute("data-tone", "right")
        key(host, "r")
        expect(screen.locator("#reveal")).to_be_visible()
        expect(screen.locator(f'#options li[data-option-index="{SINGLE_KEY}"]')).to_have_attribute(
            "data-correct", "true"
        )

        # 选答: the host gives team 2 the turn; it picks tile 3 on its phone and answers it
        # right. 2: +10.
        play(host, choice)
        team_on_turn(host, 2, two)
        key(host, "n")
        expect(console).to_have_attribute("data-phase", "choosing")
        expect(phones[1].locator("#tiles button")).to_have_count(4)
        expect(phones[0].locator("#tiles")).to_be_hidden()
        phones[1].locator('#tiles [data-tile="3"]').tap()
        expect(console).to_have_attribute("data-phase", "ready")
        expect(screen.locator("#tiles li.picked")).to_have_attribute("data-tile", "3")
        key(host, "o")
        answer(phones[1], str(SINGLE_KEY), "B")
        expect(host.locator("#answers li[data-team-id]")).to_have_count(1)
        key(host, "d")
        expect(host.locator("#results li.right")).to_have_text("2号队：答对，+10 分")
        key(host, "r")
        expect(phones[1].locator("#reveal")).to_be_visible()

        # 抢答: team 2 buzzes before the signal and is out; team 3 wins the buzz, team 1 is
        # second. Team 3 is wrong (−5) and the question passes to team 1, right (+10).
        play(host, buzz)
        key(host, "n")
        key(host, "o")
        expect(console).to_have_attribute("data-phase", "open")
        expect(phones[1].locator("#buzz")).to_have_attribute("data-state", "wait")
        phones[1].locator("#buzz").tap()
        expect(phones[1].locator("#buzz")).to_have_attribute("data-state", "locked")
        expect(phones[1].locator("#buzz")).to_be_disabled()
        expect(host.locator("#early")).to_contain_text("2号队")
        key(host, "a")
        expect(console).to_have_attribute("data-phase", "armed")
        expect(screen.locator("#banner")).to_have_attribute("data-tone", "go")
        expect(phones[2].locator("#buzz")).to_have_attribute("data-state", "go")
        expect(phones[0].locator("#buzz")).to_have_attribute("data-state", "go")
        expect(phones[1].locator("#buzz")).to_have_attribute("data-state", "locked")
        phones[2].locator("#buzz").tap()
        expect(phones[2].locator("#buzz-result")).to_have_text("你们抢到了！请作答。")
        expect(phones[0].locator("#buzz-result")).to_have_text("3号队 抢到了")
        phones[0].locator("#buzz").tap()
        expect(phones[0].locator("#buzz")).to_have_attribute("data-state", "queued")
        buzzes = host.locator("#buzzes li[data-team-id]")
        expect(buzzes).to_have_count(2)
        expect(buzzes.nth(0)).to_have_attribute("data-team-id", str(three))
        expect(buzzes.nth(1)).to_have_attribute("data-team-id", str(one))
        expect(screen.locator("#buzzes li")).to_have_count(2)
        expect(host.locator("#step-team")).to_have_text("3号队 抢到了")
        key(host, "x")
        expect(console).to_have_attribute("data-phase", "answering")
        expect(host.locator("#step-team")).to_have_text("1号队 抢到了")
        expect(phones[0].locator("#buzz")).to_have_attribute("data-state", "won")
        expect(screen.locator("#buzzes li.tried")).to_have_attribute("data-team-id", str(three))
        key(host, "j")
        expect(console).to_have_attribute("data-phase", "judged")
        expect(host.locator("#results li")).to_have_text(
            ["3号队：答错，-5 分", "1号队：答对，+10 分"]
        )
        key(host, "r")
        expect(screen.locator("#reveal")).to_be_visible()

        # 风险: team 3 on turn stakes 20 on its phone and answers 对 (true), right. 3: +20.
        play(host, risk)
        team_on_turn(host, 3, three)
        key(host, "n")
        expect(console).to_have_attribute("data-phase", "choosing")
        expect(phones[2].locator("#tiers button")).to_have_count(3)
        phones[2].locator('#tiers [data-tier="20"]').tap()
        expect(console).to_have_attribute("data-phase", "ready")
        expect(host.locator("#step-team")).to_contain_text("风险分值：20 分")
        key(host, "o")
        answer(phones[2], "true", "对")
        expect(host.locator("#answers li[data-team-id]")).to_have_count(1)
        key(host, "d")
        expect(host.locator("#results li.right")).to_have_text("3号队：答对，+20 分")
        key(host, "r")

        # 全员: team 2 right first (+10 and 5 for speed); teams 1 and 3 wrong (no deduction).
        play(host, everyone)
        key(host, "n")
        key(host, "o")
        for phone in phones:
            expect(phone.locator("#answer-form")).to_be_visible()
        answer(phones[1], str(SINGLE_KEY), "B")
        answer(phones[0], str(WRONG), "A")
        answer(phones[2], str(WRONG), "A")
        expect(screen.locator("#banner")).to_contain_text("已有 3/3 队作答")
        expect(host.locator("#answers li[data-team-id]")).to_have_count(3)
        key(host, "d")
        expect(host.locator("#results li.right")).to_have_text("2号队：答对，+15 分")
        expect(host.locator("#results li.wrong")).to_have_count(2)
        key(host, "r")

        # The standings: every screen shows the scores the event log gives.
        key(host, "s")
        expect(screen.locator("#live-screen")).to_have_attribute("data-view", "standings")
        state = from_the_log(live_app, final.round_id)
        assert state["scores"] == {str(one): 20, str(two): 25, str(three): 15}
        assert [row["team_id"] for row in reducer.standings(state)] == [two, one, three]
        same_everywhere(host, phones, screen, final, state)

        # The second 抢答 question: team 1 wins the buzz, team 3 is second ...
        play(host, buzz)
        key(host, "n")
        key(host, "o")
        key(host, "a")
        expect(console).to_have_attribute("data-phase", "armed")
        for phone in phones:  # team 2's lock-out was for the first question only
            expect(phone.locator("#buzz")).to_have_attribute("data-state", "go")
        phones[0].locator("#buzz").tap()
        expect(phones[0].locator("#buzz")).to_have_attribute("data-state", "won")
        phones[2].locator("#buzz").tap()
        expect(phones[2].locator("#buzz")).to_have_attribute("data-state", "queued")
        expect(host.locator("#buzzes li[data-team-id]")).to_have_count(2)
        during = from_the_log(live_app, final.round_id)
        step = during["step"]
        assert (step["number"], step["kind"], step["phase"]) == (6, "buzz", "answering")
        assert [b["team_id"] for b in step["buzzes"]] == [one, three]
        assert step["team_id"] == one
        assert during["scores"] == state["scores"]
        question = f"{step['number']}:{step['question']}"
        version = str(during["version"])

        # ... then the host's console is reloaded and team 1's phone closed and opened again.
        host.reload()
        expect(host.locator("#connection")).to_have_attribute("data-state", "live")
        phones[0].close()
        phones[0] = open_page(phone_contexts[0], f"{base}/team", errors)

        # Both are back exactly where the round is.
        expect(console).to_have_attribute("data-version", version)
        expect(console).to_have_attribute("data-phase", "answering")
        expect(console).to_have_attribute("data-kind", "buzz")
        expect(host.locator("#step-label")).to_contain_text("第 6 题")
        expect(host.locator("#question")).to_have_attribute("data-for", question)
        buzzes = host.locator("#buzzes li[data-team-id]")
        expect(buzzes).to_have_count(2)
        expect(buzzes.nth(0)).to_have_attribute("data-team-id", str(one))
        expect(buzzes.nth(1)).to_have_attribute("data-team-id", str(three))
        expect(host.locator("#step-team")).to_have_text("1号队 抢到了")
        expect(host.locator("#action-judge-correct")).to_be_enabled()
        standings_shown(host, reducer.standings(during))
        team_one = phones[0].locator("#live-team")
        expect(team_one).to_have_attribute("data-version", version)
        expect(team_one).to_have_attribute("data-phase", "answering")
        expect(team_one).to_have_attribute("data-my-turn", "true")
        expect(phones[0].locator("#question")).to_have_attribute("data-for", question)
        expect(phones[0].locator("#buzz")).to_have_attribute("data-state", "won")
        expect(phones[0].locator("#buzz-result")).to_have_text("你们抢到了！请作答。")
        expect(phones[0].locator("#my-score")).to_have_text("20")
        expect(phones[0].locator("#my-rank")).to_have_text("2")
        expect(phones[2].locator("#buzz-result")).to_have_text("1号队 抢到了")
        expect(screen.locator("#live-screen")).to_have_attribute("data-question-key", question)
        expect(screen.locator("#banner")).to_have_text("1号队 抢到了")
        expect(screen.locator("#buzzes li").first).to_have_attribute("data-team-id", str(one))
        same_everywhere(host, phones, screen, final, during)

        # The round goes on: team 1 answers on the reopened phone, the host accepts, reveals.
        answer(phones[0], str(SINGLE_KEY), "B")
        expect(host.locator("#answers li[data-team-id]")).to_have_count(1)
        key(host, "d")
        expect(host.locator("#results li.right")).to_have_text("1号队：答对，+10 分")
        expect(phones[0].locator("#result")).to_have_attribute("data-tone", "right")
        key(host, "r")
        expect(console).to_have_attribute("data-phase", "revealed")
        expect(screen.locator("#reveal")).to_be_visible()
        expect(phones[0].locator("#reveal")).to_be_visible()
        after = from_the_log(live_app, final.round_id)
        assert after["scores"] == {str(one): 30, str(two): 25, str(three): 15}
        same_everywhere(host, phones, screen, final, after)

    problems = [error for page_errors in errors for error in page_errors]
    assert not problems, problems


def test_a_phone_answers_the_pings_that_measure_its_round_trip(
    browser: Browser, live_app: Flask, live_server: str
) -> None:
    """With delay compensation on, the team page answers its stream's pings at once, so the
    server has the phone's round trip before the first buzz."""
    with live_app.app_context():
        final = live_final(teams=2, compensation_ms=100)
        member = db.session.scalar(select(User.id).where(User.username == final.usernames[0][0]))
    errors: list[list[str]] = []
    context = browser.new_context(base_url=live_server, **PHONE)
    try:
        sign_in(context, final.usernames[0][0])
        open_page(context, f"/live/{final.round_id}/team", errors)
        with live_app.app_context():
            client = redis_hub.client

            def measured() -> bool:
                return member in compensation.round_trips(client, final.round_id)

            deadline = time.monotonic() + 10
            while not measured():
                assert time.monotonic() < deadline, "the phone never answered a ping"
                time.sleep(0.05)
            assert compensation.round_trips(client, final.round_id)[member] < 2000
    finally:
        context.close()
    assert errors == [[]]


def test_the_big_screen_replays_a_finished_final(
    browser: Browser, live_app: Flask, live_server: str
) -> None:
    """After the final, ``?replay`` plays the timeline again from the log: the question, the
    reveal, then the final standings."""
    with live_app.app_context():
        final = live_final(teams=2)

        def act(kind: str, **payload: Any) -> None:
            service.act(final.round_id, kind, payload)

        act("start")
        act("segment", segment_id=final.segments[0])
        for correct in (True, False):
            act("next")
            act("open")
            act("judge", correct=correct)
            act("reveal")
        act("finish")
        at = service.current(final.round_id)["version"]
    errors: list[list[str]] = []
    context = browser.new_context(base_url=live_server, **SCREEN)
    try:
        page = context.new_page()
        errors.append(watch_errors(page))
        page.goto(f"/live/{final.round_id}/screen?replay&speed=4")
        root = page.locator("#live-screen")
        expect(root).to_have_attribute("data-replay", "playing")
        # A reveal shows for a quarter of a second: watched on every frame, not polled.
        page.wait_for_function(
            "() => document.getElementById('live-screen').dataset.revealed === 'true'",
            polling="raf",
        )
        expect(root).to_have_attribute("data-replay", "done", timeout=15_000)
        expect(root).to_have_attribute("data-replay-version", str(at))
        expect(root).to_have_attribute("data-view", "standings")
        expect(page.locator("#standings li[data-team-id]").first).to_have_attribute(
            "data-team-id", str(final.teams[0])
        )
    finally:
        context.close()
    assert errors == [[]]
