"""The organizer's page that prepares a live round (现场决赛) before the day, and what the
contest page shows of it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from contest.extensions import db
from contest.live_final import setup
from contest.models import (
    AuditEvent,
    ContestStatus,
    LiveSegment,
    LiveTeam,
    Organization,
    Role,
    Round,
    SegmentKind,
)
from contest.services import contests as contest_service
from question_bank.models import Category, Question, QuestionVersion
from tests.conftest import PASSWORD, add_user, api_login, csrf_token
from tests.support.contests import published_bank

TEAM_FIELDS = ("name", "organization_id", "members")
SEGMENT_FIELDS = (
    "kind",
    "title",
    "points",
    "deduction",
    "time_limit_s",
    "count",
    "type",
    "category",
    "tiers",
    "speed_points",
)
SEGMENTS: list[dict[str, Any]] = [
    {
        "kind": "required",
        "title": "必答题",
        "points": "10",
        "count": "2",
        "type": "single",
        "category": "基础知识",
    },
    {},  # a blank row between two filled ones is dropped
    {
        "kind": "buzz",
        "points": "20",
        "deduction": "5",
        "time_limit_s": "15",
        "count": "3",
        "type": "true_false",
        "pass_on_wrong": "y",
    },
    {"kind": "risk", "title": "风险题", "count": "2", "type": "multiple", "tiers": "30, 10，20"},
]


def english(client: FlaskClient) -> FlaskClient:
    client.set_cookie("lang", "en")
    return client


def live_form(
    token: str,
    bank_id: int,
    *,
    teams: list[dict[str, Any]],
    segments: list[dict[str, Any]],
    **fields: Any,
) -> dict[str, Any]:
    """The form as a browser posts it: every row's fields, blank rows included."""
    form: dict[str, Any] = {
        "csrf_token": token,
        "action": "save",
        "title": "现场决赛",
        "bank_id": str(bank_id),
        "devices": "team",
        "team_mode": "teams",
    }
    for n, team in enumerate(teams + [{}] * 2):
        for key in TEAM_FIELDS:
            form[f"teams-{n}-{key}"] = team.get(key, "")
    for n, segment in enumerate(segments + [{}] * 2):
        for key in SEGMENT_FIELDS:
            default = {"points": "10", "deduction": "0", "time_limit_s": "30", "type": "single"}
            form[f"segments-{n}-{key}"] = segment.get(key, default.get(key, ""))
        if segment.get("pass_on_wrong"):
            form[f"segments-{n}-pass_on_wrong"] = "y"
    form.update(fields)
    return form


def draft_contest(status: ContestStatus = ContestStatus.DRAFT) -> int:
    contest = contest_service.create_contest("网络安全知识竞赛", status=status)
    db.session.commit()
    return contest.id


def players(*usernames: str, unit_name: str = "第二中学") -> tuple[int, dict[str, int]]:
    """A unit and contestants of it; their ids by username."""
    unit = Organization(name=unit_name)
    db.session.add(unit)
    db.session.commit()
    return unit.id, {n: add_user(n, Role.CONTESTANT, unit.id).id for n in usernames}


def counts() -> tuple[int, int, int]:
    return (
        db.session.scalar(select(func.count()).select_from(Round)) or 0,
        db.session.scalar(select(func.count()).select_from(LiveTeam)) or 0,
        db.session.scalar(select(func.count()).select_from(LiveSegment)) or 0,
    )


def test_organizer_creates_a_live_round_with_teams_and_a_run_sheet(
    app: Flask, organizer_client: FlaskClient
) -> None:
    with app.app_context():
        bank_id = published_bank()
        contest_id = draft_contest()
        unit, ids = players("ann", "bob", "cat", "dan", "eve")
    client = english(organizer_client)
    url = f"/admin/contests/{contest_id}/live-rounds/new"
    page = client.get(url)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'name="segments-0-kind"' in text and 'name="teams-0-members"' in text
    assert '<option value="基础知识">基础知识</option>' in text
    assert "js/live_setup.js" in text and "<script>" not in text and "style=" not in text

    teams = [
        {"name": "红队", "organization_id": str(unit), "members": "ann, bob cat"},
        {},  # blank rows between teams are dropped too
        {"name": "蓝队", "members": "DAN，eve"},
    ]
    response = client.post(
        url,
        data=live_form(
            csrf_token(client),
            bank_id,
            teams=teams,
            segments=SEGMENTS,
            devices="members",
            compensation_ms="80",
        ),
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"].endswith(f"/admin/contests/{contest_id}#live")

    with app.app_context():
        round_ = db.session.scalars(select(Round).where(Round.contest_id == contest_id)).one()
        assert (round_.mode, round_.title, round_.bank_id) == ("live", "现场决赛", bank_id)
        assert round_.live == {"devices": "members", "compensation_ms": 80}
        made = db.session.scalars(
            select(LiveTeam).where(LiveTeam.round_id == round_.id).order_by(LiveTeam.position)
        ).all()
        assert [(t.position, t.name, t.organization_id) for t in made] == [
            (1, "红队", unit),
            (2, "蓝队", None),
        ]
        assert [[(m.user_id, m.captain) for m in t.members] for t in made] == [
            [(ids["ann"], True), (ids["bob"], False), (ids["cat"], False)],
            [(ids["dan"], True), (ids["eve"], False)],
        ]
        segments = db.session.scalars(
            select(LiveSegment)
            .where(LiveSegment.round_id == round_.id)
            .order_by(LiveSegment.position)
        ).all()
        assert [
            (s.position, s.kind, s.title, s.points, s.deduction, s.time_limit_s, s.options)
            for s in segments
        ] == [
            (1, SegmentKind.REQUIRED, "必答题", 10, 0, 30, {}),
            (2, SegmentKind.BUZZ, "Buzzer questions", 20, 5, 15, {"pass_on_wrong": True}),
            (3, SegmentKind.RISK, "风险题", 10, 0, 30, {"tiers": [10, 20, 30]}),
        ]
        types = []
        for segment in segments:
            drawn = db.session.execute(
                select(QuestionVersion.type, Category.path)
                .join(Question, Question.id == QuestionVersion.question_id)
                .join(Category, Category.id == Question.category_id)
                .where(QuestionVersion.id.in_(segment.questions))
            ).all()
            assert len(drawn) == len(segment.questions)
            types.append(sorted({(str(t.value), path) for t, path in drawn}))
        assert types == [
            [("single", "基础知识")],
            [("true_false", "基础知识")],
            [("multiple", "基础知识")],
        ]
        assert [len(s.questions) for s in segments] == [2, 3, 2]
        audit = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "round.create_live")
        ).one()
        assert audit.actor_name == "boss" and audit.target_id == round_.id

    contest_page = client.get(f"/admin/contests/{contest_id}").get_data(as_text=True)
    assert "Live round 现场决赛 created: 2 team(s), 3 segment(s), 7 question(s)." in contest_page


def test_an_unknown_username_is_named_and_nothing_is_created(
    app: Flask, organizer_client: FlaskClient
) -> None:
    with app.app_context():
        bank_id = published_bank()
        contest_id = draft_contest()
        players("ann", "bob")
        add_user("judge", Role.ORGANIZER)
    client = english(organizer_client)
    teams = [
        {"name": "红队", "members": "ann nobody"},
        {"name": "蓝队", "members": "bob judge"},
    ]
    response = client.post(
        f"/admin/contests/{contest_id}/live-rounds/new",
        data=live_form(csrf_token(client), bank_id, teams=teams, segments=SEGMENTS),
    )
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Nothing was saved" in text
    assert "Team 1: there is no account with the username nobody." in text
    assert "Team 2: judge is an organizer, not a contestant." in text
    # Everything typed is still there, blank rows dropped (the third segment is now the second).
    assert 'value="ann nobody"' in text and 'value="红队"' in text
    assert 'checked id="segments-1-pass_on_wrong"' in text
    assert 'name="segments-2-tiers"' in text and 'value="30, 10，20"' in text
    with app.app_context():
        assert counts() == (0, 0, 0)


def test_the_services_refusal_keeps_the_form_filled(
    app: Flask, organizer_client: FlaskClient
) -> None:
    with app.app_context():
        bank_id = published_bank()
        contest_id = draft_contest()
        players("ann", "bob")
    client = english(organizer_client)
    segments = [{**SEGMENTS[0], "count": "99"}]
    response = client.post(
        f"/admin/contests/{contest_id}/live-rounds/new",
        data=live_form(
            csrf_token(client),
            bank_id,
            teams=[{"name": "红队", "members": "ann"}, {"name": "蓝队", "members": "bob"}],
            segments=segments,
        ),
    )
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Segment 1 asks for 99 questions; the bank has 4 that fit." in text
    assert 'value="99"' in text and 'value="蓝队"' in text
    with app.app_context():
        assert counts() == (0, 0, 0)


def test_rows_are_checked_before_the_service_sees_them(
    app: Flask, organizer_client: FlaskClient
) -> None:
    with app.app_context():
        bank_id = published_bank()
        contest_id = draft_contest()
        players("ann", "bob", "cat", "dan", "eve")
    client = english(organizer_client)
    teams = [
        {"name": "红队", "members": "ann bob cat dan eve"},
        {"name": "红队", "members": ""},
        {"members": "ann"},
    ]
    segments = [{"title": "无类型", "count": "1"}, {"kind": "risk", "count": "1", "tiers": "1O"}]
    response = client.post(
        f"/admin/contests/{contest_id}/live-rounds/new",
        data=live_form(csrf_token(client), bank_id, teams=teams, segments=segments),
    )
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    for message in (
        "Team 1 names 5 members; a team has one to 4.",
        "Teams 1 and 2 have the same name.",
        "Team 2 needs at least one member.",
        "Team 3 needs a name.",
        "ann is named in team 1 and in team 3.",
        "Segment 1 needs a kind.",
        "Segment 2: stakes are whole points, e.g. 10,20,30.",
    ):
        assert message in text, message
    with app.app_context():
        assert counts() == (0, 0, 0)


def test_every_registered_contestant_can_be_a_team_of_one(
    app: Flask, organizer_client: FlaskClient
) -> None:
    with app.app_context():
        bank_id = published_bank()
        contest_id = draft_contest(ContestStatus.PUBLISHED)
        unit, ids = players("ann", "bob", "cat")
        players("zed", unit_name="第三中学")  # not registered: no team
        for user_id in ids.values():
            contest_service.register(contest_id, user_id, now=datetime.now(UTC))
        db.session.commit()
    client = english(organizer_client)
    response = client.post(
        f"/admin/contests/{contest_id}/live-rounds/new",
        data=live_form(
            csrf_token(client),
            bank_id,
            teams=[{"name": "不用的队", "members": "nobody"}],  # ignored in this mode
            segments=SEGMENTS[:1],
            team_mode="individual",
        ),
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        made = db.session.scalars(select(LiveTeam).order_by(LiveTeam.position)).all()
        assert [(t.name, t.organization_id) for t in made] == [
            ("ann 名", unit),
            ("bob 名", unit),
            ("cat 名", unit),
        ]
        assert [[(m.user_id, m.captain) for m in t.members] for t in made] == [
            [(ids["ann"], True)],
            [(ids["bob"], True)],
            [(ids["cat"], True)],
        ]


def test_more_rows_without_script_keeps_what_was_typed(
    app: Flask, organizer_client: FlaskClient
) -> None:
    with app.app_context():
        bank_id = published_bank()
        contest_id = draft_contest()
    client = organizer_client
    form = live_form(
        csrf_token(client),
        bank_id,
        teams=[{"name": "红队", "members": "ann"}],
        segments=SEGMENTS,
        action="more_segments",
    )
    response = client.post(f"/admin/contests/{contest_id}/live-rounds/new", data=form)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    # Three filled segments, a blank one and four more.
    assert 'name="segments-7-kind"' in text and 'name="segments-8-kind"' not in text
    assert 'value="红队"' in text and 'value="必答题"' in text
    with app.app_context():
        assert counts() == (0, 0, 0)


def test_contestants_and_anonymous_users_are_refused(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        bank_id = published_bank()
        contest_id = draft_contest()
        add_user("alice", Role.CONTESTANT)
    url = f"/admin/contests/{contest_id}/live-rounds/new"
    data = live_form(
        csrf_token(client), bank_id, teams=[{"name": "红队", "members": "alice"}], segments=SEGMENTS
    )
    for response in (client.get(url), client.post(url, data=data)):
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert api_login(client, "alice", PASSWORD).status_code == 200
    data["csrf_token"] = csrf_token(client)
    assert client.get(url).status_code == 403
    assert client.post(url, data=data).status_code == 403
    with app.app_context():
        assert counts() == (0, 0, 0)


def test_a_post_without_the_csrf_token_is_refused(
    app: Flask, organizer_client: FlaskClient
) -> None:
    with app.app_context():
        bank_id = published_bank()
        contest_id = draft_contest()
        players("ann")
    data = live_form("", bank_id, teams=[{"name": "红队", "members": "ann"}], segments=SEGMENTS)
    del data["csrf_token"]
    response = organizer_client.post(f"/admin/contests/{contest_id}/live-rounds/new", data=data)
    assert response.status_code == 403
    with app.app_context():
        assert counts() == (0, 0, 0)


def test_a_finished_or_archived_contest_takes_no_live_round(
    app: Flask, organizer_client: FlaskClient
) -> None:
    with app.app_context():
        bank_id = published_bank()
        finished = draft_contest(ContestStatus.FINISHED)
        archived = draft_contest(ContestStatus.ARCHIVED)
        players("ann")
    client = english(organizer_client)
    for contest_id in (finished, archived):
        url = f"/admin/contests/{contest_id}/live-rounds/new"
        data = live_form(
            csrf_token(client),
            bank_id,
            teams=[{"name": "红队", "members": "ann"}],
            segments=SEGMENTS,
        )
        for response in (client.get(url), client.post(url, data=data)):
            assert response.status_code == 302
            assert response.headers["Location"].endswith(f"/admin/contests/{contest_id}")
        page = client.get(f"/admin/contests/{contest_id}").get_data(as_text=True)
        assert "takes no new round" in page or "read-only" in page
        assert f"/admin/contests/{contest_id}/live-rounds/new" not in page
    with app.app_context():
        assert counts() == (0, 0, 0)


def test_the_contest_page_lists_the_live_round_with_its_links(
    app: Flask, organizer_client: FlaskClient
) -> None:
    with app.app_context():
        bank_id = published_bank()
        contest_id = draft_contest()
        _unit, ids = players("ann", "bob")
        round_id = setup.create_live_round(
            contest_id,
            title="现场决赛",
            bank_id=bank_id,
            segments=[{"kind": "buzz", "pool": {"type": "single", "count": 3}}],
            teams=[
                {"name": "红队", "members": [{"user_id": ids["ann"]}]},
                {"name": "蓝队", "members": [{"user_id": ids["bob"]}]},
            ],
        ).id
    client = english(organizer_client)
    page = client.get(f"/admin/contests/{contest_id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert f'href="/admin/contests/{contest_id}/live-rounds/new"' in text
    assert 'data-testid="live-round"' in text and "现场决赛" in text
    for link in (
        f'href="/live/{round_id}/host"',
        f'href="/live/{round_id}/screen"',
        f'href="/live/{round_id}/screen?layout=overlay"',
        f'href="/api/v1/rounds/{round_id}/live/timeline"',
        f"http://localhost/live/{round_id}/team",
    ):
        assert link in text, link
    assert "1 segment(s), 3 question(s)" in text and "One device per team" in text
    # Not among the paper rounds: no paper form, standings or preview for it.
    assert f"/admin/rounds/{round_id}/edit" not in text
    assert f"/admin/rounds/{round_id}/preview" not in text
    assert 'data-testid="rounds"' not in text and "No round yet." not in text
    # A live round has no blueprint to fill: publishing is not held up by it.
    assert "blueprint row" not in text
    # The paper round's form does not take it.
    response = client.get(f"/admin/rounds/{round_id}/edit")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/contests/{contest_id}#live")
    publish = client.post(
        f"/admin/contests/{contest_id}/publish", data={"csrf_token": csrf_token(client)}
    )
    assert publish.status_code == 302
    with app.app_context():
        assert contest_service.get_contest(contest_id).status is ContestStatus.PUBLISHED
