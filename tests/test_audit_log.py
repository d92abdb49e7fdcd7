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

from contest.extensions import db
from contest.models import AuditEvent, User
from contest.services import audit
from tests.conftest import api_login

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
    assert "延长作答时间" in text and '<code class="muted">attempt.extend</code>' in text
    assert "发布竞赛" in text and "断网补时" in text
    assert "2026-03-01 11:00:00" in text  # local time, as other pages show
    assert 'href="/admin/attempts/7"' in text  # the target's page
    row = text.split(f'data-event="{events["extend"]}"')[1].split("</tr>")[0]
    assert "<strong>extended_s</strong>: <del>0</del> → <ins>300</ins>" in row
    assert '<strong>deadline</strong>: <del>10:30</del> → <span class="muted">—</span>' in row
    body = admin.get("/api/v1/audit-events?action=attempt.extend").get_json()["events"][0]
    assert body["action_label"] == "延长作答时间" and body["actor_name"] == "district"
    assert body["changes"] == [
        {"key": "deadline", "before": "10:30", "after": ""},
        {"key": "extended_s", "before": "0", "after": "300"},
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
    assert "extended_s: 0 → 300" in rows[2][8]

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
