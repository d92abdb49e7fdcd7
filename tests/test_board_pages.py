"""The spectators' pages: public boards and the big screen, for anonymous visitors.

They show what the public API shows (masked names, frozen boards held), in Chinese by default and
in English on request; organizer-only boards and unknown ids are 404; the big screen carries a QR
code of the join URL; nothing is loaded from outside the app.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from contest.boards import views
from contest.extensions import db, redis_hub
from contest.models import (
    BoardVisibility,
    Contest,
    ContestStatus,
    RegistrationMode,
    Round,
)
from contest.services import leaderboards
from tests.support.boards import seed_board, settle, sit
from tests.support.contests import paper_round, published_bank
from tests.support.players import Player
from workers.boards import render_pending

STATIC = Path(__file__).resolve().parents[1] / "contest" / "static"
URL = re.compile(r"""https?://[^\s"'<>)]+""")
ASSET = re.compile(r"""(?:src|href)="(/static/[^"]+)\"""")


@pytest.fixture
def round_id(app: Flask) -> int:
    with app.app_context():
        return paper_round(published_bank(), attempts_allowed=0).id


def contest_of(app: Flask, round_id: int) -> int:
    with app.app_context():
        round_ = db.session.get(Round, round_id)
        assert round_ is not None
        return round_.contest_id


def english(client: FlaskClient) -> FlaskClient:
    client.set_cookie("lang", "en")
    return client


def page(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    assert "text/html" in response.content_type
    return response.get_data(as_text=True)


def test_round_board_shows_the_scored_entries_masked_in_chinese(
    app: Flask, client: FlaskClient, round_id: int
) -> None:
    sit(app, Player(app, "wang"), round_id, right=10)
    sit(app, Player(app, "zhao"), round_id, right=4)
    settle(app)
    text = page(client, f"/boards/rounds/{round_id}")
    assert '<html lang="zh-CN">' in text
    assert "排行榜" in text and "总榜" in text
    assert text.index("w****名") < text.index("z****名")  # ranked: wang scored more
    assert "wang 名" not in text and "zhao 名" not in text  # names are masked
    assert 'data-stat="submissions">2<' in text
    assert 'data-stat="contestants">2<' in text
    assert f'data-stream-url="/api/v1/rounds/{round_id}/leaderboard/stream' in text
    assert 'id="board-i18n"' in text and "实时" in text  # board.js's words, translated


def test_contest_board_in_english_selects_the_open_round(
    app: Flask, client: FlaskClient, round_id: int
) -> None:
    seed_board(app, round_id, [("张三丰", "东区", 18, 300), ("李四", "西区", 12, 200)])
    contest_id = contest_of(app, round_id)
    text = page(english(client), f"/boards/contests/{contest_id}")
    assert '<html lang="en">' in text
    assert "Leaderboard" in text and "Overall" in text and "Organizations" in text
    assert f'href="/boards/rounds/{round_id}" aria-current="page"' in text
    # On the round's board and the overall board:
    assert text.count('<span class="name">张*丰</span>') == 2
    assert "东区" in text and "西区" in text
    assert "5:00" in text  # time used, as m:ss
    assert "No results yet." in text  # the hidden placeholder for an empty board stays ready


def test_frozen_boards_say_so(app: Flask, client: FlaskClient, round_id: int) -> None:
    text = page(client, f"/boards/rounds/{round_id}")
    assert re.search(r'data-testid="frozen"\s+hidden', text)
    with app.app_context():
        round_ = db.session.get(Round, round_id)
        assert round_ is not None
        round_.freeze_at = datetime.now(UTC) - timedelta(minutes=1)
        leaderboards.settings_changed(round_.contest_id)
        db.session.commit()
        render_pending(redis_hub.client, wait=False)
    text = page(client, f"/boards/rounds/{round_id}")
    assert re.search(r'data-testid="frozen">', text)
    assert "封榜" in text


def test_unknown_ids_and_organizer_only_boards_are_404(
    app: Flask, client: FlaskClient, round_id: int
) -> None:
    contest_id = contest_of(app, round_id)
    for url in ("/boards/rounds/9999", "/boards/contests/9999", "/boards/contests/9999/screen"):
        response = client.get(url)
        assert response.status_code == 404 and "text/html" in response.content_type
    urls = (
        f"/boards/rounds/{round_id}",
        f"/boards/contests/{contest_id}",
        f"/boards/contests/{contest_id}/screen",
    )
    assert all(client.get(url).status_code == 200 for url in urls)
    with app.app_context():
        contest = db.session.get(Contest, contest_id)
        assert contest is not None
        contest.board_visibility = BoardVisibility.ORGANIZERS
        db.session.commit()
    for url in urls:
        response = client.get(url)
        assert response.status_code == 404, url
        assert "排行榜" not in response.get_data(as_text=True)


def test_the_big_screen_has_a_qr_code_of_the_join_url(
    app: Flask, client: FlaskClient, round_id: int
) -> None:
    seed_board(app, round_id, [(f"选手{n:02d}", "东区", 20 - n, 100 + n) for n in range(15)])
    contest_id = contest_of(app, round_id)
    text = page(client, f"/boards/contests/{contest_id}/screen")
    join = f"http://localhost/rounds/{round_id}"  # the open round's lobby
    assert re.search(r'data-testid="join-url">\s*' + re.escape(join) + r"\s*<", text)
    svg = re.search(r'<svg[^>]*class="qr-code"[^>]*>.*?</svg>', text, re.S)
    assert svg and "<path" in svg.group(0)  # segno's SVG, inline
    assert 'data-rotate="15"' in text
    # Each board shows its top ten: the round, the overall board, the organizations.
    assert text.count('data-testid="slide"') == 3
    assert text.count("<tr data-key=") == 10 + 10 + 1  # one organization
    assert '<span class="name">选手' not in text and 'data-limit="10"' in text  # 选**0
    assert 'data-rotate="2"' in page(client, f"/boards/contests/{contest_id}/screen?rotate=2")
    assert 'data-rotate="2"' in page(client, f"/boards/contests/{contest_id}/screen?rotate=1")
    assert 'data-rotate="120"' in page(client, f"/boards/contests/{contest_id}/screen?rotate=999")


def test_the_join_link_follows_the_public_url_not_the_host_header(
    app: Flask, client: FlaskClient, round_id: int
) -> None:
    url = f"/boards/contests/{contest_of(app, round_id)}/screen"
    spoofed = client.get(url, headers={"Host": "evil.example"})
    assert spoofed.headers["Cache-Control"] == "no-cache, private"  # never one page for all hosts
    app.config["CONTEST_PUBLIC_URL"] = "https://contest.example.cn"
    text = client.get(url, headers={"Host": "evil.example"}).get_data(as_text=True)
    join = f"https://contest.example.cn/rounds/{round_id}"
    assert re.search(r'data-testid="join-url">\s*' + re.escape(join) + r"\s*<", text)
    assert "evil.example" not in text


def test_a_made_up_host_of_thousands_of_characters_gets_no_qr_code(
    app: Flask, client: FlaskClient, round_id: int
) -> None:
    """Without CONTEST_PUBLIC_URL the code encodes the Host header: a huge made-up one would
    cost a tenth of a second of CPU per request (or a 500 from segno), so it gets the link
    only. Codes are drawn once per URL."""
    url = f"/boards/contests/{contest_of(app, round_id)}/screen"
    host = ".".join(["a" * 60] * 40) + ".example"  # 2,448 characters, every label valid
    response = client.get(url, headers={"Host": host})
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert 'class="qr-code"' not in text and 'data-testid="join-url"' in text
    views.qr_svg.cache_clear()
    for _ in range(3):
        assert 'class="qr-code"' in page(client, url)
    assert views.qr_svg.cache_info().misses == 1


def test_an_offset_past_the_end_of_anything_is_clamped(
    app: Flask, client: FlaskClient, round_id: int
) -> None:
    text = page(client, f"/boards/rounds/{round_id}?offset=" + "9" * 200)
    offsets = {int(o) for o in re.findall(r"/api/v1/[^\"]*offset=(\d+)", text)}
    assert max(offsets) == 1_000_000  # what the board API (and its stream) accept


def test_a_contest_without_rounds_joins_from_the_home_page(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        contest = Contest(title="空赛", status=ContestStatus.PUBLISHED)
        db.session.add(contest)
        db.session.commit()
        contest_id = contest.id
    assert "暂无" in page(client, f"/boards/contests/{contest_id}")
    text = page(client, f"/boards/contests/{contest_id}/screen")
    assert 'data-testid="join-url">http://localhost/<' in text


def test_pages_load_nothing_from_outside_and_every_asset_exists(
    app: Flask, client: FlaskClient, round_id: int
) -> None:
    seed_board(app, round_id, [("张三", "东区", 10, 60)])
    contest_id = contest_of(app, round_id)
    urls = (
        f"/boards/rounds/{round_id}",
        f"/boards/contests/{contest_id}",
        f"/boards/contests/{contest_id}/screen",
    )
    for url in urls:
        response = client.get(url)
        text = response.get_data(as_text=True)
        outside = [u for u in URL.findall(text) if not u.startswith("http://localhost/")]
        assert not outside, f"{url} refers to {outside}"
        assert "style=" not in text  # the CSP refuses inline styles
        assert not re.search(r"<script(?![^>]*(\bsrc=|application/json))", text)  # nor scripts
        assets = ASSET.findall(text)
        assert "/static/js/board.js" in assets and "/static/css/board.css" in assets
        for asset in assets:
            assert (STATIC / asset.removeprefix("/static/")).is_file(), asset
            with client.get(asset) as served:
                assert served.status_code == 200, asset
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_pager_moves_through_a_long_board(app: Flask, client: FlaskClient, round_id: int) -> None:
    seed_board(app, round_id, [(f"选手{n:03d}", "东区", 200 - n, 60) for n in range(60)])
    english(client)
    first = page(client, f"/boards/rounds/{round_id}")
    assert "Places 1–50 of 60" in first and "offset=50" in first
    second = page(client, f"/boards/rounds/{round_id}?offset=50")
    round_part = second.split('id="overall"')[0]
    assert "Places 51–60 of 60" in second and round_part.count("<tr data-key=") == 10
    assert f"/api/v1/rounds/{round_id}/leaderboard/stream?offset=50&amp;limit=50" in second


def test_contestant_and_organizer_pages_link_to_the_public_board(app: Flask, round_id: int) -> None:
    contest_id = contest_of(app, round_id)
    player = Player(app, "sun")
    home = player.client.get("/").get_data(as_text=True)
    assert f'href="/boards/contests/{contest_id}"' in home
    lobby = player.client.get(f"/rounds/{round_id}").get_data(as_text=True)
    assert f'href="/boards/rounds/{round_id}"' in lobby
    with app.app_context():
        contest = db.session.get(Contest, contest_id)
        assert contest is not None
        contest.board_visibility = BoardVisibility.ORGANIZERS
        db.session.commit()
    assert "/boards/" not in player.client.get("/").get_data(as_text=True)


def test_the_landing_page_lists_public_boards_only(app: Flask, client: FlaskClient) -> None:
    """A spectator without a link finds the boards from the home page: contests with public
    boards and a round, newest first; organizer-only boards are not listed."""
    with app.app_context():
        bank = published_bank()
        shown = paper_round(bank, contest_title="公开赛").contest_id
        newer = paper_round(bank, contest_title="新赛").contest_id
        hidden = paper_round(bank, contest_title="内部赛").contest
        hidden.board_visibility = BoardVisibility.ORGANIZERS
        roster = paper_round(bank, contest_title="名单赛").contest  # its link still works
        roster.registration_mode = RegistrationMode.ROSTER
        db.session.add(Contest(title="无场次赛", status=ContestStatus.PUBLISHED))
        db.session.commit()
    text = page(client, "/")
    links = re.findall(r'href="/boards/contests/(\d+)">([^<]+)</a>', text)
    assert links == [(str(newer), "新赛"), (str(shown), "公开赛")]
    assert "内部赛" not in text and "无场次赛" not in text and "名单赛" not in text


def test_a_finished_contest_shows_final_standings_and_no_join_code(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        round_ = paper_round(published_bank(), closes_at=datetime.now(UTC) - timedelta(minutes=1))
        round_id, contest_id = round_.id, round_.contest_id
    board_page = page(client, f"/boards/rounds/{round_id}")
    assert re.search(r'class="tab-status"[^>]*>已结束<', board_page)
    assert "· 最终结果" in board_page
    screen = page(client, f"/boards/contests/{contest_id}/screen")
    assert 'data-testid="contest-over"' in screen and "本场竞赛已结束" in screen
    assert 'class="qr-code"' not in screen and 'data-testid="join-url"' not in screen
