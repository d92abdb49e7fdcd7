"""Changing or deleting a live round (现场决赛) before the day, on the organizer's pages and
through the API; refused once the host has started it, as the event log refers to its teams and
segments."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from contest.errors import Conflict, NotFound
from contest.extensions import db
from contest.live_final import service, setup
from contest.models import (
    AuditEvent,
    ContestStatus,
    LiveSegment,
    LiveTeam,
    LiveTeamMember,
    Role,
    Round,
    SegmentKind,
)
from contest.services import contests as contest_service
from tests.conftest import PASSWORD, add_user, api_login, csrf_token
from tests.support.contests import paper_round
from tests.support.live import RUN_SHEET, LiveFinal, live_final
from tests.test_live_setup_page import english, live_form

NEW_TEAMS: list[dict[str, Any]] = [
    {"name": "红队", "members": "newbie, t11"},
    {"name": "蓝队", "members": "t21"},
]
NEW_SEGMENTS: list[dict[str, Any]] = [
    {"kind": "buzz", "title": "抢答", "points": "25", "deduction": "5", "count": "2"},
    {"kind": "all", "points": "10", "count": "1", "type": "true_false", "speed_points": "3"},
]


def snapshot(round_id: int) -> tuple[Any, ...]:
    """The round's row, teams with members and segments, to compare before and after."""
    db.session.expire_all()
    round_ = db.session.get(Round, round_id)
    teams = db.session.scalars(
        select(LiveTeam).where(LiveTeam.round_id == round_id).order_by(LiveTeam.position)
    ).all()
    segments = db.session.scalars(
        select(LiveSegment).where(LiveSegment.round_id == round_id).order_by(LiveSegment.position)
    ).all()
    return (
        round_ and (round_.title, round_.bank_id, round_.position, dict(round_.live or {})),
        [(t.id, t.name, [(m.user_id, m.captain) for m in t.members]) for t in teams],
        [
            (s.id, s.kind, s.points, s.deduction, list(s.questions), dict(s.options))
            for s in segments
        ],
    )


def live_counts() -> tuple[int, int, int, int]:
    return tuple(  # type: ignore[return-value]
        db.session.scalar(select(func.count()).select_from(model)) or 0
        for model in (Round, LiveTeam, LiveTeamMember, LiveSegment)
    )


def audited(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def edit_form(client: FlaskClient, final: LiveFinal, **fields: Any) -> dict[str, Any]:
    return live_form(
        csrf_token(client),
        final.extra["bank"],
        teams=NEW_TEAMS,
        segments=NEW_SEGMENTS,
        **fields,
    )


def input_value(text: str, name: str) -> str | None:
    match = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', text)
    if match is None:
        return None
    value = re.search(r'value="([^"]*)"', match.group(0))
    return value.group(1) if value else ""


def selected(text: str, name: str) -> str | None:
    match = re.search(rf'<select[^>]*name="{re.escape(name)}"[^>]*>(.*?)</select>', text, re.S)
    assert match is not None, name
    option = re.search(r'<option selected value="([^"]*)"', match.group(1))
    return option.group(1) if option else None


def test_the_edit_form_is_filled_from_the_stored_round(
    app: Flask, organizer_client: FlaskClient
) -> None:
    with app.app_context():
        final = live_final(teams=2, members=2, devices="members", compensation_ms=60)
        # The captain named second: the form shows the captain first.
        first = db.session.get(LiveTeam, final.teams[0])
        assert first is not None
        first.members[0].captain, first.members[1].captain = False, True
        db.session.commit()
    client = english(organizer_client)
    contest_page = client.get(f"/admin/contests/{final.contest_id}").get_data(as_text=True)
    assert f'href="/admin/live-rounds/{final.round_id}/edit"' in contest_page
    assert f'href="/admin/live-rounds/{final.round_id}/delete"' in contest_page

    page = client.get(f"/admin/live-rounds/{final.round_id}/edit")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Edit live round 现场决赛" in text and 'data-testid="save-live-round"' in text
    assert 'data-testid="redraw-hint"' in text and "draws every segment’s questions again" in text
    assert input_value(text, "title") == "现场决赛"
    assert input_value(text, "compensation_ms") == "60"
    assert '<input checked id="devices-1" name="devices" type="radio" value="members">' in text
    assert input_value(text, "teams-0-name") == "1号队"
    assert input_value(text, "teams-0-members") == "t12, t11"
    assert input_value(text, "teams-1-members") == "t21, t22"
    with app.app_context():
        units = [db.session.get(LiveTeam, team).organization_id for team in final.teams]  # type: ignore[union-attr]
    assert selected(text, "teams-0-organization_id") == str(units[0])
    assert selected(text, "teams-1-organization_id") == str(units[1])
    expected = [
        # kind, title, points, deduction, count, type
        ("required", "必答题", "10", "0", "3", "single"),
        ("choice", "选答题", "10", "0", "4", "single"),
        ("buzz", "抢答题", "10", "5", "3", "single"),
        ("risk", "风险题", "10", "0", "3", "true_false"),
        ("all", "全员答题", "10", "0", "2", "single"),
        ("tiebreak", "加赛题", "10", "0", "1", "true_false"),
    ]
    for n, (kind, title, points, deduction, count, kind_of_question) in enumerate(expected):
        assert selected(text, f"segments-{n}-kind") == kind
        assert input_value(text, f"segments-{n}-title") == title
        assert input_value(text, f"segments-{n}-points") == points
        assert input_value(text, f"segments-{n}-deduction") == deduction
        assert input_value(text, f"segments-{n}-count") == count
        assert selected(text, f"segments-{n}-type") == kind_of_question
        assert selected(text, f"segments-{n}-category") == "基础知识"
    assert input_value(text, "segments-3-tiers") == "10,20,30"
    assert input_value(text, "segments-4-speed_points") == "5"
    assert 'checked id="segments-2-pass_on_wrong"' in text
    assert 'checked id="segments-0-pass_on_wrong"' not in text
    # A blank row follows the stored ones.
    assert input_value(text, "segments-6-title") == ""
    assert input_value(text, "teams-2-name") == ""


def test_editing_through_the_page_replaces_the_teams_and_the_run_sheet(
    app: Flask, organizer_client: FlaskClient
) -> None:
    with app.app_context():
        final = live_final(teams=3)
        newbie = add_user("newbie", Role.CONTESTANT).id
        t11, t21 = (
            db.session.get(LiveTeamMember, m).user_id  # type: ignore[union-attr]
            for m in db.session.scalars(
                select(LiveTeamMember.id)
                .join(LiveTeam, LiveTeam.id == LiveTeamMember.team_id)
                .where(LiveTeam.position.in_([1, 2]))
                .order_by(LiveTeam.position)
            )
        )
        # The host opened the console before the change: its live copy has the old teams.
        assert len(service.current(final.round_id)["teams"]) == 3
    client = english(organizer_client)
    response = client.post(
        f"/admin/live-rounds/{final.round_id}/edit",
        data=edit_form(client, final, title="现场决赛（改）", devices="members"),
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"].endswith(f"/admin/contests/{final.contest_id}#live")
    with app.app_context():
        round_ = db.session.get(Round, final.round_id)
        assert round_ is not None
        assert (round_.title, round_.live) == (
            "现场决赛（改）",
            {"devices": "members", "compensation_ms": 0},
        )
        teams = db.session.scalars(
            select(LiveTeam).where(LiveTeam.round_id == final.round_id).order_by(LiveTeam.position)
        ).all()
        assert [(t.name, [(m.user_id, m.captain) for m in t.members]) for t in teams] == [
            ("红队", [(newbie, True), (t11, False)]),
            ("蓝队", [(t21, True)]),
        ]
        segments = db.session.scalars(
            select(LiveSegment)
            .where(LiveSegment.round_id == final.round_id)
            .order_by(LiveSegment.position)
        ).all()
        assert [
            (s.kind, s.title, s.points, s.deduction, len(s.questions), s.options) for s in segments
        ] == [
            (SegmentKind.BUZZ, "抢答", 25, 5, 2, {"pass_on_wrong": False}),
            (SegmentKind.ALL, "Everyone answers", 10, 0, 1, {"speed_points": 3}),
        ]
        # No member, team or segment of the old run sheet is left behind.
        assert live_counts() == (1, 2, 3, 2)
        [event] = audited("round.update_live")
        assert event.actor_name == "boss" and event.target_id == final.round_id
        assert event.contest_id == final.contest_id
        assert event.before is not None and event.after is not None
        assert event.before["teams"] == ["1号队: t11", "2号队: t21", "3号队: t31"]
        assert event.after["teams"] == ["红队: newbie, t11", "蓝队: t21"]
        assert len(event.before["segments"]) == 6 and len(event.after["segments"]) == 2
        assert (event.before["title"], event.after["title"]) == ("现场决赛", "现场决赛（改）")
        # The console shows the new teams, not the live copy of before.
        state = service.current(final.round_id)
        assert [team["name"] for team in state["teams"]] == ["红队", "蓝队"]
    page = client.get(f"/admin/contests/{final.contest_id}").get_data(as_text=True)
    assert "Live round 现场决赛（改） saved: 2 team(s), 2 segment(s), 3 question(s)" in page


def test_a_refused_edit_keeps_the_stored_round(app: Flask, organizer_client: FlaskClient) -> None:
    with app.app_context():
        final = live_final(teams=2)
        before = snapshot(final.round_id)
    client = english(organizer_client)
    url = f"/admin/live-rounds/{final.round_id}/edit"
    unknown = edit_form(client, final)
    unknown["teams-0-members"] = "nobody"
    response = client.post(url, data=unknown)
    assert response.status_code == 422
    assert "Team 1: there is no account with the username nobody." in response.get_data(
        as_text=True
    )
    too_many = live_form(
        csrf_token(client),
        final.extra["bank"],
        teams=[{"name": "红队", "members": "t11"}],
        segments=[{"kind": "buzz", "count": "99"}],
    )
    response = client.post(url, data=too_many)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Segment 1 asks for 99 questions; the bank has 12 that fit." in text
    assert 'value="99"' in text
    with app.app_context():
        assert snapshot(final.round_id) == before
        assert audited("round.update_live") == []


def test_deleting_asks_first_then_removes_the_round_with_its_teams_and_segments(
    app: Flask, organizer_client: FlaskClient
) -> None:
    with app.app_context():
        final = live_final(teams=2, members=2)
        later = setup.create_live_round(
            final.contest_id,
            title="表演赛",
            bank_id=final.extra["bank"],
            segments=[{"kind": "all", "pool": {"type": "single", "count": 1}}],
            teams=[{"name": "甲队", "members": [{"user_id": 1}]}],
        )
        later_id = later.id
        assert (later.position, live_counts()) == (2, (2, 3, 5, 7))
    client = english(organizer_client)
    url = f"/admin/live-rounds/{final.round_id}/delete"
    page = client.get(url)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Delete the live round 现场决赛?" in text
    assert "its 2 team(s) and its run sheet of 6 segment(s)" in text
    assert 'name="csrf_token"' in text and f'action="{url}"' in text
    with app.app_context():
        assert db.session.get(Round, final.round_id) is not None  # the page itself deletes nothing

    response = client.post(url, data={"csrf_token": csrf_token(client)})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/contests/{final.contest_id}#live")
    with app.app_context():
        assert db.session.get(Round, final.round_id) is None
        assert live_counts() == (1, 1, 1, 1)  # the other round's only
        assert db.session.get(Round, later_id).position == 1  # type: ignore[union-attr]
        [event] = audited("round.delete_live")
        assert event.target_id == final.round_id and event.actor_name == "boss"
        assert event.before is not None and event.before["teams"] == [
            "1号队: t11, t12",
            "2号队: t21, t22",
        ]
    contest_page = client.get(f"/admin/contests/{final.contest_id}").get_data(as_text=True)
    assert "The live round 现场决赛 is deleted." in contest_page
    assert client.get(url).status_code == 404


def test_once_the_host_has_started_nothing_can_be_changed_or_deleted(
    app: Flask, organizer_client: FlaskClient
) -> None:
    with app.app_context():
        final = live_final(teams=2)
        service.act(final.round_id, "start", {})
        before = snapshot(final.round_id)
        counts = live_counts()
    client = english(organizer_client)
    contest_url = f"/admin/contests/{final.contest_id}"
    page = client.get(contest_url).get_data(as_text=True)
    assert "Started on the day" in page
    assert f"/admin/live-rounds/{final.round_id}/edit" not in page
    assert f"/admin/live-rounds/{final.round_id}/delete" not in page

    edit_url = f"/admin/live-rounds/{final.round_id}/edit"
    delete_url = f"/admin/live-rounds/{final.round_id}/delete"
    form = edit_form(client, final)
    for request in (
        lambda: client.get(edit_url),
        lambda: client.post(edit_url, data=form),
        lambda: client.get(delete_url),
        lambda: client.post(delete_url, data={"csrf_token": form["csrf_token"]}),
    ):
        response = request()
        assert response.status_code == 302
        assert response.headers["Location"].endswith(f"{contest_url}#live")
        shown = client.get(contest_url).get_data(as_text=True)
        assert "The host has started this live round" in shown
    with app.app_context():
        assert snapshot(final.round_id) == before and live_counts() == counts
        assert audited("round.update_live") == audited("round.delete_live") == []
        for call in (
            lambda: setup.update_live_round(
                final.round_id, title="决赛", bank_id=final.extra["bank"], segments=RUN_SHEET
            ),
            lambda: setup.delete_live_round(final.round_id),
        ):
            with pytest.raises(Conflict) as refused:
                call()
            assert refused.value.code == "live_started"
            db.session.rollback()
        assert snapshot(final.round_id) == before


def test_a_finished_contest_s_live_round_stays_as_it_is(
    app: Flask, organizer_client: FlaskClient
) -> None:
    with app.app_context():
        final = live_final(teams=2)
        contest_service.get_contest(final.contest_id).status = ContestStatus.FINISHED
        db.session.commit()
        before = snapshot(final.round_id)
    client = english(organizer_client)
    page = client.get(f"/admin/contests/{final.contest_id}").get_data(as_text=True)
    assert f"/admin/live-rounds/{final.round_id}/edit" not in page
    response = client.post(
        f"/admin/live-rounds/{final.round_id}/delete", data={"csrf_token": csrf_token(client)}
    )
    assert response.status_code == 302
    page = client.get(f"/admin/contests/{final.contest_id}").get_data(as_text=True)
    assert "its live rounds can no longer be changed" in page
    with app.app_context():
        assert snapshot(final.round_id) == before
        with pytest.raises(Conflict) as refused:
            setup.delete_live_round(final.round_id)
        assert refused.value.code == "contest_closed"


def test_a_paper_round_is_no_live_round(app: Flask, organizer_client: FlaskClient) -> None:
    with app.app_context():
        final = live_final(teams=1)
        paper = paper_round(final.extra["bank"]).id
        with pytest.raises(NotFound):
            setup.delete_live_round(paper)
    for url in (f"/admin/live-rounds/{paper}/edit", f"/admin/live-rounds/{paper}/delete"):
        assert organizer_client.get(url).status_code == 404
    assert organizer_client.get("/admin/live-rounds/9999/edit").status_code == 404


def test_contestants_anonymous_users_and_posts_without_csrf_are_refused(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        final = live_final(teams=2)
        before = snapshot(final.round_id)
    edit_url = f"/admin/live-rounds/{final.round_id}/edit"
    delete_url = f"/admin/live-rounds/{final.round_id}/delete"
    data = edit_form(client, final)
    for response in (
        client.get(edit_url),
        client.post(edit_url, data=data),
        client.get(delete_url),
        client.post(delete_url, data={"csrf_token": data["csrf_token"]}),
    ):
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert api_login(client, "t11", PASSWORD).status_code == 200
    token = csrf_token(client)
    data["csrf_token"] = token
    for response in (
        client.get(edit_url),
        client.post(edit_url, data=data),
        client.get(delete_url),
        client.post(delete_url, data={"csrf_token": token}),
    ):
        assert response.status_code == 403
    client.post("/api/v1/session/logout", headers={"X-CSRFToken": token})
    organizer = english(app.test_client())
    assert api_login(organizer, "host", PASSWORD).status_code == 200
    del data["csrf_token"]
    assert organizer.post(edit_url, data=data).status_code == 403
    assert organizer.post(delete_url, data={}).status_code == 403
    with app.app_context():
        assert snapshot(final.round_id) == before
        assert audited("round.update_live") == audited("round.delete_live") == []


# The API -----------------------------------------------------------------------------------------


def api_client(app: Flask, username: str) -> tuple[FlaskClient, dict[str, str]]:
    client = app.test_client()
    assert api_login(client, username, PASSWORD).status_code == 200
    return client, {"X-CSRFToken": csrf_token(client)}


def api_body(final: LiveFinal, user_ids: list[int]) -> dict[str, Any]:
    return {
        "title": "总决赛",
        "bank_id": final.extra["bank"],
        "devices": "members",
        "compensation_ms": 40,
        "teams": [
            {"name": "红队", "members": [{"user_id": user_ids[1]}, {"user_id": user_ids[0]}]},
        ],
        "segments": [
            {"kind": "risk", "tiers": [5, 15], "pool": {"type": "single", "count": 2}},
        ],
    }


def test_the_api_updates_and_deletes_a_live_round_before_the_day(app: Flask) -> None:
    with app.app_context():
        final = live_final(teams=2)
        members = [
            m.user_id
            for team_id in final.teams
            for m in db.session.get(LiveTeam, team_id).members  # type: ignore[union-attr]
        ]
        before = snapshot(final.round_id)
    url = f"/api/v1/rounds/{final.round_id}/live-round"
    body = api_body(final, members)
    member, member_headers = api_client(app, "t11")
    assert member.put(url, json=body, headers=member_headers).status_code == 403
    assert member.delete(url, headers=member_headers).status_code == 403
    anonymous = app.test_client()
    assert anonymous.put(url, json=body).status_code in (401, 403)
    host, headers = api_client(app, "host")
    assert host.put(url, json=body).status_code in (400, 403)  # no CSRF token
    assert host.delete(url).status_code in (400, 403)
    with app.app_context():
        assert snapshot(final.round_id) == before

    invalid = host.put(url, json={**body, "segments": [{"kind": "nope"}]}, headers=headers)
    assert invalid.status_code == 422
    with app.app_context():
        assert snapshot(final.round_id) == before

    response = host.put(url, json=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {
        "id": final.round_id,
        "contest_id": final.contest_id,
        "title": "总决赛",
        "mode": "live",
    }
    with app.app_context():
        round_ = db.session.get(Round, final.round_id)
        assert round_ is not None and round_.live == {"devices": "members", "compensation_ms": 40}
        [team] = db.session.scalars(select(LiveTeam).where(LiveTeam.round_id == final.round_id))
        assert [(m.user_id, m.captain) for m in team.members] == [
            (members[1], True),
            (members[0], False),
        ]
        [segment] = db.session.scalars(
            select(LiveSegment).where(LiveSegment.round_id == final.round_id)
        )
        assert (segment.kind, segment.options, len(segment.questions)) == (
            SegmentKind.RISK,
            {"tiers": [5, 15]},
            2,
        )
        assert len(audited("round.update_live")) == 1

    assert host.delete(url, headers=headers).status_code == 204
    with app.app_context():
        assert db.session.get(Round, final.round_id) is None
        assert live_counts() == (0, 0, 0, 0)
        assert len(audited("round.delete_live")) == 1
    assert host.delete(url, headers=headers).status_code == 404
    assert host.put(url, json=body, headers=headers).status_code == 404


def test_the_api_refuses_both_once_the_host_has_started(app: Flask) -> None:
    with app.app_context():
        final = live_final(teams=2)
        paper = paper_round(final.extra["bank"]).id
        members = [add_user("spare", Role.CONTESTANT).id, add_user("spare2", Role.CONTESTANT).id]
    url = f"/api/v1/rounds/{final.round_id}/live-round"
    body = api_body(final, members)
    host, headers = api_client(app, "host")
    paper_url = f"/api/v1/rounds/{paper}/live-round"
    assert host.put(paper_url, json=body, headers=headers).status_code == 404
    assert host.delete(paper_url, headers=headers).status_code == 404
    started = host.post(
        f"/api/v1/rounds/{final.round_id}/live/actions",
        json={"action": "start"},
        headers=headers,
    )
    assert started.status_code == 200
    with app.app_context():
        before = snapshot(final.round_id)
    for response in (
        host.put(url, json=body, headers=headers),
        host.delete(url, headers=headers),
    ):
        assert response.status_code == 409
        assert response.get_json()["error"]["code"] == "live_started"
    with app.app_context():
        assert snapshot(final.round_id) == before
        assert contest_service.get_round(final.round_id).mode == "live"
