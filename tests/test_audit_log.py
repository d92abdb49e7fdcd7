"""The audit log page (/admin/audit), its exports and listAuditEvents: filters, newest first,
paging, labels and key diffs, neutralized spreadsheet cells, and who may see what (account
events are for admins only)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import event as sa_event

from contest.extensions import db
from contest.models import AuditEvent, Organization, User
from contest.services import audit, audit_log
from tests.conftest import api_login
from tests.support.contests import paper_round, published_bank

DAY = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)  # 10:00 in Beijing


def add_event(
    app: Flask, action: str, at: datetime, actor: str | None = "boss", **fields: Any
) -> int:
    """Record an event as a service would, then date it."""
    with app.app_context():
        who = None
        if actor is not None:
            who = db.session.scalars(db.select(User).filter_by(username=actor)).one()
        fields.setdefault("target_type", action.split(".")[0])
        event = audit.record(action, actor=who, **fields)
        event.at = at
        db.session.commit()
        return event.id


@pytest.fixture
def events(app: Flask, organizer: User, district_organizer: User) -> dict[str, int]:
    """Five events over three days: contest and attempt events, one account event."""
    return {
        "publish": add_event(
            app, "contest.publish", DAY, target_id=1, contest_id=1,
            before={"status": "draft"}, after={"status": "published"},
        ),
        "extend": add_event(
            app, "attempt.extend", DAY + timedelta(hours=1), actor="district", target_id=7,
            contest_id=1, reason="断网补时", before={"extended_s": 0, "deadline": "10:30"},
            after={"extended_s": 300},
        ),
        "void": add_event(
            app, "attempt.void", DAY + timedelta(days=1), target_id=8, contest_id=2,
            reason="=HYPERLINK(\"http://evil.example\",\"x\")",
        ),
        "account": add_event(
            app, "user.reset_password", DAY + timedelta(days=2), target_id=3,
        ),
        "mystery": add_event(
            app, "bank.frobnicate", DAY + timedelta(days=2, hours=1), actor=None,
            target_type="bank", reason="+1 -2 @x",
        ),
    }  # fmt: skip


def logged_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    assert api_login(client, username).status_code == 200
    return client


def listed(client: FlaskClient, query: str = "") -> list[int]:
    response = client.get(f"/api/v1/audit-events{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return [e["id"] for e in response.get_json()["events"]]


def page_ids(client: FlaskClient, query: str = "") -> list[int]:
    response = client.get(f"/admin/audit{query}")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    return [int(n) for n in re.findall(r'data-event="(\d+)"', text)]


def test_events_are_listed_newest_first_and_filtered(app: Flask, events: dict[str, int]) -> None:
    admin = logged_in(app, "boss")
    newest_first = [events[k] for k in ("mystery", "account", "void", "extend", "publish")]
    assert listed(admin) == newest_first
    assert page_ids(admin) == newest_first
    by_query = {
        "?contest=1": ["extend", "publish"],
        "?action=attempt.extend": ["extend"],
        "?action=attempt.": ["void", "extend"],
        "?actor=district": ["extend"],
        "?actor=DISTRICT": ["extend"],
        "?target_type=attempt&target_id=8": ["void"],
        # Local (Beijing) days: 2026-03-02 holds the void only; the 1st the first two.
        "?from=2026-03-02&to=2026-03-02": ["void"],
        "?to=2026-03-01": ["extend", "publish"],
        "?from=2026-03-03": ["mystery", "account"],
        "?from=not-a-date&contest=99999999999": ["mystery", "account", "void", "extend", "publish"],
    }  # fmt: skip
    for query, names in by_query.items():
        assert page_ids(admin, query) == [events[n] for n in names], query
    api_queries = {
        "?contest_id=1": ["extend", "publish"],
        "?action=attempt.void": ["void"],
        "?actor=boss&contest_id=1": ["publish"],
        "?since=2026-03-02T00:00:00%2B08:00&until=2026-03-03T00:00:00%2B08:00": ["void"],
        "?target_type=attempt&target_id=7": ["extend"],
    }
    for query, names in api_queries.items():
        assert listed(admin, query) == [events[n] for n in names], query


def test_rows_show_who_what_target_reason_and_the_changed_keys(
    app: Flask, events: dict[str, int]
) -> None:
    admin = logged_in(app, "boss")
    text = admin.get("/admin/audit?contest=1").get_data(as_text=True)
    assert '<span title="attempt.extend">延长作答时间</span>' in text  # the code as a tooltip
    assert "<code" not in text
    assert "发布竞赛" in text and "断网补时" in text
    assert "2026-03-01 11:00:00" in text  # local time, as other pages show
    row = text.split(f'data-event="{events["extend"]}"')[1].split("</tr>")[0]
    assert "答卷 #7" in row and "答题次序" not in row
    assert (
        '<strong title="extended_s">延长时间</strong>: <del>0 分钟</del> → <ins>5 分钟</ins>' in row
    )
    # An unknown key shows as it is.
    assert (
        '<strong title="deadline">deadline</strong>: <del>10:30</del> → <span class="muted">—'
        in row
    )
    body = admin.get("/api/v1/audit-events?action=attempt.extend").get_json()["events"][0]
    assert body["action_label"] == "延长作答时间" and body["actor_name"] == "district"
    assert body["target_label"] == "答卷"
    # The stored text stays as it was; the words come in added fields.
    assert [{k: c[k] for k in ("key", "before", "after")} for c in body["changes"]] == [
        {"key": "deadline", "before": "10:30", "after": ""},
        {"key": "extended_s", "before": "0", "after": "300"},
    ]
    assert [(c["label"], c["before_text"], c["after_text"]) for c in body["changes"]] == [
        ("deadline", "10:30", ""),
        ("延长时间", "0 分钟", "5 分钟"),
    ]
    # An action without a label shows as it is; an event from the command line has no actor.
    mystery = admin.get("/api/v1/audit-events?action=bank.frobnicate").get_json()["events"][0]
    assert mystery["action_label"] == "bank.frobnicate" and mystery["actor_name"] == ""
    english = logged_in(app, "boss")
    english.set_cookie("lang", "en")
    assert "Attempt time extended" in english.get("/admin/audit").get_data(as_text=True)


def test_exports_hold_the_filtered_rows_with_formulas_neutralized(
    app: Flask, events: dict[str, int]
) -> None:
    admin = logged_in(app, "boss")
    response = admin.get("/admin/audit/export.csv?action=attempt.")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data().decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:4] == ["时间", "操作人", "操作", "操作代码"]
    assert [r[3] for r in rows[1:]] == ["attempt.void", "attempt.extend"]
    void = rows[1]
    assert void[7] == '\'=HYPERLINK("http://evil.example","x")'
    assert void[0] == "2026-03-02 10:00:00" and void[5] == "8" and void[6] == "2"
    assert "延长时间: 0 分钟 → 5 分钟" in rows[2][8] and "deadline: 10:30 → —" in rows[2][8]

    response = admin.get("/admin/audit/export.xlsx")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.get_data()), read_only=False).active
    assert sheet is not None
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert len(values) == 1 + 5
    by_code = {row[3]: row for row in values[1:]}
    assert by_code["attempt.void"][7] == '\'=HYPERLINK("http://evil.example","x")'
    assert by_code["bank.frobnicate"][7] == "'+1 -2 @x"
    assert by_code["bank.frobnicate"][1] == "系统"
    assert all(cell.data_type == "s" for row in sheet.iter_rows() for cell in row if cell.value)
    assert admin.get("/admin/audit/export.pdf").status_code == 404


def test_account_events_are_for_admins_only(app: Flask, events: dict[str, int]) -> None:
    admin, district = logged_in(app, "boss"), logged_in(app, "district")
    assert events["account"] in listed(admin)
    seen = listed(district)
    assert events["account"] not in seen and events["extend"] in seen and len(seen) == 4
    assert events["account"] not in page_ids(district)
    assert listed(district, "?target_type=user") == []
    assert listed(district, "?action=user.reset_password") == []
    csv_text = district.get("/admin/audit/export.csv").get_data().decode("utf-8")
    assert "user.reset_password" not in csv_text and "attempt.extend" in csv_text
    text = district.get("/admin/audit").get_data(as_text=True)
    assert 'value="user.reset_password"' not in text  # not offered as a filter either


def test_contestants_and_anonymous_visitors_are_refused(
    app: Flask, events: dict[str, int], contestant: User, client: FlaskClient
) -> None:
    assert client.get("/api/v1/audit-events").status_code == 401
    assert client.get("/api/v1/audit-events").get_json()["error"]["code"]
    page = client.get("/admin/audit")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    assert client.get("/admin/audit/export.csv").status_code == 302
    alice = logged_in(app, "alice")
    refused = alice.get("/api/v1/audit-events")
    assert refused.status_code == 403 and refused.get_json()["error"]["code"]
    assert alice.get("/api/v1/audit-events?per_page=0").status_code == 403  # before validation
    assert alice.get("/admin/audit").status_code == 403
    assert alice.get("/admin/audit/export.xlsx").status_code == 403


def test_pages_of_fifty_newest_first(app: Flask, organizer: User) -> None:
    with app.app_context():
        for n in range(120):
            event = audit.record(
                "contest.update", target_type="contest", target_id=n, contest_id=5,
                actor=db.session.get_one(User, organizer.id),
            )  # fmt: skip
            event.at = DAY + timedelta(minutes=n)
        db.session.commit()
        ids = db.session.scalars(
            db.select(AuditEvent.id).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        ).all()
    admin = logged_in(app, "boss")
    assert page_ids(admin) == ids[:50]
    assert page_ids(admin, "?page=2") == ids[50:100]
    assert page_ids(admin, "?page=3&contest=5") == ids[100:]
    text = admin.get("/admin/audit?page=2&contest=5").get_data(as_text=True)
    assert "第 2 页，共 3 页" in text
    assert 'href="/admin/audit?page=3&amp;contest=5"' in text
    assert page_ids(admin, "?page=9") == []
    body = admin.get("/api/v1/audit-events?per_page=100&page=2").get_json()
    assert body["total"] == 120 and body["page"] == 2 and body["per_page"] == 100
    assert [e["id"] for e in body["events"]] == ids[100:]
    assert admin.get("/api/v1/audit-events?per_page=101").status_code == 422
    assert admin.get("/api/v1/audit-events?since=0001-01-01T00:00:00%2B08:00").status_code == 422


def test_changes_are_shown_in_words_on_the_page_exports_and_api(
    app: Flask, organizer: User, organization: Organization
) -> None:
    with app.app_context():
        other = Organization(name="实验小学")
        db.session.add(other)
        db.session.commit()
        first, second = organization.id, other.id
    void = add_event(
        app,
        "attempt.void",
        DAY,
        target_id=8,
        contest_id=1,
        before={"status": "in_progress", "deadline_at": "2026-12-05T08:46:38.691658+00:00"},
        after={"status": "void", "voided_from": "submitted"},
    )
    publish = add_event(
        app,
        "contest.publish",
        DAY,
        target_id=1,
        contest_id=1,
        before={"status": "draft"},
        after={"status": "published"},
    )
    account = add_event(
        app,
        "user.update",
        DAY,
        target_id=3,
        before={"organization_id": first, "role": "contestant", "active": True},
        after={"organization_id": second, "role": "organizer", "active": False},
    )
    deleted = add_event(
        app, "contest.delete", DAY, target_id=1, contest_id=1,
        before={"title": "复赛前演练", "rounds": ["初赛", "复赛"], "mystery_key": 1},
    )  # fmt: skip
    admin = logged_in(app, "boss")
    text = admin.get("/admin/audit").get_data(as_text=True)

    def row(event_id: int) -> str:
        return text.split(f'data-event="{event_id}"')[1].split("</tr>")[0]

    assert "<del>进行中</del> → <ins>已作废（待复核）</ins>" in row(void)
    assert '>作废前状态</strong>: <span class="muted">—</span> → <ins>已交卷</ins>' in row(void)
    # A UTC time as stored, shown in Beijing time as everywhere on the page.
    assert ">截止时间</strong>: <del>2026-12-05 16:46:38</del>" in row(void)
    assert "<del>草稿</del> → <ins>已发布</ins>" in row(publish)
    assert ">单位</strong>: <del>第一中学</del> → <ins>实验小学</ins>" in row(account)
    assert ">角色</strong>: <del>选手</del> → <ins>区县组织者</ins>" in row(account)
    assert ">启用</strong>: <del>是</del> → <ins>否</ins>" in row(account)
    assert ">轮次</strong>: <del>初赛、复赛</del>" in row(deleted)
    assert '<strong title="mystery_key">mystery_key</strong>: <del>1</del>' in row(deleted)
    for raw in ("in_progress", ">organization_id<", "+00:00", '["初赛"'):
        assert raw not in text, raw

    rows = list(csv.reader(io.StringIO(admin.get("/admin/audit/export.csv").text.lstrip("\ufeff"))))
    by_id = {r[3]: r[8] for r in rows[1:]}
    assert "状态: 进行中 → 已作废（待复核）" in by_id["attempt.void"]
    assert "截止时间: 2026-12-05 16:46:38 → —" in by_id["attempt.void"]
    assert "单位: 第一中学 → 实验小学" in by_id["user.update"]
    assert "轮次: 初赛、复赛 → —" in by_id["contest.delete"]
    sheet = load_workbook(io.BytesIO(admin.get("/admin/audit/export.xlsx").get_data())).active
    assert sheet is not None
    cells = {r[3]: r[8] for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert "角色: 选手 → 区县组织者" in str(cells["user.update"])

    body = admin.get("/api/v1/audit-events?action=user.update").get_json()["events"][0]
    organization_change = next(c for c in body["changes"] if c["key"] == "organization_id")
    assert organization_change["before"] == str(first)  # as stored, for scripts
    assert organization_change["label"] == "单位"
    assert organization_change["after_text"] == "实验小学"
    english = logged_in(app, "boss")
    english.set_cookie("lang", "en")
    assert "<del>In progress</del>" in english.get("/admin/audit").get_data(as_text=True)


def test_organization_names_take_one_query(app: Flask, organization: Organization) -> None:
    with app.app_context():
        rows = [
            AuditEvent(action="user.update", target_type="user", before={"organization_id": n})
            for n in (organization.id, organization.id, 99999, None)
        ]
        statements: list[str] = []

        def count(*args: Any) -> None:
            if str(args[2]).lstrip().upper().startswith("SELECT"):
                statements.append(str(args[2]))

        sa_event.listen(db.engine, "before_cursor_execute", count)
        try:
            names = audit_log.organization_names(rows)
        finally:
            sa_event.remove(db.engine, "before_cursor_execute", count)
        assert names == {organization.id: "第一中学"} and len(statements) == 1
        assert audit_log.organization_names([]) == {}


def test_targets_are_named_and_a_gone_one_is_not_a_link(
    app: Flask, organizer: User, district_organizer: User
) -> None:
    with app.app_context():
        round_ = paper_round(published_bank())
        round_id, contest_id = round_.id, round_.contest_id
    alive = add_event(app, "contest.update", DAY, target_id=contest_id, contest_id=contest_id)
    gone = add_event(app, "contest.delete", DAY, target_id=99999, contest_id=99999)
    changed = add_event(app, "round.update", DAY, target_id=round_id, contest_id=contest_id)
    mapped = add_event(app, "registration.map_unit", DAY, target_id=5, contest_id=contest_id)
    odd = add_event(app, "bank.frobnicate", DAY, target_type="bank", target_id=4)
    admin = logged_in(app, "boss")
    text = admin.get("/admin/audit").get_data(as_text=True)

    def row(event_id: int) -> str:
        return text.split(f'data-event="{event_id}"')[1].split("</tr>")[0]

    assert f'href="/admin/contests/{contest_id}"' in row(alive)
    assert f'href="/admin/rounds/{round_id}/edit"' in row(changed)
    assert "报名记录 #5" in row(mapped) and "报名方式" not in text
    assert "（已删除）" in row(mapped)  # no such registration
    assert "/admin/contests/99999" not in row(gone)
    assert "竞赛 #99999" in row(gone) and row(gone).count("（已删除）") == 2
    assert "bank #4" in row(odd) and "（已删除）" not in row(odd)  # nothing to look up
    for page in (row(alive), row(changed)):
        assert "（已删除）" not in page
    # Every target link on the page leads somewhere.
    for href in set(re.findall(r'href="(/admin/(?:contests|rounds|attempts|users)/[^"]*)"', text)):
        assert admin.get(href).status_code == 200, href


def test_the_top_menu_links_the_audit_log_for_organizers(
    app: Flask, organizer: User, district_organizer: User, contestant: User
) -> None:
    for username in ("boss", "district"):
        text = logged_in(app, username).get("/admin/").get_data(as_text=True)
        nav = text.split('class="topnav"')[1].split("</nav>")[0]
        assert 'href="/admin/audit"' in nav and "审计日志" in nav, username
    home = logged_in(app, "alice").get("/").get_data(as_text=True)
    assert "/admin/audit" not in home and "审计日志" not in home


def test_settings_changes_use_the_forms_words(
    app: Flask, organizer: User, organization: Organization
) -> None:
    round_change = add_event(
        app,
        "round.update",
        DAY,
        target_id=4,
        contest_id=1,
        before={"duration_s": 600, "review_policy": "after_submit", "opens_at": None},
        after={
            "duration_s": 900,
            "review_policy": "never",
            "opens_at": "2026-12-05T01:00:00+00:00",
            "status": "open",
        },
    )
    contest_change = add_event(
        app,
        "contest.update",
        DAY,
        target_id=1,
        contest_id=1,
        before={"organizations": []},
        after={"organizations": [organization.id]},
    )
    mapped = add_event(
        app,
        "registration.map_unit",
        DAY,
        target_id=5,
        contest_id=1,
        before={"unit_other": "三中"},
        after={"unit_other": None, "organization_created": {"id": 9, "name": "第三中学"}},
    )
    roster = add_event(
        app, "roster.import", DAY,
        after={"filename": "名单.xlsx", "created": 3, "organizations": 2},
    )  # fmt: skip
    text = logged_in(app, "boss").get("/admin/audit").get_data(as_text=True)

    def row(event_id: int) -> str:
        return text.split(f'data-event="{event_id}"')[1].split("</tr>")[0]

    assert ">每次答题时长</strong>: <del>10 分钟</del> → <ins>15 分钟</ins>" in row(round_change)
    assert '>开始时间</strong>: <span class="muted">—</span> → <ins>2026-12-05 09:00:00</ins>' in (
        row(round_change)
    )
    assert "<del>交卷后</del> → <ins>不公布</ins>" in row(round_change)
    # A key this page has no words for, on this target, stays as recorded.
    assert (
        '<strong title="status">状态</strong>: <span class="muted">—</span> → <ins>open</ins>'
        in (row(round_change))
    )
    assert "→ <ins>第一中学</ins>" in row(contest_change)
    assert '>涉及单位数</strong>: <span class="muted">—</span> → <ins>2</ins>' in row(roster)
    assert ">新建账号数</strong>" in row(roster)
    assert ">选手填写的单位</strong>: <del>三中</del>" in row(mapped)
    assert '>新建单位</strong>: <span class="muted">—</span> → <ins>第三中学</ins>' in row(mapped)
