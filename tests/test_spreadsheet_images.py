"""XLSX and CSV with their pictures: a ZIP of the sheet and an images/ folder, exported from a bank
and imported into another (through the API and a real RQ worker), and the ZIPs that are refused."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import delete

from contest.extensions import db
from contest.services import bank as bank_service
from contest.services import images as image_service
from question_bank.domain import QuestionData, QuestionType
from question_bank.formats import Limits, get_format
from question_bank.formats.bundle import is_bundle, sheet_kind
from question_bank.formats.spreadsheet import export_csv, export_xlsx, parse_xlsx
from question_bank.images import prepare
from question_bank.models import QuestionImage, QuestionStatus
from tests.conftest import csrf_token
from workers import queues
from workers.runner import make_worker

NOW = datetime(2026, 12, 5, tzinfo=UTC)
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def picture(color: tuple[int, int, int] = (200, 30, 30), fmt: str = "PNG") -> bytes:
    image = Image.new("RGB", (40, 30), color)
    for x in range(20):
        image.putpixel((x, x % 30), (10, 120, 250))
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def question(stem: str, explanation: str = "") -> QuestionData:
    return QuestionData(
        QuestionType.SINGLE, stem, 0, ("可疑", "正常"), explanation=explanation, category="钓鱼"
    )


# --- through the bank: export, then import into another bank ------------------------------------


@pytest.fixture
def bank_with_image(app: Flask) -> tuple[int, str, bytes]:
    """A bank whose first question shows an uploaded picture: (bank id, its URL, its bytes)."""
    with app.app_context():
        bank = bank_service.create_bank("图片题库")
        image = image_service.upload(picture(), actor_id=None, now=NOW)
        for data in (
            question(f"这封邮件哪里可疑？\n\n![钓鱼邮件]({image.url})", f"看![链接]({image.url})"),
            question("没有图片的题"),
        ):
            bank_service.add_question(
                bank.id, data, actor_id=None, now=NOW, status=QuestionStatus.PUBLISHED
            )
        db.session.commit()
        return bank.id, image.url, image.content


def upload(client: FlaskClient, bank_id: int, content: bytes, name: str, **form: str) -> int:
    response = client.post(
        f"/api/v1/banks/{bank_id}/imports",
        data={"file": (io.BytesIO(content), name), "status": "published", **form},
        headers={"X-CSRFToken": csrf_token(client)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 202, response.get_json()
    job_id = response.get_json()["id"]
    assert isinstance(job_id, int)
    return job_id


def run_import(
    app: Flask, client: FlaskClient, bank_id: int, content: bytes, name: str, **form: str
) -> dict[str, Any]:
    job_id = upload(client, bank_id, content, name, **form)
    make_worker(app, [queues.IMPORTS]).work(burst=True)
    body = client.get(f"/api/v1/imports/{job_id}").get_json()
    assert isinstance(body, dict)
    return body


def fresh_bank(app: Flask) -> int:
    """Another bank, with no image stored: as in another deployment."""
    with app.app_context():
        db.session.execute(delete(QuestionImage))
        bank = bank_service.create_bank("另一个题库")
        db.session.commit()
        return bank.id


def stems(app: Flask, bank_id: int) -> list[str]:
    with app.app_context():
        return [q.stem for q in bank_service.bank_questions(bank_id)]


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_a_sheet_with_images_exports_as_a_zip_and_imports_elsewhere(
    app: Flask,
    organizer_client: FlaskClient,
    bank_with_image: tuple[int, str, bytes],
    kind: str,
) -> None:
    bank_id, url, content = bank_with_image
    name = url.removeprefix("/media/")
    response = organizer_client.get(f"/api/v1/banks/{bank_id}/export?format={kind}")
    assert response.status_code == 200
    assert response.content_type == "application/zip"
    assert response.headers["Content-Disposition"] == f'attachment; filename="bank-{bank_id}.zip"'
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert archive.namelist() == [f"questions.{kind}", f"images/{name}"]
        assert archive.read(f"images/{name}") == content
        sheet = archive.read(f"questions.{kind}")
    # the sheet inside is the sheet as it always was
    report = get_format(kind).read(sheet)
    assert report.ok and len(report.questions) == 2 and not report.images
    page = organizer_client.get(f"/admin/banks/{bank_id}/export/{kind}")
    assert page.content_type == "application/zip" and page.data == response.data
    assert page.headers["Content-Disposition"].endswith('.zip"')

    other_id = fresh_bank(app)
    assert app.test_client().get(url).status_code == 404
    body = run_import(app, organizer_client, other_id, response.data, f"bank-{bank_id}.zip")
    assert body["status"] == "succeeded", body
    assert body["format"] == kind  # found from what the ZIP holds
    assert body["report"]["created"] == 2 and body["report"]["files_skipped"] == []
    assert stems(app, other_id) == stems(app, bank_id)
    served = app.test_client().get(url)
    assert served.status_code == 200 and served.data == content


def test_the_command_line_exports_and_imports_the_zip(
    app: Flask, bank_with_image: tuple[int, str, bytes], tmp_path: Path
) -> None:
    bank_id, url, content = bank_with_image
    runner = app.test_cli_runner()
    out = tmp_path / "bank.xlsx"
    result = runner.invoke(
        args=["bank", "export", str(bank_id), "--format", "xlsx", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "the file is a ZIP" in result.output and sheet_kind(out.read_bytes()) == "xlsx"
    fresh_bank(app)
    source = tmp_path / "bank.zip"
    source.write_bytes(out.read_bytes())
    result = runner.invoke(args=["bank", "import", str(source), "--bank", "另一个题库"])
    assert result.exit_code == 0, result.output
    assert "created 2" in result.output
    assert app.test_client().get(url).data == content


def test_a_bank_without_images_still_exports_the_bare_sheet(
    app: Flask, organizer_client: FlaskClient
) -> None:
    with app.app_context():
        bank = bank_service.create_bank("纯文字题库")
        bank_service.add_question(bank.id, question("纯文字题"), actor_id=None, now=NOW)
        db.session.commit()
        bank_id = bank.id
    response = organizer_client.get(f"/api/v1/banks/{bank_id}/export?format=xlsx")
    assert response.content_type == XLSX_TYPE
    assert response.headers["Content-Disposition"] == f'attachment; filename="bank-{bank_id}.xlsx"'
    csv_file = organizer_client.get(f"/api/v1/banks/{bank_id}/export?format=csv")
    assert csv_file.content_type.startswith("text/csv")
    assert csv_file.data.startswith("\ufeff题型".encode())

    # and a plain workbook imports as before (it is a ZIP too, but a workbook)
    assert not is_bundle(response.data) and sheet_kind(response.data) is None
    body = run_import(app, organizer_client, fresh_bank(app), response.data, "bank.xlsx")
    assert body["status"] == "succeeded" and body["report"]["created"] == 1


def test_a_missing_and_a_broken_image_are_reported_with_their_rows(
    app: Flask, organizer_client: FlaskClient
) -> None:
    good, missing, broken = prepare(picture()), prepare(picture((0, 90, 0))), "b" * 64 + ".png"
    sheet = export_xlsx(
        [
            question(f"![好]({good.url}) 第一题"),
            question(f"![缺]({missing.url}) 第二题"),
            question("第三题", explanation=f"![坏](/media/{broken})"),
        ]
    )
    bundle = zipped(
        {
            "questions.xlsx": sheet,
            f"images/{good.name}": good.content,
            f"images/{broken}": b"<svg onload=alert(1)></svg>",
            "images/notes.txt": b"left over",
        }
    )
    bank_id = fresh_bank(app)
    body = run_import(app, organizer_client, bank_id, bundle, "题库.zip")
    assert body["status"] == "succeeded", body
    skipped = {(f["line"], f["name"]): f["message"] for f in body["report"]["files_skipped"]}
    assert skipped.keys() == {
        (3, f"images/{missing.name}"),
        (4, f"images/{broken}"),
        (0, "images/notes.txt"),
    }
    assert "没有这张图片" in skipped[(3, f"images/{missing.name}")]
    assert "SVG" in skipped[(4, f"images/{broken}")]
    assert "没有题目引用" in skipped[(0, "images/notes.txt")]
    page = organizer_client.get(f"/admin/imports/{body['id']}").get_data(as_text=True)
    assert "3 个嵌入文件未导入" in page and f"images/{missing.name}" in page
    assert app.test_client().get(good.url).data == good.content
    assert app.test_client().get(missing.url).status_code == 404


def test_images_made_elsewhere_are_rebuilt_and_relinked() -> None:
    foreign = picture(fmt="PNG") + b"<script>alert(1)</script>"
    old_name = "f" * 64 + ".png"
    sheet = export_csv([question(f"![图](/media/{old_name})"), question(f"再看 /media/{old_name}")])
    report = parse_xlsx(zipped({"bank.csv": sheet, f"images/{old_name}": foreign}))
    assert report.ok, report.problems
    new = prepare(foreign)
    assert list(report.images) == [new.name] and b"<script>" not in new.content
    texts = [item.question.stem for item in report.questions]
    assert texts == [f"![图]({new.url})", f"再看 {new.url}"]


# --- ZIPs that are refused -----------------------------------------------------------------------


def failed_problems(body: dict[str, Any]) -> list[str]:
    assert body["status"] == "failed", body
    return [p["message"] for p in body["report"]["problems"]]


@pytest.mark.parametrize(
    "evil", ["../evil.png", "images/../../evil.png", "/etc/evil.png", "C:evil.png", "a\\..\\b.png"]
)
def test_a_zip_with_a_path_out_of_its_folder_is_refused(
    app: Flask, organizer_client: FlaskClient, evil: str
) -> None:
    image = prepare(picture())
    sheet = export_xlsx([question(f"![]({image.url})")])
    bundle = zipped(
        {"questions.xlsx": sheet, f"images/{image.name}": image.content, evil: image.content}
    )
    bank_id = fresh_bank(app)
    body = run_import(app, organizer_client, bank_id, bundle, "bank.zip", format="xlsx")
    [message] = failed_problems(body)
    assert evil in message and "所在文件夹之外" in message
    assert stems(app, bank_id) == []
    assert app.test_client().get(image.url).status_code == 404


def test_a_zip_that_unpacks_beyond_the_upload_limit_is_refused(
    app: Flask, organizer_client: FlaskClient
) -> None:
    sheet = export_csv([question("第一题")])
    limit = app.config["MAX_CONTENT_LENGTH"]
    bomb = zipped({"questions.csv": sheet, "images/zeros.png": bytes(limit)})
    assert len(bomb) < limit // 100
    body = run_import(app, organizer_client, fresh_bank(app), bomb, "bank.zip")
    assert body["format"] == "csv"
    [message] = failed_problems(body)
    assert f"解压后过大（超过 {limit // 2**20} MB）" in message


def test_too_many_entries_and_a_sheet_count_other_than_one_are_refused() -> None:
    sheet = export_csv([question("第一题")])
    many = zipped({"questions.csv": sheet, **{f"images/{i}.png": b"" for i in range(6)}})
    report = parse_xlsx(many, Limits(archive_entries=5))
    assert [p.message for p in report.problems] == ["The ZIP holds more than %(limit)d files."]
    assert parse_xlsx(many).ok
    for files in ({"images/a.png": b""}, {"a.csv": sheet, "b.xlsx": export_xlsx([])}):
        [problem] = parse_xlsx(zipped(files)).problems
        assert "exactly one .xlsx or .csv" in problem.message


def test_a_zip_inside_the_zip_is_never_unpacked() -> None:
    inner = zipped({"questions.csv": export_csv([question("第一题")]), "images/": b""})
    assert sheet_kind(inner) == "csv"
    # a bundle named as the sheet is read as a workbook, and is not one
    [problem] = parse_xlsx(zipped({"questions.xlsx": inner, "images/": b""})).problems
    assert "not a readable XLSX" in problem.message
    # a bundle beside nothing else is no sheet at all
    [problem] = parse_xlsx(zipped({"inner.zip": inner, "images/": b""})).problems
    assert "(it holds %(count)d)" in problem.message and problem.params == {"count": 0}
