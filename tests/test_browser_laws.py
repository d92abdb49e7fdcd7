"""An organizer reviews citations after 网络安全法 was amended, in the browser (Chromium via
Playwright, Chinese): the law library shows which version is in force, the review queue shows the
old and new article side by side, one click moves an unchanged citation, and a changed one shows
its diff and leads to the editor."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from contest.extensions import db
from contest.services import amendments
from contest.services import bank as bank_service
from contest.services.laws import import_laws
from question_bank.domain import Citation, QuestionData, QuestionType
from question_bank.models import LawVersion, Question, QuestionStatus
from tests.conftest import SHARED, needs_shared
from tests.support import browser as browser_support
from tests.support.browser import BROWSER_MARKS, ORGANIZER, log_in, new_page, path_is

browser = browser_support.browser
live_app = browser_support.live_app
live_server = browser_support.live_server

pytestmark = [*BROWSER_MARKS, needs_shared]

TIMEOUT_MS = 30_000


@pytest.fixture
def organizer(browser: Browser, live_server: str) -> Iterator[Page]:
    with new_page(browser, live_server, viewport={"width": 1280, "height": 900}) as page:
        yield page


@pytest.fixture
def questions(live_app: Flask) -> dict[str, int]:
    """The shared law texts with the 2025 text in force since yesterday, and two questions
    citing the 2016 text: article 21 (unchanged as 23) and article 62 (rewritten as 65)."""
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    now = datetime.now(UTC)
    with live_app.app_context():
        import_laws(SHARED / "laws", today=today)
        version = db.session.scalars(
            select(LawVersion.id).where(LawVersion.version == "2025-10-28")
        ).one()
        amendments.set_version_in_force(version, today - timedelta(days=1), today=today)
        bank = bank_service.create_bank("法规题库")
        ids = {}
        for key, article, quote in (
            ("same", 21, "留存相关的网络日志不少于六个月"),
            ("changed", 62, "拒不改正或者情节严重的，处一万元以上十万元以下罚款"),
        ):
            question = bank_service.add_question(
                bank.id,
                QuestionData(
                    QuestionType.TRUE_FALSE,
                    f"法条题{article}",
                    True,
                    citation=Citation("网络安全法", article, "2016-11-07", quote),
                ),
                actor_id=None,
                now=now,
                status=QuestionStatus.PUBLISHED,
            )
            db.session.flush()
            ids[key] = question.id
        db.session.commit()
        db.session.remove()
        return ids


def test_an_organizer_moves_an_unchanged_citation_and_sees_a_changed_ones_diff(
    organizer: Page, questions: dict[str, int], live_app: Flask
) -> None:
    page = organizer
    page.set_default_timeout(TIMEOUT_MS)
    log_in(page, ORGANIZER)
    page.goto("/admin/")
    page.get_by_test_id("nav-laws").click()
    current = page.locator('tr[data-law="网络安全法"][data-version="2025-10-28"]')
    expect(current.get_by_test_id("state-current")).to_have_text("现行有效")
    old = page.locator('tr[data-law="网络安全法"][data-version="2016-11-07"]')
    expect(old.get_by_test_id("state-superseded")).to_have_text("已被修正")

    page.get_by_test_id("review-link").click()
    same = page.locator(f'[data-testid="review-row"][data-question="{questions["same"]}"]')
    changed = page.locator(f'[data-testid="review-row"][data-question="{questions["changed"]}"]')
    expect(same.get_by_test_id("proposed")).to_have_text("第 23 条")
    expect(changed.get_by_test_id("proposed")).to_have_text("第 65 条")
    expect(changed.get_by_test_id("diff").locator("del").first).to_be_visible()
    expect(changed.get_by_test_id("diff").locator("ins").first).to_be_visible()
    expect(changed.get_by_test_id("apply")).to_have_count(0)

    same.get_by_test_id("apply").click()
    expect(page.get_by_text(f"题目 #{questions['same']}：")).to_be_visible()
    expect(same).to_have_count(0)
    changed.get_by_test_id("edit").click()
    expect(page).to_have_url(path_is(f"/admin/questions/{questions['changed']}/edit"))
    with live_app.app_context():
        question = db.session.get(Question, questions["same"])
        assert question is not None and question.current_version is not None
        assert question.current_version.citation_article == 23
        assert not question.needs_review
        db.session.remove()
