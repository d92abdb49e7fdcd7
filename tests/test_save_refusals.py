"""Every refusal of a save, through every path that serves one, gets the same answer.

A save reaches the server three ways: the autosave lane (WSGI middleware in front of Flask), the
API view (Flask: its own fast statement, then the general path that explains refusals), and the
attempt page in a real browser (its cookies, its CSRF token and its device id, as attempt.js
sends them). The rules they apply are one definition (contest.services.attempt_rules); this
matrix holds them to it: each case is set up afresh for each path, and each path must give the
expected status and body.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser

from contest.extensions import db
from contest.models import Attempt, SessionUser, User
from contest.services import attempts as attempt_service
from contest.services.attempt_rules import Change
from tests.conftest import add_user
from tests.support.browser import BROWSER_MARKS, log_in, new_page
from tests.support.browser import browser as browser
from tests.support.browser import live_app as live_app
from tests.support.browser import live_server as live_server
from tests.support.contests import paper_round, published_bank
from tests.support.players import Lane, Player, answer_for

GRACE_S = 30


@dataclass
class Sheet:
    """One contestant's attempt, saved once (seq 3: the lane now knows its paper's shape and
    takes the one-statement save), about to be saved again."""

    app: Flask
    attempt_id: int
    user_id: int
    position: int
    item: dict[str, Any]
    # What the request carries; a case changes these or the database.
    body: dict[str, Any]
    headers: dict[str, str]
    attempt_of_another: int | None = None

    @property
    def url(self) -> str:
        attempt_id = self.attempt_of_another or self.attempt_id
        return f"/api/v1/attempts/{attempt_id}/items/{self.position}"

    def change(self, **values: Any) -> None:
        with self.app.app_context():
            attempt = db.session.get_one(Attempt, self.attempt_id)
            for name, value in values.items():
                setattr(attempt, name, value)
            db.session.commit()

    def account(self, **values: Any) -> None:
        with self.app.app_context():
            user = db.session.get_one(User, self.user_id)
            for name, value in values.items():
                setattr(user, name, value)
            db.session.commit()


def _wrong_owner(sheet: Sheet) -> None:
    with sheet.app.app_context():
        other = add_user(f"owner-of-{sheet.attempt_id}")
        round_id = db.session.get_one(Attempt, sheet.attempt_id).round_id
        started = attempt_service.start_attempt(
            round_id, other.id, now=datetime.now(UTC), device_id=None
        )
        sheet.attempt_of_another = started.attempt.id


def _closed(sheet: Sheet) -> None:
    with sheet.app.app_context():
        user = db.session.get_one(User, sheet.user_id)
        who = SessionUser(user.id, user.session_generation)
        attempt_service.submit_attempt(Change(sheet.attempt_id, who, datetime.now(UTC)))


def _deadline(seconds_ago: int) -> Callable[[Sheet], None]:
    def move(sheet: Sheet) -> None:
        sheet.change(deadline_at=datetime.now(UTC) - timedelta(seconds=seconds_ago))

    return move


# name → (what the case does, expected status, expected body: error code or (saved, seq)).
CASES: dict[str, tuple[Callable[[Sheet], None], int, Any]] = {
    "accepted": (lambda sheet: None, 200, (True, 5)),
    "wrong owner": (_wrong_owner, 404, "not_found"),
    "inactive account": (lambda sheet: sheet.account(active=False), 401, "not_logged_in"),
    "closed": (_closed, 409, "attempt_closed"),
    "overdue, in grace": (_deadline(GRACE_S // 2), 200, (True, 5)),
    "past grace": (_deadline(GRACE_S + 5), 409, "attempt_closed"),
    "other device": (
        lambda sheet: sheet.headers.update({"X-Device-Id": "another"}),
        409,
        "device_replaced",
    ),
    "stale seq": (lambda sheet: sheet.body.update(seq=2), 200, (False, 3)),
    "bad body": (lambda sheet: sheet.body.update(seq=0), 422, "invalid_input"),
    "expired session": (lambda sheet: sheet.account(session_generation=99), 401, "not_logged_in"),
    "bad CSRF": (lambda sheet: sheet.headers.update({"X-CSRFToken": "forged"}), 403, "csrf_failed"),
}


def answer(status: int, body: Any) -> tuple[int, Any]:
    """The part of an answer the matrix compares: the status, and the error code or whether and
    at which seq the save was stored."""
    if status == 200:
        return status, (body["saved"], body["seq"])
    return status, body["error"]["code"]


def expected(case: str) -> tuple[int, Any]:
    _, status, body = CASES[case]
    return status, body


@pytest.fixture
def round_id(app: Flask) -> int:
    with app.app_context():
        return paper_round(published_bank(), grace_s=GRACE_S).id


def sheet_for(app: Flask, round_id: int, name: str) -> tuple[Player, Sheet]:
    me = Player(app, name)
    attempt = me.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    item = attempt["items"][0]
    url = f"/api/v1/attempts/{attempt['id']}/items/{item['position']}"
    assert me.call("PUT", url, {"answer": answer_for(item), "seq": 3}).status_code == 200
    with app.app_context():
        user_id = db.session.scalar(db.select(User.id).where(User.username == name))
    sheet = Sheet(
        app,
        attempt["id"],
        int(user_id or 0),
        item["position"],
        item,
        {"answer": answer_for(item), "seq": 5},
        {"X-CSRFToken": me.token, "X-Device-Id": me.device},
    )
    return me, sheet


@pytest.mark.parametrize("case", list(CASES))
def test_the_lane_and_the_api_view_answer_every_case_alike(
    app: Flask, round_id: int, case: str
) -> None:
    lane = Lane(app)
    answers = {}
    for path in ("lane", "view"):
        me, sheet = sheet_for(app, round_id, f"{path}-player")
        CASES[case][0](sheet)
        environ = Lane.environ(me, sheet.url, sheet.body, **sheet.headers)
        lane.handed_over = 0
        status, _, body = (lane.through_lane if path == "lane" else lane.through_flask)(environ)
        answers[path] = answer(int(status.split()[0]), json.loads(body))
        if path == "lane" and expected(case)[0] != 200:
            assert lane.handed_over == 1, "a refusal is always explained by the full path"
    assert answers["lane"] == answers["view"] == expected(case), answers


# The page: the attempt page in Chromium sends the save with its own session, token and device.

SAVE_FROM_THE_PAGE = """async ({url, body, overrides}) => {
  const root = document.getElementById("attempt");
  const headers = {
    "Accept": "application/json",
    "Content-Type": "application/json",
    "X-CSRFToken": root.dataset.csrfToken,
    "X-Device-Id": window.NetSec.deviceId(),
    ...overrides,
  };
  const response = await fetch(url, {method: "PUT", headers, body: JSON.stringify(body),
                                     credentials: "same-origin", cache: "no-store"});
  return [response.status, await response.json()];
}"""
START_FROM_THE_PAGE = """async (roundId) => {
  const session = await (await fetch("/api/v1/session", {cache: "no-store"})).json();
  const response = await fetch(`/api/v1/rounds/${roundId}/attempts`, {method: "POST",
    headers: {"Accept": "application/json", "X-CSRFToken": session.csrf_token,
              "X-Device-Id": window.NetSec.deviceId()}});
  return await response.json();
}"""


@BROWSER_MARKS[0]
@BROWSER_MARKS[1]
def test_the_attempt_page_gets_the_same_answers(
    browser: Browser, live_app: Flask, live_server: str
) -> None:
    with live_app.app_context():
        round_id = paper_round(published_bank(), grace_s=GRACE_S).id
    answers = {}
    for n, case in enumerate(CASES):
        username = f"page{n}"
        with live_app.app_context():
            user_id = add_user(username).id
        with new_page(browser, live_server) as page:
            log_in(page, username)
            page.wait_for_url(lambda url: "/login" not in url)
            attempt = page.evaluate(START_FROM_THE_PAGE, round_id)
            item = attempt["items"][0]
            page.goto(f"/attempts/{attempt['id']}")
            sheet = Sheet(
                live_app,
                attempt["id"],
                user_id,
                item["position"],
                item,
                {"answer": answer_for(item), "seq": 3},
                {},
            )
            warm = page.evaluate(
                SAVE_FROM_THE_PAGE, {"url": sheet.url, "body": sheet.body, "overrides": {}}
            )
            assert warm[0] == 200, warm
            sheet.body["seq"] = 5
            CASES[case][0](sheet)
            status, body = page.evaluate(
                SAVE_FROM_THE_PAGE,
                {"url": sheet.url, "body": sheet.body, "overrides": sheet.headers},
            )
            answers[case] = answer(status, body)
    assert answers == {case: expected(case) for case in CASES}
