"""Certificates in a real browser (Chromium via Playwright, Chinese): an organizer opens the
certificate page from the contest page, picks the modern design, names the issuer and uploads a
seal, then downloads every certificate as one ZIP built by a real RQ worker (the export status
page follows its progress); a visitor on a phone checks a certificate's number."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from contest.extensions import db
from contest.models import Certificate, Organization, Role
from tests.conftest import add_user
from tests.support import browser as browser_support
from tests.support.awards_page import lock_awards, open_awards, set_tiers
from tests.support.browser import BROWSER_MARKS, ORGANIZER, log_in, new_page, path_is
from tests.support.certificates import pdf_text, scored
from tests.support.contests import paper_round, published_bank
from workers import queues
from workers.runner import make_worker

browser = browser_support.browser
live_app = browser_support.live_app
live_server = browser_support.live_server

pytestmark = BROWSER_MARKS

WIDE = {"viewport": {"width": 1440, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
TIMEOUT_MS = 60_000
TITLE = "2026年网络安全知识竞赛"


@pytest.fixture
def organizer(browser: Browser, live_server: str) -> Iterator[Page]:
    with new_page(browser, live_server, **WIDE) as page:
        yield page


@pytest.fixture
def visitor(browser: Browser, live_server: str) -> Iterator[Page]:
    with new_page(browser, live_server, **PHONE) as page:
        yield page


def seal_png() -> bytes:
    image = Image.new("RGBA", (240, 240), (0, 0, 0, 0))
    image.paste((200, 20, 20, 210), (40, 40, 200, 200))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def contest_id(live_app: Flask) -> int:
    """A contest with three scored contestants and no award rules yet."""
    with live_app.app_context():
        round_ = paper_round(published_bank(per_type=2), contest_title=TITLE)
        unit = Organization(name="朝阳区网络安全协会")
        db.session.add(unit)
        db.session.commit()
        for i in range(3):
            user = add_user(f"w{i}", Role.CONTESTANT, unit.id)
            scored(round_.id, user.id, str(90 - i), 300)
        db.session.commit()
        return round_.contest_id


def test_an_organizer_sets_tiers_locks_them_and_downloads_every_certificate(
    organizer: Page, visitor: Page, live_app: Flask, contest_id: int
) -> None:
    page = organizer
    page.set_default_timeout(TIMEOUT_MS)
    log_in(page, ORGANIZER)
    page.goto(f"/admin/contests/{contest_id}/certificates")
    expect(page.get_by_test_id("certificates-state")).to_contain_text("奖项锁定后颁发证书")
    expect(page.get_by_test_id("certificates-zip")).to_have_count(0)

    # the awards page: the tiers, then the lock (it asks first)
    open_awards(page, contest_id)
    set_tiers(page, [("一等奖", "count", "1"), ("二等奖", "count", "1"), ("三等奖", "count", "1")])
    lock_awards(page)
    expect(page.get_by_test_id("unlock-form")).to_be_visible()

    page.goto(f"/admin/contests/{contest_id}")
    page.get_by_test_id("certificates-link").click()
    expect(page).to_have_url(path_is(f"/admin/contests/{contest_id}/certificates"))
    expect(page.get_by_test_id("certificates")).to_contain_text("w0 名")
    page.get_by_label("证书样式").select_option("modern")
    page.get_by_label("颁发单位").fill("北京市网络安全竞赛组委会")
    page.get_by_label("印章或标志（PNG、JPEG、GIF 或 WebP，不超过 2 MB）").set_input_files(
        files=[{"name": "seal.png", "mimeType": "image/png", "buffer": seal_png()}]
    )
    page.get_by_role("button", name="保存证书设置").click()
    expect(page.get_by_role("status").first).to_contain_text("证书设置已保存")
    expect(page.get_by_test_id("seal-preview")).to_be_visible()
    assert page.evaluate("document.querySelector('[data-testid=seal-preview]').naturalWidth") > 0

    page.get_by_test_id("certificates-zip").click()
    expect(page).to_have_url(re.compile(r"^https?://[^/]+/admin/exports/\d+$"))
    make_worker(live_app, [queues.DEFAULT]).work(burst=True)  # a real RQ worker builds the ZIP
    link = page.get_by_test_id("export-download")
    expect(link).to_be_visible()
    with page.expect_download() as info:
        link.click()
    assert info.value.suggested_filename == f"certificates-contest-{contest_id}.zip"
    archive = zipfile.ZipFile(io.BytesIO(Path(info.value.path()).read_bytes()))
    names = sorted(archive.namelist())
    assert len(names) == 3
    with live_app.app_context():
        numbers = db.session.scalars(
            db.select(Certificate.number).where(Certificate.contest_id == contest_id)
        ).all()
    assert sorted(n.split("-", 2)[2].removesuffix(".pdf") for n in names) == sorted(numbers)
    texts = [pdf_text(archive.read(name)) for name in names]
    assert all("北京市网络安全竞赛组委会" in text for text in texts)
    assert {t for text in texts for t in ("一等奖", "二等奖", "三等奖") if t in text} == {
        "一等奖",
        "二等奖",
        "三等奖",
    }

    # a visitor checks the first number on a phone: masked name, the award
    visitor.set_default_timeout(TIMEOUT_MS)
    visitor.goto("/certificates/verify")
    visitor.get_by_label("证书编号").fill(numbers[0].lower())
    visitor.get_by_role("button", name="验证").click()
    expect(visitor.get_by_test_id("verify-valid")).to_be_visible()
    expect(visitor.get_by_test_id("verify-name")).to_have_text(re.compile(r"^w\*+名$"))
    assert visitor.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
