"""Account pages (admins only): roster uploads through a real RQ worker, all or nothing, with a
preview and the one download of the generated passwords; the accounts list; new accounts,
edits, deactivation and resets; the change of one's own password; the login page's help text."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import event, func, select

from contest.extensions import db
from contest.models import AuditEvent, Organization, Role, RosterImport, User
from contest.services.accounts import verify_password
from tests.conftest import PASSWORD, add_user, api_login, csrf_token
from workers import queues
from workers.runner import make_worker

GOOD = (
    "单位,用户名,姓名,密码\n"
    "第一中学,stu001,张三,pass-word-1\n"
    "第一中学,stu002,李四,\n"
    "高新区/第二小学,stu003,=王五,\n"
    "高新区/第二小学,stu004,赵六,\n"
)
BROKEN = GOOD.replace("高新区/第二小学,stu003,=王五,", "高新区/第二小学,stu 003,,")


def run_worker(app: Flask) -> None:
    make_worker(app, [queues.IMPORTS]).work(burst=True)


def signed_in(app: Flask, username: str, role: Role = Role.ADMIN) -> FlaskClient:
    with app.app_context():
        if db.session.scalar(select(User.id).where(User.username == username)) is None:
            add_user(username, role)
    client = app.test_client()
    assert api_login(client, username).status_code == 200
    return client


def upload(client: FlaskClient, content: bytes, name: str = "roster.csv"):  # type: ignore[no-untyped-def]
    return client.post(
        "/admin/users/import",
        data={"file": (io.BytesIO(content), name), "csrf_token": csrf_token(client)},
        content_type="multipart/form-data",
    )


def upload_raw(client: FlaskClient, content: bytes, name: str = "roster.csv"):  # type: ignore[no-untyped-def]
    """A large upload, its multipart body made here (werkzeug's test client would spool it to
    a temporary file it never closes)."""
    boundary = "roster-boundary-7f3a"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
            f"{csrf_token(client)}\r\n"
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return client.post(
        "/admin/users/import",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def post(client: FlaskClient, url: str, **data: str):  # type: ignore[no-untyped-def]
    return client.post(url, data={"csrf_token": csrf_token(client), **data})


def import_id_of(response) -> int:  # type: ignore[no-untyped-def]
    assert response.status_code == 302, response.get_data(as_text=True)
    match = re.search(r"/admin/users/imports/(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def roster(app: Flask, import_id: int) -> RosterImport:
    with app.app_context():
        job = db.session.get(RosterImport, import_id)
        assert job is not None
        db.session.expunge(job)
        return job


def usernames(app: Flask) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(select(User.username)))


def audit_actions(app: Flask) -> list[tuple[str, dict | None]]:  # type: ignore[type-arg]
    with app.app_context():
        return [
            (e.action, e.after)
            for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        ]


# Who may see the pages ---------------------------------------------------------------------------


@pytest.fixture
def target(app: Flask, organization: Organization) -> int:
    """An account the pages act on, and a roster upload waiting for its confirmation."""
    with app.app_context():
        user = add_user("target", Role.CONTESTANT, organization.id)
        db.session.add(RosterImport(filename="r.csv", status="ready", content=b"x", report={}))
        db.session.commit()
        return user.id


GETS = [
    "/admin/users",
    "/admin/users?q=ta&role=contestant&active=1&page=1",
    "/admin/users/new",
    "/admin/users/{uid}",
    "/admin/users/import",
    "/admin/users/imports/1",
]
POSTS = [
    "/admin/users/new",
    "/admin/users/{uid}",
    "/admin/users/{uid}/active",
    "/admin/users/{uid}/reset-password",
    "/admin/users/password-help",
    "/admin/users/import",
    "/admin/users/imports/1/confirm",
    "/admin/users/imports/1/cancel",
    "/admin/users/imports/1/passwords",
]


@pytest.mark.parametrize("who", ["district", "contestant"])
def test_only_admins_reach_the_account_pages(app: Flask, target: int, who: str) -> None:
    role = Role.ORGANIZER if who == "district" else Role.CONTESTANT
    client = signed_in(app, who, role)
    for url in GETS:
        assert client.get(url.format(uid=target)).status_code == 403, url
    for url in POSTS:
        assert post(client, url.format(uid=target)).status_code == 403, url
    with app.app_context():
        user = db.session.get(User, target)
        assert user is not None and user.active and user.password_hash
    assert roster(app, 1).status == "ready"


def test_anonymous_visitors_are_sent_to_log_in(
    app: Flask, client: FlaskClient, target: int
) -> None:
    for url in GETS:
        response = client.get(url.format(uid=target))
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    for url in POSTS:
        response = client.post(url.format(uid=target), data={})
        assert response.status_code in (302, 403), url  # 403: no CSRF token without a session
        assert response.status_code == 403 or "/login" in response.headers["Location"]


def test_admins_reach_every_page(app: Flask, target: int) -> None:
    client = signed_in(app, "boss")
    for url in GETS:
        assert client.get(url.format(uid=target)).status_code == 200, url
    home = client.get("/admin/").get_data(as_text=True)
    assert "/admin/users" in home


def test_district_organizers_see_no_users_link(app: Flask) -> None:
    client = signed_in(app, "district", Role.ORGANIZER)
    page = client.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/users"' not in page
    assert "/account/password" in page


# Roster uploads ----------------------------------------------------------------------------------


def test_a_roster_upload_end_to_end(app: Flask) -> None:
    admin = signed_in(app, "boss")
    before = usernames(app)

    # One broken row: nothing is imported, and the row is named.
    broken = import_id_of(upload(admin, BROKEN.encode()))
    page = admin.get(f"/admin/users/imports/{broken}").get_data(as_text=True)
    assert 'data-status="checking"' in page and 'id="roster-progress"' in page
    run_worker(app)
    job = roster(app, broken)
    assert job.status == "failed" and job.content is None
    assert any("4" in p and "stu 003" in p for p in job.report["problems"]), job.report
    page = admin.get(f"/admin/users/imports/{broken}").get_data(as_text=True)
    assert 'id="roster-problems"' in page and "stu 003" in page
    assert 'id="roster-confirm"' not in page
    assert usernames(app) == before

    # Fixed: a preview first, nothing imported until confirmed.
    fixed = import_id_of(upload(admin, GOOD.encode("gbk")))
    run_worker(app)
    assert roster(app, fixed).status == "ready"
    assert usernames(app) == before
    page = admin.get(f"/admin/users/imports/{fixed}").get_data(as_text=True)
    assert re.search(r'data-testid="count-rows">4<', page)
    assert re.search(r'data-testid="count-units">2<', page)
    assert re.search(r'data-testid="count-new-units">2<', page)
    assert re.search(r'data-testid="count-generated">3<', page)
    assert "stu002" in page and "pass-word-1" not in page
    assert 'id="roster-confirm"' in page

    assert post(admin, f"/admin/users/imports/{fixed}/confirm").status_code == 302
    assert roster(app, fixed).status == "queued"
    run_worker(app)
    job = roster(app, fixed)
    assert job.status == "succeeded" and job.content is None and job.done == job.total == 4
    assert job.passwords_sealed is not None and b"stu002" not in job.passwords_sealed
    assert usernames(app) == before | {"stu001", "stu002", "stu003", "stu004"}
    page = admin.get(f"/admin/users/imports/{fixed}").get_data(as_text=True)
    assert 'id="download-passwords"' in page

    # The passwords, once: one sheet per unit, every password that of its account.
    download = post(admin, f"/admin/users/imports/{fixed}/passwords")
    assert download.status_code == 200
    assert download.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert "no-store" in download.headers["Cache-Control"]
    book = load_workbook(io.BytesIO(download.data))
    assert book.sheetnames == ["第一中学", "高新区_第二小学"]
    rows = {}
    for sheet in book.worksheets:
        values = list(sheet.iter_rows(values_only=True))
        assert values[0] == ("姓名", "用户名", "单位", "初始密码")
        for name, username, unit, password in values[1:]:
            assert sheet.title.replace("_", "/") == unit
            rows[username] = (name, password)
    assert set(rows) == {"stu002", "stu003", "stu004"}  # stu001 brought its own password
    assert rows["stu003"][0] == "=王五"  # kept as text, not turned into a formula
    with app.app_context():
        for username, (_, password) in rows.items():
            user = db.session.scalar(select(User).where(User.username == username))
            assert user is not None and verify_password(user.password_hash, password)
            assert user.role is Role.CONTESTANT

    # A second download is refused, and nothing sealed is left.
    again = post(admin, f"/admin/users/imports/{fixed}/passwords")
    assert again.status_code == 303
    page = admin.get(again.headers["Location"]).get_data(as_text=True)
    assert 'id="passwords-gone"' in page and 'id="download-passwords"' not in page
    assert roster(app, fixed).passwords_sealed is None

    imports = [after for action, after in audit_actions(app) if action == "roster.import"]
    assert imports == [{"filename": "roster.csv", "created": 4, "organizations": 2}]
    assert all(p not in str(audit_actions(app)) for _, p in rows.values())


def test_a_duplicate_username_refuses_the_file_naming_the_rows(app: Flask) -> None:
    admin = signed_in(app, "boss")
    with app.app_context():
        add_user("taken01")
    content = "单位,用户名,姓名\n一中,dup01,甲\n一中,dup01,乙\n一中,Taken01,丙\n".encode()
    job_id = import_id_of(upload(admin, content))
    run_worker(app)
    job = roster(app, job_id)
    assert job.status == "failed"
    problems = " ".join(job.report["problems"])
    assert re.search(r"3\D.*dup01.*2", problems), problems  # row 3 repeats row 2
    assert "4" in problems and "taken01" in problems
    assert "dup01" not in usernames(app)


def test_roster_problems_come_in_row_order_each_a_sentence(app: Flask) -> None:
    """A taken username is found after the rows are read; it still sorts into its row, and every
    problem ends with one full stop, fragment or sentence."""
    admin = signed_in(app, "boss")
    with app.app_context():
        add_user("taken02")
    content = "单位,用户名,姓名\n,taken02,\n一中,ok01,乙\n,x y,\n".encode()
    job_id = import_id_of(upload(admin, content))
    run_worker(app)
    problems = roster(app, job_id).report["problems"]
    rows = [int(m.group(1)) for p in problems if (m := re.match(r"第 (\d+) 行", p))]
    assert len(rows) == len(problems) == 6 and rows == sorted(rows), problems
    assert problems[0] == "第 2 行：单位为空。", problems
    assert all(p.endswith("。") and not p.endswith("。。") for p in problems), problems
    assert any("taken02" in p for p in problems[:3]), problems


def test_the_passwords_box_says_downloaded_once_sent(app: Flask) -> None:
    """The script replaces the box with the text it carries (a reload shows it gone)."""
    admin = signed_in(app, "boss")
    job_id = import_id_of(upload(admin, GOOD.encode()))
    run_worker(app)
    assert post(admin, f"/admin/users/imports/{job_id}/confirm").status_code == 302
    run_worker(app)
    page = admin.get(f"/admin/users/imports/{job_id}").get_data(as_text=True)
    assert 'data-downloaded="已下载。该密码文件不能再次下载。"' in page
    response = admin.get("/static/js/roster_import.js")
    script = response.get_data(as_text=True)
    response.close()
    assert "passwords-downloaded" in script and "dataset.downloaded" in script


def test_a_deactivated_account_with_its_right_password_is_told_so(
    app: Flask, contestant: User
) -> None:
    """Only the right password hears that the account is deactivated; a guess hears what any
    wrong password hears. The page shows whom to ask."""
    admin = signed_in(app, "boss")
    assert post(admin, "/admin/users/password-help", text="请联系王老师").status_code == 302
    assert post(admin, f"/admin/users/{contestant.id}/active", active="0").status_code == 302

    def page_login(password: str):  # type: ignore[no-untyped-def]
        client = app.test_client()
        client.get("/login")
        return client.post(
            "/login",
            data={
                "csrf_token": csrf_token(client),
                "username": contestant.username,
                "password": password,
            },
        )

    right = page_login(PASSWORD)
    html = right.get_data(as_text=True)
    assert right.status_code == 403
    assert "该账号已停用，请联系组织者。" in html and "用户名或密码错误" not in html
    inactive = html[html.index('data-testid="account-inactive"') :].split("</div>")[0]
    assert "请联系王老师" in inactive
    wrong = page_login("not-the-password")
    assert wrong.status_code == 401
    assert "用户名或密码错误" in wrong.get_data(as_text=True)
    assert "停用" not in wrong.get_data(as_text=True)

    api = api_login(app.test_client(), contestant.username)
    assert api.status_code == 403
    assert api.get_json()["error"]["code"] == "account_inactive"
    assert api.get_json()["error"]["message"] == "该账号已停用，请联系组织者。"
    guess = api_login(app.test_client(), contestant.username, "not-the-password")
    assert guess.status_code == 401
    assert guess.get_json()["error"]["code"] == "invalid_credentials"


def test_a_roster_over_50000_rows_is_refused(app: Flask) -> None:
    admin = signed_in(app, "boss")
    lines = ["单位,用户名,姓名"] + [f"一中,u{i:05d},名{i}" for i in range(50_001)]
    job_id = import_id_of(upload_raw(admin, "\n".join(lines).encode()))
    run_worker(app)
    job = roster(app, job_id)
    assert job.status == "failed"
    assert "50000" in " ".join(job.report["problems"]), job.report
    assert len(usernames(app)) == 1


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("photo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),
        ("roster.xlsx", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),
        ("roster.csv", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),
        ("roster.csv", b""),
    ],
)
def test_a_file_that_is_no_spreadsheet_is_refused_at_once(
    app: Flask, name: str, content: bytes
) -> None:
    admin = signed_in(app, "boss")
    response = upload(admin, content, name)
    assert response.status_code == 422
    assert 'data-testid="upload-error"' in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(RosterImport)) == 0


def test_a_previewed_upload_can_be_cancelled(app: Flask) -> None:
    admin = signed_in(app, "boss")
    job_id = import_id_of(upload(admin, GOOD.encode()))
    run_worker(app)
    assert post(admin, f"/admin/users/imports/{job_id}/cancel").status_code == 302
    job = roster(app, job_id)
    assert job.status == "cancelled" and job.content is None
    post(admin, f"/admin/users/imports/{job_id}/confirm")
    assert roster(app, job_id).status == "cancelled"
    run_worker(app)
    assert "stu001" not in usernames(app)


# Accounts ----------------------------------------------------------------------------------------


def test_create_edit_deactivate_and_reactivate(app: Flask, organization: Organization) -> None:
    admin = signed_in(app, "boss")
    page = post(
        admin,
        "/admin/users/new",
        username="NewKid",
        display_name="新 同学",
        role="contestant",
        organization=str(organization.id),
        password="",
    )
    assert page.status_code == 200
    password = re.search(r'id="new-password"[^>]*>([^<]+)<', page.get_data(as_text=True))
    assert password is not None
    kid = app.test_client()
    assert api_login(kid, "newkid", password.group(1)).status_code == 200
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "newkid"))
        assert user is not None and user.organization_id == organization.id
        uid = user.id

    taken = post(admin, "/admin/users/new", username="newkid", display_name="x", role="contestant")
    assert taken.status_code == 422

    assert (
        post(
            admin, f"/admin/users/{uid}", display_name="新名字", role="organizer", organization=""
        ).status_code
        == 302
    )
    with app.app_context():
        user = db.session.get(User, uid)
        assert user is not None and user.display_name == "新名字"
        assert user.role is Role.ORGANIZER and user.organization_id is None

    assert post(admin, f"/admin/users/{uid}/active", active="0").status_code == 302
    assert kid.get("/api/v1/session").get_json()["user"] is None
    assert api_login(app.test_client(), "newkid", password.group(1)).status_code == 403
    assert post(admin, f"/admin/users/{uid}/active", active="1").status_code == 302
    assert api_login(app.test_client(), "newkid", password.group(1)).status_code == 200

    actions = audit_actions(app)
    assert [a for a, _ in actions] == [
        "user.create",
        "user.update",
        "user.deactivate",
        "user.reactivate",
    ]
    assert password.group(1) not in str(actions)
    assert actions[1][1] == {"display_name": "新名字", "role": "organizer", "organization_id": None}


def test_an_admin_cannot_lock_themselves_out(app: Flask) -> None:
    admin = signed_in(app, "boss")
    with app.app_context():
        uid = db.session.scalar(select(User.id).where(User.username == "boss"))
    post(admin, f"/admin/users/{uid}/active", active="0")
    post(admin, f"/admin/users/{uid}/reset-password")
    response = post(admin, f"/admin/users/{uid}", display_name="Boss", role="contestant")
    assert response.status_code == 422
    with app.app_context():
        user = db.session.get(User, uid)
        assert user is not None and user.active and user.role is Role.ADMIN
    assert admin.get("/admin/users").status_code == 200


def test_a_reset_shows_a_new_password_once_and_ends_the_other_sessions(
    app: Flask, contestant: User
) -> None:
    admin = signed_in(app, "boss")
    phone = signed_in(app, contestant.username)
    page = post(admin, f"/admin/users/{contestant.id}/reset-password")
    assert page.status_code == 200
    found = re.search(r'id="new-password"[^>]*>([^<]+)<', page.get_data(as_text=True))
    assert found is not None
    assert phone.get("/api/v1/session").get_json()["user"] is None
    assert api_login(app.test_client(), contestant.username, PASSWORD).status_code == 401
    assert api_login(app.test_client(), contestant.username, found.group(1)).status_code == 200
    assert admin.get("/api/v1/session").get_json()["user"]["username"] == "boss"
    actions = audit_actions(app)
    assert ("user.reset_password", None) in actions
    assert found.group(1) not in str(actions)


def test_search_filters_and_paging(app: Flask) -> None:
    with app.app_context():
        east = Organization(name="东区实验学校")
        west = Organization(name="西区中学")
        db.session.add_all([east, west])
        db.session.flush()
        for i in range(130):
            db.session.add(
                User(
                    username=f"s{i:03d}",
                    display_name=f"学生{i:03d}" if i != 7 else "王小明",
                    password_hash="x",
                    role=Role.CONTESTANT,
                    organization_id=east.id if i % 2 else west.id,
                    active=i != 9,
                )
            )
        db.session.commit()
        east_id = east.id
    admin = signed_in(app, "boss")

    def listed(query: str) -> list[str]:
        page = admin.get(f"/admin/users?{query}").get_data(as_text=True)
        return re.findall(r'<tr data-username="([^"]+)"', page)

    assert listed("q=s01") == [f"s{i:03d}" for i in range(10, 20)]
    assert listed("q=小明") == ["s007"]
    assert len(listed(f"unit={east_id}")) == 50
    assert listed("q=东区&active=0") == ["s009"]
    assert listed("role=admin") == ["boss"]
    assert listed("q=100%25") == []  # a % is a character, not a wildcard
    third = admin.get("/admin/users?role=contestant&page=3").get_data(as_text=True)
    assert re.findall(r'<tr data-username="([^"]+)"', third) == [
        f"s{i:03d}" for i in range(100, 130)
    ]
    assert "role=contestant" in third and 'rel="prev"' in third and 'rel="next"' not in third

    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        admin.get("/admin/users?page=2")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # the user's load, the count, the page, its organizations, the unit list, the help text
    assert len(statements) <= 8, statements


# One's own password and the login page ----------------------------------------------------------


def test_changing_ones_own_password(app: Flask, contestant: User) -> None:
    laptop = signed_in(app, contestant.username)
    phone = signed_in(app, contestant.username)
    home = laptop.get("/").get_data(as_text=True)
    assert 'id="change-password-link"' in home and "/account/password" in home
    assert laptop.get("/account/password").status_code == 200

    wrong = post(
        laptop, "/account/password", current="not-it", new="brand-new-pass", repeat="brand-new-pass"
    )
    assert wrong.status_code == 422
    differ = post(
        laptop, "/account/password", current=PASSWORD, new="brand-new-pass", repeat="other-pass1"
    )
    assert differ.status_code == 422
    short = post(laptop, "/account/password", current=PASSWORD, new="short", repeat="short")
    assert short.status_code == 422
    assert api_login(app.test_client(), contestant.username, PASSWORD).status_code == 200

    done = post(
        laptop,
        "/account/password",
        current=PASSWORD,
        new="brand-new-pass",
        repeat="brand-new-pass",
    )
    assert done.status_code == 302
    assert laptop.get("/api/v1/session").get_json()["user"]["username"] == contestant.username
    assert phone.get("/api/v1/session").get_json()["user"] is None
    assert api_login(app.test_client(), contestant.username, PASSWORD).status_code == 401
    assert api_login(app.test_client(), contestant.username, "brand-new-pass").status_code == 200


def test_the_change_password_page_needs_a_login(client: FlaskClient) -> None:
    response = client.get("/account/password")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_login_page_shows_the_help_text_escaped(app: Flask, client: FlaskClient) -> None:
    assert 'id="password-help"' not in client.get("/login").get_data(as_text=True)
    admin = signed_in(app, "boss")
    text = "请联系本单位管理员 <script>alert(1)</script>\n电话 0571-1234"
    assert post(admin, "/admin/users/password-help", text=text).status_code == 302
    assert "请联系本单位管理员" in admin.get("/admin/users").get_data(as_text=True)
    page = client.get("/login").get_data(as_text=True)
    assert 'id="password-help"' in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert ("site.update", {"password_help": text}) in audit_actions(app)
    assert post(admin, "/admin/users/password-help", text="  ").status_code == 302
    assert 'id="password-help"' not in client.get("/login").get_data(as_text=True)


def test_the_cli_writes_the_passwords_workbook(app: Flask, tmp_path: Path) -> None:
    source = tmp_path / "roster.csv"
    source.write_text(GOOD, encoding="utf-8")
    out = tmp_path / "passwords.xlsx"
    result = app.test_cli_runner().invoke(
        args=["users", "import", str(source), "--passwords-out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.stat().st_mode & 0o077 == 0
    book = load_workbook(out)
    assert book.sheetnames == ["第一中学", "高新区_第二小学"]
    assert [r[1] for r in book["第一中学"].iter_rows(min_row=2, values_only=True)] == ["stu002"]
    assert ("roster.import", {"filename": "roster.csv", "created": 4, "organizations": 2}) in (
        audit_actions(app)
    )


def test_sheet_titles_are_valid_and_unique() -> None:
    from contest.services.roster_jobs import sheet_titles

    long = "某某市某某区某某街道某某社区居民委员会网络安全工作领导小组办公室"
    titles = sheet_titles([long, long + "二", "a/b:c*d?e[f]g\\h", "'引号'", "", "history"])
    values = list(titles.values())
    assert all(0 < len(t) <= 31 for t in values)
    assert len({t.casefold() for t in values}) == len(values)
    assert values[0] == long[:31] and values[1].endswith("(2)")
    assert values[2] == "a_b_c_d_e_f_g_h" and values[3] == "引号"
    assert values[4] == "Sheet" and values[5] != "history"
