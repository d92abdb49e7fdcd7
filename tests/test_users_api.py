"""The account and roster operations of the API: admins only (changeOwnPassword: anyone signed
in), rosters through a real RQ worker, the passwords once, resets and changes ending sessions."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from contest.extensions import db
from contest.models import AuditEvent, Organization, Role, RosterImport, User
from contest.services.accounts import verify_password
from tests.conftest import PASSWORD, add_user, api_login, csrf_token
from workers import queues
from workers.roster import expire_passwords
from workers.runner import get_queue, make_worker

ROSTER = "单位,用户名,姓名,密码\n一中,api01,甲,\n一中,api02,乙,given-pass-1\n二中,api03,丙,\n"


def run_worker(app: Flask) -> None:
    make_worker(app, [queues.IMPORTS]).work(burst=True)


def signed_in(app: Flask, username: str, role: Role = Role.ADMIN) -> FlaskClient:
    with app.app_context():
        if db.session.scalar(select(User.id).where(User.username == username)) is None:
            add_user(username, role)
    client = app.test_client()
    assert api_login(client, username).status_code == 200
    return client


def call(client: FlaskClient, method: str, url: str, body: Any = None):  # type: ignore[no-untyped-def]
    return client.open(url, method=method, json=body, headers={"X-CSRFToken": csrf_token(client)})


def upload(client: FlaskClient, content: bytes, name: str = "roster.csv", **form: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/roster-imports",
        data={"file": (io.BytesIO(content), name), **form},
        headers={"X-CSRFToken": csrf_token(client)},
        content_type="multipart/form-data",
    )


def whoami(client: FlaskClient) -> str | None:
    user = client.get("/api/v1/session").get_json()["user"]
    return user["username"] if user else None


# Who may call what -------------------------------------------------------------------------------


@pytest.fixture
def ids(app: Flask, organization: Organization) -> dict[str, int]:
    with app.app_context():
        user = add_user("target", Role.CONTESTANT, organization.id)
        job = RosterImport(filename="r.csv", status="ready", content=b"x", report={})
        db.session.add(job)
        db.session.commit()
        return {"uid": user.id, "rid": job.id}


OPERATIONS = [
    ("POST", "/api/v1/roster-imports", "upload"),
    ("GET", "/api/v1/roster-imports/{rid}", None),
    ("POST", "/api/v1/roster-imports/{rid}/confirm", None),
    ("POST", "/api/v1/roster-imports/{rid}/passwords", None),
    ("GET", "/api/v1/users?q=t", None),
    ("POST", "/api/v1/users", {"username": "made", "display_name": "造"}),
    ("PATCH", "/api/v1/users/{uid}", {"display_name": "改", "active": False}),
    ("POST", "/api/v1/users/{uid}/password-reset", None),
]


def request_as(client: FlaskClient, method: str, url: str, body: Any, ids: dict[str, int]):  # type: ignore[no-untyped-def]
    url = url.format(**ids)
    if body == "upload":
        return upload(client, ROSTER.encode())
    return call(client, method, url, body)


@pytest.mark.parametrize(("method", "url", "body"), OPERATIONS)
def test_the_operations_are_for_admins_only(
    app: Flask, ids: dict[str, int], method: str, url: str, body: Any
) -> None:
    anonymous = app.test_client()
    response = request_as(anonymous, method, url, body, ids)
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "not_logged_in"
    for who, role in (("district", Role.ORGANIZER), ("player", Role.CONTESTANT)):
        response = request_as(signed_in(app, who, role), method, url, body, ids)
        assert response.status_code == 403, (who, url)
        assert response.get_json()["error"]["code"] == "forbidden"
    with app.app_context():
        user = db.session.get(User, ids["uid"])
        assert user is not None and user.active and user.display_name == "target 名"
        assert db.session.scalar(select(User.id).where(User.username == "made")) is None
        assert db.session.get(RosterImport, ids["rid"]).status == "ready"  # type: ignore[union-attr]
        assert db.session.scalars(select(RosterImport)).all().__len__() == 1
    response = request_as(signed_in(app, "boss"), method, url, body, ids)
    assert response.status_code in (200, 201, 202, 409), response.get_json()


def test_change_own_password_is_for_anyone_signed_in(app: Flask) -> None:
    body = {"current_password": PASSWORD, "new_password": "a-fresh-password"}
    assert call(app.test_client(), "PUT", "/api/v1/account/password", body).status_code == 401
    for who, role in (
        ("district", Role.ORGANIZER),
        ("player", Role.CONTESTANT),
        ("boss", Role.ADMIN),
    ):
        client = signed_in(app, who, role)
        response = call(client, "PUT", "/api/v1/account/password", body)
        assert response.status_code == 200 and response.get_json() == {"changed": True}, who
        assert whoami(client) == who


# Rosters -----------------------------------------------------------------------------------------


def test_import_a_roster_and_download_its_passwords_once(app: Flask) -> None:
    admin = signed_in(app, "boss")
    response = upload(admin, ROSTER.encode())
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "queued" and body["passwords_url"] is None
    assert response.headers["Location"].endswith(f"/roster-imports/{body['id']}")
    run_worker(app)
    job = admin.get(f"/api/v1/roster-imports/{body['id']}").get_json()
    assert job["status"] == "succeeded" and job["done"] == job["total"] == 3
    assert job["report"]["created"] == 3 and job["report"]["generated"] == 2
    assert job["report"]["preview"]["organizations"] == 2
    url = job["passwords_url"]
    assert url == f"/api/v1/roster-imports/{body['id']}/passwords" and job["passwords_expire_at"]

    download = call(admin, "POST", url)
    assert download.status_code == 200
    book = load_workbook(io.BytesIO(download.data))
    assert book.sheetnames == ["一中", "二中"]
    rows = [r for sheet in book.worksheets for r in list(sheet.iter_rows(values_only=True))[1:]]
    assert sorted(r[1] for r in rows) == ["api01", "api03"]
    with app.app_context():
        for _, username, _, password in rows:
            user = db.session.scalar(select(User).where(User.username == username))
            assert user is not None and verify_password(user.password_hash, password)
    again = call(admin, "POST", url)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "passwords_gone"
    assert admin.get(f"/api/v1/roster-imports/{body['id']}").get_json()["passwords_url"] is None
    with app.app_context():
        assert db.session.get(RosterImport, body["id"]).passwords_sealed is None  # type: ignore[union-attr]


def test_a_preview_waits_for_its_confirmation(app: Flask) -> None:
    admin = signed_in(app, "boss")
    job_id = upload(admin, ROSTER.encode(), preview="true").get_json()["id"]
    run_worker(app)
    job = admin.get(f"/api/v1/roster-imports/{job_id}").get_json()
    assert job["status"] == "ready"
    preview = job["report"]["preview"]
    assert (preview["rows"], preview["new_organization_count"], preview["generated"]) == (3, 2, 2)
    assert [row["username"] for row in preview["first"]] == ["api01", "api02", "api03"]
    assert "given-pass-1" not in str(job)
    with app.app_context():
        assert db.session.scalar(select(User.id).where(User.username == "api01")) is None
    assert call(admin, "POST", f"/api/v1/roster-imports/{job_id}/confirm").status_code == 202
    second = call(admin, "POST", f"/api/v1/roster-imports/{job_id}/confirm")
    assert second.status_code == 409
    run_worker(app)
    assert admin.get(f"/api/v1/roster-imports/{job_id}").get_json()["status"] == "succeeded"
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "api02"))
        assert user is not None and verify_password(user.password_hash, "given-pass-1")


def test_an_account_taken_after_the_check_refuses_the_whole_file(app: Flask) -> None:
    admin = signed_in(app, "boss")
    job_id = upload(admin, ROSTER.encode(), preview="true").get_json()["id"]
    run_worker(app)
    with app.app_context():
        add_user("api03")
    call(admin, "POST", f"/api/v1/roster-imports/{job_id}/confirm")
    run_worker(app)
    job = admin.get(f"/api/v1/roster-imports/{job_id}").get_json()
    assert job["status"] == "failed" and "api03" in " ".join(job["report"]["problems"])
    with app.app_context():
        assert db.session.scalar(select(User.id).where(User.username == "api01")) is None


def test_expired_passwords_are_gone(app: Flask) -> None:
    admin = signed_in(app, "boss")
    job_id = upload(admin, ROSTER.encode()).get_json()["id"]
    run_worker(app)
    with app.app_context():
        job = db.session.get(RosterImport, job_id)
        assert job is not None and job.passwords_sealed is not None
        job.passwords_expire_at = datetime.now(UTC) - timedelta(seconds=1)
        db.session.commit()
    assert admin.get(f"/api/v1/roster-imports/{job_id}").get_json()["passwords_url"] is None
    scheduled = ScheduledJobRegistry(queue=get_queue(app, queues.DEFAULT))
    assert f"roster-{job_id}-expire" in scheduled.get_job_ids()
    with app.app_context():
        assert expire_passwords() == 1
        assert db.session.get(RosterImport, job_id).passwords_sealed is None  # type: ignore[union-attr]
    response = call(admin, "POST", f"/api/v1/roster-imports/{job_id}/passwords")
    assert response.status_code == 409


def test_a_refused_upload_is_422_and_stores_nothing(app: Flask) -> None:
    admin = signed_in(app, "boss")
    response = upload(admin, b"%PDF-1.7\n", "roster.pdf")
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid_roster"
    missing = admin.post(
        "/api/v1/roster-imports",
        data={},
        headers={"X-CSRFToken": csrf_token(admin)},
        content_type="multipart/form-data",
    )
    assert missing.status_code == 422
    with app.app_context():
        assert db.session.scalars(select(RosterImport)).all() == []


# Accounts ----------------------------------------------------------------------------------------


def test_list_users_searches_filters_and_pages(app: Flask, organization: Organization) -> None:
    with app.app_context():
        for i in range(25):
            add_user(f"p{i:02d}", Role.CONTESTANT, organization.id if i < 10 else None)
    admin = signed_in(app, "boss")
    page = admin.get("/api/v1/users?role=contestant&per_page=10&page=3").get_json()
    assert page["total"] == 25 and [u["username"] for u in page["users"]] == [
        f"p{i:02d}" for i in range(20, 25)
    ]
    unit = admin.get(f"/api/v1/users?organization={organization.id}&per_page=200").get_json()
    assert unit["total"] == 10
    assert unit["users"][0]["organization"] == {"id": organization.id, "name": "第一中学"}
    assert admin.get("/api/v1/users?q=第一").get_json()["total"] == 10
    assert admin.get("/api/v1/users?q=p1").get_json()["total"] == 10
    assert admin.get("/api/v1/users?active=false").get_json()["total"] == 0
    assert admin.get("/api/v1/users?role=nobody").status_code == 422


def test_create_update_and_reset(app: Flask, organization: Organization) -> None:
    admin = signed_in(app, "boss")
    made = call(
        admin,
        "POST",
        "/api/v1/users",
        {"username": "Carol", "display_name": "卡罗", "organization_id": organization.id},
    )
    assert made.status_code == 201
    body = made.get_json()
    assert body["user"]["username"] == "carol" and body["user"]["role"] == "contestant"
    carol = app.test_client()
    assert api_login(carol, "carol", body["password"]).status_code == 200

    given = call(
        admin,
        "POST",
        "/api/v1/users",
        {"username": "dan", "display_name": "丹", "role": "organizer", "password": "dan-pass-2026"},
    )
    assert given.status_code == 201 and given.get_json()["password"] is None
    assert (
        call(admin, "POST", "/api/v1/users", {"username": "dan", "display_name": "x"}).status_code
        == 409
    )
    short = call(
        admin,
        "POST",
        "/api/v1/users",
        {"username": "eve", "display_name": "x", "password": "short"},
    )
    assert short.status_code == 422
    unknown = call(
        admin,
        "POST",
        "/api/v1/users",
        {"username": "eve", "display_name": "x", "organization_id": 999},
    )
    assert unknown.status_code == 422

    uid = body["user"]["id"]
    changed = call(
        admin, "PATCH", f"/api/v1/users/{uid}", {"display_name": "新名", "organization_id": None}
    )
    assert changed.status_code == 200
    assert (
        changed.get_json()["display_name"] == "新名" and changed.get_json()["organization"] is None
    )

    reset = call(admin, "POST", f"/api/v1/users/{uid}/password-reset")
    assert reset.status_code == 200
    assert whoami(carol) is None  # the reset ended carol's session
    assert api_login(app.test_client(), "carol", body["password"]).status_code == 401
    assert api_login(app.test_client(), "carol", reset.get_json()["password"]).status_code == 200

    off = call(admin, "PATCH", f"/api/v1/users/{uid}", {"active": False})
    assert off.status_code == 200 and off.get_json()["active"] is False
    refused = api_login(app.test_client(), "carol", reset.get_json()["password"])
    assert refused.status_code == 403  # the right password of a deactivated account
    assert refused.get_json()["error"]["code"] == "account_inactive"
    assert call(admin, "PATCH", f"/api/v1/users/{uid}", {"active": True}).get_json()["active"]

    with app.app_context():
        events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [e.action for e in events] == [
            "user.create",
            "user.create",
            "user.update",
            "user.reset_password",
            "user.deactivate",
            "user.reactivate",
        ]
        text = str([(e.before, e.after) for e in events])
        assert reset.get_json()["password"] not in text and "dan-pass-2026" not in text
        assert all(e.actor_name == "boss" for e in events)


def test_an_admin_cannot_demote_deactivate_or_reset_themselves(app: Flask) -> None:
    admin = signed_in(app, "boss")
    with app.app_context():
        uid = db.session.scalar(select(User.id).where(User.username == "boss"))
    for body in ({"role": "contestant"}, {"active": False}):
        response = call(admin, "PATCH", f"/api/v1/users/{uid}", body)
        assert response.status_code == 409 and response.get_json()["error"]["code"] == "own_account"
    assert call(admin, "POST", f"/api/v1/users/{uid}/password-reset").status_code == 409
    assert call(admin, "PATCH", f"/api/v1/users/{uid}", {"display_name": "老板"}).status_code == 200
    assert whoami(admin) == "boss"
    assert (
        call(admin, "PATCH", "/api/v1/users/2147483647", {"display_name": "x"}).status_code == 404
    )


def test_change_own_password_ends_the_other_sessions(app: Flask, contestant: User) -> None:
    laptop = signed_in(app, contestant.username)
    phone = signed_in(app, contestant.username)
    wrong = call(
        laptop,
        "PUT",
        "/api/v1/account/password",
        {"current_password": "nope", "new_password": "a-fresh-password"},
    )
    assert wrong.status_code == 422
    assert wrong.get_json()["error"]["fields"] == {
        "json": {"current_password": [wrong.get_json()["error"]["message"]]}
    }
    weak = call(
        laptop,
        "PUT",
        "/api/v1/account/password",
        {"current_password": PASSWORD, "new_password": "x"},
    )
    assert weak.status_code == 422
    assert whoami(phone) == contestant.username
    ok = call(
        laptop,
        "PUT",
        "/api/v1/account/password",
        {"current_password": PASSWORD, "new_password": "a-fresh-password"},
    )
    assert ok.status_code == 200
    assert whoami(laptop) == contestant.username and whoami(phone) is None
    assert api_login(app.test_client(), contestant.username, "a-fresh-password").status_code == 200


def test_wrong_current_passwords_are_throttled(app: Flask, contestant: User) -> None:
    me = signed_in(app, contestant.username)
    statuses = [
        call(
            me,
            "PUT",
            "/api/v1/account/password",
            {"current_password": f"wrong-{i}", "new_password": "a-fresh-password"},
        ).status_code
        for i in range(12)
    ]
    assert statuses[:10] == [422] * 10 and statuses[-1] == 429


def test_a_preview_left_unconfirmed_is_dropped_after_a_day(app: Flask) -> None:
    admin = signed_in(app, "boss")
    job_id = upload(admin, ROSTER.encode(), preview="true").get_json()["id"]
    run_worker(app)
    with app.app_context():
        job = db.session.get(RosterImport, job_id)
        assert job is not None and job.status == "ready" and job.content
        job.created_at = datetime.now(UTC) - timedelta(hours=25)
        db.session.commit()
        expire_passwords()
        job = db.session.get(RosterImport, job_id)
        assert job is not None and job.status == "cancelled" and job.content is None
