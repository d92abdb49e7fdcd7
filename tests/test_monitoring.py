"""The organizers' live list of a round's attempts and one contestant's paper: contents,
filters, search, paging, the live part, one query per page, and the paper as it was seen."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, expect
from sqlalchemy import event, insert, select

from contest.extensions import db
from contest.models import Attempt, AttemptItem, AttemptStatus, Organization, Role, User
from tests.conftest import CHEAP_HASH
from tests.support import browser as browser_support
from tests.support.browser import ORGANIZER, log_in, new_page
from tests.support.contests import paper_round, published_bank
from tests.support.players import Player, answer_for

browser = browser_support.browser
live_app = browser_support.live_app
live_server = browser_support.live_server


@pytest.fixture
def round_id(app: Flask) -> int:
    with app.app_context():
        return paper_round(published_bank()).id


@pytest.fixture
def units(app: Flask) -> dict[str, int]:
    """A district with one unit under it, and another unit."""
    with app.app_context():
        district = Organization(name="高新区")
        db.session.add(district)
        db.session.flush()
        school = Organization(name="高新一中", parent_id=district.id)
        other = Organization(name="第二中学")
        db.session.add_all([school, other])
        db.session.commit()
        return {"district": district.id, "school": school.id, "other": other.id}


def listed(client: FlaskClient, round_id: int, **query: Any) -> dict[str, Any]:
    response = client.get(f"/api/v1/rounds/{round_id}/attempts", query_string=query)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def usernames(body: dict[str, Any]) -> list[str]:
    return [a["username"] for a in body["attempts"]]


@pytest.fixture
def sittings(app: Flask, round_id: int, units: dict[str, int]) -> dict[str, Any]:
    """wang answers two questions (高新一中); li submits (第二中学); zhao changes phones and
    is flagged by hand; sun is voided."""
    wang = Player(app, "wang", organization_id=units["school"])
    li = Player(app, "li", organization_id=units["other"])
    zhao = Player(app, "zhao", "phone-a", organization_id=units["school"])
    sun = Player(app, "sun")
    ids = {}
    for name, player in (("wang", wang), ("li", li), ("zhao", zhao), ("sun", sun)):
        ids[name] = player.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    for n, item in enumerate(ids["wang"]["items"][:2]):
        put = f"/api/v1/attempts/{ids['wang']['id']}/items/{item['position']}"
        assert wang.call("PUT", put, {"answer": answer_for(item), "seq": n + 1}).status_code == 200
    li.call("POST", f"/api/v1/attempts/{ids['li']['id']}/submission")
    zhao.device = "phone-b"
    zhao.call("POST", f"/api/v1/rounds/{round_id}/attempts")
    with app.app_context():
        db.session.get_one(Attempt, ids["zhao"]["id"]).flagged = True
        sun_attempt = db.session.get_one(Attempt, ids["sun"]["id"])
        sun_attempt.status = AttemptStatus.VOID
        sun_attempt.submitted_by = "integrity"
        db.session.commit()
    return {"players": {"wang": wang, "li": li, "zhao": zhao, "sun": sun}, "attempts": ids}


def test_the_list_shows_progress_status_devices_and_focus_losses(
    app: Flask, organizer_client: FlaskClient, round_id: int, sittings: dict[str, Any]
) -> None:
    body = listed(organizer_client, round_id)
    assert body["total"] == 4 and body["page"] == 1 and body["pages"] == 1
    rows = {a["username"]: a for a in body["attempts"]}
    assert rows["wang"]["shown_status"] == "answering" and rows["wang"]["answered"] == 2
    assert rows["wang"]["questions"] == 10 and rows["wang"]["organization"] == "高新一中"
    assert rows["wang"]["last_saved_at"] is not None
    assert 0 < rows["wang"]["seconds_left"] <= 600
    assert rows["li"]["shown_status"] == "submitted" and rows["li"]["seconds_left"] is None
    assert rows["li"]["answered"] == 0 and rows["li"]["last_saved_at"] is None
    assert rows["zhao"]["device_changes"] == 1 and rows["zhao"]["flagged"] is True
    assert rows["wang"]["device_changes"] == 0
    assert rows["sun"]["shown_status"] == "voided" and rows["sun"]["status"] == "void"
    # The fields the list had before stay.
    for key in ("id", "display_name", "number", "score", "time_used_s", "focus_losses"):
        assert key in rows["wang"]

    page = organizer_client.get(f"/admin/rounds/{round_id}/attempts").get_data(as_text=True)
    table = re.search(r'data-testid="attempts">(.*?)</table>', page, re.S)
    assert table is not None
    cells = re.findall(
        r'<tr data-attempt="\d+" data-status="([a-z_]+)">.*?data-testid="answered">([^<]*)<'
        r'.*?data-testid="device-changes">(\d+)<',
        table.group(1),
        re.S,
    )
    assert cells == [
        ("answering", "2 / 10", "0"),
        ("submitted", "0 / 10", "0"),
        ("answering", "0 / 10", "1"),
        ("voided", "0 / 10", "0"),
    ]
    assert "wang 名" in page and "高新一中" in page and "/admin/attempts/" in page


def test_filters_search_and_paging(
    organizer_client: FlaskClient, round_id: int, units: dict[str, int], sittings: dict[str, Any]
) -> None:
    assert usernames(listed(organizer_client, round_id, status="answering")) == ["wang", "zhao"]
    assert usernames(listed(organizer_client, round_id, status="submitted")) == ["li"]
    assert usernames(listed(organizer_client, round_id, status="voided")) == ["sun"]
    assert usernames(listed(organizer_client, round_id, status="flagged")) == ["zhao"]
    assert usernames(listed(organizer_client, round_id, status="auto_submitted")) == []
    # A district takes in its units.
    by_district = listed(organizer_client, round_id, organization=units["district"])
    assert usernames(by_district) == ["wang", "zhao"]
    assert usernames(listed(organizer_client, round_id, organization=units["other"])) == ["li"]
    assert usernames(listed(organizer_client, round_id, q="ZHA")) == ["zhao"]
    assert usernames(listed(organizer_client, round_id, q="li 名")) == ["li"]
    assert usernames(listed(organizer_client, round_id, q="%")) == []  # no wildcard
    first = listed(organizer_client, round_id, per_page=3)
    second = listed(organizer_client, round_id, per_page=3, page=2)
    assert usernames(first) == ["wang", "li", "zhao"] and usernames(second) == ["sun"]
    assert first["pages"] == 2 and second["total"] == 4
    beyond = listed(organizer_client, round_id, per_page=3, page=9)
    assert beyond["attempts"] == [] and beyond["total"] == 4
    bad = organizer_client.get(f"/api/v1/rounds/{round_id}/attempts?status=lost")
    assert bad.status_code == 422 and bad.get_json()["error"]["code"]
    assert organizer_client.get("/api/v1/rounds/999/attempts").status_code == 404

    page = organizer_client.get(
        f"/admin/rounds/{round_id}/attempts", query_string={"status": "answering", "q": "wang"}
    ).get_data(as_text=True)
    assert re.findall(r'<tr data-attempt="\d+" data-status="([a-z_]+)">', page) == ["answering"]
    assert 'value="answering" selected' in page


def test_who_ended_an_attempt_names_its_state_and_filters_it(
    app: Flask, organizer_client: FlaskClient, round_id: int
) -> None:
    """Submitted by the contestant, automatically (the deadline, the integrity rule), or ended
    by an organizer (a void restored after its time): never one for another."""
    by = {"li": "contestant", "zhou": "deadline", "wu": "integrity", "zheng": "organizer"}
    for name, who in by.items():
        player = Player(app, name)
        attempt = player.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
        with app.app_context():
            row = db.session.get_one(Attempt, attempt["id"])
            row.status = AttemptStatus.SUBMITTED
            row.submitted_at = datetime.now(UTC)
            row.submitted_by = who
            db.session.commit()
    shown = {
        a["username"]: a["shown_status"] for a in listed(organizer_client, round_id)["attempts"]
    }
    assert shown == {
        "li": "submitted",
        "zhou": "auto_submitted",
        "wu": "auto_submitted",
        "zheng": "ended_by_organizer",
    }
    assert usernames(listed(organizer_client, round_id, status="submitted")) == ["li"]
    assert usernames(listed(organizer_client, round_id, status="auto_submitted")) == ["zhou", "wu"]
    ended = listed(organizer_client, round_id, status="ended_by_organizer")
    assert usernames(ended) == ["zheng"]
    page = organizer_client.get(f"/admin/rounds/{round_id}/attempts").get_data(as_text=True)
    cells = re.findall(
        r'<tr data-attempt="\d+" data-status="([a-z_]+)">.*?data-testid="status">([^<]*)<',
        page,
        re.S,
    )
    assert [(status, text.strip()) for status, text in cells] == [
        ("submitted", "已交卷"),
        ("auto_submitted", "自动交卷"),
        ("auto_submitted", "自动交卷"),
        ("ended_by_organizer", "组织者结束"),
    ]
    assert 'value="ended_by_organizer"' in page  # a filter of its own


def test_the_live_part_changes_when_a_contestant_saves(
    app: Flask, organizer_client: FlaskClient, round_id: int, sittings: dict[str, Any]
) -> None:
    url = f"/admin/rounds/{round_id}/attempts/rows"
    first = organizer_client.get(url)
    assert first.status_code == 200 and first.headers["ETag"]
    assert 'data-testid="attempts"' in first.get_data(as_text=True)
    unchanged = organizer_client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert unchanged.status_code == 304
    zhao = sittings["players"]["zhao"]
    attempt = sittings["attempts"]["zhao"]
    item = attempt["items"][0]
    saved = zhao.call(
        "PUT",
        f"/api/v1/attempts/{attempt['id']}/items/{item['position']}",
        {"answer": answer_for(item), "seq": 1},
    )
    assert saved.status_code == 200
    changed = organizer_client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]
    answered = re.findall(r'data-testid="answered">([^<]*)<', changed.get_data(as_text=True))
    assert answered == ["2 / 10", "0 / 10", "1 / 10", "0 / 10"]


# One query per page ----------------------------------------------------------------------------


def seed_attempts(app: Flask, round_id: int, count: int, like: int) -> None:
    """``count`` more attempts of the round, each with a copy of attempt ``like``'s paper and
    an answer saved to its first question (app context)."""
    with app.app_context():
        items = db.session.scalars(select(AttemptItem).where(AttemptItem.attempt_id == like)).all()
        now = datetime.now(UTC)
        first = db.session.scalar(select(User.id).order_by(User.id.desc())) or 0
        db.session.execute(
            insert(User),
            [
                {
                    "username": f"seed{first + n}",
                    "display_name": f"选手{n}",
                    "password_hash": CHEAP_HASH,
                    "role": Role.CONTESTANT,
                }
                for n in range(count)
            ],
        )
        users = db.session.scalars(
            select(User.id).where(User.username.like("seed%")).order_by(User.id)
        ).all()[-count:]
        for user_id in users:
            attempt = Attempt(
                round_id=round_id,
                user_id=user_id,
                number=1,
                seed=1,
                started_at=now,
                deadline_at=now + timedelta(minutes=10),
                max_score=20,
            )
            db.session.add(attempt)
            db.session.flush()
            db.session.execute(
                insert(AttemptItem),
                [
                    {
                        "attempt_id": attempt.id,
                        "position": i.position,
                        "question_version_id": i.question_version_id,
                        "points": i.points,
                        "option_order": i.option_order,
                        "option_ids": i.option_ids,
                        "answer": True if i.position == 1 else None,
                        "seq": 1 if i.position == 1 else 0,
                        "saved_at": now if i.position == 1 else None,
                        "flagged": False,
                    }
                    for i in items
                ],
            )
        db.session.commit()


@contextmanager
def counted(app: Flask) -> Iterator[list[str]]:
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


def test_a_page_takes_the_same_few_statements_however_many_rows_it_shows(
    app: Flask, organizer_client: FlaskClient, round_id: int
) -> None:
    player = Player(app, "first")
    attempt = player.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    urls = (
        f"/api/v1/rounds/{round_id}/attempts",
        f"/admin/rounds/{round_id}/attempts/rows",
        f"/admin/rounds/{round_id}/attempts",
    )
    figures = []
    for more in (2, 120):
        seed_attempts(app, round_id, more, attempt["id"])
        per_url = []
        for url in urls:
            with counted(app) as statements:
                response = organizer_client.get(url)
            assert response.status_code == 200
            listing = [s for s in statements if "attempt_item" in s]
            assert len(listing) == 1, listing  # the rows and every figure: one statement
            per_url.append(len(statements))
        figures.append(per_url)
    assert figures[0] == figures[1]  # 3 rows or a full page of 50: the same statements
    body = listed(organizer_client, round_id)
    assert body["total"] == 123 and len(body["attempts"]) == 50
    assert body["attempts"][1]["answered"] == 1


# The paper ---------------------------------------------------------------------------------------


def test_the_paper_is_what_the_contestant_saw(
    app: Flask, organizer_client: FlaskClient, round_id: int
) -> None:
    player = Player(app, "wang")
    attempt = player.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    seen = player.call("GET", f"/api/v1/attempts/{attempt['id']}").get_json()["items"]
    for n, item in enumerate(seen):
        put = f"/api/v1/attempts/{attempt['id']}/items/{item['position']}"
        player.call("PUT", put, {"answer": answer_for(item, n % 2 == 0), "seq": n + 1})
    player.call("POST", f"/api/v1/attempts/{attempt['id']}/submission")

    paper = organizer_client.get(f"/api/v1/attempts/{attempt['id']}/paper").get_json()
    assert [i["stem"] for i in paper["items"]] == [i["stem"] for i in seen]
    shuffled = False
    for mine, theirs in zip(paper["items"], seen, strict=True):
        assert [o["id"] for o in mine["options"]] == [o["id"] for o in theirs["options"]]
        assert [o["text"] for o in mine["options"]] == [o["text"] for o in theirs["options"]]
        assert [o["letter"] for o in mine["options"]] == list("ABCDEFGH"[: len(theirs["options"])])
        shuffled |= [o["text"] for o in theirs["options"]] not in (
            ["甲", "乙", "丙", "丁"],
            ["一", "二", "三"],
            [],
        )
        assert mine["saved_at"] is not None and mine["seq"] >= 1
        if theirs["type"] in ("single", "multiple"):
            letters = {o["id"]: "ABCDEFGH"[k] for k, o in enumerate(theirs["options"])}
            answer = mine["answer"] if isinstance(mine["answer"], list) else [mine["answer"]]
            assert mine["answer_letters"] == sorted(letters[a] for a in answer)
            key_text = {"single": ["乙"], "multiple": ["甲", "丙"]}[theirs["type"]]
            assert sorted(o["text"] for o in mine["options"] if o["key"]) == sorted(key_text)
    assert shuffled  # the round shuffles options: the paper shows this contestant's order

    # The contestant's own review labels the choices with the same letters.
    review = player.client.get(f"/attempts/{attempt['id']}/result").get_data(as_text=True)
    page = organizer_client.get(f"/admin/attempts/{attempt['id']}").get_data(as_text=True)
    for item in paper["items"]:
        if item["type"] != "single":
            continue
        chosen = next(o for o in item["options"] if o["chosen"])
        pair = f'<span class="letter">{chosen["letter"]}</span> {chosen["text"]}'
        assert pair in review and pair in page
    assert page.count('data-testid="paper-item"') == 10
    assert 'data-testid="timeline"' in page


# In the browser --------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs /usr/bin/chromium")
def test_the_organizers_page_follows_a_save_without_a_reload(
    browser: Browser, live_app: Flask, live_server: str
) -> None:
    with live_app.app_context():
        round_id = paper_round(published_bank()).id
    player = Player(live_app, "wang")
    attempt = player.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    with new_page(browser, live_server, viewport={"width": 1440, "height": 900}) as page:
        log_in(page, ORGANIZER)
        page.goto(f"/admin/rounds/{round_id}/attempts")
        answered = page.get_by_test_id("answered")
        expect(answered).to_have_text("0 / 10")
        expect(page.get_by_test_id("live-state")).to_be_visible()
        page.evaluate("window.notReloaded = true")
        item = attempt["items"][0]
        saved = player.call(
            "PUT",
            f"/api/v1/attempts/{attempt['id']}/items/{item['position']}",
            {"answer": answer_for(item), "seq": 1},
        )
        assert saved.status_code == 200
        expect(answered).to_have_text("1 / 10", timeout=15_000)
        assert page.evaluate("window.notReloaded") is True
        expect(page.get_by_role("heading", level=1)).to_contain_text("答卷监控")
        # The page fits a 1440-wide screen: no sideways scrolling.
        assert page.evaluate("document.documentElement.scrollWidth") <= 1440
        page.screenshot(path="/tmp/monitoring-list.png", full_page=True)
        page.get_by_role("link", name="wang 名").click()
        expect(page.get_by_test_id("paper-item")).to_have_count(10)
        assert page.evaluate("document.documentElement.scrollWidth") <= 1440
        page.screenshot(path="/tmp/monitoring-paper.png", full_page=True)
