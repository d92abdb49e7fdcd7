"""Appeals in a real browser: a contestant appeals a question on their result page (phone-sized),
the organizer accepts it on the contest's appeals page, the scoring worker regrades, and the
contestant's page shows the new score, the new rank and the reply."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from contest.extensions import db
from contest.models import AttemptItem, Role, User
from question_bank.models import QuestionVersion
from tests.conftest import add_user, api_login, csrf_token
from tests.support import browser as browser_support
from tests.support.browser import (
    BROWSER_MARKS,
    CONTESTANT,
    DESKTOP,
    ORGANIZER,
    log_in,
    new_page,
    path_is,
)
from tests.support.contests import paper_round, published_bank
from tests.support.players import answer_for
from workers import queues
from workers.runner import make_worker

browser = browser_support.browser
live_app = browser_support.live_app
live_server = browser_support.live_server
phone = browser_support.phone

pytestmark = BROWSER_MARKS


def sit(app: Flask, round_id: int, username: str, wrong: str) -> int:
    """Sit the round through the API, every answer right but the first item of type ``wrong``;
    returns the attempt id."""
    client = app.test_client()
    assert api_login(client, username).status_code == 200
    headers = {"X-CSRFToken": csrf_token(client)}
    attempt = client.post(f"/api/v1/rounds/{round_id}/attempts", headers=headers).get_json()
    missed = False
    for seq, item in enumerate(attempt["items"], start=1):
        right = missed or item["type"] != wrong
        missed = missed or not right
        answer: Any = answer_for(item, right)
        saved = client.put(
            f"/api/v1/attempts/{attempt['id']}/items/{item['position']}",
            json={"answer": answer, "seq": seq},
            headers=headers,
        )
        assert saved.status_code == 200
    submitted = client.post(f"/api/v1/attempts/{attempt['id']}/submission", headers=headers)
    assert submitted.status_code == 200
    return int(attempt["id"])


def test_an_appeal_accepted_changes_the_score_and_the_rank(
    live_app: Flask, live_server: str, browser: Browser, phone: Page
) -> None:
    with live_app.app_context():
        # Two questions of each type, two of each in a paper: every paper holds every question.
        round_ = paper_round(published_bank(per_type=2), review_policy="after_submit")
        contest_id, round_id = round_.contest_id, round_.id
        add_user("rival", Role.CONTESTANT)
    mine = sit(live_app, round_id, CONTESTANT, wrong="single")  # 20 - 2 = 18
    sit(live_app, round_id, "rival", wrong="true_false")  # 20 - 1 = 19
    make_worker(live_app, [queues.SCORING]).work(burst=True)
    with live_app.app_context():
        position = db.session.scalar(
            select(AttemptItem.position)
            .join(QuestionVersion, QuestionVersion.id == AttemptItem.question_version_id)
            .where(AttemptItem.attempt_id == mine, QuestionVersion.type == "single")
            .order_by(AttemptItem.position)
            .limit(1)
        )
        assert db.session.scalar(select(User.id).where(User.username == "rival"))

    log_in(phone, CONTESTANT)
    expect(phone).to_have_url(path_is("/"))
    phone.goto(f"/attempts/{mine}/result")
    expect(phone.get_by_test_id("score")).to_have_text(re.compile(r"^\s*18\s*/\s*20\s*$"))
    expect(phone.get_by_test_id("rank")).to_have_attribute("data-rank", "2")
    box = phone.locator(f'[data-testid="appeal-box"][data-position="{position}"]')
    box.get_by_test_id("appeal-open").click()
    box.get_by_role("textbox").fill("题干未说明只选一项，甲也符合第二十一条")
    box.get_by_role("button").click()
    expect(phone).to_have_url(re.compile(rf"/attempts/{mine}/result#item-{position}$"))
    status = phone.locator(
        f'[data-testid="appeal-box"][data-position="{position}"]'
    ).get_by_test_id("appeal-status")
    expect(status).to_have_attribute("data-status", "open")
    phone.screenshot(path="/tmp/appeal-result-open.png", full_page=True)

    with new_page(browser, live_server, **DESKTOP) as page:
        log_in(page, ORGANIZER)
        page.goto(f"/admin/contests/{contest_id}/appeals")
        group = page.get_by_test_id("appeal-group")
        expect(group).to_have_count(1)
        expect(group.get_by_test_id("key")).to_have_text("B")
        expect(group.get_by_test_id("appeal-row")).to_contain_text("题干未说明只选一项")
        group.get_by_test_id("decision").select_option("accept_answer")
        group.get_by_test_id("reply").fill("甲亦符合规定，予以采纳")
        group.get_by_test_id("decide").click()
        expect(page.locator(".flash-success")).to_be_visible()
        page.screenshot(path="/tmp/appeal-admin.png", full_page=True)

    make_worker(live_app, [queues.SCORING]).work(burst=True)
    phone.reload()
    expect(phone.get_by_test_id("score")).to_have_text(re.compile(r"^\s*20\s*/\s*20\s*$"))
    expect(phone.get_by_test_id("rank")).to_have_attribute("data-rank", "1")
    status = phone.locator(
        f'[data-testid="appeal-box"][data-position="{position}"]'
    ).get_by_test_id("appeal-status")
    expect(status).to_have_attribute("data-status", "accepted")
    expect(status).to_contain_text("甲亦符合规定，予以采纳")
    phone.screenshot(path="/tmp/appeal-result-accepted.png", full_page=True)
