"""An organizer exports a contest's results from the browser (Chromium, phone-sized): the form on
the contest's pages, a status page whose progress bar follows the worker, then the download."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from flask import Flask
from playwright.sync_api import Page, expect

from contest.extensions import db
from contest.models import Attempt, AttemptStatus, User
from tests.support import browser as browser_support
from tests.support.browser import BROWSER_MARKS, CONTESTANT, ORGANIZER, log_in
from tests.support.contests import NOW, paper_round, published_bank
from workers import queues
from workers.runner import make_worker

browser = browser_support.browser
live_app = browser_support.live_app
live_server = browser_support.live_server
phone = browser_support.phone

pytestmark = BROWSER_MARKS


def test_an_organizer_exports_results_and_downloads_them(
    live_app: Flask, phone: Page, tmp_path: Path
) -> None:
    with live_app.app_context():
        round_ = paper_round(published_bank(per_type=2))
        contest_id = round_.contest_id
        user = db.session.query(User).filter_by(username=CONTESTANT).one()
        db.session.add(
            Attempt(
                round_id=round_.id,
                user_id=user.id,
                number=1,
                seed=1,
                status=AttemptStatus.SCORED,
                started_at=NOW,
                deadline_at=NOW,
                submitted_at=NOW,
                submitted_by="contestant",
                score=Decimal(42),
                max_score=Decimal(100),
                time_used_s=300,
            )
        )
        db.session.commit()
        db.session.remove()
    log_in(phone, ORGANIZER)
    phone.goto(f"/admin/contests/{contest_id}")
    phone.get_by_test_id("results-export-link").click()
    phone.get_by_label("CSV").check()
    phone.get_by_test_id("start-export").click()
    status = phone.get_by_test_id("export-status")
    expect(status).to_contain_text("排队")
    expect(phone.locator("#export-progress")).to_be_visible()
    make_worker(live_app, [queues.DEFAULT]).work(burst=True)
    link = phone.get_by_test_id("export-download")
    expect(link).to_be_visible(timeout=15_000)  # the page reloads once the worker is done
    expect(status).to_contain_text("已生成")
    with phone.expect_download() as info:
        link.click()
    path = tmp_path / "results.csv"
    info.value.save_as(path)
    text = path.read_bytes().decode("utf-8-sig")
    assert f"1,{CONTESTANT} 名,{CONTESTANT},第一中学,42,0:05:00" in text
