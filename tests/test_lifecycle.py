"""A contest's life: draft → published → finished → archived, copying and deleting a draft.

A draft is 404 on every contestant and spectator route; publishing lists every problem at once;
a finished contest keeps its boards and takes no new attempts; an archived one leaves the lists
and keeps its records; every transition is audited.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from contest.errors import Conflict
from contest.extensions import db, redis_hub
from contest.models import (
    Attempt,
    AttemptStatus,
    AuditEvent,
    Contest,
    ContestStatus,
    Organization,
    Registration,
    RegistrationMode,
    Role,
    Round,
    SessionUser,
    User,
)
from contest.services import attempts as attempt_service
from contest.services import audit_log, leaderboards, lifecycle
from contest.services import contests as contest_service
from contest.services.attempt_rules import Change
from tests.conftest import add_user, api_login, csrf_token
from tests.support.contests import BLUEPRINT, NOW, paper_round, published_bank


def draft_round(app: Flask, **settings: Any) -> Round:
    """A draft contest with one round that could be published (detached, columns loaded)."""
    with app.app_context():
        settings.setdefault("contest_title", "草稿赛")
        round_ = paper_round(published_bank(), contest_status=ContestStatus.DRAFT, **settings)
        db.session.refresh(round_)
        db.session.expunge(round_)
        return round_


def logged_in(app: Flask, username: str, role: Role) -> tuple[FlaskClient, str]:
    with app.app_context():
        add_user(username, role)
    client = app.test_client()
    assert api_login(client, username).status_code == 200
    return client, csrf_token(client)


def status_of(app: Flask, contest_id: int) -> ContestStatus | None:
    with app.app_context():
        return db.session.scalar(select(Contest.status).where(Contest.id == contest_id))


SETUP_ACTIONS = ("contest.create", "contest.update", "round.create", "round.update")


def audit_actions(app: Flask, contest_id: int) -> list[str]:
    """The contest's recorded transitions (setting it up is recorded too, left out here)."""
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.contest_id == contest_id, AuditEvent.action.not_in(SETUP_ACTIONS))
                .order_by(AuditEvent.id)
            )
        )


def render_boards(app: Flask, contest_id: int) -> None:
    with app.app_context():
        leaderboards.render_contest(redis_hub.client, contest_id)


# Drafts are 404 for contestants and spectators -----------------------------------------------

# (method, url, form) per route; {c} is the contest id, {r} the round id.
CONTESTANT_ROUTES = [
    ("GET", "/rounds/{r}", False),  # the round lobby, where the join link leads
    ("POST", "/rounds/{r}/start", True),
    ("POST", "/contests/{c}/registration", True),
    ("POST", "/api/v1/rounds/{r}/attempts", False),
    ("POST", "/api/v1/contests/{c}/registration", False),
]
SPECTATOR_ROUTES = [
    ("GET", "/boards/contests/{c}", False),
    ("GET", "/boards/rounds/{r}", False),
    ("GET", "/boards/contests/{c}/screen", False),  # the big screen and its join QR code
    ("GET", "/api/v1/rounds/{r}/leaderboard", False),
    ("GET", "/api/v1/rounds/{r}/leaderboard/stream", False),
    ("GET", "/api/v1/contests/{c}/leaderboard", False),
    ("GET", "/api/v1/contests/{c}/organizations/leaderboard", False),
]


def call(client: FlaskClient, token: str, method: str, url: str, form: bool) -> Any:
    if form:
        return client.open(url, method=method, data={"csrf_token": token})
    return client.open(url, method=method, json={}, headers={"X-CSRFToken": token})


@pytest.mark.parametrize(("method", "url", "form"), CONTESTANT_ROUTES + SPECTATOR_ROUTES)
def test_a_draft_is_404_on_every_contestant_and_spectator_route(
    app: Flask, method: str, url: str, form: bool
) -> None:
    round_ = draft_round(app)
    render_boards(app, round_.contest_id)  # a renderer passing by keeps no board of a draft
    target = url.format(c=round_.contest_id, r=round_.id)
    contestant, token = logged_in(app, "alice", Role.CONTESTANT)
    assert call(contestant, token, method, target, form).status_code == 404, target
    if (method, url, form) in SPECTATOR_ROUTES:
        anonymous = app.test_client()
        assert anonymous.get(target).status_code == 404, target
    # Published, the same route answers (what 404 meant was the draft).
    with app.app_context():
        lifecycle.publish(round_.contest_id, now=datetime.now(UTC))
        db.session.commit()
    render_boards(app, round_.contest_id)
    if "stream" not in url:  # a stream would stay open
        assert call(contestant, token, method, target, form).status_code != 404, target


def test_a_draft_is_listed_nowhere_public(app: Flask) -> None:
    round_ = draft_round(app, contest_title="秘密草稿")
    contestant, _token = logged_in(app, "alice", Role.CONTESTANT)
    assert contestant.get("/api/v1/contests").get_json()["contests"] == []
    assert "秘密草稿" not in contestant.get("/").get_data(as_text=True)
    assert "秘密草稿" not in app.test_client().get("/").get_data(as_text=True)  # landing
    with app.app_context():
        user = db.session.scalars(select(User).where(User.username == "alice")).one()
        assert contest_service.contests_for(user) == []
        lifecycle.publish(round_.contest_id, now=datetime.now(UTC))
        db.session.commit()
    assert [c["title"] for c in contestant.get("/api/v1/contests").get_json()["contests"]] == [
        "秘密草稿"
    ]
    assert "秘密草稿" in app.test_client().get("/").get_data(as_text=True)


def test_organizers_preview_a_draft_round_without_making_an_attempt(
    app: Flask, organizer_client: FlaskClient
) -> None:
    round_ = draft_round(app)
    page = organizer_client.get(f"/admin/contests/{round_.contest_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-status="draft"' in html
    assert f"/admin/rounds/{round_.id}/preview" in html
    preview = organizer_client.get(f"/admin/rounds/{round_.id}/preview")
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "预览" in text and 'data-testid="preview-banner"' in text
    assert text.count('data-testid="preview-item"') == sum(r["count"] for r in BLUEPRINT)
    assert text.count('data-testid="preview-key"') == sum(r["count"] for r in BLUEPRINT)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Attempt)) == 0
    # Contestant pages stay closed to organizers: the preview is theirs.
    assert organizer_client.get(f"/rounds/{round_.id}").status_code == 403


def test_the_preview_says_when_the_bank_cannot_fill_the_paper(
    app: Flask, organizer_client: FlaskClient
) -> None:
    round_ = draft_round(app)
    with app.app_context():
        db.session.get(Round, round_.id).blueprint = [{**BLUEPRINT[0], "count": 99}]
        db.session.commit()
    text = organizer_client.get(f"/admin/rounds/{round_.id}/preview").get_data(as_text=True)
    assert 'data-testid="preview-problem"' in text and 'data-testid="preview-item"' not in text


# Publishing ------------------------------------------------------------------------------------


def test_publishing_lists_every_problem_then_succeeds(
    app: Flask, organizer_client: FlaskClient
) -> None:
    with app.app_context():
        contest = contest_service.create_contest("问题赛")
        empty_id = contest.id
        db.session.commit()
    token = csrf_token(organizer_client)
    headers = {"X-CSRFToken": token}
    refused = organizer_client.post(f"/api/v1/contests/{empty_id}/publish", headers=headers)
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert error["code"] == "publish_refused" and len(error["problems"]) == 1
    assert "没有轮次" in error["problems"][0]

    # Three rounds with a problem each, plus an invite code missing: four problems at once.
    round_ = draft_round(app, qualification={"kind": "top_n", "value": 3})
    contest_id, bank_id = round_.contest_id, round_.bank_id
    with app.app_context():
        second = contest_service.save_round(
            contest_id,
            title="复赛",
            bank_id=bank_id,
            duration_s=600,
            blueprint=BLUEPRINT,
            opens_at=NOW + timedelta(hours=2),  # before 初赛 closes: it qualifies for this one
            closes_at=NOW + timedelta(days=2),
        )
        third = contest_service.save_round(
            contest_id,
            title="决赛",
            bank_id=bank_id,
            duration_s=600,
            blueprint=BLUEPRINT,
            opens_at=NOW - timedelta(days=3),
            closes_at=NOW - timedelta(days=2),  # over already
        )
        db.session.get(Round, third.id).blueprint = [{**BLUEPRINT[0], "count": 99}]
        contest = db.session.get(Contest, contest_id)
        contest.registration_mode = RegistrationMode.INVITE  # and no code
        db.session.commit()
        second_id, third_id = second.id, third.id

    page = organizer_client.get(f"/admin/contests/{contest_id}").get_data(as_text=True)
    assert 'data-testid="publish-problems"' in page
    form = organizer_client.post(
        f"/admin/contests/{contest_id}/publish", data={"csrf_token": token}
    )
    assert form.status_code == 422
    listed = form.get_data(as_text=True)
    refused = organizer_client.post(f"/api/v1/contests/{contest_id}/publish", headers=headers)
    assert refused.status_code == 422
    problems = refused.get_json()["error"]["problems"]
    assert len(problems) == 4, problems
    assert any("邀请码" in p for p in problems)
    assert any("复赛" in p and "初赛" in p for p in problems)
    assert any("决赛" in p and "99" in p for p in problems)
    assert any("决赛" in p and "已经结束" in p for p in problems)
    for problem in problems:
        assert problem in listed
    assert status_of(app, contest_id) is ContestStatus.DRAFT

    with app.app_context():
        db.session.get(Contest, contest_id).invite_code = "abc"
        db.session.get(Round, second_id).opens_at = NOW + timedelta(days=1, hours=1)
        db.session.delete(db.session.get(Round, third_id))
        db.session.commit()
    published = organizer_client.post(
        f"/admin/contests/{contest_id}/publish", data={"csrf_token": token}
    )
    assert published.status_code == 302
    assert status_of(app, contest_id) is ContestStatus.PUBLISHED
    with app.app_context():
        assert db.session.get(Contest, contest_id).published_at is not None
    assert audit_actions(app, contest_id) == ["contest.publish"]
    with app.app_context():
        published_event = select(AuditEvent).where(AuditEvent.action == "contest.publish")
        event = db.session.scalars(published_event).one()
        assert (event.target_type, event.target_id) == ("contest", contest_id)
        assert event.actor_name == "boss" and event.before == {"status": "draft"}
        assert event.after is not None and event.after["status"] == "published"
    again = organizer_client.post(f"/api/v1/contests/{contest_id}/publish", headers=headers)
    assert again.status_code == 409


def test_create_and_get_contest_say_the_status(organizer_client: FlaskClient) -> None:
    headers = {"X-CSRFToken": csrf_token(organizer_client)}
    created = organizer_client.post("/api/v1/contests", json={"title": "新赛"}, headers=headers)
    assert created.status_code == 201 and created.get_json()["status"] == "draft"
    got = organizer_client.get(f"/api/v1/contests/{created.get_json()['id']}").get_json()
    assert got["status"] == "draft" and got["published_at"] is None


# Finishing and archiving -----------------------------------------------------------------------


def test_finishing_waits_for_the_rounds_then_keeps_boards_and_takes_no_attempts(
    app: Flask, organizer_client: FlaskClient
) -> None:
    with app.app_context():
        round_ = paper_round(published_bank(), attempts_allowed=0)
        round_id, contest_id = round_.id, round_.contest_id
    contestant, token = logged_in(app, "alice", Role.CONTESTANT)
    started = contestant.post(f"/api/v1/rounds/{round_id}/attempts", headers={"X-CSRFToken": token})
    assert started.status_code == 201
    headers = {"X-CSRFToken": csrf_token(organizer_client)}
    running = organizer_client.post(f"/api/v1/contests/{contest_id}/finish", headers=headers)
    assert running.status_code == 409
    message = running.get_json()["error"]["message"]
    assert "初赛" in message and "1" in message  # the close ahead and the attempt running

    with app.app_context():
        now = datetime.now(UTC)
        alice = db.session.scalars(select(User).where(User.username == "alice")).one()
        who = SessionUser(alice.id, alice.session_generation)
        attempt_service.submit_attempt(Change(started.get_json()["id"], who, now))
        db.session.get(Round, round_id).closes_at = now - timedelta(seconds=1)
        db.session.commit()
    # Without the close passed the attempt alone would block; both are settled now.
    with app.app_context():
        assert lifecycle.finish_problems(db.session.get(Contest, contest_id), now) == []
    finished = organizer_client.post(f"/api/v1/contests/{contest_id}/finish", headers=headers)
    assert finished.status_code == 200, finished.get_json()
    assert finished.get_json()["status"] == "finished"
    assert audit_actions(app, contest_id) == ["contest.finish"]

    with app.app_context():  # the window opens again: the contest still takes nothing
        db.session.get(Round, round_id).closes_at = None
        db.session.commit()
    again = contestant.post(f"/api/v1/rounds/{round_id}/attempts", headers={"X-CSRFToken": token})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "contest_finished"
    lobby = contestant.get(f"/rounds/{round_id}").get_data(as_text=True)
    assert f"/rounds/{round_id}/start" not in lobby
    joined = contestant.post(
        f"/api/v1/contests/{contest_id}/registration", json={}, headers={"X-CSRFToken": token}
    )
    assert joined.status_code == 200  # registered already by the attempt: nothing new
    newcomer, newcomer_token = logged_in(app, "bob", Role.CONTESTANT)
    refused = newcomer.post(
        f"/api/v1/contests/{contest_id}/registration",
        json={},
        headers={"X-CSRFToken": newcomer_token},
    )
    assert refused.status_code == 409
    render_boards(app, contest_id)
    for url in (f"/boards/contests/{contest_id}", f"/api/v1/rounds/{round_id}/leaderboard"):
        assert app.test_client().get(url).status_code == 200, url
    board = app.test_client().get(f"/boards/contests/{contest_id}").get_data(as_text=True)
    assert 'class="tab-status"' in board and "进行中" not in board  # its round ended with it
    screen = app.test_client().get(f"/boards/contests/{contest_id}/screen")
    assert 'data-testid="join-url"' not in screen.get_data(as_text=True)
    listed = contestant.get("/api/v1/contests").get_json()["contests"]
    assert [c["id"] for c in listed] == [contest_id]
    assert listed[0]["rounds"][0]["status"] == "closed"


def test_archiving_hides_the_contest_from_lists_and_keeps_its_records(
    app: Flask, organizer_client: FlaskClient
) -> None:
    with app.app_context():
        round_ = paper_round(
            published_bank(),
            contest_title="旧赛",
            opens_at=NOW - timedelta(days=2),
            closes_at=NOW - timedelta(days=1),
            review_policy="after_close",
        )
        round_id, contest_id = round_.id, round_.contest_id
        contestant = add_user("alice", Role.CONTESTANT)
        contest_service.register(contest_id, contestant.id, now=NOW, by_organizer=True)
        db.session.commit()
    token = csrf_token(organizer_client)
    archive_early = organizer_client.post(
        f"/admin/contests/{contest_id}/archive", data={"csrf_token": token}
    )
    assert archive_early.status_code == 302
    assert status_of(app, contest_id) is ContestStatus.PUBLISHED  # only from finished
    for action in ("finish", "archive"):
        response = organizer_client.post(
            f"/admin/contests/{contest_id}/{action}", data={"csrf_token": token}
        )
        assert response.status_code == 302
    assert status_of(app, contest_id) is ContestStatus.ARCHIVED
    assert audit_actions(app, contest_id) == ["contest.finish", "contest.archive"]

    default = organizer_client.get("/admin/contests").get_data(as_text=True)
    assert "旧赛" not in default
    archived = organizer_client.get("/admin/contests?status=archived").get_data(as_text=True)
    assert "旧赛" in archived and 'data-status="archived"' in archived
    assert organizer_client.get(f"/admin/contests/{contest_id}").status_code == 200
    assert "旧赛" not in app.test_client().get("/").get_data(as_text=True)
    client = app.test_client()
    api_login(client, "alice")
    assert client.get("/api/v1/contests").get_json()["contests"] == []
    # The records stay, and the public board by its link.
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Registration)) == 1
        assert db.session.get(Round, round_id) is not None
    render_boards(app, contest_id)
    assert app.test_client().get(f"/boards/contests/{contest_id}").status_code == 200


def test_the_contest_list_filters_by_status(app: Flask, organizer_client: FlaskClient) -> None:
    with app.app_context():
        for title, status in (("甲", ContestStatus.DRAFT), ("乙", ContestStatus.PUBLISHED)):
            contest_service.create_contest(title, status=status)
        db.session.commit()
    everything = organizer_client.get("/admin/contests").get_data(as_text=True)
    assert "甲" in everything and "乙" in everything and "草稿" in everything
    drafts = organizer_client.get("/admin/contests?status=draft").get_data(as_text=True)
    assert "甲" in drafts and ">乙<" not in drafts
    for label in ("全部", "草稿", "已发布", "已结束", "已归档"):
        assert label in everything


# Copying and deleting --------------------------------------------------------------------------


def test_a_copy_is_a_draft_with_the_rounds_and_nothing_of_the_contestants(
    app: Flask, organizer_client: FlaskClient
) -> None:
    with app.app_context():
        round_ = paper_round(published_bank(), qualification={"kind": "top_n", "value": 5})
        contest_id = round_.contest_id
        user = add_user("alice", Role.CONTESTANT)
        attempt_service.start_attempt(round_.id, user.id, now=datetime.now(UTC), device_id=None)
    headers = {"X-CSRFToken": csrf_token(organizer_client)}
    copied = organizer_client.post(f"/api/v1/contests/{contest_id}/copy", headers=headers)
    assert copied.status_code == 201
    body = copied.get_json()
    assert body["title"] == "网络安全知识竞赛（副本）" and body["status"] == "draft"
    assert copied.headers["Location"].endswith(f"/api/v1/contests/{body['id']}")
    second = organizer_client.post(f"/api/v1/contests/{contest_id}/copy", headers=headers)
    assert second.get_json()["title"] == "网络安全知识竞赛（副本 2）"
    with app.app_context():
        source = db.session.get(Contest, contest_id)
        copy = db.session.get(Contest, body["id"])
        assert [r.title for r in copy.rounds] == [r.title for r in source.rounds]
        for mine, theirs in zip(copy.rounds, source.rounds, strict=True):
            assert mine.id != theirs.id
            assert mine.blueprint == theirs.blueprint and mine.bank_id == theirs.bank_id
            assert mine.qualification == theirs.qualification
            assert mine.opens_at == theirs.opens_at and mine.closes_at == theirs.closes_at
        copy_rounds = [r.id for r in copy.rounds]
        assert not db.session.scalar(
            select(func.count()).select_from(Attempt).where(Attempt.round_id.in_(copy_rounds))
        )
        assert not db.session.scalar(
            select(func.count()).select_from(Registration).where(Registration.contest_id == copy.id)
        )
    assert audit_actions(app, body["id"]) == ["contest.copy"]
    # The copy is a draft: contestants do not see it.
    contestant = app.test_client()
    api_login(contestant, "alice")
    assert [c["id"] for c in contestant.get("/api/v1/contests").get_json()["contests"]] == [
        contest_id
    ]


def test_only_a_draft_is_deleted_after_a_confirmation(
    app: Flask, organizer_client: FlaskClient
) -> None:
    round_ = draft_round(app)
    draft_id = round_.contest_id
    with app.app_context():
        published = paper_round(round_.bank_id, contest_title="已发布赛").contest_id
    token = csrf_token(organizer_client)
    confirm = organizer_client.get(f"/admin/contests/{draft_id}/delete")
    assert confirm.status_code == 200 and 'data-testid="confirm-delete"' in confirm.get_data(
        as_text=True
    )
    assert organizer_client.post(f"/admin/contests/{draft_id}/delete").status_code == 403
    assert status_of(app, draft_id) is ContestStatus.DRAFT  # no token, nothing deleted
    deleted = organizer_client.post(
        f"/admin/contests/{draft_id}/delete", data={"csrf_token": token}
    )
    assert deleted.status_code == 302
    with app.app_context():
        assert db.session.get(Contest, draft_id) is None
        assert db.session.get(Round, round_.id) is None
    assert audit_actions(app, draft_id) == ["contest.delete"]

    refused = organizer_client.delete(
        f"/api/v1/contests/{published}", headers={"X-CSRFToken": token}
    )
    assert refused.status_code == 409
    assert status_of(app, published) is ContestStatus.PUBLISHED


# Who may ---------------------------------------------------------------------------------------

OPERATIONS = [
    ("POST", "/api/v1/contests/{c}/publish", 200),
    ("POST", "/api/v1/contests/{c}/copy", 201),
    ("DELETE", "/api/v1/contests/{c}", 204),
]


@pytest.mark.parametrize("role", [Role.ADMIN, Role.ORGANIZER])
def test_admins_and_organizers_run_every_transition(app: Flask, role: Role) -> None:
    with app.app_context():
        bank_id = published_bank()
        draft = paper_round(bank_id, contest_status=ContestStatus.DRAFT, contest_title="甲")
        spare = contest_service.create_contest("乙")
        db.session.commit()
        draft_id, spare_id = draft.contest_id, spare.id
        draft_round_id = draft.id
    client, token = logged_in(app, "someone", role)
    headers = {"X-CSRFToken": token}
    assert client.post(f"/api/v1/contests/{draft_id}/publish", headers=headers).status_code == 200
    assert client.post(f"/api/v1/contests/{draft_id}/copy", headers=headers).status_code == 201
    with app.app_context():
        db.session.get(Round, draft_round_id).closes_at = datetime.now(UTC) - timedelta(seconds=1)
        db.session.commit()
    assert client.post(f"/api/v1/contests/{draft_id}/finish", headers=headers).status_code == 200
    assert client.post(f"/api/v1/contests/{draft_id}/archive", headers=headers).status_code == 200
    assert client.delete(f"/api/v1/contests/{spare_id}", headers=headers).status_code == 204
    assert status_of(app, draft_id) is ContestStatus.ARCHIVED
    assert status_of(app, spare_id) is None
    with app.app_context():
        actors = set(
            db.session.scalars(
                select(AuditEvent.actor_name).where(
                    AuditEvent.action.like("contest.%"), AuditEvent.action != "contest.create"
                )
            )
        )
    assert actors == {"someone"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "publish"),
        ("POST", "finish"),
        ("POST", "archive"),
        ("POST", "copy"),
        ("DELETE", ""),
    ],
)
def test_contestants_are_403_and_anonymous_401(app: Flask, method: str, path: str) -> None:
    round_ = draft_round(app)
    url = f"/api/v1/contests/{round_.contest_id}" + (f"/{path}" if path else "")
    contestant, token = logged_in(app, "alice", Role.CONTESTANT)
    assert contestant.open(url, method=method, headers={"X-CSRFToken": token}).status_code == 403
    anonymous = app.test_client()
    anonymous_token = csrf_token(anonymous)
    response = anonymous.open(url, method=method, headers={"X-CSRFToken": anonymous_token})
    assert response.status_code == 401
    assert status_of(app, round_.contest_id) is ContestStatus.DRAFT
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Contest)) == 1
        changes = select(func.count()).where(AuditEvent.action.not_in(SETUP_ACTIONS))
        assert db.session.scalar(changes) == 0


def test_the_organizer_pages_show_the_allowed_transitions(
    app: Flask, organizer_client: FlaskClient
) -> None:
    round_ = draft_round(app)
    contest_id = round_.contest_id
    expected = {
        ContestStatus.DRAFT: {"publish", "delete", "copy"},
        ContestStatus.PUBLISHED: {"finish", "copy"},
        ContestStatus.FINISHED: {"archive", "copy"},
        ContestStatus.ARCHIVED: {"copy"},
    }
    for status, buttons in expected.items():
        with app.app_context():
            db.session.get(Contest, contest_id).status = status
            db.session.commit()
        html = organizer_client.get(f"/admin/contests/{contest_id}").get_data(as_text=True)
        shown = {
            b
            for b in ("publish", "finish", "archive", "delete", "copy")
            if f'data-testid="{b}"' in html
        }
        assert shown == buttons, status
        assert 'name="csrf_token"' in html
    copied = organizer_client.post(
        f"/admin/contests/{contest_id}/copy", data={"csrf_token": csrf_token(organizer_client)}
    )
    assert copied.status_code == 302
    with app.app_context():
        copy = db.session.scalars(select(Contest).where(Contest.id != contest_id)).one()
        assert copy.title == "草稿赛（副本）" and copy.status is ContestStatus.DRAFT
    assert copied.headers["Location"] == f"/admin/contests/{copy.id}"


def test_a_start_of_a_finished_contest_is_refused_by_the_service(app: Flask) -> None:
    with app.app_context():
        round_ = paper_round(published_bank())
        user = add_user("alice", Role.CONTESTANT)
        db.session.get(Contest, round_.contest_id).status = ContestStatus.FINISHED
        db.session.commit()
        with pytest.raises(Exception) as refused:
            attempt_service.start_attempt(round_.id, user.id, now=datetime.now(UTC), device_id=None)
        assert getattr(refused.value, "code", None) == "contest_finished"
        db.session.rollback()
        assert not db.session.scalar(
            select(func.count())
            .select_from(Attempt)
            .where(Attempt.status == AttemptStatus.IN_PROGRESS)
        )


def test_the_command_line_creates_a_draft_and_publishes_it(app: Flask, tmp_path: Any) -> None:
    import json

    with app.app_context():
        bank_id = published_bank()
    runner = app.test_cli_runner()
    created = runner.invoke(args=["contests", "create", "命令行赛"])
    assert created.exit_code == 0 and "draft" in created.output
    refused = runner.invoke(args=["contests", "publish", "命令行赛"])
    assert refused.exit_code == 1 and "没有轮次" in refused.output
    settings = tmp_path / "round.json"
    settings.write_text(
        json.dumps(
            {"title": "初赛", "bank_id": bank_id, "duration_s": 900, "blueprint": BLUEPRINT}
        ),
        encoding="utf-8",
    )
    assert runner.invoke(args=["contests", "round", "命令行赛", str(settings)]).exit_code == 0
    published = runner.invoke(args=["contests", "publish", "命令行赛"])
    assert published.exit_code == 0, published.output
    listed = runner.invoke(args=["contests", "list"]).output
    assert "命令行赛\topen\tpublished" in listed
    assert runner.invoke(args=["contests", "archive", "命令行赛"]).exit_code == 1  # not finished
    assert runner.invoke(args=["contests", "finish", "命令行赛"]).exit_code == 0
    with app.app_context():
        contest_id = db.session.scalar(select(Contest.id).where(Contest.title == "命令行赛"))
    assert audit_actions(app, contest_id) == ["contest.publish", "contest.finish"]


def test_the_renderer_keeps_no_board_of_a_draft(app: Flask) -> None:
    round_ = draft_round(app)
    board = leaderboards.contest_board(round_.contest_id)
    with app.app_context():
        client = redis_hub.client
        leaderboards.render_contest(client, round_.contest_id)
        assert leaderboards.read_board(client, board, 0, 10) is None
        lifecycle.publish(round_.contest_id, now=datetime.now(UTC))
        db.session.commit()
        leaderboards.render_contest(client, round_.contest_id)
        assert leaderboards.read_board(client, board, 0, 10) is not None


def test_a_finished_roster_contest_stays_hidden_from_those_not_on_it(app: Flask) -> None:
    with app.app_context():
        round_ = paper_round(published_bank())
        contest = db.session.get(Contest, round_.contest_id)
        contest.registration_mode = RegistrationMode.ROSTER
        contest.status = ContestStatus.FINISHED
        db.session.commit()
        round_id, contest_id = round_.id, contest.id
    outsider, token = logged_in(app, "eve", Role.CONTESTANT)
    headers = {"X-CSRFToken": token}
    started = outsider.post(f"/api/v1/rounds/{round_id}/attempts", headers=headers)
    joined = outsider.post(f"/api/v1/contests/{contest_id}/registration", json={}, headers=headers)
    assert (started.status_code, joined.status_code) == (404, 404)


# Asking first, taking a step back, and what an archived contest takes ------------------------


def practice_contest(app: Flask, status: ContestStatus = ContestStatus.PUBLISHED) -> Round:
    """A contest whose round 练习 never closes, set to ``status`` (detached)."""
    with app.app_context():
        round_ = paper_round(published_bank(), contest_title="练习赛", title="练习", closes_at=None)
        db.session.get(Contest, round_.contest_id).status = status
        db.session.commit()
        db.session.refresh(round_)
        db.session.expunge(round_)
        return round_


def confirm_of(html: str, action: str) -> str | None:
    """The question the form posting to ``…/<action>`` asks first (None: it asks nothing)."""
    form = re.search(rf'<form[^>]*action="/admin/contests/\d+/{action}"[^>]*>', html)
    assert form is not None, action
    question = re.search(r'data-confirm="([^"]*)"', form.group(0))
    return question.group(1) if question else None


def test_publishing_finishing_and_archiving_ask_first(
    app: Flask, organizer_client: FlaskClient
) -> None:
    round_ = practice_contest(app)
    page = organizer_client.get(f"/admin/contests/{round_.contest_id}").get_data(as_text=True)
    question = confirm_of(page, "finish")
    assert question is not None
    assert "「练习」没有结束时间，结束竞赛后它将停止接受作答。" in question
    with app.app_context():
        db.session.get(Contest, round_.contest_id).status = ContestStatus.FINISHED
        db.session.commit()
    page = organizer_client.get(f"/admin/contests/{round_.contest_id}").get_data(as_text=True)
    assert confirm_of(page, "archive") and confirm_of(page, "reopen")
    with app.app_context():
        draft_id = paper_round(
            round_.bank_id, contest_title="草稿赛", contest_status=ContestStatus.DRAFT
        ).contest_id
    page = organizer_client.get(f"/admin/contests/{draft_id}").get_data(as_text=True)
    question = confirm_of(page, "publish")
    assert question is not None and "「" not in question  # a draft's rounds all close


def test_a_finished_contest_reopens_and_an_archived_one_unarchives(
    app: Flask, organizer_client: FlaskClient
) -> None:
    round_ = practice_contest(app)
    contest_id = round_.contest_id
    token = csrf_token(organizer_client)
    base = f"/admin/contests/{contest_id}"
    assert organizer_client.post(f"{base}/finish", data={"csrf_token": token}).status_code == 302
    assert status_of(app, contest_id) is ContestStatus.FINISHED
    assert organizer_client.post(f"{base}/reopen", data={}).status_code == 403  # no CSRF token
    contestant, contestant_token = logged_in(app, "alice", Role.CONTESTANT)
    assert (
        contestant.post(f"{base}/reopen", data={"csrf_token": contestant_token}).status_code == 403
    )
    assert status_of(app, contest_id) is ContestStatus.FINISHED

    reopened = organizer_client.post(
        f"{base}/reopen", data={"csrf_token": token}, follow_redirects=True
    )
    assert reopened.status_code == 200 and "竞赛已重新开放" in reopened.get_data(as_text=True)
    assert status_of(app, contest_id) is ContestStatus.PUBLISHED
    with app.app_context():
        assert db.session.get(Contest, contest_id).finished_at is None
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "contest.reopen")
        ).one()
        assert event.actor_name == "boss" and event.contest_id == contest_id
        assert event.before == {"status": "finished"} and event.after["status"] == "published"
    # The practice round takes attempts again.
    started = contestant.post(
        f"/api/v1/rounds/{round_.id}/attempts", headers={"X-CSRFToken": contestant_token}
    )
    assert started.status_code == 201
    # Reopening a published contest is refused, with the reason.
    again = organizer_client.post(
        f"{base}/reopen", data={"csrf_token": token}, follow_redirects=True
    )
    assert "只有已结束的" in again.get_data(as_text=True)

    with app.app_context():
        alice = db.session.scalars(select(User).where(User.username == "alice")).one()
        who = SessionUser(alice.id, alice.session_generation)
        attempt_service.submit_attempt(Change(started.get_json()["id"], who, datetime.now(UTC)))
        db.session.commit()
    for action in ("finish", "archive"):
        assert (
            organizer_client.post(f"{base}/{action}", data={"csrf_token": token}).status_code == 302
        )
    assert status_of(app, contest_id) is ContestStatus.ARCHIVED
    page = organizer_client.get(base).get_data(as_text=True)
    assert 'data-testid="unarchive"' in page
    assert organizer_client.post(f"{base}/unarchive", data={"csrf_token": token}).status_code == 302
    assert status_of(app, contest_id) is ContestStatus.FINISHED
    with app.app_context():
        assert db.session.get(Contest, contest_id).archived_at is None
    assert audit_actions(app, contest_id)[-2:] == ["contest.archive", "contest.unarchive"]
    assert audit_log.action_label("contest.unarchive") != "contest.unarchive"
    # The API keeps its operations: no reopen or unarchive there.
    headers = {"X-CSRFToken": token}
    for action in ("reopen", "unarchive"):
        assert organizer_client.post(
            f"/api/v1/contests/{contest_id}/{action}", headers=headers
        ).status_code in (404, 405)


def test_an_archived_contest_is_read_only_for_organizers(
    app: Flask, organizer_client: FlaskClient
) -> None:
    round_ = practice_contest(app, ContestStatus.ARCHIVED)
    contest_id, round_id = round_.contest_id, round_.id
    with app.app_context():
        unit = Organization(name="一中")
        db.session.add(unit)
        db.session.flush()
        add_user("alice", Role.CONTESTANT).organization_id = unit.id
        db.session.commit()
        unit_id = unit.id
    token = csrf_token(organizer_client)
    refusals = [
        ("GET", f"/admin/contests/{contest_id}/edit", {}),
        (
            "POST",
            f"/admin/contests/{contest_id}/edit",
            {"title": "改名", "registration_mode": "open", "board_visibility": "public"},
        ),
        ("GET", f"/admin/contests/{contest_id}/rounds/new", {}),
        ("POST", f"/admin/contests/{contest_id}/rounds/new", {"title": "加赛"}),
        ("GET", f"/admin/rounds/{round_id}/edit", {}),
        ("POST", f"/admin/rounds/{round_id}/edit", {"title": "改名"}),
        ("POST", f"/admin/contests/{contest_id}/enrol", {"organizations": str(unit_id)}),
        ("POST", f"/admin/contests/{contest_id}/signup", {"signup_open": "y"}),
    ]
    for method, url, data in refusals:
        response = organizer_client.open(
            url, method=method, data={"csrf_token": token, **data} if method == "POST" else None
        )
        assert response.status_code == 302, url
        followed = organizer_client.get(response.headers["Location"]).get_data(as_text=True)
        assert "竞赛已归档，只读" in followed, url
    with app.app_context():
        contest = db.session.get(Contest, contest_id)
        assert contest.title == "练习赛" and not contest.signup_open
        assert [r.title for r in contest.rounds] == ["练习"]
        assert db.session.scalar(select(func.count()).select_from(Registration)) == 0
        with pytest.raises(Conflict):
            contest_service.update_contest(contest, {"title": "改名"})
    headers = {"X-CSRFToken": token}
    patched = organizer_client.patch(
        f"/api/v1/contests/{contest_id}/rounds/{round_id}", json={"title": "改名"}, headers=headers
    )
    assert patched.status_code == 409
    assert patched.get_json()["error"]["code"] == "contest_archived"
    created = organizer_client.post(
        f"/api/v1/contests/{contest_id}/rounds", json={"title": "加赛"}, headers=headers
    )
    assert created.status_code == 409
    page = organizer_client.get(f"/admin/contests/{contest_id}").get_data(as_text=True)
    assert 'data-testid="edit-contest"' not in page and 'data-testid="add-round"' not in page
    assert f"/admin/rounds/{round_id}/edit" not in page
    assert f"/admin/contests/{contest_id}/enrol" not in page


def test_a_finished_contest_takes_no_new_round_and_keeps_its_rounds_editable(
    app: Flask, organizer_client: FlaskClient
) -> None:
    round_ = practice_contest(app, ContestStatus.FINISHED)
    contest_id = round_.contest_id
    headers = {"X-CSRFToken": csrf_token(organizer_client)}
    new_page = organizer_client.get(f"/admin/contests/{contest_id}/rounds/new")
    assert new_page.status_code == 302
    assert "不能再添加轮次" in organizer_client.get(new_page.headers["Location"]).get_data(
        as_text=True
    )
    created = organizer_client.post(
        f"/api/v1/contests/{contest_id}/rounds",
        json={
            "title": "加赛",
            "bank_id": round_.bank_id,
            "duration_s": 600,
            "blueprint": BLUEPRINT,
        },
        headers=headers,
    )
    assert created.status_code == 409 and created.get_json()["error"]["code"] == "contest_finished"
    patched = organizer_client.patch(
        f"/api/v1/contests/{contest_id}/rounds/{round_.id}",
        json={"title": "练习（回顾）"},
        headers=headers,
    )
    assert patched.status_code == 200 and patched.get_json()["title"] == "练习（回顾）"
    assert organizer_client.get(f"/admin/rounds/{round_.id}/edit").status_code == 200
    page = organizer_client.get(f"/admin/contests/{contest_id}").get_data(as_text=True)
    assert 'data-testid="add-round"' not in page and 'data-testid="edit-contest"' in page


def test_a_finished_contests_rounds_read_closed_for_organizers_too(
    app: Flask, organizer_client: FlaskClient
) -> None:
    round_ = practice_contest(app)
    page = organizer_client.get(f"/admin/contests/{round_.contest_id}").get_data(as_text=True)
    assert "进行中" in page  # published, its round never closes
    with app.app_context():
        db.session.get(Contest, round_.contest_id).status = ContestStatus.FINISHED
        db.session.commit()
    for url in (f"/admin/contests/{round_.contest_id}", "/admin/contests"):
        page = organizer_client.get(url).get_data(as_text=True)
        assert "已结束" in page and "进行中" not in page, url
    contestant, _token = logged_in(app, "alice", Role.CONTESTANT)
    listed = contestant.get("/api/v1/contests").get_json()["contests"]
    assert listed[0]["rounds"][0]["status"] == "closed"  # as contestants read it


def test_a_refused_publish_says_so_at_the_top(app: Flask, organizer_client: FlaskClient) -> None:
    with app.app_context():
        contest_id = contest_service.create_contest("空赛").id
        db.session.commit()
    refused = organizer_client.post(
        f"/admin/contests/{contest_id}/publish", data={"csrf_token": csrf_token(organizer_client)}
    )
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    top = html.index('data-testid="publish-refused"')
    assert top < html.index('<section class="card"')
    assert "未发布：请先解决以下问题" in html[top:] and "还没有轮次" in html[top:]


def test_setting_up_a_contest_is_audited(app: Flask, organizer_client: FlaskClient) -> None:
    with app.app_context():
        bank_id = published_bank()
    headers = {"X-CSRFToken": csrf_token(organizer_client)}
    contest_id = organizer_client.post(
        "/api/v1/contests", json={"title": "审计赛"}, headers=headers
    ).get_json()["id"]
    edited = organizer_client.post(
        f"/admin/contests/{contest_id}/edit",
        data={
            "csrf_token": csrf_token(organizer_client),
            "title": "审计赛",
            "schedule": "十二月",
            "registration_mode": "open",
            "board_visibility": "public",
            "mask_names": "y",
        },
    )
    assert edited.status_code == 302
    round_id = organizer_client.post(
        f"/api/v1/contests/{contest_id}/rounds",
        json={"title": "初赛", "bank_id": bank_id, "duration_s": 600, "blueprint": BLUEPRINT},
        headers=headers,
    ).get_json()["id"]
    close = datetime(2026, 12, 24, 12, 0, tzinfo=UTC)
    patched = organizer_client.patch(
        f"/api/v1/contests/{contest_id}/rounds/{round_id}",
        json={"closes_at": close.isoformat(), "title": "初赛"},
        headers=headers,
    )
    assert patched.status_code == 200
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.contest_id == contest_id).order_by(AuditEvent.id)
        ).all()
    assert [e.action for e in events] == [
        "contest.create",
        "contest.update",
        "round.create",
        "round.update",
    ]
    assert {e.actor_name for e in events} == {"boss"}
    created, updated, round_created, round_updated = events
    assert created.after is not None and created.after["title"] == "审计赛"
    assert updated.before == {"schedule": ""} and updated.after == {"schedule": "十二月"}
    assert (round_created.target_type, round_created.target_id) == ("round", round_id)
    assert round_created.after is not None and round_created.after["title"] == "初赛"
    assert round_updated.before == {"closes_at": None}
    assert round_updated.after == {"closes_at": close.isoformat()}
