"""Pictures in questions in a real browser (Chromium via Playwright).

An organizer imports a Moodle XML file with an embedded PNG through the import page (a real RQ
worker process), the question goes into a round, and a contestant on a 390-px phone sees the
picture load on the attempt page and, after submitting, on the review page. The question editor
uploads a picture and shows it in the live preview.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from PIL import Image, ImageDraw
from playwright.sync_api import Browser, FilePayload, Page, expect

from contest.extensions import db
from contest.services import bank as bank_service
from tests.support import browser as browser_support
from tests.support.browser import BROWSER_MARKS, CONTESTANT, ORGANIZER, log_in, new_page, path_is
from tests.support.contests import paper_round
from workers import queues
from workers.runner import make_worker

browser = browser_support.browser
live_app = browser_support.live_app
live_server = browser_support.live_server
start_worker = browser_support.start_worker
desktop = browser_support.desktop

pytestmark = BROWSER_MARKS

IMPORT_URL = re.compile(r"^https?://[^/]+/admin/imports/\d+$")
ATTEMPT_URL = re.compile(r"^https?://[^/]+/attempts/(\d+)(#q\d+)?$")
PHONE_390: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
}


def payload(name: str, content: bytes, mime_type: str) -> FilePayload:
    return {"name": name, "mimeType": mime_type, "buffer": content}


def fake_login_page() -> bytes:
    """A wide PNG (wider than a phone) of a "login page"."""
    image = Image.new("RGB", (800, 400), (245, 245, 245))
    draw = ImageDraw.Draw(image)
    draw.rectangle([200, 120, 600, 160], outline=(0, 0, 0))
    draw.rectangle([200, 200, 600, 240], outline=(0, 0, 0))
    draw.rectangle([300, 280, 500, 320], fill=(30, 90, 200))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def moodle_quiz(png: bytes) -> bytes:
    data = base64.b64encode(png).decode()
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<quiz>
  <question type="category"><category><text>$course$/top/事件处置</text></category></question>
  <question type="multichoice">
    <name><text>假登录页</text></name>
    <questiontext format="html">
      <text><![CDATA[<p>下图的登录页哪里不对？</p>
<p><img src="@@PLUGINFILE@@/login%20page.png" alt="假登录页"></p>]]></text>
      <file name="login page.png" path="/" encoding="base64">{data}</file>
    </questiontext>
    <generalfeedback format="html"><text>域名不是官网。</text></generalfeedback>
    <single>true</single>
    <answer fraction="100" format="html"><text>网址不是官方域名</text></answer>
    <answer fraction="0" format="html"><text>按钮是蓝色的</text></answer>
    <answer fraction="0" format="html"><text>有两个输入框</text></answer>
  </question>
</quiz>
""".encode()


@pytest.fixture
def bank_id(live_app: Flask) -> int:
    with live_app.app_context():
        bank = bank_service.create_bank("图片题库")
        db.session.commit()
        return bank.id


def image_loaded(page: Page, selector: str) -> dict[str, Any]:
    """Wait until the image has loaded or failed; its natural and shown widths."""
    image = page.locator(selector).first
    expect(image).to_be_attached()
    image.evaluate("img => img.complete || new Promise((ok) => { img.onload = img.onerror = ok; })")
    sizes: dict[str, Any] = image.evaluate(
        "img => ({natural: img.naturalWidth, shown: img.getBoundingClientRect().width,"
        " page: document.documentElement.scrollWidth, src: img.getAttribute('src')})"
    )
    return sizes


def test_an_imported_picture_shows_on_the_contestants_phone(
    browser: Browser,
    live_server: str,
    live_app: Flask,
    desktop: Page,
    bank_id: int,
    start_worker: Callable[[], Any],
) -> None:
    page = desktop
    log_in(page, ORGANIZER)
    expect(page).to_have_url(path_is("/admin/"))
    page.goto(f"/admin/banks/{bank_id}/import")
    form = page.locator("form[enctype='multipart/form-data']")
    quiz = moodle_quiz(fake_login_page())
    form.locator("#file").set_input_files(files=[payload("quiz.xml", quiz, "application/xml")])
    form.locator("#status").select_option("published")
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(IMPORT_URL)
    start_worker()
    expect(page.get_by_test_id("summary")).to_be_visible(timeout=60_000)

    with live_app.app_context():
        blueprint = [
            {"category": "事件处置", "type": "single", "difficulty": None, "count": 1, "points": 2}
        ]
        round_id = paper_round(bank_id, blueprint=blueprint).id

    with new_page(browser, live_server, **PHONE_390) as phone:
        log_in(phone, CONTESTANT)
        expect(phone).to_have_url(path_is("/"))
        phone.goto(f"/rounds/{round_id}")
        phone.once("dialog", lambda dialog: dialog.accept())  # the round's only attempt
        phone.get_by_test_id("start").click()
        expect(phone).to_have_url(ATTEMPT_URL)
        expect(phone.get_by_test_id("question")).to_have_attribute("aria-busy", "false")
        sizes = image_loaded(phone, "[data-testid=question] .stem img")
        assert re.fullmatch(r"/media/[0-9a-f]{64}\.png", sizes["src"]), sizes
        assert sizes["natural"] == 800, sizes  # it loaded
        assert sizes["shown"] <= 390 and sizes["page"] <= 390, sizes  # and fits the phone
        phone.screenshot(path="/tmp/images-attempt-phone.png", full_page=True)

        phone.get_by_role("radio", name="网址不是官方域名").check()
        phone.get_by_test_id("submit").click()
        phone.get_by_role("dialog").get_by_role("button", name=re.compile("交卷")).click()
        expect(phone).to_have_url(re.compile(r"/attempts/\d+/result$"))
        make_worker(live_app, [queues.SCORING]).work(burst=True)
        expect(phone.get_by_test_id("review-item")).to_have_count(1, timeout=15_000)
        review = image_loaded(phone, "[data-testid=review-item] .stem img")
        assert review["natural"] == 800 and review["page"] <= 390, review


def test_the_editor_uploads_a_picture_into_the_stem_and_previews_it(
    desktop: Page, bank_id: int
) -> None:
    page = desktop
    log_in(page, ORGANIZER)
    expect(page).to_have_url(path_is("/admin/"))
    page.goto(f"/admin/banks/{bank_id}/questions/new")
    form = page.locator("#question-form")
    form.locator("#stem").fill("这张截图里的二维码可以扫吗？")
    page.locator("#image-file").set_input_files(
        files=[payload("二维码.png", fake_login_page(), "image/png")]
    )
    page.get_by_role("button", name="上传图片").click()
    expect(form.locator("#stem")).to_have_value(
        re.compile(r"^这张截图里的二维码可以扫吗？\n!\[二维码\]\(/media/[0-9a-f]{64}\.png\)$")
    )
    sizes = image_loaded(page, "[data-testid=preview] .stem img")
    assert sizes["natural"] == 800, sizes
    page.screenshot(path="/tmp/images-editor.png", full_page=True)

    page.locator("#image-file").set_input_files(
        files=[payload("evil.png", b"<svg onload=alert(1)>", "image/png")]
    )
    page.get_by_role("button", name="上传图片").click()
    expect(page.locator("#image-status")).to_contain_text("不接受 SVG")
