"""Results export: files ranked as the organizers' board, neutralized cells, scopes, progress,
a real worker, expiry after a day, and who may start, read and download an export."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select

from contest.extensions import db, redis_hub
from contest.models import (
    Attempt,
    AttemptStatus,
    AuditEvent,
    Contest,
    ExportJob,
    Organization,
    Role,
    Round,
)
from contest.services import contests as contest_service
from contest.services import exports, leaderboards
from tests.conftest import add_user, api_login, csrf_token
from tests.support.contests import paper_round, published_bank
from workers import queues
from workers.exports import read_progress
from workers.runner import get_queue, make_worker

T0 = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)  # 10:00 Beijing time


def scored(
    round_id: int,
    user_id: int,
    score: str,
    time_used_s: int,
    *,
    number: int = 1,
    status: AttemptStatus = AttemptStatus.SCORED,
    by: str = "contestant",
    focus: int = 0,
    flagged: bool = False,
    minutes: int = 30,
) -> None:
    submitted = T0 + timedelta(minutes=minutes)
    db.session.add(
        Attempt(
            round_id=round_id,
            user_id=user_id,
            number=number,
            seed=1,
            status=status,
            started_at=T0,
            deadline_at=T0 + timedelta(hours=1),
            submitted_at=submitted,
            submitted_by=by,
            focus_losses=focus,
            flagged=flagged,
            score=Decimal(score),
            max_score=Decimal(100),
            time_used_s=time_used_s,
            scored_at=submitted,
        )
    )


@pytest.fixture
def contest_data(app: Flask) -> dict[str, Any]:
    """Two rounds; units 东区 (with the sub-unit 东区一中) and "@SUM"; a tie on the total."""
    with app.app_context():
        bank = published_bank(per_type=2)
        first = paper_round(bank)
        contest = db.session.get(Contest, first.contest_id)
        assert contest is not None
        contest.mask_names = False
        second = contest_service.save_round(
            contest.id,
            title="复赛",
            bank_id=bank,
            duration_s=600,
            blueprint=first.blueprint,
            review_policy="after_submit",
        )
        east = Organization(name="东区")
        evil = Organization(name="@SUM(A1)")
        db.session.add_all([east, evil])
        db.session.flush()
        school = Organization(name="东区一中", parent_id=east.id)
        db.session.add(school)
        db.session.commit()
        ids = {"contest": contest.id, "r1": first.id, "r2": second.id, "east": east.id}
        ids["school"], ids["evil"] = school.id, evil.id
    with app.app_context():
        users = {
            "a": add_user("a", Role.CONTESTANT, ids["east"]).id,
            "b": add_user("b", Role.CONTESTANT, ids["school"]).id,
            "c": add_user("c", Role.CONTESTANT, ids["evil"]).id,
            "d": add_user("d", Role.CONTESTANT, ids["evil"]).id,
            "v": add_user("v", Role.CONTESTANT, ids["east"]).id,
        }
        from contest.models import User

        formula = db.session.get(User, users["c"])
        assert formula is not None
        formula.display_name = "=1+1"
        r1, r2 = ids["r1"], ids["r2"]
        scored(r1, users["a"], "50", 300, focus=2, flagged=True)
        scored(r2, users["a"], "40", 200, by="deadline")
        scored(r1, users["b"], "60", 250)  # b ties a on the total: 90, 500 s
        scored(r2, users["b"], "30", 250, by="integrity", focus=5)
        scored(r1, users["c"], "70", 100)
        scored(r1, users["d"], "10", 100, by="organizer")
        scored(r1, users["v"], "99", 10, status=AttemptStatus.VOID)
        db.session.commit()
        leaderboards.rebuild_contest(redis_hub.client, ids["contest"])
    ids.update(users)
    return ids


def organizer_login(client: FlaskClient, role: Role = Role.ADMIN, name: str = "boss") -> str:
    with client.application.app_context():
        add_user(name, role)
    assert api_login(client, name).status_code == 200
    return csrf_token(client)


def start(client: FlaskClient, token: str, contest_id: int, **body: Any) -> Any:
    return client.post(
        f"/api/v1/contests/{contest_id}/exports/results",
        json=body,
        headers={"X-CSRFToken": token},
    )


def run_worker(app: Flask) -> None:
    make_worker(app, [queues.DEFAULT]).work(burst=True)


def finished(client: FlaskClient, app: Flask, token: str, contest_id: int, **body: Any) -> Any:
    """Start an export, run the worker, and return (getExport's body, the file's bytes)."""
    started = start(client, token, contest_id, **body)
    assert started.status_code == 202, started.get_json()
    run_worker(app)
    job = client.get(f"/api/v1/exports/{started.get_json()['id']}").get_json()
    assert job["status"] == "done", job
    download = client.get(job["download_url"])
    assert download.status_code == 200
    return job, download


def sheet_rows(content: bytes) -> list[list[Any]]:
    book = load_workbook(io.BytesIO(content))
    return [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]


def test_contest_export_ranks_as_the_board_with_ties_and_neutralized_cells(
    app: Flask, client: FlaskClient, contest_data: dict[str, Any]
) -> None:
    token = organizer_login(client)
    job, download = finished(client, app, token, contest_data["contest"], scope="contest")
    assert download.mimetype.endswith("spreadsheetml.sheet")
    assert job["done"] == job["total"] == 5
    rows = sheet_rows(download.data)
    head, body = rows[0], rows[1:]
    assert head[:4] == ["名次", "姓名", "用户名", "单位"] and "初赛" in head and "复赛" in head
    assert len(body) == 5  # one row per contestant, the voided one included
    board = client.get(f"/api/v1/contests/{contest_data['contest']}/leaderboard").get_json()
    shown = [(e["rank"], e["name"], e["score"]) for e in board["entries"]]
    exported = [(r[0], r[1], r[head.index("总分")]) for r in body if r[0] is not None]
    names = {"=1+1": "'=1+1"}
    assert exported == [(rank, names.get(n, n), s) for rank, n, s in shown]
    assert [r[0] for r in body] == [1, 1, 3, 4, None]  # a and b tie on 90 points in 500 s
    by_user = {r[2]: dict(zip(head, r, strict=True)) for r in body}
    assert by_user["c"]["姓名"] == "'=1+1" and by_user["c"]["单位"] == "'@SUM(A1)"
    assert by_user["a"]["提交时间（北京时间）"] == "2026-05-01 10:30:00"
    assert by_user["a"]["切屏次数"] == 2 and by_user["b"]["切屏次数"] == 5
    assert "已标记" in by_user["a"]["标记"]
    assert by_user["a"]["提交方式"] == "选手提交、截止时自动提交"
    assert by_user["d"]["提交方式"] == "组织者结束"
    assert by_user["v"]["名次"] is None and "作答已作废" in by_user["v"]["标记"]
    book = load_workbook(io.BytesIO(download.data))
    assert all(c.data_type != "f" for row in book.worksheets[0].iter_rows() for c in row)
    with app.app_context():
        event = db.session.query(AuditEvent).filter_by(action="export.start").one()
        assert event.contest_id == contest_data["contest"]


def test_round_and_unit_scopes_and_csv(
    app: Flask, client: FlaskClient, contest_data: dict[str, Any]
) -> None:
    token = organizer_login(client)
    contest_id = contest_data["contest"]
    _, download = finished(
        client, app, token, contest_id, scope="round", round_id=contest_data["r1"]
    )
    rows = sheet_rows(download.data)
    head, body = rows[0], rows[1:]
    assert "总分" not in head and "得分" in head
    with app.app_context():
        round_ = db.session.get(Round, contest_data["r1"])
        assert round_ is not None
        live = leaderboards.live_round_body(redis_hub.client, round_, 0, 100)
    assert [(r[0], r[2]) for r in body if r[0] is not None] == [
        (e["rank"], u) for e, u in zip(live["entries"], ["c", "b", "a", "d"], strict=True)
    ]
    job, download = finished(
        client,
        app,
        token,
        contest_id,
        scope="unit",
        organization_id=contest_data["east"],
        format="csv",
    )
    assert job["params"]["organization_id"] == contest_data["east"]
    assert download.data.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(download.data.decode("utf-8-sig"))))
    # 东区 and its unit 东区一中: the ranks the whole board gives them, nobody else.
    assert [(r[0], r[2]) for r in table[1:]] == [("1", "a"), ("1", "b"), ("", "v")]
    _, download = finished(client, app, token, contest_id, split_units=True)
    book = load_workbook(io.BytesIO(download.data))
    assert book.sheetnames == ["成绩", "@SUM(A1)", "东区", "东区一中"]
    assert [r[2] for r in list(book["东区"].iter_rows(values_only=True))[1:]] == ["a", "v"]
    assert [r[2] for r in list(book["@SUM(A1)"].iter_rows(values_only=True))[1:]] == ["c", "d"]
    _, download = finished(client, app, token, contest_id, scope="contest", format="csv")
    text = download.data.decode("utf-8-sig")
    assert "'=1+1" in text and "'@SUM(A1)" in text and ",=1+1" not in text


def test_progress_is_visible_while_the_export_runs(
    app: Flask, client: FlaskClient, contest_data: dict[str, Any], monkeypatch: Any
) -> None:
    from contest.services import results_export

    monkeypatch.setattr(results_export, "PROGRESS_EVERY", 2)
    seen: list[Any] = []
    real = results_export.row

    def watching(*args: Any) -> Any:
        with app.test_request_context():
            seen.append(read_progress(job_id))
        return real(*args)

    monkeypatch.setattr(results_export, "row", watching)
    token = organizer_login(client)
    started = start(client, token, contest_data["contest"]).get_json()
    job_id = started["id"]
    assert started["status"] == "queued" and started["download_url"] is None
    page = client.get(f"/admin/exports/{job_id}")
    assert page.status_code == 200 and 'id="export-progress"' in page.get_data(as_text=True)
    run_worker(app)
    assert (0, 5) in seen and (2, 5) in seen and (4, 5) in seen
    text = client.get(f"/admin/exports/{job_id}").get_data(as_text=True)
    assert f"/admin/exports/{job_id}/file" in text
    assert client.get(f"/admin/exports/{job_id}/file").status_code == 200


def test_the_admin_form_starts_an_export(
    app: Flask, client: FlaskClient, contest_data: dict[str, Any]
) -> None:
    organizer_login(client, Role.ORGANIZER, "district")
    url = f"/admin/contests/{contest_data['contest']}/exports/results"
    page = client.get(url)
    assert page.status_code == 200

    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(True))
    assert token is not None
    form = {
        "csrf_token": token.group(1),
        "scope": "unit",
        "round_id": contest_data["r1"],
        "organization_id": contest_data["evil"],
        "format": "xlsx",
    }
    assert client.post(url, data={**form, "csrf_token": "x"}).status_code == 403
    assert get_queue(app, queues.DEFAULT).count == 0
    response = client.post(url, data=form)
    assert response.status_code == 302
    run_worker(app)
    download = client.get(response.headers["Location"] + "/file")
    assert [r[2] for r in sheet_rows(download.data)[1:]] == ["c", "d"]


def test_expired_content_is_dropped(
    app: Flask, client: FlaskClient, contest_data: dict[str, Any]
) -> None:
    token = organizer_login(client)
    job, _ = finished(client, app, token, contest_data["contest"])
    with app.app_context():
        row = db.session.get(ExportJob, job["id"])
        assert row is not None and row.content is not None
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        db.session.commit()
    again = client.get(f"/api/v1/exports/{job['id']}").get_json()
    assert again["status"] == "expired" and again["download_url"] is None
    assert client.get(f"/api/v1/exports/{job['id']}/file").status_code == 404
    with app.app_context():
        row = db.session.get(ExportJob, job["id"])
        assert row is not None and row.content is None
        # A job run drops the others' expired content too.
        other = ExportJob(
            kind="results",
            contest_id=contest_data["contest"],
            params={"scope": "contest", "format": "csv"},
            status="done",
            content=b"x",
            created_at=T0,
            expires_at=T0 + exports.TTL,
        )
        db.session.add(other)
        db.session.commit()
        other_id = other.id
    started = start(client, token, contest_data["contest"], format="csv").get_json()
    with app.app_context():
        assert db.session.get(ExportJob, other_id).content is None  # type: ignore[union-attr]
    run_worker(app)
    assert client.get(f"/api/v1/exports/{started['id']}").get_json()["status"] == "done"


def test_an_export_the_queue_cannot_take_fails_instead_of_waiting_for_good(
    app: Flask,
    client: FlaskClient,
    contest_data: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Redis down when the job is queued: the export says it failed (and the caller gets 503)
    rather than staying "queued" with nothing ever to run it."""
    import redis

    def unreachable(export_id: int) -> None:
        raise redis.ConnectionError("Connection refused")

    token = organizer_login(client)
    monkeypatch.setattr(exports, "enqueue_export", unreachable)
    refused = start(client, token, contest_data["contest"])
    assert refused.status_code == 503, refused.get_json()
    assert refused.get_json()["error"]["code"] == "queue_unavailable"
    with app.app_context():
        job = db.session.scalars(select(ExportJob)).one()
        assert job.status == "failed" and job.error


def test_authorization(app: Flask, client: FlaskClient, contest_data: dict[str, Any]) -> None:
    contest_id = contest_data["contest"]
    token = organizer_login(client)
    job, _ = finished(client, app, token, contest_id)
    export_id = job["id"]
    urls = [f"/api/v1/exports/{export_id}", f"/api/v1/exports/{export_id}/file"]
    client.delete("/api/v1/session", headers={"X-CSRFToken": token})
    anonymous = app.test_client()
    token = csrf_token(anonymous)
    assert start(anonymous, token, contest_id).status_code == 401
    for url in urls:
        assert anonymous.get(url).status_code == 401
    assert anonymous.get(f"/admin/exports/{export_id}/file").status_code == 302
    contestant = app.test_client()
    assert api_login(contestant, "a").status_code == 200
    token = csrf_token(contestant)
    assert start(contestant, token, contest_id).status_code == 403
    for url in [*urls, f"/admin/exports/{export_id}/file"]:
        assert contestant.get(url).status_code == 403
    district = app.test_client()
    token = organizer_login(district, Role.ORGANIZER, "district")
    assert district.get(urls[1]).status_code == 200  # organizers see every contest's results
    assert start(district, token, 999_999).status_code == 404
    assert district.get("/api/v1/exports/999999").status_code == 404
    assert district.get("/api/v1/exports/999999/file").status_code == 404
    assert district.get("/admin/exports/999999").status_code == 404
    assert start(district, token, contest_id, scope="round", round_id=999_999).status_code == 404
    assert (
        start(district, token, contest_id, scope="unit", organization_id=999_999).status_code == 404
    )
    with app.app_context():
        bank_id = db.session.get(Round, contest_data["r1"]).bank_id  # type: ignore[union-attr]
        other = paper_round(bank_id, contest_title="另一场")
        other_round = other.id
    assert (
        start(district, token, contest_id, scope="round", round_id=other_round).status_code == 404
    )
    assert start(district, token, contest_id, scope="everything").status_code == 422
    assert get_queue(app, queues.DEFAULT).count == 0  # nothing refused was queued
