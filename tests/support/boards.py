"""Filling and reading leaderboards: attempts sat and scored by a real worker, entries seeded
straight into Redis, freeze times set, public boards read as a spectator reads them."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import Flask

from contest.extensions import db, redis_hub
from contest.models import Organization, Round
from contest.services import leaderboards
from tests.support.players import Player, answer_for
from workers import queues
from workers.boards import render_pending
from workers.runner import make_worker


def sit(app: Flask, player: Player, round_id: int, right: int) -> int:
    """Start, answer the first ``right`` questions correctly (the rest wrongly), submit."""
    attempt = player.call("POST", f"/api/v1/rounds/{round_id}/attempts").get_json()
    for n, item in enumerate(attempt["items"]):
        player.call(
            "PUT",
            f"/api/v1/attempts/{attempt['id']}/items/{item['position']}",
            {"answer": answer_for(item, n < right), "seq": n + 1},
        )
    assert player.call("POST", f"/api/v1/attempts/{attempt['id']}/submission").status_code == 200
    player.expected = sum(item["points"] for item in attempt["items"][:right])  # type: ignore[attr-defined]
    return int(attempt["id"])


def settle(app: Flask) -> None:
    """Score everything queued with a real worker, then render what is dirty."""
    make_worker(app, [queues.SCORING]).work(burst=True)
    with app.app_context():
        render_pending(redis_hub.client, wait=False)


_PUBLIC_BOARDS = (
    (re.compile(r"^/api/v1/rounds/(\d+)/leaderboard$"), leaderboards.round_board),
    (re.compile(r"^/api/v1/contests/(\d+)/leaderboard$"), leaderboards.contest_board),
    (
        re.compile(r"^/api/v1/contests/(\d+)/organizations/leaderboard$"),
        leaderboards.organization_board,
    ),
)


def _stored_version(app: Flask, url: str) -> int | None:
    """The version of the public board ``url`` reads, as stored in Redis (None: not one)."""
    for pattern, name in _PUBLIC_BOARDS:
        found = pattern.match(url)
        if found:
            with app.app_context():
                return leaderboards.board_version(redis_hub.client, name(int(found.group(1))))
    return None


def board(app: Flask, url: str, **headers: str) -> Any:
    """A public board as a spectator reads it once the process has heard of the last render.

    Plain reads are served from the process's page cache, which the board hub's subscriber
    thread invalidates when a render is announced on pub/sub: a read right after a render may
    come before that announcement is heard (as in production, for milliseconds). Wait until the
    version served is the one stored."""
    stored = _stored_version(app, url)
    deadline = time.monotonic() + 10
    while True:
        response = app.test_client().get(url, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        if stored is None or time.monotonic() > deadline:
            return response.get_json()
        if int(response.headers["ETag"].strip('"').split("-")[0]) >= stored:
            return response.get_json()
        time.sleep(0.01)


def freeze(app: Flask, round_id: int, at: datetime) -> None:
    """Set the round's freeze time as an organizer's edit does, then render."""
    with app.app_context():
        round_ = db.session.get(Round, round_id)
        assert round_ is not None
        round_.freeze_at = at
        leaderboards.settings_changed(round_.contest_id)
        db.session.commit()
        render_pending(redis_hub.client, wait=False)


def seed_board(
    app: Flask, round_id: int, rows: Sequence[tuple[str, str, int, int]], first: int = 0
) -> None:
    """Put entries (name, organization, score, seconds) straight into a round's raw hash and
    render the contest's boards, as scoring would (for layouts with many rows). The n-th row
    is contestant ``first + n``: seeding again with the same number replaces their entry."""
    with app.app_context():
        round_ = db.session.get(Round, round_id)
        assert round_ is not None
        orgs: dict[str, int] = {}
        for name in {org for _, org, _, _ in rows}:
            existing = db.session.scalar(db.select(Organization).filter_by(name=name))
            org = existing or Organization(name=name)
            db.session.add(org)
            db.session.flush()
            orgs[name] = org.id
        db.session.commit()
        start = datetime.now(UTC) - timedelta(minutes=30)
        mapping = {}
        for n, (name, org_name, score, seconds) in enumerate(rows, start=first):
            user_id = 100_000 + round_id * 1000 + n
            entry = leaderboards.RawEntry(
                user_id, name, orgs[org_name], org_name, Decimal(score), seconds,
                start + timedelta(seconds=n), user_id,
            )  # fmt: skip
            mapping[str(user_id)] = entry.to_json()
        redis_hub.client.hset(leaderboards.raw_key(round_id), mapping=mapping)
        leaderboards.render_contest(redis_hub.client, round_.contest_id)
