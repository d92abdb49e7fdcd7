"""What an import may cost, and what it costs others: bounds, short transactions, capped reports.

The large sheets are generated here (never checked in): a worksheet written as raw XML into a zip
archive, so that a sheet of a million rows costs the test a second, not a spreadsheet library's
minutes.
"""

from __future__ import annotations

import io
import sqlite3
import threading
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from contest.extensions import db
from contest.models import Role, User
from contest.services import bank as bank_service
from question_bank.domain import QuestionData, QuestionType
from question_bank.models import (
    Category,
    Question,
    QuestionStatus,
    QuestionVersion,
    StatusChange,
)
from tests.conftest import add_user, api_login
from tests.support.imports import run_worker, upload

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
    ),
    "_rels/.rels": (
        f'<Relationships xmlns="{RELS}"><Relationship Id="rId1" '
        f'Type="{DOC_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        f'<workbook xmlns="{MAIN}" xmlns:r="{DOC_RELS}"><sheets>'
        '<sheet name="题库" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'<Relationships xmlns="{RELS}"><Relationship Id="rId1" '
        f'Type="{DOC_RELS}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
    ),
}


def cell(ref: str | None, text: str) -> str:
    where = f' r="{ref}"' if ref else ""  # without references, rows are counted in order
    return f'<c{where} t="inlineStr"><is><t>{text}</t></is></c>'


def raw_xlsx(rows: Iterator[str]) -> bytes:
    """A workbook whose first sheet holds ``rows`` (``<row>`` elements), streamed into the zip."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in PARTS.items():
            archive.writestr(name, text)
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(f'<worksheet xmlns="{MAIN}"><sheetData>'.encode())
            batch: list[str] = []
            for row in rows:
                batch.append(row)
                if len(batch) == 10_000:
                    sheet.write("".join(batch).encode())
                    batch = []
            sheet.write(("".join(batch) + "</sheetData></worksheet>").encode())
    return buffer.getvalue()


def header_row() -> str:
    return f'<row r="1">{cell("A1", "题型")}{cell("B1", "题干")}{cell("C1", "答案")}</row>'


def attacker_sheet(rows: int) -> bytes:
    """The reproduction: a small upload whose sheet unpacks to tens of MB of identical rows that
    are each wrong (an unknown type, no answer) — millions of problems before any bound."""
    bad = f"<row>{cell(None, '问答')}{cell(None, '这一行没有答案')}</row>"
    return raw_xlsx(iter([header_row(), *(bad for _ in range(rows))]))


def bad_csv(rows: int) -> bytes:
    """A CSV of ``rows`` questions with one problem each (an unknown type)."""
    lines = ["题型,题干,答案", *(f"问答,第{n}题,A" for n in range(rows))]
    return "\n".join(lines).encode()


def true_false(count: int) -> list[QuestionData]:
    """``count`` distinct questions in three new categories."""
    return [
        QuestionData(
            QuestionType.TRUE_FALSE, f"第{n}题：弱口令是安全的。", False, category=f"基础/类{n % 3}"
        )
        for n in range(count)
    ]


def count(app: Flask, model: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def bank_id(app: Flask) -> int:
    with app.app_context():
        bank = bank_service.create_bank("导入上限")
        db.session.commit()
        return bank.id


def sqlite_path(app: Flask) -> str:
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("the write lock of one SQLite database is what this test is about")
        database = db.engine.url.database
        assert database
        return database


# Item 1: a large import does not lock the database for everyone ---------------------------------


def test_a_report_page_reads_while_another_connection_holds_the_write_lock(
    app: Flask, organizer_client: FlaskClient, bank_id: int
) -> None:
    """Reads take no write lock: while a writer holds it, getImport answers (an IMMEDIATE read
    would wait out the busy timeout and fail with "database is locked"); a write queues."""
    job = upload(organizer_client, bank_id, bad_csv(1), "one.csv").get_json()["id"]
    run_worker(app)
    writer = sqlite3.connect(sqlite_path(app), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE bank SET description = 'locked' WHERE id = ?", (bank_id,))
    queued: list[object] = []

    def write() -> None:
        try:
            with app.app_context():
                bank_service.create_bank("排队写入")
                db.session.commit()
                queued.append("written")
        except Exception as exc:  # reported below, with the reads' outcome
            queued.append(exc)

    try:
        response = organizer_client.get(f"/api/v1/imports/{job}")
        page = organizer_client.get(f"/admin/imports/{job}")
        thread = threading.Thread(target=write)
        thread.start()
    finally:
        writer.execute("COMMIT")
        writer.close()
    thread.join()
    assert response.status_code == 200 and response.get_json()["status"] == "failed"
    assert page.status_code == 200
    assert queued == ["written"]  # the writer queued on the busy timeout, then wrote


def test_logins_reads_and_writes_go_on_while_big_imports_run(
    app: Flask, organizer_client: FlaskClient, bank_id: int
) -> None:
    """The reproduction: a real RQ worker runs the attacker's sheet and a 20,000-question
    import while another thread logs in, reads both imports and writes; nothing fails."""
    from question_bank.formats import LIMITS
    from question_bank.formats.spreadsheet import export_xlsx

    big = export_xlsx(true_false(LIMITS.rows - 1))  # the header fills the last row
    attack = attacker_sheet(500_000)
    assert len(attack) < 2**20  # a small upload…
    with zipfile.ZipFile(io.BytesIO(attack)) as archive:
        assert sum(i.file_size for i in archive.infolist()) > 50 * 2**20  # …that unpacks large
    jobs = [
        upload(organizer_client, bank_id, attack, "attack.xlsx").get_json()["id"],
        upload(organizer_client, bank_id, big, "big.xlsx", status="published").get_json()["id"],
    ]
    with app.app_context():
        add_user("reader", Role.ORGANIZER)
    done = threading.Event()
    seen: list[str] = []
    failures: list[object] = []

    def probe() -> None:
        client = app.test_client()
        n = 0
        while not done.is_set():
            n += 1
            try:
                login = api_login(client, "reader")
                if login.status_code != 200:
                    failures.append(("login", login.status_code, login.get_data(as_text=True)))
                for job in jobs:
                    response = client.get(f"/api/v1/imports/{job}")
                    if response.status_code != 200:
                        failures.append(("getImport", response.status_code))
                    else:
                        seen.append(response.get_json()["status"])
                with app.app_context():
                    bank_service.create_bank(f"并发写入{n}")
                    db.session.commit()
            except Exception as exc:  # "database is locked" would land here
                failures.append(exc)

    thread = threading.Thread(target=probe)
    thread.start()
    try:
        run_worker(app)
    finally:
        done.set()
        thread.join()
    assert not failures, failures[:3]
    assert "running" in seen  # the probe did run while an import was under way
    refused = organizer_client.get(f"/api/v1/imports/{jobs[0]}").get_json()
    assert refused["status"] == "failed"
    assert refused["report"]["problems"][0]["line"] == 0
    assert str(LIMITS.rows) in refused["report"]["problems"][0]["message"]
    imported = organizer_client.get(f"/api/v1/imports/{jobs[1]}").get_json()
    assert imported["status"] == "succeeded", imported["report"]["problems"][:3]
    assert imported["report"]["created"] == LIMITS.rows - 1
    with app.app_context():
        statuses = set(db.session.scalars(select(Question.status)))
        assert statuses == {QuestionStatus.PUBLISHED}


# The bounds ------------------------------------------------------------------------------------


def test_a_file_over_the_row_bound_is_refused_naming_the_bound(
    app: Flask, organizer_client: FlaskClient, bank_id: int
) -> None:
    from question_bank.formats import Limits

    app.config["IMPORT_LIMITS"] = Limits(rows=50)  # what a deployment's settings may lower
    good = "\n".join(["题型,题干,答案", *(f"判断,第{n}题是对的,对" for n in range(60))])
    job = upload(organizer_client, bank_id, good.encode(), "many.csv").get_json()["id"]
    run_worker(app)
    body = organizer_client.get(f"/api/v1/imports/{job}").get_json()
    assert body["status"] == "failed"
    assert body["report"]["problem_count"] == 1
    assert "50" in body["report"]["problems"][0]["message"]
    page = organizer_client.get(f"/admin/imports/{job}").get_data(as_text=True)
    assert "文件超过 50 行" in page
    assert count(app, Question) == 0


def test_cells_and_seconds_bounds_refuse_a_sheet() -> None:
    from question_bank.formats import Limits
    from question_bank.formats.spreadsheet import parse_csv, parse_xlsx

    # A stray cell far to the right pads every row to column XFD (16,384 cells a row).
    wide = (
        f'<row r="{n}">{cell(f"A{n}", "判断")}{cell(f"B{n}", "题干")}{cell(f"XFD{n}", "x")}</row>'
        for n in range(2, 200)
    )
    report = parse_xlsx(raw_xlsx(iter([header_row(), *wide])))
    assert not report.questions
    assert report.problems[0].line == 0 and report.problems[0].params == {"limit": 1_000_000}
    assert "cells" in report.problems[0].message

    report = parse_csv(bad_csv(10), Limits(seconds=0))
    assert not report.questions and report.problems[0].params == {"limit": 0}
    assert "seconds" in report.problems[0].message


# Item 2: the report is capped -----------------------------------------------------------------


def test_the_report_keeps_the_first_problems_and_counts_them_all(
    app: Flask, organizer_client: FlaskClient, bank_id: int
) -> None:
    job = upload(organizer_client, bank_id, bad_csv(1_500), "bad.csv").get_json()["id"]
    run_worker(app)
    body = organizer_client.get(f"/api/v1/imports/{job}").get_json()
    assert body["status"] == "failed"
    problems = body["report"]["problems"]
    assert len(problems) == 1_000 and body["report"]["problem_count"] == 1_500
    assert [p["line"] for p in problems[:2]] == [2, 3]  # the first ones, in row order
    page = organizer_client.get(f"/admin/imports/{job}").get_data(as_text=True)
    assert "1500 个问题" in page and "还有 500 条问题未显示" in page
    assert page.count("<li>") <= 1_000 + 50  # the problems shown, and the page's own items


def test_a_roster_report_keeps_the_first_problems_and_counts_them_all(
    app: Flask, tmp_path: Path
) -> None:
    from contest.services.roster import RosterError, import_roster

    roster = "\n".join(["单位,用户名,姓名", *(f"一中,!{n},学生{n}" for n in range(1_500))])
    with app.app_context(), pytest.raises(RosterError) as refused:
        import_roster("roster.csv", roster.encode())
    assert len(refused.value.problems) == 1_000 and refused.value.total == 1_500
    assert "还有 1480 条问题未显示" in refused.value.message  # after the first 20
    source = tmp_path / "roster.csv"
    source.write_text(roster, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["users", "import", str(source)])
    assert result.exit_code == 1
    assert "1500 problem(s)" in result.output and "还有 500 条问题未显示" in result.output
    assert count(app, User) == 0


# All or nothing, written in batches -----------------------------------------------------------


def test_a_failure_after_the_first_batches_leaves_the_bank_as_it_was(
    app: Flask, bank_id: int
) -> None:
    """Redis failing while progress is published (after a batch was committed): nothing stays."""
    from contest.services.imports import CHUNK, create_import, run_import
    from question_bank.formats.json_format import export

    now = datetime(2026, 12, 4, tzinfo=UTC)
    content = export(true_false(2 * CHUNK + 10))
    default_categories = count(app, Category)  # a new bank has 法律法规, 基础知识, 事件处置
    with app.app_context():
        job = create_import(
            bank_id,
            "q.json",
            content,
            actor_id=None,
            now=now,
            initial_status=QuestionStatus.PUBLISHED,
        )
        batches: list[int] = []

        def progress(done: int, total: int) -> None:
            batches.append(done)
            if len(batches) == 2:
                raise ConnectionError("Redis went away")

        job_id = job.id
        with pytest.raises(ConnectionError):
            run_import(job_id, now=lambda: now, progress=progress)
        assert batches == [CHUNK, 2 * CHUNK]  # two batches had been committed
        db.session.remove()
        assert run_import(job_id, now=lambda: now).status.value == "failed"
    assert count(app, Category) == default_categories  # the file's categories are gone
    for model in (Question, StatusChange, QuestionVersion):
        assert count(app, model) == 0, model
