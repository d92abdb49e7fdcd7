"""Images in questions: what an upload must be, who may upload, how images are served, and how
they travel through Moodle XML and JSON (imports through the API and a real RQ worker)."""

from __future__ import annotations

import base64
import io
import json
import re
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import delete, func, select
from werkzeug.test import TestResponse

from contest.extensions import db
from contest.models import User
from contest.services import bank as bank_service
from contest.services import images as image_service
from question_bank import markdown
from question_bank.domain import QuestionData, QuestionType
from question_bank.formats.json_format import parse as json_parse
from question_bank.formats.moodle_xml import export as moodle_export
from question_bank.formats.moodle_xml import parse as moodle_parse
from question_bank.images import MAX_BYTES, ImageRefused, prepare, referenced
from question_bank.models import QuestionImage, QuestionStatus
from tests.conftest import csrf_token
from workers import queues
from workers.runner import make_worker

NOW = datetime(2026, 12, 5, tzinfo=UTC)
SCRIPT = b"<script>alert(document.cookie)</script>"
MEDIA_URL = re.compile(r"/media/([0-9a-f]{64})\.(png|jpg|gif|webp)")


def picture(fmt: str = "PNG", size: tuple[int, int] = (64, 48), **save: object) -> bytes:
    """A small picture with a few colours (so that the encoders have something to keep)."""
    image = Image.new("RGB", size, (200, 30, 30))
    for x in range(size[0] // 2):
        image.putpixel((x, x % size[1]), (10, 120, 250))
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def phone_photo() -> bytes:
    """A JPEG as a phone writes it: EXIF with the maker and a GPS position."""
    image = Image.open(io.BytesIO(picture("JPEG")))
    exif = image.getexif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 17.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


# --- what an image must be (pure) ------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP"])
def test_each_kind_is_kept_and_preparing_again_changes_nothing(fmt: str) -> None:
    image = prepare(picture(fmt))
    assert (image.width, image.height) == (64, 48)
    assert Image.open(io.BytesIO(image.content)).format == fmt
    assert prepare(image.content) == image  # an exported image imports under the same name


def test_a_script_appended_to_a_png_or_jpeg_is_not_kept() -> None:
    for fmt in ("PNG", "JPEG"):
        image = prepare(picture(fmt) + SCRIPT)
        assert b"script" not in image.content
        assert Image.open(io.BytesIO(image.content)).size == (64, 48)


def test_script_in_png_text_chunks_and_gif_comments_is_not_kept() -> None:
    from PIL import PngImagePlugin

    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", SCRIPT.decode())
    for fmt, options in (("PNG", {"pnginfo": text}), ("GIF", {"comment": SCRIPT})):
        original = picture(fmt, **options)
        assert SCRIPT in original
        image = prepare(original)
        assert b"script" not in image.content and prepare(image.content) == image


def test_exif_and_gps_of_a_phone_photo_are_dropped() -> None:
    original = phone_photo()
    assert b"PhoneMaker" in original
    image = prepare(original)
    assert b"PhoneMaker" not in image.content and b"Exif" not in image.content
    assert not Image.open(io.BytesIO(image.content)).getexif()


def test_a_rotated_photo_is_turned_upright() -> None:
    photo = Image.open(io.BytesIO(picture("JPEG")))
    exif = photo.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise to show
    out = io.BytesIO()
    photo.save(out, "JPEG", exif=exif)
    image = prepare(out.getvalue())
    assert (image.width, image.height) == (48, 64)
    assert prepare(image.content) == image


@pytest.mark.parametrize(
    "content",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>',
        b"\xef\xbb\xbf<!DOCTYPE html><html><script>alert(1)</script></html>",
    ],
)
def test_svg_and_html_are_refused(content: bytes) -> None:
    with pytest.raises(ImageRefused, match="SVG, HTML"):
        prepare(content)


def test_oversized_unknown_damaged_and_bombs_are_refused() -> None:
    with pytest.raises(ImageRefused, match="larger than 2 MB"):
        prepare(picture() + b"\0" * MAX_BYTES)
    with pytest.raises(ImageRefused, match="Not a PNG"):
        prepare(b"ID3\x03\x00 an mp3")
    with pytest.raises(ImageRefused, match="damaged"):
        prepare(picture()[:40])
    bomb = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(bomb, "PNG")  # 400 million pixels in ~50 KB
    assert len(bomb.getvalue()) < MAX_BYTES
    with pytest.raises(ImageRefused, match="pixels"):
        prepare(bomb.getvalue())


def test_markdown_keeps_our_image_links_and_drops_data_urls() -> None:
    name = prepare(picture()).name
    html = markdown.render(f"看图：![钓鱼邮件](/media/{name})")
    assert f'<img src="/media/{name}" alt="钓鱼邮件">' in html
    assert "src" not in markdown.render("![x](data:image/png;base64,iVBORw0KGgo=)")
    assert "src" not in markdown.render('<img src="data:image/svg+xml;base64,PHN2Zy8+">')
    assert "javascript" not in markdown.render('<img src="javascript:alert(1)">')


# --- upload and serving ------------------------------------------------------------------------


def post_image(
    client: FlaskClient, content: bytes, name: str, token: str | None = None
) -> TestResponse:
    """The editor's upload. The body is built here: the test client would spool a large one to
    a temporary file that it never closes."""
    boundary = "----image-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
            f"{token or csrf_token(client)}\r\n"
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return client.post(
        "/admin/images",
        input_stream=io.BytesIO(body),
        content_type=f"multipart/form-data; boundary={boundary}",
        headers={"Accept": "application/json", "Content-Length": str(len(body))},
    )


def test_anonymous_users_and_contestants_cannot_upload(
    client: FlaskClient, contestant: User
) -> None:
    response = post_image(client, picture(), "a.png")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    client.post(
        "/api/v1/session",
        json={"username": contestant.username, "password": "correct-horse-battery"},
        headers={"X-CSRFToken": csrf_token(client)},
    )
    assert post_image(client, picture(), "a.png").status_code == 403


def test_an_upload_needs_the_csrf_token(app: Flask, organizer_client: FlaskClient) -> None:
    assert post_image(organizer_client, picture(), "a.png", token="forged").status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(QuestionImage)) == 0


def test_an_organizer_uploads_and_anyone_with_the_url_loads_it(
    app: Flask, organizer_client: FlaskClient
) -> None:
    response = post_image(organizer_client, picture() + SCRIPT, "钓鱼 邮件[1].png")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert re.fullmatch(r"!\[钓鱼 邮件 1\]\(/media/[0-9a-f]{64}\.png\)", body["markdown"])
    assert (body["width"], body["height"]) == (64, 48)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(QuestionImage)) == 1

    anonymous = app.test_client()
    served = anonymous.get(body["url"])
    assert served.status_code == 200
    assert served.mimetype == "image/png" and SCRIPT not in served.data
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    etag = served.headers["ETag"]
    assert etag == f'"{MEDIA_URL.search(body["url"]).group(1)}"'  # type: ignore[union-attr]
    again = anonymous.get(body["url"], headers={"If-None-Match": etag})
    assert again.status_code == 304 and not again.data

    # Uploading the same picture again stores nothing new.
    assert post_image(organizer_client, picture(), "again.png").get_json()["url"] == body["url"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(QuestionImage)) == 1


def test_unknown_and_malformed_names_are_404(app: Flask, organizer_client: FlaskClient) -> None:
    url = post_image(organizer_client, picture(), "a.png").get_json()["url"]
    anonymous = app.test_client()
    assert anonymous.get(url.replace(".png", ".gif")).status_code == 404
    assert anonymous.get("/media/" + "0" * 64 + ".png").status_code == 404
    assert anonymous.get("/media/../../etc/passwd").status_code == 404
    assert anonymous.get("/media/abc.png").status_code == 404


@pytest.mark.parametrize(
    ("content", "name", "words"),
    [
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "a.svg",
            "SVG",
        ),
        (b"<html><body><script>alert(1)</script></body></html>", "renamed.png", "HTML"),
        (picture() + b"\0" * MAX_BYTES, "big.png", "图片大于 2 MB"),
        (b"ID3 audio", "sound.png", "不是 PNG"),
    ],
)
def test_refused_uploads_say_why_in_chinese(
    app: Flask, organizer_client: FlaskClient, content: bytes, name: str, words: str
) -> None:
    response = post_image(organizer_client, content, name)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_image" and words in error["message"], error
    assert re.search(r"[\u4e00-\u9fff]", error["message"])
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(QuestionImage)) == 0


def test_without_script_the_upload_shows_the_markdown_to_paste(
    organizer_client: FlaskClient,
) -> None:
    response = organizer_client.post(
        "/admin/images",
        data={
            "image": (io.BytesIO(picture("GIF")), "x.gif"),
            "csrf_token": csrf_token(organizer_client),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 201 and response.mimetype == "text/html"
    assert re.search(r"!\[x\]\(/media/[0-9a-f]{64}\.gif\)", response.get_data(as_text=True))
    refused = organizer_client.post(
        "/admin/images",
        data={
            "image": (io.BytesIO(b"<svg/>"), "x.svg"),
            "csrf_token": csrf_token(organizer_client),
        },
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422 and "SVG" in refused.get_data(as_text=True)


# --- Moodle XML and JSON -----------------------------------------------------------------------


def moodle_file(png: bytes) -> bytes:
    """A Moodle 4 export: a question whose HTML text shows an embedded PNG, one with audio."""
    data = base64.b64encode(png).decode()
    audio = base64.b64encode(b"ID3\x03\x00\x00\x00 not really an mp3").decode()
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<quiz>
  <question type="multichoice">
    <name><text>钓鱼邮件</text></name>
    <questiontext format="html">
      <text><![CDATA[<p>下图中的邮件最可疑的是哪一处？</p>
<p><img src="@@PLUGINFILE@@/phish%20mail.png" alt="钓鱼邮件" width="64" height="48"></p>]]></text>
      <file name="phish mail.png" path="/" encoding="base64">{data}</file>
    </questiontext>
    <generalfeedback format="html">
      <text><![CDATA[<p>发件域名 <img src="@@PLUGINFILE@@/phish%20mail.png" alt=""></p>]]></text>
    </generalfeedback>
    <single>true</single>
    <answer fraction="100" format="html"><text>发件人域名与官网不符</text></answer>
    <answer fraction="0" format="html"><text>邮件有落款</text></answer>
  </question>
  <question type="truefalse">
    <name><text>录音</text></name>
    <questiontext format="html">
      <text><![CDATA[<p>听录音：<a href="@@PLUGINFILE@@/call.mp3">call.mp3</a>
对方是诈骗。</p>]]></text>
      <file name="call.mp3" path="/" encoding="base64">{audio}</file>
    </questiontext>
    <answer fraction="100"><text>true</text></answer>
    <answer fraction="0"><text>false</text></answer>
  </question>
  <question type="truefalse">
    <name><text>旧格式</text></name>
    <questiontext format="html"><text>二维码可以随便扫。</text></questiontext>
    <image>qr.png</image>
    <image_base64>{data}</image_base64>
    <answer fraction="0"><text>true</text></answer>
    <answer fraction="100"><text>false</text></answer>
  </question>
</quiz>
""".encode()


def test_moodle_xml_brings_embedded_images_in_and_lists_other_files() -> None:
    png = picture()
    report = moodle_parse(moodle_file(png))
    assert report.ok, report.problems
    name = prepare(png).name
    assert list(report.images) == [name]
    phish, audio, old = (item.question for item in report.questions)
    assert f'<img src="/media/{name}" alt="钓鱼邮件"' in phish.stem
    assert f'<img src="/media/{name}" alt="">' in phish.explanation
    assert "@@PLUGINFILE@@" not in phish.stem + phish.explanation
    assert old.stem == f"二维码可以随便扫。\n\n![](/media/{name})"
    assert "@@PLUGINFILE@@/call.mp3" in audio.stem  # left as it was, and reported
    [skipped] = report.files_skipped
    assert (skipped.line, skipped.name) == (report.questions[1].line, "call.mp3")
    assert skipped.reason.message == "Not a PNG, JPEG, GIF or WebP image."


def test_moodle_xml_export_carries_the_file_and_imports_to_the_same_image() -> None:
    image = prepare(picture("JPEG"))
    question = QuestionData(
        QuestionType.SINGLE,
        f"这个二维码指向哪里？\n\n![二维码]({image.url})",
        0,
        ("钓鱼网站", f"![官网]({image.url})"),
        explanation="扫码前先看网址。",
    )
    exported = moodle_export([question], images={image.name: image.content})
    text = exported.decode()
    assert f'<file name="{image.name}" path="/" encoding="base64">' in text
    assert base64.b64encode(image.content).decode() in text
    questiontext = text[text.index("<questiontext") : text.index("</questiontext>")]
    assert f"![二维码](@@PLUGINFILE@@/{image.name})" in questiontext
    assert "/media/" not in questiontext
    report = moodle_parse(exported)
    assert report.ok, report.problems
    assert report.questions[0].question == question
    assert report.images[image.name].content == image.content


def test_json_carries_images_and_renames_foreign_ones() -> None:
    image = prepare(picture("WEBP"))
    question = QuestionData(QuestionType.TRUE_FALSE, f"![假登录页]({image.url}) 是真的吗？", False)
    from question_bank.formats.json_format import export as json_export

    document = json.loads(json_export([question], images={image.name: image.content}))
    assert document["images"] == {image.name: base64.b64encode(image.content).decode()}
    report = json_parse(json.dumps(document).encode())
    assert report.questions[0].question == question and list(report.images) == [image.name]

    # A document written elsewhere: the image's bytes are rebuilt, the links follow the new name.
    foreign = picture("PNG") + SCRIPT
    old_name = "f" * 64 + ".png"
    document = {
        "questions": [{"type": "true_false", "stem": f"![]( /media/{old_name})", "answer": True}],
        "images": {old_name: base64.b64encode(foreign).decode(), "x.svg": "PHN2Zy8+"},
    }
    document["questions"][0]["stem"] = f"![](/media/{old_name})"
    report = json_parse(json.dumps(document).encode())
    new_name = prepare(foreign).name
    assert report.questions[0].question.stem == f"![](/media/{new_name})"
    assert [f.name for f in report.files_skipped] == ["x.svg"]


# --- through the import service and the export -------------------------------------------------


@pytest.fixture
def bank_id(app: Flask) -> int:
    with app.app_context():
        bank = bank_service.create_bank("图片题库")
        db.session.commit()
        return bank.id


def import_file(
    app: Flask, client: FlaskClient, bank_id: int, content: bytes, name: str
) -> dict[str, object]:
    response = client.post(
        f"/api/v1/banks/{bank_id}/imports",
        data={"file": (io.BytesIO(content), name), "status": "published"},
        headers={"X-CSRFToken": csrf_token(client)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 202, response.get_json()
    make_worker(app, [queues.IMPORTS]).work(burst=True)
    body = client.get(f"/api/v1/imports/{response.get_json()['id']}").get_json()
    assert body["status"] == "succeeded", body
    assert isinstance(body, dict)
    return body


def stems(app: Flask, bank_id: int) -> list[str]:
    with app.app_context():
        return [q.stem for q in bank_service.bank_questions(bank_id)]


def test_moodle_import_stores_images_reports_files_and_exports_them_back(
    app: Flask, organizer_client: FlaskClient, bank_id: int
) -> None:
    png = picture()
    body = import_file(app, organizer_client, bank_id, moodle_file(png), "quiz.xml")
    report = body["report"]
    assert isinstance(report, dict) and report["created"] == 3
    assert report["files_skipped_count"] == 1
    [skipped] = report["files_skipped"]
    assert skipped["name"] == "call.mp3" and "不是 PNG" in skipped["message"]
    page = organizer_client.get(f"/admin/imports/{body['id']}").get_data(as_text=True)
    assert "1 个嵌入文件未导入" in page and "call.mp3" in page

    name = prepare(png).name
    assert sum(f"/media/{name}" in stem for stem in stems(app, bank_id)) == 2
    served = app.test_client().get(f"/media/{name}")
    assert served.status_code == 200 and served.data == prepare(png).content

    exported = organizer_client.get(f"/api/v1/banks/{bank_id}/export?format=moodle-xml")
    assert exported.status_code == 200
    assert exported.data.count(f'<file name="{name}" path="/" encoding="base64">'.encode()) == 3

    # As into another deployment: the image is not stored there yet; the file brings it.
    with app.app_context():
        db.session.execute(delete(QuestionImage))
        other = bank_service.create_bank("另一个题库")
        db.session.commit()
        other_id = other.id
    import_file(app, organizer_client, other_id, exported.data, "again.xml")
    assert sum(f"/media/{name}" in stem for stem in stems(app, other_id)) == 2
    assert app.test_client().get(f"/media/{name}").data == prepare(png).content


def test_json_export_and_import_round_trip_through_the_bank(
    app: Flask, organizer_client: FlaskClient, bank_id: int
) -> None:
    url = post_image(organizer_client, picture("GIF"), "qr.gif").get_json()["url"]
    with app.app_context():
        bank_service.add_question(
            bank_id,
            QuestionData(QuestionType.TRUE_FALSE, f"扫这个码安全吗？\n\n![二维码]({url})", False),
            actor_id=None,
            now=NOW,
            status=QuestionStatus.PUBLISHED,
        )
        db.session.commit()
    exported = organizer_client.get(f"/api/v1/banks/{bank_id}/export?format=json").data
    document = json.loads(exported)
    assert list(document["images"]) == [url.removeprefix("/media/")]
    with app.app_context():
        db.session.execute(delete(QuestionImage))
        other_id = bank_service.create_bank("另一个题库").id
        db.session.commit()
    import_file(app, organizer_client, other_id, exported, "bank.json")
    assert stems(app, other_id) == [f"扫这个码安全吗？\n\n![二维码]({url})"]
    assert app.test_client().get(url).status_code == 200


def test_a_failed_import_takes_its_new_images_back(
    app: Flask, organizer_client: FlaskClient, bank_id: int
) -> None:
    """A file with a bad question stores nothing, its pictures included."""
    bad = moodle_file(picture()).replace(b'fraction="100" format="html"', b'fraction="0"', 1)
    response = organizer_client.post(
        f"/api/v1/banks/{bank_id}/imports",
        data={"file": (io.BytesIO(bad), "bad.xml")},
        headers={"X-CSRFToken": csrf_token(organizer_client)},
        content_type="multipart/form-data",
    )
    make_worker(app, [queues.IMPORTS]).work(burst=True)
    body = organizer_client.get(f"/api/v1/imports/{response.get_json()['id']}").get_json()
    assert body["status"] == "failed"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(QuestionImage)) == 0


def test_referenced_finds_each_stored_name_once() -> None:
    a, b = "a" * 64 + ".png", "b" * 64 + ".jpg"
    texts = [f"![](/media/{a}) ![](/media/{a})", f'<img src="/media/{b}">', "x/media/" + a]
    assert referenced(texts) == [a, b]
    assert image_service.ImageInvalid("x").status == 422


def test_a_sheet_keeps_image_links_as_text() -> None:
    """XLSX and CSV cells keep the links as text; the pictures travel beside the sheet in a ZIP
    (tests/test_spreadsheet_images.py), and only those the questions link to."""
    from question_bank.formats import get_format

    url = prepare(picture()).url
    question = QuestionData(
        QuestionType.SINGLE, f"![钓鱼邮件]({url}) 哪里可疑？", 0, ("发件人", f"![链接]({url})")
    )
    for name in ("xlsx", "csv"):
        fmt = get_format(name)
        assert fmt.carries_images and fmt.bundles_images
        exported = fmt.write([question], {"ignored.png": b""})
        assert fmt.file_type(exported) == (fmt.media_type, f".{name}")
        report = fmt.read(exported)
        assert report.ok and report.questions[0].question.stem == question.stem
        assert report.questions[0].question.options == question.options


def test_a_jpeg_of_thousands_of_progressive_scans_is_refused_before_decoding() -> None:
    progressive = picture("JPEG", progressive=True)
    assert prepare(progressive).width == 64  # an ordinary progressive JPEG is welcome
    # each scan is decoded again: a 2 MB file of tiny scans would hold a worker for minutes
    scans = progressive.replace(b"\xff\xd9", b"\xff\xda\x00\x02" * 200 + b"\xff\xd9")
    with pytest.raises(ImageRefused) as refused:
        prepare(scans)
    assert "progressive scans" in refused.value.args[0]
