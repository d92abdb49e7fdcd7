"""The organizer's question-bank pages in a real browser (Chromium via Playwright, 1280×800).

Authoring with the live Markdown preview, importing a spreadsheet through the page with a real RQ
worker process (a file with a bad row, then 1,500 questions with a progress bar), and filtering
the bank's question list. The bank pages are not translated yet, so visible strings are matched
as Chinese or English; form fields are found by their ids.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from flask import Flask
from openpyxl import Workbook
from playwright.sync_api import Dialog, Frame, Page, expect
from sqlalchemy import func, select

from contest.extensions import db
from contest.services import bank as bank_service
from question_bank.domain import QuestionData, QuestionType
from question_bank.formats.spreadsheet import XLSX_MEDIA_TYPE, export_xlsx
from question_bank.models import Question
from tests.support import browser as browser_support
from tests.support.browser import BROWSER_MARKS, ORGANIZER, log_in, path_is

# The fixtures these tests use (pytest looks for fixtures among a module's attributes).
browser = browser_support.browser
live_app = browser_support.live_app
live_server = browser_support.live_server
start_worker = browser_support.start_worker
desktop = browser_support.desktop

pytestmark = BROWSER_MARKS

NOW = datetime(2026, 11, 29, tzinfo=UTC)
BIG_IMPORT = 1500
IMPORT_TIMEOUT_MS = 120_000  # parsing and writing 1,500 questions on a slow CI machine
HEADER = ["题型", "题干", "选项A", "选项B", "选项C", "选项D", "答案", "解析", "难度", "分类"]
IMPORT_URL = re.compile(r"^https?://[^/]+/admin/imports/\d+$")
QUESTION_URL = re.compile(r"^https?://[^/]+/admin/questions/\d+$")
SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.fixture
def bank_id(live_app: Flask) -> int:
    with live_app.app_context():
        bank = bank_service.create_bank("网络安全题库")
        db.session.commit()
        return bank.id


def question_count(app: Flask, bank_id: int) -> int:
    with app.app_context():
        count = db.session.scalar(
            select(func.count()).select_from(Question).where(Question.bank_id == bank_id)
        )
        db.session.remove()
        return count or 0


def workbook(rows: list[list[str]]) -> bytes:
    """An XLSX file as an organizer fills it in: the template's header, then ``rows``."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def upload(page: Page, bank_id: int, name: str, content: bytes) -> None:
    """From the bank page, open the import page and upload ``content``; land on its status."""
    page.goto(f"/admin/banks/{bank_id}")
    page.get_by_role("link", name=re.compile(r"^(导入|Import)$")).click()
    expect(page).to_have_url(path_is(f"/admin/banks/{bank_id}/import"))
    form = page.locator("form[enctype='multipart/form-data']")
    form.locator("#file").set_input_files(
        files=[{"name": name, "mimeType": XLSX_MEDIA_TYPE, "buffer": content}]
    )
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(IMPORT_URL)


def all_images_loaded_or_failed(page: Page) -> None:
    """Wait until every image has loaded or failed: an ``onerror`` handler would have run."""
    page.wait_for_function("() => Array.from(document.images).every((img) => img.complete)")


def test_new_question_with_live_preview_renders_markdown_and_no_script(
    desktop: Page, bank_id: int
) -> None:
    page = desktop
    dialogs: list[str] = []

    def record(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    log_in(page, ORGANIZER)
    expect(page).to_have_url(path_is("/admin/"))
    page.goto(f"/admin/banks/{bank_id}")
    page.get_by_role("link", name=re.compile(r"^(新建题目|New question)$")).click()
    editor_url = f"/admin/banks/{bank_id}/questions/new"
    expect(page).to_have_url(path_is(editor_url))

    form = page.locator("#question-form")
    form.locator("#type").select_option("single")
    # Typed key by key, as an organizer would: every keystroke is an input event.
    form.locator("#stem").press_sequentially(
        "收到自称“网管”的邮件要求提供密码，**加粗**的做法是？<img src=x onerror=alert(1)>"
    )
    for letter, text in zip(
        "abcd",
        ("立即回复密码", "*核实*后向安全部门报告", "转发给同事", "点击邮件中的链接"),
        strict=True,
    ):
        form.locator(f"#option_{letter}").fill(text)
    form.locator("#answer").fill("B")
    form.locator("#explanation").fill(f"索要密码的邮件多为**钓鱼**邮件。附件 SHA-256：{SHA256}")

    preview = page.get_by_test_id("preview")
    expect(preview.locator(".stem strong")).to_have_text("加粗")
    expect(preview.locator(".option-list li")).to_have_count(4)
    expect(preview.locator(".option-list li").nth(1).locator("em")).to_have_text("核实")
    expect(preview.locator(".explanation strong")).to_have_text("钓鱼")
    expect(preview.locator(".stem img")).to_have_count(1)  # allowed, without its handler
    expect(page.locator("[onerror]")).to_have_count(0)
    expect(page).to_have_url(path_is(editor_url))  # previewed without submitting
    expect(preview.locator(".explanation")).to_contain_text(SHA256)
    all_images_loaded_or_failed(page)
    # The long unbroken hash wraps in the preview instead of widening its column (3fr : 2fr).
    form_box, preview_box = form.bounding_box(), preview.bounding_box()
    assert form_box is not None and preview_box is not None
    assert preview_box["width"] < form_box["width"]
    assert preview.evaluate("(e) => e.scrollWidth <= e.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.evaluate("window.scrollTo(0, 0)")  # the sticky preview beside the top of the form
    page.screenshot(path="/tmp/editor.png", full_page=True)
    save = form.get_by_role("button")  # the form's only button
    save.scroll_into_view_if_needed()
    expect(preview).to_be_in_viewport()  # the preview stays in view beside the long form

    save.click()
    expect(page).to_have_url(QUESTION_URL)
    expect(page.locator(".stem")).to_contain_text("收到自称“网管”的邮件要求提供密码")
    expect(page.locator(".stem strong")).to_have_text("加粗")
    expect(page.locator(".option-list li").nth(1)).to_have_text("核实后向安全部门报告")
    expect(page.locator(".stem img")).to_have_count(1)
    expect(page.locator("[onerror]")).to_have_count(0)
    all_images_loaded_or_failed(page)
    assert dialogs == []


def test_import_with_a_bad_row_lists_the_problem_and_imports_nothing(
    desktop: Page, live_app: Flask, bank_id: int, start_worker: Callable[[], object]
) -> None:
    page = desktop
    content = workbook(
        [
            ["单选", "收到可疑邮件后应当？", "删除并报告", "点击链接", "回复", "转发", "A",
             "", "易", "安全意识/社会工程学"],
            ["判断", "钓鱼网站也可以使用 HTTPS。", "", "", "", "", "对", "", "中", ""],
            ["单选", "第4行：答案超出选项的单选题", "甲", "乙", "丙", "丁", "E", "", "中", ""],
            ["多选", "强密码的特征有？", "长度足够", "包含多种字符", "使用生日", "不重复使用",
             "ABD", "", "中", ""],
        ]
    )  # fmt: skip
    log_in(page, ORGANIZER)
    expect(page).to_have_url(path_is("/admin/"))
    start_worker()
    upload(page, bank_id, "有问题的题目.xlsx", content)

    box = page.locator("#import")
    expect(box).to_have_attribute("data-status", "failed", timeout=IMPORT_TIMEOUT_MS)
    problems = page.get_by_test_id("problems")
    expect(problems.locator("li")).to_have_count(1)
    expect(problems).to_contain_text(re.compile(r"第\s*4\s*行|Line 4"))
    expect(page.get_by_test_id("summary")).to_have_count(0)
    expect(page.locator("#import-progress")).to_have_count(0)  # no empty bar on a failure
    page.screenshot(path="/tmp/import-problems.png", full_page=True)
    assert question_count(live_app, bank_id) == 0

    page.get_by_role("link", name="网络安全题库").click()  # back to the bank: still empty
    expect(page).to_have_url(path_is(f"/admin/banks/{bank_id}"))
    expect(page.locator("table.questions tbody tr")).to_have_count(0)


def big_bank() -> list[QuestionData]:
    """Distinct questions of three types (a duplicate would be skipped, not created)."""
    questions: list[QuestionData] = []
    for n in range(BIG_IMPORT):
        if n % 3 == 0:
            question = QuestionData(
                QuestionType.SINGLE,
                f"第{n}题：发现第{n}号主机异常外联时，首先应当？",
                n % 4,
                options=("隔离主机", "重启主机", "忽略告警", "格式化硬盘"),
                category="应急响应/处置",
            )
        elif n % 3 == 1:
            question = QuestionData(
                QuestionType.MULTIPLE,
                f"第{n}题：以下哪些是第{n}类钓鱼邮件的特征？",
                (0, 2),
                options=("仿冒域名", "内容与业务一致", "催促点击链接"),
                category="安全意识/社会工程学",
            )
        else:
            question = QuestionData(
                QuestionType.TRUE_FALSE, f"第{n}题：口令第{n}次泄露后应立即修改。", True
            )
        questions.append(question)
    return questions


def test_import_of_1500_questions_shows_progress_and_the_summary(
    desktop: Page,
    live_app: Flask,
    bank_id: int,
    start_worker: Callable[[], object],
) -> None:
    page = desktop
    navigations: list[str] = []  # of the main frame: page loads, whoever started them

    def navigated(frame: Frame) -> None:
        if frame.parent_frame is None:
            navigations.append(frame.url)

    page.on("framenavigated", navigated)
    log_in(page, ORGANIZER)
    expect(page).to_have_url(path_is("/admin/"))
    upload(page, bank_id, "题库.xlsx", export_xlsx(big_bank()))
    status_url = page.url
    landed = len(navigations)

    # No worker yet: the import waits, and the page says so with its progress bar.
    box = page.locator("#import")
    expect(box).to_have_attribute("data-status", "queued")
    bar = page.locator("progress#import-progress")
    expect(bar).to_be_visible()
    expect(bar).not_to_have_attribute("value", re.compile(".*"))  # indeterminate: no total yet
    expect(page.get_by_test_id("import-status")).to_have_text(re.compile(r"\S"))

    start_worker()
    summary = page.get_by_test_id("summary")
    expect(summary).to_contain_text(str(BIG_IMPORT), timeout=IMPORT_TIMEOUT_MS)
    expect(box).to_have_attribute("data-status", "succeeded")
    expect(bar).to_have_attribute("value", str(BIG_IMPORT))
    expect(page.locator("#import-count")).to_have_text(f"{BIG_IMPORT} / {BIG_IMPORT}")
    # The script polled and reloaded the page once when the import ended; the test did not.
    assert navigations[landed:] == [status_url]
    assert question_count(live_app, bank_id) == BIG_IMPORT


def test_bank_list_filters_by_text_and_type(desktop: Page, live_app: Flask, bank_id: int) -> None:
    with live_app.app_context():
        for data in (
            QuestionData(
                QuestionType.SINGLE,
                "发现钓鱼邮件后应当如何处理？",
                1,
                options=("回复确认", "报告安全部门", "转发同事"),
            ),
            QuestionData(QuestionType.TRUE_FALSE, "钓鱼网站也可以使用 HTTPS。", True),
            QuestionData(QuestionType.TRUE_FALSE, "公共Wi-Fi可以放心登录网银。", False),
            QuestionData(
                QuestionType.MULTIPLE,
                "以下哪些属于强密码的特征？",
                (0, 1),
                options=("长度足够", "包含多种字符", "使用生日"),
            ),
        ):
            bank_service.add_question(bank_id, data, actor_id=None, now=NOW)
        db.session.commit()
        db.session.remove()

    page = desktop
    log_in(page, ORGANIZER)
    expect(page).to_have_url(path_is("/admin/"))
    page.goto(f"/admin/banks/{bank_id}")
    rows = page.locator("table.questions tbody tr")
    expect(rows).to_have_count(4)

    filters = page.get_by_role("search")
    filters.locator("#f-q").fill("钓鱼")
    filters.get_by_role("button").click()
    expect(page).to_have_url(re.compile(r"[?&]q=%E9%92%93%E9%B1%BC(&|$)"))
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="发现钓鱼邮件后应当如何处理？")).to_have_count(1)
    expect(rows.filter(has_text="钓鱼网站也可以使用 HTTPS。")).to_have_count(1)
    expect(filters.locator("#f-q")).to_have_value("钓鱼")

    filters.locator("#f-type").select_option("true_false")
    filters.get_by_role("button").click()
    expect(page).to_have_url(re.compile(r"[?&]type=true_false(&|$)"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("钓鱼网站也可以使用 HTTPS。")
    expect(filters.locator("#f-type")).to_have_value("true_false")

    filters.locator("#f-q").fill("")
    filters.get_by_role("button").click()
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="公共Wi-Fi可以放心登录网银。")).to_have_count(1)
    expect(rows.filter(has_text="发现钓鱼邮件")).to_have_count(0)

    filters.locator("#f-q").fill("没有这道题")
    filters.get_by_role("button").click()
    expect(rows).to_have_count(0)
