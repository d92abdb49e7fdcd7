"""Award certificates: the PDF (its text and QR code), numbers and their verification, who may
download what, the ZIP built by a real RQ worker, and the printable winners list."""

from __future__ import annotations

import io
import subprocess
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import zxingcpp
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

import contest.models
from contest.extensions import db, redis_hub
from contest.models import Attempt, Certificate, ExportJob, Organization, Role
from contest.services import award_results, awards, winners_pdf
from contest.services import certificates as service
from tests.conftest import add_user, api_login, csrf_token
from tests.support.certificates import pdf_text, scored
from tests.support.contests import paper_round, published_bank


def add_person(username: str, name: str, organization_id: int) -> int:
    user = add_user(username, Role.CONTESTANT, organization_id)
    row = db.session.get(contest.models.User, user.id)
    assert row is not None
    row.display_name = name
    db.session.commit()
    return user.id


@dataclass
class Setup:
    contest_id: int
    round_id: int
    alice: int
    bob: int
    carol: int


TIERS = [
    {"key": "first", "label": "一等奖", "mode": "count", "value": "1"},
    {"key": "second", "label": "二等奖", "mode": "count", "value": "1"},
]


def relock(contest_id: int, changes: dict[int, str | None]) -> None:
    """Unlock the awards, move contestants to another tier (None: no award), lock again."""
    awards.unlock(contest_id, "复核")
    for user_id, tier in changes.items():
        awards.adjust(contest_id, user_id, tier, "复核调整")
    awards.lock(contest_id)
    db.session.commit()


@pytest.fixture
def awarded(app: Flask) -> Setup:
    """A contest whose awards are locked: alice 一等奖, bob 二等奖, carol (third) nothing."""
    with app.app_context():
        bank_id = published_bank(per_type=2)
        round_ = paper_round(bank_id, contest_title="2026年网络安全知识竞赛")
        contest_id, round_id = round_.contest_id, round_.id
        unit = Organization(name="朝阳区网络安全协会")
        db.session.add(unit)
        db.session.commit()
        alice = add_person("alice", "欧阳娜娜", unit.id)
        bob = add_person("bob", "张三丰", unit.id)
        carol = add_person("carol", "李四", unit.id)
        scored(round_id, alice, "98", 300)
        scored(round_id, bob, "90", 300)
        scored(round_id, carol, "60", 300)
        db.session.commit()
        awards.set_rules(contest_id, TIERS, None)
        awards.lock(contest_id)
        db.session.commit()
        assert [a.user_id for a in award_results.awardees(contest_id)] == [alice, bob]
    return Setup(contest_id, round_id, alice, bob, carol)


# Reading a PDF as a reader would -----------------------------------------------------------------


def pdf_qr_codes(content: bytes, tmp_path: Path) -> list[str]:
    """The QR codes on the PDF's first page, rendered at 150 dpi and decoded (zxing-cpp)."""
    source = tmp_path / "page.pdf"
    source.write_bytes(content)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "150", "-f", "1", "-l", "1", str(source), str(tmp_path / "p")],
        check=True,
    )
    [page] = sorted(tmp_path.glob("p*.png"))
    with Image.open(page) as image:
        return [code.text for code in zxingcpp.read_barcodes(image)]


def login(client: FlaskClient, username: str) -> FlaskClient:
    assert api_login(client, username).status_code == 200
    return client


def numbers(app: Flask, contest_id: int) -> dict[int | None, str]:
    with app.app_context():
        return {
            c.user_id: c.number
            for c in db.session.scalars(
                db.select(Certificate).where(
                    Certificate.contest_id == contest_id, Certificate.revoked_at.is_(None)
                )
            )
        }


# The certificate and its verification ------------------------------------------------------------


def test_a_contestant_downloads_their_certificate_and_its_qr_code_verifies_it(
    app: Flask, client: FlaskClient, awarded: Setup, tmp_path: Path
) -> None:
    login(client, "alice")
    response = client.get(f"/contests/{awarded.contest_id}/certificate.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    number = numbers(app, awarded.contest_id)[awarded.alice]
    assert service.NUMBER.fullmatch(number)
    text = pdf_text(response.data)
    for expected in ("欧阳娜娜", "一等奖", number, "2026年网络安全知识竞赛", "朝阳区网络安全协会"):
        assert expected in text.replace(" ", "") or expected in text, expected
    [url] = pdf_qr_codes(response.data, tmp_path)
    assert url == f"http://localhost/certificates/{number}"

    visitor = app.test_client()  # anyone who scans it
    page = visitor.get(url.removeprefix("http://localhost"))
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-testid="verify-valid"' in body
    assert "欧**娜" in body and "欧阳娜娜" not in body
    assert "一等奖" in body and "2026年网络安全知识竞赛" in body
    same = visitor.get(f"/certificates/verify?number={number.lower()}")
    assert same.status_code == 200 and 'data-testid="verify-valid"' in same.get_data(as_text=True)


def _changed(number: str, position: int) -> str:
    old = number[position]
    new = "7" if old != "7" else "8"
    return number[:position] + new + number[position + 1 :]


def test_a_changed_or_made_up_number_is_refused(
    app: Flask, client: FlaskClient, awarded: Setup
) -> None:
    with app.app_context():
        service.issue_certificates(awarded.contest_id)
        db.session.commit()
    number = numbers(app, awarded.contest_id)[awarded.alice]
    random_at = number.index("-", number.index("-") + 1) + 3
    for forged in (_changed(number, random_at), _changed(number, len(number) - 1), "NSC1-2026"):
        page = client.get(f"/certificates/{forged}")
        assert page.status_code == 404, forged
        assert 'data-testid="verify-refused"' in page.get_data(as_text=True)
        api = client.get(f"/api/v1/certificates/{forged}")
        assert api.status_code == 404
        assert api.get_json()["error"]["code"] == "no_such_certificate"
    good = client.get(f"/api/v1/certificates/{number}").get_json()
    assert good == {
        "number": number,
        "name": "欧**娜",
        "contest": "2026年网络安全知识竞赛",
        "tier": "一等奖",
        "issued_on": good["issued_on"],
        "status": "valid",
    }


def test_numbers_are_stable_and_a_withdrawn_award_is_revoked(
    app: Flask, client: FlaskClient, awarded: Setup
) -> None:
    with app.app_context():
        first = [c.number for c in service.issue_certificates(awarded.contest_id)]
        db.session.commit()
        assert [c.number for c in service.issue_certificates(awarded.contest_id)] == first
        db.session.commit()
    bob_number = numbers(app, awarded.contest_id)[awarded.bob]
    alice_number = numbers(app, awarded.contest_id)[awarded.alice]
    # bob loses his award; alice's changes tier: her old paper must not verify as the new one
    with app.app_context():
        relock(awarded.contest_id, {awarded.bob: None, awarded.alice: "second"})
        issued = {c.user_id: c for c in service.issue_certificates(awarded.contest_id)}
        db.session.commit()
        assert set(issued) == {awarded.alice, awarded.carol}  # bob's place went to carol
        again = issued[awarded.alice]
        assert again.number != alice_number and again.tier_label == "二等奖"
    for revoked in (bob_number, alice_number):
        page = client.get(f"/certificates/{revoked}")
        assert page.status_code == 200
        assert 'data-testid="verify-revoked"' in page.get_data(as_text=True)
        assert client.get(f"/api/v1/certificates/{revoked}").get_json()["status"] == "revoked"


def test_relocking_revokes_a_disqualified_contestants_certificate_without_printing(
    app: Flask, client: FlaskClient, awarded: Setup
) -> None:
    login(client, "bob")
    assert client.get(f"/contests/{awarded.contest_id}/certificate.pdf").status_code == 200
    number = numbers(app, awarded.contest_id)[awarded.bob]
    assert client.get(f"/api/v1/certificates/{number}").get_json()["status"] == "valid"
    with app.app_context():
        awards.unlock(awarded.contest_id, "复核")
        awards.adjust(awarded.contest_id, awarded.bob, "", "作弊，取消资格")
        awards.lock(awarded.contest_id)
        db.session.commit()
    # nobody printed anything since: the verification already says revoked
    assert client.get(f"/api/v1/certificates/{number}").get_json()["status"] == "revoked"
    page = client.get(f"/certificates/{number}")
    assert 'data-testid="verify-revoked"' in page.get_data(as_text=True)


def test_while_the_awards_are_unlocked_nothing_is_issued_or_revoked(
    app: Flask, client: FlaskClient, awarded: Setup
) -> None:
    with app.app_context():
        service.issue_certificates(awarded.contest_id)
        db.session.commit()
    before = numbers(app, awarded.contest_id)
    with app.app_context():
        awards.unlock(awarded.contest_id, "复核")
        db.session.commit()
    login(client, "alice")
    assert client.get(f"/contests/{awarded.contest_id}/certificate.pdf").status_code == 404
    with app.app_context():
        assert service.issue_certificates(awarded.contest_id) == []
    assert numbers(app, awarded.contest_id) == before


def test_verification_is_rate_limited(app: Flask, client: FlaskClient, awarded: Setup) -> None:
    app.config["CERTIFICATE_VERIFY_LIMIT"] = "3 per minute"
    for _ in range(3):
        assert client.get("/api/v1/certificates/NSC1-2026-0000000000-0000").status_code == 404
    refused = client.get("/certificates/verify?number=NSC1-2026-0000000000-0000")
    assert refused.status_code == 429
    assert "Retry-After" in refused.headers
    assert client.get("/api/v1/certificates/NSC1-2026-0000000000-0000").status_code == 429


# Who may download what ---------------------------------------------------------------------------


def test_a_contestant_gets_only_their_own_certificate(
    app: Flask, client: FlaskClient, awarded: Setup
) -> None:
    url = f"/api/v1/contests/{awarded.contest_id}/certificate"
    assert client.get(url).status_code == 401
    assert client.get(f"/contests/{awarded.contest_id}/certificate.pdf").status_code == 302
    login(client, "alice")
    assert client.get(f"{url}?user_id={awarded.bob}").status_code == 403
    mine = client.get(f"{url}?user_id={awarded.alice}")
    assert mine.status_code == 200 and "欧阳娜娜" in pdf_text(mine.data)
    assert "张三丰" not in pdf_text(client.get(url).data)
    client.delete("/api/v1/session", headers={"X-CSRFToken": csrf_token(client)})
    login(client, "carol")  # no award
    assert client.get(url).status_code == 404
    assert client.get(f"/contests/{awarded.contest_id}/certificate.pdf").status_code == 404


def test_organizers_get_any_awardees_certificate(
    app: Flask, organizer_client: FlaskClient, awarded: Setup
) -> None:
    url = f"/api/v1/contests/{awarded.contest_id}/certificate"
    bob = organizer_client.get(f"{url}?user_id={awarded.bob}")
    assert bob.status_code == 200 and "张三丰" in pdf_text(bob.data)
    assert organizer_client.get(url).status_code == 422
    page = organizer_client.get(
        f"/admin/contests/{awarded.contest_id}/certificates/{awarded.bob}.pdf"
    )
    assert page.status_code == 200 and "二等奖" in pdf_text(page.data)


def test_the_zip_is_built_by_a_worker_with_one_pdf_per_awardee(
    app: Flask, client: FlaskClient, awarded: Setup
) -> None:
    from workers import queues
    from workers.runner import get_queue, make_worker

    url = f"/api/v1/contests/{awarded.contest_id}/certificates/export"
    assert client.post(url, headers={"X-CSRFToken": csrf_token(client)}).status_code == 401
    login(client, "alice")
    assert client.post(url, headers={"X-CSRFToken": csrf_token(client)}).status_code == 403
    client.delete("/api/v1/session", headers={"X-CSRFToken": csrf_token(client)})
    with app.app_context():
        add_user("boss", Role.ADMIN)
    login(client, "boss")
    started = client.post(url, headers={"X-CSRFToken": csrf_token(client)})
    assert started.status_code == 202, started.get_json()
    job_id = started.get_json()["id"]
    queued = get_queue(app, queues.DEFAULT).fetch_job(f"export-{job_id}")
    assert queued is not None and queued.timeout == 7200  # a large archive gets two hours
    make_worker(app, [queues.DEFAULT]).work(burst=True)
    with app.app_context():
        job = db.session.get(ExportJob, job_id)
        assert job is not None and job.status == "done", job.error if job else None
        assert (job.done, job.total) == (2, 2)
        archive = zipfile.ZipFile(io.BytesIO(job.content or b""))
    names = sorted(archive.namelist())
    assert len(names) == 2 and all(n.endswith(".pdf") for n in names)
    texts = [pdf_text(archive.read(n)) for n in names]
    assert any("欧阳娜娜" in t for t in texts) and any("张三丰" in t for t in texts)
    for number in numbers(app, awarded.contest_id).values():
        assert sum(name.endswith(f"-{number}.pdf") for name in names) == 1


def test_the_zip_waits_for_the_awards_to_be_locked(
    app: Flask, organizer_client: FlaskClient, awarded: Setup
) -> None:
    with app.app_context():
        awards.unlock(awarded.contest_id, "复核")
        db.session.commit()
    response = organizer_client.post(
        f"/api/v1/contests/{awarded.contest_id}/certificates/export",
        headers={"X-CSRFToken": csrf_token(organizer_client)},
    )
    assert response.status_code == 422


# The organizers' settings page -------------------------------------------------------------------


def _png(size: tuple[int, int] = (120, 120)) -> bytes:
    image = Image.new("RGBA", size, (200, 0, 0, 200))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _form_token(client: FlaskClient, url: str) -> str:
    page = client.get(url).get_data(as_text=True)
    marker = 'name="csrf_token" type="hidden" value="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]


def test_organizers_choose_the_design_issuer_date_and_seal(
    app: Flask, organizer_client: FlaskClient, awarded: Setup, tmp_path: Path
) -> None:
    contest_page = organizer_client.get(f"/admin/contests/{awarded.contest_id}")
    assert 'data-testid="certificates-link"' in contest_page.get_data(as_text=True)
    url = f"/admin/contests/{awarded.contest_id}/certificates"
    saved = organizer_client.post(
        url,
        data={
            "csrf_token": _form_token(organizer_client, url),
            "design": "modern",
            "issuer": "北京市网络安全竞赛组委会",
            "issue_date": "2026-12-08",
            "seal": (io.BytesIO(_png()), "seal.png"),
        },
        content_type="multipart/form-data",
    )
    assert saved.status_code == 302, saved.get_data(as_text=True)
    page = organizer_client.get(url).get_data(as_text=True)
    assert 'data-testid="seal-preview"' in page and "欧阳娜娜" in page
    assert organizer_client.get(f"{url}/seal.png").mimetype == "image/png"
    cert = organizer_client.get(f"{url}/{awarded.alice}.pdf").data
    text = pdf_text(cert)
    assert "北京市网络安全竞赛组委会" in text and "2026年12月8日" in text
    source = tmp_path / "c.pdf"
    source.write_bytes(cert)
    listed = subprocess.run(["pdfimages", "-list", str(source)], capture_output=True, check=True)
    assert b"smask" in listed.stdout  # the seal, its transparency kept
    fonts = subprocess.run(["pdffonts", str(source)], capture_output=True, check=True)
    assert b"NotoSansSC" in fonts.stdout and b" yes yes " in fonts.stdout  # embedded, subset
    sample = organizer_client.get(f"{url}/sample.pdf")
    assert sample.status_code == 200 and "北京市网络安全竞赛组委会" in pdf_text(sample.data)
    with app.app_context():
        events = db.session.scalars(
            db.select(contest.models.AuditEvent).where(
                contest.models.AuditEvent.action == "certificate.settings"
            )
        ).all()
        assert len(events) == 1 and events[0].after["design"] == "modern"


def test_a_seal_that_is_not_an_image_is_refused(
    organizer_client: FlaskClient, awarded: Setup
) -> None:
    url = f"/admin/contests/{awarded.contest_id}/certificates"
    refused = organizer_client.post(
        url,
        data={
            "csrf_token": _form_token(organizer_client, url),
            "design": "classic",
            "issuer": "",
            "seal": (io.BytesIO(b"<svg xmlns='http://www.w3.org/2000/svg'/>"), "seal.png"),
        },
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    assert 'data-testid="seal-error"' in refused.get_data(as_text=True)
    missing = organizer_client.post(url, data={"design": "classic"})
    assert missing.status_code in (400, 403, 422)  # no CSRF token: nothing saved


def test_contestants_have_no_certificate_settings(client: FlaskClient, awarded: Setup) -> None:
    login(client, "alice")
    base = f"/admin/contests/{awarded.contest_id}/certificates"
    for url in (base, f"{base}/sample.pdf", f"{base}/{awarded.bob}.pdf"):
        assert client.get(url).status_code == 403, url


def test_the_result_page_links_the_contestants_own_certificate(app: Flask, awarded: Setup) -> None:
    links, results = {}, {}
    for username, user_id in (("alice", awarded.alice), ("carol", awarded.carol)):
        with app.app_context():
            attempt_id = db.session.scalar(db.select(Attempt.id).where(Attempt.user_id == user_id))
        browser = login(app.test_client(), username)
        results[username] = (browser, f"/attempts/{attempt_id}/result")
        page = browser.get(f"/attempts/{attempt_id}/result")
        assert page.status_code == 200
        links[username] = 'data-testid="my-certificate"' in page.get_data(as_text=True)
    assert links == {"alice": True, "carol": False}
    with app.app_context():
        awards.unlock(awarded.contest_id, "复核")
        db.session.commit()
    browser, url = results["alice"]
    assert 'data-testid="my-certificate"' not in browser.get(url).get_data(as_text=True)


def test_the_printable_winners_list_shows_the_names_masked(
    app: Flask, client: FlaskClient, awarded: Setup
) -> None:
    url = f"/contests/{awarded.contest_id}/winners.pdf"
    assert client.get(url).status_code == 404  # locked, not published yet
    with app.app_context():
        awards.publish(
            awarded.contest_id,
            publish_from=date(2026, 12, 5),
            publish_until=date(2026, 12, 12),
            objection_contact="010-12345678",
        )
        db.session.commit()
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    assert "欧**娜" in text and "张*丰" in text and "一等奖" in text and "二等奖" in text
    assert "欧阳娜娜" not in text and "张三丰" not in text and "李" not in text
    assert "2026-12-05" in text and "010-12345678" in text
    with app.app_context():
        row = db.session.get(contest.models.Contest, awarded.contest_id)
        assert row is not None
        row.mask_names = False
        db.session.commit()
    assert "欧阳娜娜" in pdf_text(client.get(url).data)


def _publish(app: Flask, contest_id: int) -> None:
    with app.app_context():
        awards.publish(
            contest_id,
            publish_from=date(2026, 12, 5),
            publish_until=date(2026, 12, 12),
            objection_contact="010-12345678",
        )
        db.session.commit()


def test_the_printable_winners_list_is_cached_under_what_it_shows(
    app: Flask, client: FlaskClient, awarded: Setup
) -> None:
    _publish(app, awarded.contest_id)
    url = f"/contests/{awarded.contest_id}/winners.pdf"
    first = client.get(url)
    assert first.status_code == 200
    with app.app_context():
        listing = award_results.winners_list(awarded.contest_id)
        assert listing is not None
        key = winners_pdf.cache_key(listing)
        assert redis_hub.client.get(key) == first.data
        redis_hub.client.set(key, b"%PDF-cached", ex=60)
    assert client.get(url).data == b"%PDF-cached"  # served from the cache, not laid out again
    with app.app_context():  # a new publication (unlock, lock, publish) is a new key
        awards.unlock(awarded.contest_id, "复核")
        awards.lock(awarded.contest_id)
        db.session.commit()
    _publish(app, awarded.contest_id)
    again = client.get(url)
    assert again.status_code == 200 and again.data.startswith(b"%PDF-1")
    with app.app_context():
        listing = award_results.winners_list(awarded.contest_id)
        assert listing is not None and winners_pdf.cache_key(listing) != key
        assert 0 < redis_hub.client.ttl(winners_pdf.cache_key(listing)) <= winners_pdf.CACHE_TTL_S


def test_the_printable_winners_list_is_rate_limited(
    app: Flask, client: FlaskClient, awarded: Setup
) -> None:
    _publish(app, awarded.contest_id)
    app.config["WINNERS_LIMIT"] = "2 per minute"
    url = f"/contests/{awarded.contest_id}/winners.pdf"
    codes = [client.get(url).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_printed_numbers_still_verify_after_the_secret_key_is_rotated(
    app: Flask, client: FlaskClient, awarded: Setup
) -> None:
    with app.app_context():
        service.issue_certificates(awarded.contest_id)
        db.session.commit()
    number = numbers(app, awarded.contest_id)[awarded.alice]
    app.config["SECRET_KEY"] = "rotated-secret"
    assert client.get(f"/api/v1/certificates/{number}").status_code == 404  # old key forgotten
    app.config["SECRET_KEY_FALLBACKS"] = ["test-secret"]
    assert client.get(f"/api/v1/certificates/{number}").get_json()["status"] == "valid"
    with app.app_context():  # new numbers are issued under the current key
        fresh = service.new_number(awarded.contest_id, 2026)
        body = fresh.rsplit("-", 1)[0]
        assert fresh.endswith(service._check_part(body, "rotated-secret"))
        assert service.is_genuine_form(fresh)
        app.config["SECRET_KEY_FALLBACKS"] = []
        assert service.is_genuine_form(fresh) and not service.is_genuine_form(number)


def test_the_settings_page_shows_the_verification_address_and_warns_without_a_public_url(
    app: Flask, organizer_client: FlaskClient, awarded: Setup
) -> None:
    url = f"/admin/contests/{awarded.contest_id}/certificates"
    page = organizer_client.get(url).get_data(as_text=True)
    assert "http://localhost/certificates/" in page
    assert 'data-testid="public-url-warning"' in page and "CONTEST_PUBLIC_URL" in page
    app.config["CONTEST_PUBLIC_URL"] = "https://contest.example.cn"
    page = organizer_client.get(url).get_data(as_text=True)
    assert "https://contest.example.cn/certificates/" in page
    assert 'data-testid="public-url-warning"' not in page
