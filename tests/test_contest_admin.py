"""Organizer pages and commands for contests, rounds and integrity flags."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from contest.extensions import db
from contest.models import (
    Attempt,
    AttemptStatus,
    Contest,
    ContestStatus,
    IntegrityAction,
    Organization,
    Registration,
    RegistrationMode,
    ReviewPolicy,
    Role,
    Round,
    ScorePolicy,
    User,
)
from contest.services import attempts as attempt_service
from contest.services import contests as contest_service
from tests.conftest import PASSWORD, add_user, api_login, csrf_token
from tests.support.contests import paper_round, published_bank, round_form
from tests.support.players import Player


def english(client: FlaskClient) -> FlaskClient:
    client.set_cookie("lang", "en")
    return client


def test_organizer_creates_a_contest_and_a_round_through_the_pages(
    app: Flask, organizer_client: FlaskClient, organization: Organization, contestant: User
) -> None:
    with app.app_context():
        bank_id = published_bank()
    client = organizer_client
    assert client.get("/admin/contests").status_code == 200
    assert client.get("/admin/contests/new").status_code == 200
    response = client.post(
        "/admin/contests/new",
        data={
            "csrf_token": csrf_token(client),
            "title": "2026年全市网络安全知识竞赛",
            "description": "面向全体市民",
            "schedule": "初赛：12月1日 9:00–11:00",
            "registration_mode": "roster",
            "invite_code": "ignored",
            "board_visibility": "organizers",
            "organizations": [str(organization.id)],
        },
    )
    assert response.status_code == 302
    contest_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    with app.app_context():
        contest = db.session.get(Contest, contest_id)
        assert contest is not None
        assert contest.registration_mode is RegistrationMode.ROSTER
        assert contest.invite_code is None and contest.mask_names is False
        assert [o.name for o in contest.organizations] == ["第一中学"]

    new_round = client.get(f"/admin/contests/{contest_id}/rounds/new").get_data(as_text=True)
    assert 'value="初赛"' in new_round and '<option value="基础知识">基础知识</option>' in new_round
    rows = [
        {"category": "基础知识", "type": "single", "count": "4", "points": "2"},
        {},
        {"category": "", "type": "multiple", "difficulty": "medium", "count": "2", "points": "3"},
    ]
    form = round_form(
        csrf_token(client),
        bank_id,
        rows,
        opens_at="2026-12-01T09:00",
        closes_at="2026-12-01T11:00",
        duration_min="20",
        score_policy="last",
        shuffle_options=None,
        multiple_rule="half_for_subset",
        review_policy="after_close",
        integrity_threshold="3",
        integrity_action="void",
        focus_grace_s="5",
        qualification_rule="top_n_per_organization",
        qualification_value="10",
    )
    # Showing another bank's categories re-renders the form and saves nothing.
    reloaded = client.post(
        f"/admin/contests/{contest_id}/rounds/new", data={**form, "action": "reload"}
    )
    assert reloaded.status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Round)) == 0
    response = client.post(f"/admin/contests/{contest_id}/rounds/new", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        round_ = db.session.scalars(select(Round)).one()
        assert round_.contest_id == contest_id and round_.position == 1
        # datetime-local inputs are Beijing time; stored in UTC.
        assert round_.opens_at == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
        assert round_.closes_at == datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
        assert round_.duration_s == 1200 and round_.score_policy is ScorePolicy.LAST
        assert round_.blueprint == [
            {"category": "基础知识", "type": "single", "difficulty": None, "count": 4, "points": 2},
            {"category": "", "type": "multiple", "difficulty": "medium", "count": 2, "points": 3},
        ]
        assert round_.shuffle_questions is True and round_.shuffle_options is False
        assert round_.multiple_rule == "half_for_subset"
        assert round_.review_policy is ReviewPolicy.AFTER_CLOSE
        assert round_.integrity_threshold == 3 and round_.focus_grace_s == 5
        assert round_.integrity_action is IntegrityAction.VOID
        assert round_.qualification == {"kind": "top_n_per_organization", "value": 10}
    page = client.get(f"/admin/contests/{contest_id}").get_data(as_text=True)
    assert "2026-12-01 09:00" in page and "2026-12-01 11:00" in page

    # A roster contest: enrol every contestant of the chosen organizations.
    enrolled = client.post(
        f"/admin/contests/{contest_id}/enrol",
        data={"csrf_token": csrf_token(client), "organizations": [str(organization.id)]},
    )
    assert enrolled.status_code == 302
    with app.app_context():
        registration = db.session.scalars(select(Registration)).one()
        assert registration.user_id == contestant.id and registration.source == "roster"
    page = client.get(f"/admin/contests/{contest_id}").get_data(as_text=True)
    assert re.search(r'data-testid="registered">\s*1\s*<', page)


def test_invite_contests_need_a_code(app: Flask, organizer_client: FlaskClient) -> None:
    response = organizer_client.post(
        "/admin/contests/new",
        data={
            "csrf_token": csrf_token(organizer_client),
            "title": "邀请赛",
            "registration_mode": "invite",
            "board_visibility": "public",
        },
    )
    assert response.status_code == 422 and 'role="alert"' in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Contest)) == 0


def test_a_blueprint_the_bank_cannot_fill_lists_every_shortfall_and_saves_nothing(
    app: Flask, organizer_client: FlaskClient
) -> None:
    with app.app_context():
        bank_id = published_bank(per_type=4)  # 4 medium questions of each type in 基础知识
        contest_id = contest_service.create_contest("缺题测试").id
        db.session.commit()
    client = english(organizer_client)
    rows = [
        {"category": "基础知识", "type": "single", "count": "5", "points": "2"},
        {},
        {"category": "基础知识", "type": "true_false", "count": "2", "points": "1"},
        {
            "category": "基础知识",
            "type": "multiple",
            "difficulty": "hard",
            "count": "3",
            "points": "3",
        },
    ]
    response = client.post(
        f"/admin/contests/{contest_id}/rounds/new",
        data=round_form(csrf_token(client), bank_id, rows),
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    errors = re.search(r'data-testid="round-errors">(.*?)</div>', page, re.S)
    assert errors is not None
    items = re.findall(r"<li>(.*?)</li>", errors.group(1))
    assert items == [
        "Row 1: 基础知识 / Single choice: needs 5, bank has 4",
        "Row 4: 基础知识 / Multiple choice / Hard: needs 3, bank has 0",
    ]
    # The form keeps what was typed.
    assert 'name="blueprint-3-count" type="number" value="3"' in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Round)) == 0


def test_half_filled_rows_and_bad_windows_are_refused(
    app: Flask, organizer_client: FlaskClient
) -> None:
    with app.app_context():
        bank_id = published_bank()
        contest_id = contest_service.create_contest("表单测试").id
        db.session.commit()
    client = english(organizer_client)
    url = f"/admin/contests/{contest_id}/rounds/new"
    half = client.post(
        url, data=round_form(csrf_token(client), bank_id, [{"type": "single", "count": "2"}])
    )
    assert half.status_code == 422
    assert "Blueprint row 1 needs a type, a count and points." in half.get_data(as_text=True)
    backwards = client.post(
        url,
        data=round_form(
            csrf_token(client),
            bank_id,
            [{"type": "single", "count": "2", "points": "2"}],
            opens_at="2026-12-01T11:00",
            closes_at="2026-12-01T09:00",
        ),
    )
    assert backwards.status_code == 422
    assert "The round must close after it opens." in backwards.get_data(as_text=True)
    unknown_category = client.post(
        url,
        data=round_form(
            csrf_token(client),
            bank_id,
            [{"category": "不存在", "type": "single", "count": "2", "points": "2"}],
        ),
    )
    assert unknown_category.status_code == 422
    page = unknown_category.get_data(as_text=True)
    assert "Row 1: 不存在 / Single choice: needs 2, bank has 0" in page
    assert '<option selected value="不存在">不存在 (not in this bank)</option>' in page
    # The form's default shows answers after the close: without a close it says so at the fields.
    no_close = client.post(
        url,
        data=round_form(
            csrf_token(client),
            bank_id,
            [{"type": "single", "count": "2", "points": "2"}],
            review_policy="after_close",
        ),
    )
    assert no_close.status_code == 422
    said = "Answers can be shown after the round closes only if it has a closing time."
    assert no_close.get_data(as_text=True).count(f'<p class="error" role="alert">{said}</p>') == 2
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Round)) == 0


def test_editing_a_round(app: Flask, organizer_client: FlaskClient) -> None:
    with app.app_context():
        round_ = paper_round(
            published_bank(),
            opens_at=datetime(2026, 12, 1, 1, 0, tzinfo=UTC),
            closes_at=datetime(2026, 12, 1, 3, 30, tzinfo=UTC),
            duration_s=90,
        )
        round_id, contest_id, bank_id = round_.id, round_.contest_id, round_.bank_id
        blueprint = list(round_.blueprint)
    client = organizer_client
    page = client.get(f"/admin/rounds/{round_id}/edit").get_data(as_text=True)
    assert 'value="2026-12-01T09:00"' in page and 'value="2026-12-01T11:30"' in page
    assert 'name="blueprint-4-type"' in page and 'name="blueprint-7-type"' in page
    assert re.search(r'id="duration_min"[^>]*value="1.50"', page)  # seconds survive an edit
    rows = [{k: str(v or "") for k, v in row.items()} for row in blueprint]
    rows[0]["count"] = "3"
    form = round_form(
        csrf_token(client),
        bank_id,
        rows,
        title="初赛（补赛）",
        opens_at="2026-12-01T09:00",
        closes_at="",
        duration_min="1.50",
        attempts_allowed="0",
        qualification_rule="min_score",
        qualification_value="60.5",
    )
    response = client.post(f"/admin/rounds/{round_id}/edit", data=form)
    assert response.status_code == 302
    with app.app_context():
        saved = db.session.get(Round, round_id)
        assert saved is not None and saved.title == "初赛（补赛）" and saved.position == 1
        assert saved.closes_at is None and saved.attempts_allowed == 0
        assert saved.duration_s == 90
        assert saved.blueprint[0]["count"] == 3 and len(saved.blueprint) == len(blueprint)
        assert saved.qualification == {"kind": "min_score", "value": 60.5}
        assert db.session.scalar(select(func.count()).select_from(Round)) == 1
    # A failing edit changes nothing.
    rows[0]["count"] = "50"
    failing = client.post(
        f"/admin/rounds/{round_id}/edit",
        data=round_form(csrf_token(client), bank_id, rows, title="改坏了"),
    )
    assert failing.status_code == 422
    with app.app_context():
        saved = db.session.get(Round, round_id)
        assert saved is not None and saved.title == "初赛（补赛）"
        assert saved.blueprint[0]["count"] == 3
    # Editing the contest itself.
    response = client.post(
        f"/admin/contests/{contest_id}/edit",
        data={
            "csrf_token": csrf_token(client),
            "title": "改名后的竞赛",
            "registration_mode": "invite",
            "invite_code": "NETSEC2026",
            "board_visibility": "public",
            "mask_names": "y",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        contest = db.session.get(Contest, contest_id)
        assert contest is not None and contest.title == "改名后的竞赛"
        assert contest.invite_code == "NETSEC2026" and contest.mask_names is True


@pytest.fixture
def setup_ids(app: Flask, contestant: User) -> dict[str, int]:
    with app.app_context():
        round_ = paper_round(published_bank())
        started = attempt_service.start_attempt(
            round_.id, contestant.id, now=datetime.now(UTC), device_id=None
        )
        return {
            "contest": round_.contest_id,
            "round": round_.id,
            "attempt": started.attempt.id,
        }


def page_urls(ids: dict[str, int]) -> list[str]:
    return [
        "/admin/contests",
        "/admin/contests/new",
        f"/admin/contests/{ids['contest']}",
        f"/admin/contests/{ids['contest']}/edit",
        f"/admin/contests/{ids['contest']}/rounds/new",
        f"/admin/rounds/{ids['round']}/edit",
        f"/admin/rounds/{ids['round']}/flagged",
        f"/admin/attempts/{ids['attempt']}",
    ]


def post_urls(ids: dict[str, int]) -> list[str]:
    return [
        "/admin/contests/new",
        f"/admin/contests/{ids['contest']}/edit",
        f"/admin/contests/{ids['contest']}/enrol",
        f"/admin/contests/{ids['contest']}/rounds/new",
        f"/admin/rounds/{ids['round']}/edit",
    ]


def test_contest_pages_refuse_anonymous_users_and_contestants(
    app: Flask, client: FlaskClient, setup_ids: dict[str, int]
) -> None:
    token = csrf_token(client)
    for url in page_urls(setup_ids):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    for url in post_urls(setup_ids):
        response = client.post(url, data={"csrf_token": token, "title": "x"})
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    assert api_login(client, "alice", PASSWORD).status_code == 200
    token = csrf_token(client)
    for url in page_urls(setup_ids):
        assert client.get(url).status_code == 403, url
    for url in post_urls(setup_ids):
        assert client.post(url, data={"csrf_token": token, "title": "x"}).status_code == 403, url
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Contest)) == 1
        assert db.session.scalar(select(func.count()).select_from(Registration)) == 1


def test_contest_pages_open_for_organizers(
    organizer_client: FlaskClient, setup_ids: dict[str, int]
) -> None:
    for url in page_urls(setup_ids):
        assert organizer_client.get(url).status_code == 200, url
    assert organizer_client.get("/admin/contests/999").status_code == 404
    assert organizer_client.get("/admin/rounds/999/flagged").status_code == 404
    assert organizer_client.get("/admin/attempts/999").status_code == 404


def test_flagged_attempts_and_their_timeline(
    app: Flask, organizer_client: FlaskClient, organization: Organization
) -> None:
    with app.app_context():
        round_id = paper_round(
            published_bank(), integrity_threshold=1, integrity_action="void", focus_grace_s=3
        ).id
    cheat, honest = Player(app, "feng"), Player(app, "zhou")
    with app.app_context():
        user = db.session.scalars(select(User).where(User.username == "feng")).one()
        user.organization_id = organization.id
        db.session.commit()
    attempt = cheat.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    honest.call("POST", f"/api/v1/rounds/{round_id}/attempts")
    url = f"/api/v1/attempts/{attempt['id']}/integrity-events"
    cheat.call("POST", url, {"kind": "hidden"})
    assert cheat.call("POST", url, {"kind": "visible"}).get_json()["counted"] is False
    with app.app_context():
        row = db.session.get(Attempt, attempt["id"])
        assert row is not None
        row.started_at = datetime.now(UTC) - timedelta(minutes=5)
        db.session.commit()
    assert cheat.call("POST", url, {"kind": "visible", "duration_ms": 8000}).get_json()["counted"]
    voided = cheat.call("POST", url, {"kind": "visible", "duration_ms": 9000}).get_json()
    assert voided["action"] == "void" and voided["status"] == "void"

    client = english(organizer_client)
    page = client.get(f"/admin/rounds/{round_id}/flagged").get_data(as_text=True)
    table = re.search(r'data-testid="flagged">(.*?)</table>', page, re.S)
    assert table is not None
    flagged = table.group(1)
    assert "feng 名" in flagged and "第一中学" in flagged and "zhou" not in flagged
    assert "Void (for review)" in flagged and "by the integrity rule" in flagged
    assert re.search(r"<td>2</td>", flagged)  # counted focus losses
    contest_page = client.get(f"/admin/contests/{_contest_of(app, round_id)}")
    assert f'/admin/rounds/{round_id}/flagged">1</a>' in contest_page.get_data(as_text=True)

    timeline = client.get(f"/admin/attempts/{attempt['id']}").get_data(as_text=True)
    kinds = re.findall(r'<tr data-kind="([a-z_]+)">', timeline)
    assert kinds == [
        "started",
        "hidden",
        "visible",
        "visible",
        "visible",
        "action_void",
        "submitted",
    ]
    assert timeline.count(">not counted<") == 1 and timeline.count(">counted<") == 2
    assert "8.0 s" in timeline and "9.0 s" in timeline and "2 &gt; 1" in timeline
    assert "Void (for review)" in timeline


def _contest_of(app: Flask, round_id: int) -> int:
    with app.app_context():
        return contest_service.get_round(round_id).contest_id


# CLI -------------------------------------------------------------------------------------------


def test_cli_lists_contests_enrols_organizations_and_closes_overdue_attempts(app: Flask) -> None:
    runner = app.test_cli_runner()
    with app.app_context():
        round_ = paper_round(
            published_bank(),
            contest_title="区级竞赛",
            opens_at=datetime(2026, 1, 1, 1, 0, tzinfo=UTC),
            closes_at=datetime(2099, 12, 1, 3, 0, tzinfo=UTC),
        )
        contest_id, round_id = round_.contest_id, round_.id
        contest_service.get_contest(contest_id).registration_mode = RegistrationMode.ROSTER
        for name in ("一中", "二中"):
            db.session.add(Organization(name=name))
        db.session.commit()
        orgs = dict(db.session.execute(select(Organization.name, Organization.id)).all())
    with app.app_context():
        for username, org in (("a1", "一中"), ("a2", "一中"), ("b1", "二中")):
            add_user(username, Role.CONTESTANT, orgs[org])
        add_user("boss2", Role.ORGANIZER, orgs["一中"])

    listed = runner.invoke(args=["contests", "list"])
    assert listed.exit_code == 0, listed.output
    assert f"{contest_id}\t区级竞赛\troster" in listed.output
    assert f"round {round_id}\t1. 初赛\topen\t2026-01-01 09:00 – 2099-12-01 11:00" in listed.output

    args = ["contests", "enroll", str(contest_id), "--organization", "一中"]
    enrolled = runner.invoke(args=[*args, "--organization", "二中"])
    assert enrolled.exit_code == 0, enrolled.output
    assert "enrolled 3 contestant(s) into 区级竞赛 (0 already registered)" in enrolled.output
    again = runner.invoke(args=["contests", "enroll", "区级竞赛", "--organization", "一中"])
    assert "enrolled 0 contestant(s) into 区级竞赛 (2 already registered)" in again.output
    unknown = runner.invoke(args=[*args, "--organization", "三中"])
    assert unknown.exit_code == 1 and "三中" in unknown.output
    with app.app_context():
        sources = db.session.scalars(select(Registration.source)).all()
        assert sorted(sources) == ["roster"] * 3
        contest = contest_service.get_contest(contest_id)
        assert sorted(o.name for o in contest.organizations) == ["一中", "二中"]
        user_id = db.session.scalars(select(User.id).where(User.username == "a1")).one()
        started = attempt_service.start_attempt(
            round_id, user_id, now=datetime.now(UTC), device_id=None
        )
        started.attempt.deadline_at = datetime.now(UTC) - timedelta(minutes=5)
        attempt_id = started.attempt.id
        db.session.commit()

    closed = runner.invoke(args=["attempts", "close-overdue"])
    assert closed.exit_code == 0, closed.output
    assert "closed 1 overdue attempt(s)" in closed.output
    assert "closed 0 overdue" in runner.invoke(args=["attempts", "close-overdue"]).output
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt is not None and attempt.status is AttemptStatus.SUBMITTED
        assert attempt.submitted_by == "deadline"


def test_cli_creates_a_contest_and_its_rounds(app: Flask, tmp_path: Path) -> None:
    import json

    from tests.support.contests import BLUEPRINT, published_bank

    with app.app_context():
        bank_id = published_bank()
    runner = app.test_cli_runner()
    created = runner.invoke(args=["contests", "create", "命令行竞赛", "--registration", "open"])
    assert created.exit_code == 0, created.output
    settings = tmp_path / "round.json"
    settings.write_text(
        json.dumps(
            {"title": "初赛", "bank_id": bank_id, "duration_s": 900, "blueprint": BLUEPRINT}
        ),
        encoding="utf-8",
    )
    saved = runner.invoke(args=["contests", "round", "命令行竞赛", str(settings)])
    assert saved.exit_code == 0, saved.output
    too_big = [{**BLUEPRINT[0], "count": 99}]
    settings.write_text(
        json.dumps({"title": "复赛", "bank_id": bank_id, "duration_s": 900, "blueprint": too_big}),
        encoding="utf-8",
    )
    refused = runner.invoke(args=["contests", "round", "命令行竞赛", str(settings)])
    assert refused.exit_code == 1 and "99" in refused.output
    listed = runner.invoke(args=["contests", "list"])
    assert "命令行竞赛" in listed.output and "初赛" in listed.output and "复赛" not in listed.output


def test_organizer_pages_are_never_kept_by_a_shared_cache(
    app: Flask, organizer_client: FlaskClient
) -> None:
    """Live standings carry full names; the organizer pages say no cache may keep them."""
    with app.app_context():
        round_id = paper_round(published_bank()).id
    for url in ("/admin/", f"/admin/rounds/{round_id}/standings"):
        response = organizer_client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "private, no-store", url


def test_row_limits_speak_chinese_and_a_freeze_after_the_close_is_refused(
    app: Flask, organizer_client: FlaskClient
) -> None:
    with app.app_context():
        bank_id = published_bank()
        contest_id = contest_service.create_contest("表单测试").id
        db.session.commit()
    client = organizer_client  # Chinese, the default
    url = f"/admin/contests/{contest_id}/rounds/new"
    too_many = client.post(
        url,
        data=round_form(
            csrf_token(client), bank_id, [{"type": "single", "count": "0", "points": "1000"}]
        ),
    )
    assert too_many.status_code == 422
    page = too_many.get_data(as_text=True)
    assert "数值大小必须介于 1 到 500 之间" in page and "数值大小必须介于 1 到 100 之间" in page
    assert "Number must be" not in page
    late_freeze = client.post(
        url,
        data=round_form(
            csrf_token(client),
            bank_id,
            [{"type": "single", "count": "2", "points": "2"}],
            opens_at="2026-12-01T09:00",
            closes_at="2026-12-01T11:00",
            freeze_at="2026-12-01T11:30",
        ),
    )
    assert late_freeze.status_code == 422
    assert "封榜时间须早于轮次关闭时间" in late_freeze.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Round)) == 0


def test_a_new_close_says_how_many_attempts_in_progress_it_moved(
    app: Flask, organizer_client: FlaskClient
) -> None:
    with app.app_context():
        round_ = paper_round(published_bank())
        round_id, bank_id = round_.id, round_.bank_id
        blueprint = [{k: str(v or "") for k, v in row.items()} for row in round_.blueprint]
    Player(app, "zhou").call("POST", f"/api/v1/rounds/{round_id}/attempts")
    client = organizer_client
    page = client.get(f"/admin/rounds/{round_id}/edit").get_data(as_text=True)
    assert "新的关闭时间或答题时长也会调整进行中答题的截止时间" in page
    soon = (datetime.now(UTC) + timedelta(hours=8, minutes=5)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        f"/admin/rounds/{round_id}/edit",
        data=round_form(
            csrf_token(client),
            bank_id,
            blueprint,
            duration_min="10",
            opens_at="",
            closes_at=soon,  # Beijing time: five minutes from now
            review_policy="after_close",
        ),
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "1 个进行中答题的截止时间已按新的关闭时间或答题时长调整" in response.get_data(
        as_text=True
    )


def test_saving_a_round_of_a_published_contest_warns_about_its_window(
    app: Flask, organizer_client: FlaskClient
) -> None:
    with app.app_context():
        round_ = paper_round(published_bank())
        round_id, bank_id = round_.id, round_.bank_id
        blueprint = [{k: str(v or "") for k, v in row.items()} for row in round_.blueprint]
        draft_round_id = paper_round(
            bank_id, contest_title="草稿", contest_status=ContestStatus.DRAFT
        ).id
    client = organizer_client
    page = client.get(f"/admin/rounds/{round_id}/edit").get_data(as_text=True)
    assert 'data-testid="window-hint"' in page
    draft_page = client.get(f"/admin/rounds/{draft_round_id}/edit").get_data(as_text=True)
    assert 'data-testid="window-hint"' not in draft_page
    past = (datetime.now(UTC) + timedelta(hours=8) - timedelta(minutes=5)).strftime(
        "%Y-%m-%dT%H:%M"
    )
    response = client.post(
        f"/admin/rounds/{round_id}/edit",
        data=round_form(
            csrf_token(client), bank_id, blueprint, opens_at="", closes_at=past
        ),  # Beijing time: five minutes ago, a legitimate early close
        follow_redirects=True,
    )
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "请检查轮次时间：初赛 已经结束。" in text
    with app.app_context():
        saved = db.session.get(Round, round_id)
        assert saved is not None and saved.closes_at is not None  # saved all the same
    # A round whose window is fine saves without a warning.
    later = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    fine = client.post(
        f"/admin/rounds/{round_id}/edit",
        data=round_form(csrf_token(client), bank_id, blueprint, opens_at="", closes_at=later),
        follow_redirects=True,
    )
    assert "请检查轮次时间" not in fine.get_data(as_text=True)
