"""The live final's pages: the host's console, a team's phone and the big screen (and its
stream overlay). Who may open each, what the pages carry for their scripts, and that neither
the big screen nor a phone is ever handed a key before the reveal."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from contest.extensions import db
from contest.live_final import service
from contest.models import Contest, ContestStatus, Role, Round
from tests.conftest import add_user, api_login
from tests.support.contests import paper_round
from tests.support.live import LiveFinal, live_final

STATIC = Path(__file__).resolve().parents[1] / "contest" / "static"
ASSET = re.compile(r"""(?:src|href)="(/static/[^"]+)\"""")
ATTR = re.compile(r"""data-([\w-]+)=(?:"([^"]*)"|'([^']*)')""")


@pytest.fixture
def final(app: Flask) -> LiveFinal:
    with app.app_context():
        return live_final(teams=3)


def signed_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    assert api_login(client, username).status_code == 200
    return client


def page(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    assert "text/html" in response.content_type
    return response.get_data(as_text=True)


def root_data(text: str, root_id: str) -> dict[str, str]:
    """The data-* attributes of the page's root element, unescaped."""
    tag = re.search(rf'<div id="{root_id}"[^>]*>', text, re.S)
    assert tag, root_id
    return {name: unescape(dq or sq) for name, dq, sq in ATTR.findall(tag.group(0))}


def assert_csp_safe(text: str) -> None:
    """Scripts and styles only from files: no inline script, style attribute or handler."""
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), "inline <script>"
    assert not re.search(r"\sstyle=", text), "style attribute"
    assert not re.search(r"<style", text), "<style> element"
    assert not re.search(r"\son[a-z]+=", text), "event handler attribute"
    for asset in ASSET.findall(text):
        assert (STATIC / asset.removeprefix("/static/")).is_file(), asset


def act(app: Flask, round_id: int, *actions: tuple[str, dict[str, Any]]) -> None:
    with app.app_context():
        for kind, payload in actions:
            service.act(round_id, kind, payload)


# The host's console --------------------------------------------------------------------------


def test_the_host_console_is_for_organizers(app: Flask, final: LiveFinal) -> None:
    url = f"/live/{final.round_id}/host"
    text = page(signed_in(app, final.organizer), url)
    assert '<html lang="zh-CN">' in text
    assert "主持控制台" in text and "现场决赛" in text
    data = root_data(text, "live-host")
    assert data["actions-url"] == f"/api/v1/rounds/{final.round_id}/live/actions"
    assert data["stream-url"] == f"/api/v1/rounds/{final.round_id}/live/stream?view=host"
    assert data["state-url"] == f"/api/v1/rounds/{final.round_id}/live?view=host"
    assert data["csrf-token"]
    strings = json.loads(data["strings"])
    assert strings["kind_buzz"] == "抢答" and strings["phase_armed"] == "已开放抢答"
    # Every action a button with its key, and the keys written on the page.
    for action, key in (
        ("start", "g"),
        ("next", "n"),
        ("open", "o"),
        ("arm", "a"),
        ("judge-correct", "j"),
        ("judge-wrong", "x"),
        ("judge-device", "d"),
        ("reveal", "r"),
        ("standings", "s"),
        ("undo", "u"),
        ("pause", "p"),
        ("finish", "f"),
    ):
        assert re.search(rf'data-action="{action}" data-key="{key}"', text), action
        assert f"<kbd>{key.upper()}</kbd>" in text
    assert 'id="confirm-finish"' in text and 'id="adjust-reason"' in text
    assert_csp_safe(text)


def test_the_host_console_refuses_everyone_else(app: Flask, final: LiveFinal) -> None:
    url = f"/live/{final.round_id}/host"
    anonymous = app.test_client().get(url)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert signed_in(app, final.usernames[0][0]).get(url).status_code == 403


def test_a_draft_contest_s_final_can_be_rehearsed_on_the_host_console_only(app: Flask) -> None:
    with app.app_context():
        final = live_final(teams=2, contest_status=ContestStatus.DRAFT)
    host = signed_in(app, final.organizer)
    text = page(host, f"/live/{final.round_id}/host")
    assert 'data-testid="draft-notice"' in text
    assert host.get(f"/live/{final.round_id}/screen").status_code == 404
    anonymous = app.test_client()
    assert anonymous.get(f"/live/{final.round_id}/screen").status_code == 404
    player = signed_in(app, final.usernames[0][0])
    assert player.get(f"/live/{final.round_id}/team").status_code == 404


def test_rounds_that_are_not_live_are_404_on_every_page(app: Flask, final: LiveFinal) -> None:
    with app.app_context():
        live = db.session.get(Round, final.round_id)
        assert live is not None
        paper = paper_round(live.bank_id).id
    host = signed_in(app, final.organizer)
    player = signed_in(app, final.usernames[0][0])
    for round_id in (paper, 9999):
        assert host.get(f"/live/{round_id}/host").status_code == 404
        assert player.get(f"/live/{round_id}/team").status_code == 404
        assert app.test_client().get(f"/live/{round_id}/screen").status_code == 404


# A team's phone --------------------------------------------------------------------------------


def test_a_member_opens_the_team_page(app: Flask, final: LiveFinal) -> None:
    url = f"/live/{final.round_id}/team"
    text = page(signed_in(app, final.usernames[1][0]), url)
    data = root_data(text, "live-team")
    assert data["team-id"] == str(final.teams[1])
    assert data["answers"] == "true"  # one device per team: any member answers
    assert data["buzz-url"] == f"/api/v1/rounds/{final.round_id}/live/buzz"
    assert data["answer-url"] == f"/api/v1/rounds/{final.round_id}/live/answer"
    assert data["stream-url"] == f"/api/v1/rounds/{final.round_id}/live/stream?view=team"
    assert 'id="team-name"' in text and "2号队" in text
    assert 'id="buzz"' in text and 'id="buzz-result"' in text
    assert "等待决赛开始" in text  # the lobby, in Chinese
    # The standings, this team marked, every team listed.
    mine = re.search(rf'<li class="standing[^"]*"\s+data-team-id="{final.teams[1]}"', text)
    assert mine and "mine" in mine.group(0)
    assert all(f'data-team-id="{team}"' in text for team in final.teams)
    strings = json.loads(data["strings"])
    assert strings["buzz_won"].startswith("你们抢到了")
    assert_csp_safe(text)
    # No log-out button on the phone: a slip of the thumb would leave the final.
    assert "/logout" not in text


def test_the_team_page_refuses_everyone_else(app: Flask, final: LiveFinal) -> None:
    url = f"/live/{final.round_id}/team"
    anonymous = app.test_client().get(url)
    assert anonymous.status_code == 302
    assert "/login?next=" in anonymous.headers["Location"]
    assert signed_in(app, final.organizer).get(url).status_code == 403
    with app.app_context():
        add_user("outsider", Role.CONTESTANT)
    assert signed_in(app, "outsider").get(url).status_code == 404


def test_with_every_member_s_phone_only_the_captain_answers(app: Flask) -> None:
    with app.app_context():
        final = live_final(teams=2, members=2, devices="members")
    url = f"/live/{final.round_id}/team"
    captain, member = final.usernames[0]
    assert root_data(page(signed_in(app, captain), url), "live-team")["answers"] == "true"
    text = page(signed_in(app, member), url)
    assert root_data(text, "live-team")["answers"] == "false"
    assert 'id="captain-only"' in text


# The big screen --------------------------------------------------------------------------------


def test_the_big_screen_is_public(app: Flask, client: FlaskClient, final: LiveFinal) -> None:
    text = page(client, f"/live/{final.round_id}/screen")
    assert '<html lang="zh-CN">' in text
    data = root_data(text, "live-screen")
    assert data["layout"] == "full"
    assert data["stream-url"] == f"/api/v1/rounds/{final.round_id}/live/stream?view=screen"
    assert "决赛即将开始" in text
    assert all(f"{n}号队" in text for n in (1, 2, 3)) and "第1区" in text
    assert_csp_safe(text)
    overlay = page(client, f"/live/{final.round_id}/screen?layout=overlay")
    assert root_data(overlay, "live-screen")["layout"] == "overlay"
    assert 'data-layout="overlay"' in overlay
    odd = page(client, f"/live/{final.round_id}/screen?layout=<b>")
    assert root_data(odd, "live-screen")["layout"] == "full"
    client.set_cookie("lang", "en")
    english = page(client, f"/live/{final.round_id}/screen")
    assert (
        "The final starts soon" in english
        and json.loads(root_data(english, "live-screen")["strings"])["buzz_now"] == "Buzz now!"
    )


def test_no_key_reaches_the_screen_or_a_phone_before_the_reveal(
    app: Flask, client: FlaskClient, final: LiveFinal
) -> None:
    required = final.segments[0]
    act(app, final.round_id, ("start", {}), ("segment", {"segment_id": required}))
    act(app, final.round_id, ("next", {}), ("open", {}))
    with app.app_context():
        state = service.current(final.round_id)
        question = state["questions"][str(state["step"]["question"])]
    key_html = question["explanation_html"]
    assert "单选解析" in key_html  # the bank's explanations: 单选解析<n>
    player = signed_in(app, final.usernames[0][0])
    for viewer, url, root in (
        (client, f"/live/{final.round_id}/screen", "live-screen"),
        (client, f"/live/{final.round_id}/screen?layout=overlay", "live-screen"),
        (player, f"/live/{final.round_id}/team", "live-team"),
    ):
        text = page(viewer, url)
        assert "单选解析" not in text, url
        # The view its script follows carries no key either.
        view = viewer.get(root_data(text, root)["state-url"]).get_json()
        assert view["step"]["phase"] == "open"
        assert "answer" not in view["step"]["question"]
        assert "explanation_html" not in view["step"]["question"]
    # After the reveal the screen's view has it (the page's script shows it).
    act(app, final.round_id, ("judge", {"correct": True}), ("reveal", {}))
    shown = client.get(f"/api/v1/rounds/{final.round_id}/live?view=screen").get_json()
    assert shown["step"]["question"]["explanation_html"] == key_html


def test_standings_are_drawn_in_rank_order_for_the_first_paint(
    app: Flask, client: FlaskClient, final: LiveFinal
) -> None:
    act(app, final.round_id, ("start", {}))
    with app.app_context():
        for team, points in ((final.teams[2], 20), (final.teams[0], 10)):
            service.act(
                final.round_id, "adjust", {"points": points, "reason": "演示"}, team_id=team
            )
    text = page(client, f"/live/{final.round_id}/screen")
    order = [int(t) for t in re.findall(r'<li class="standing[^"]*"\s+data-team-id="(\d+)"', text)]
    assert order == [final.teams[2], final.teams[0], final.teams[1]]
    assert 'data-rank="1" data-score="20"' in text


def test_finished_contests_keep_their_screen(
    app: Flask, client: FlaskClient, final: LiveFinal
) -> None:
    with app.app_context():
        contest = db.session.get(Contest, final.contest_id)
        assert contest is not None
        contest.status = ContestStatus.FINISHED
        db.session.commit()
    assert client.get(f"/live/{final.round_id}/screen").status_code == 200
