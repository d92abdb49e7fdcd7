"""Rebuilding the boards from the database, checking Redis against a recomputation, and the
organizers' live standings."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import redis
from sqlalchemy import select

from contest.extensions import db
from contest.models import Contest, Round
from contest.services.leaderboards.board_documents import (
    _stats,
    boards_public,
    documents,
    dumps,
    load_contest_data,
)
from contest.services.leaderboards.entries import counting_entries
from contest.services.leaderboards.keys import EPOCH, board_key, round_board
from contest.services.leaderboards.standings import entry_rows, ranked
from contest.services.leaderboards.store import (
    board_version,
    read_raw,
    render_contest,
    store_round_entries,
)


def rebuild_contest(client: redis.Redis, contest_id: int, now: datetime | None = None) -> int:
    """Recompute a contest's raw entries from the database and render its boards; returns the
    number of ranked entries over its rounds."""
    contest = db.session.get(Contest, contest_id)
    if contest is None:
        return 0
    count = sum(store_round_entries(client, round_) for round_ in contest.rounds)
    render_contest(client, contest_id, now)
    return count


def contest_ids() -> list[int]:
    return list(db.session.scalars(select(Contest.id).order_by(Contest.id)))


def rebuild_all(client: redis.Redis, now: datetime | None = None) -> dict[int, int]:
    result = {cid: rebuild_contest(client, cid, now) for cid in contest_ids()}
    client.set(EPOCH, int(time.time()))
    return result


def _stored_body(client: redis.Redis, board: str) -> dict[str, Any] | None:
    """A stored board as one document (all pages joined), without its version."""
    values: dict[bytes, bytes] = client.hgetall(board_key(board))  # type: ignore[assignment]
    if not values:
        return None
    pages = sorted((int(k[1:]), json.loads(v)) for k, v in values.items() if k.startswith(b"p"))
    document = dict(pages[0][1])
    if "entries" in document:
        document["entries"] = [row for _, page in pages for row in page["entries"]]
        document["offset"], document["limit"] = 0, len(document["entries"])
    document.pop("version", None)
    return document


def check_contest(client: redis.Redis, contest_id: int, now: datetime | None = None) -> list[str]:
    """Differences between Redis and a recomputation from the database (empty: all equal)."""
    now = now or datetime.now(UTC)
    contest = db.session.get(Contest, contest_id)
    if contest is None:
        return [f"contest {contest_id}: not found"]
    problems = []
    expected_raw = {r.id: counting_entries(r) for r in contest.rounds}
    stored_raw = read_raw(client, list(expected_raw))
    for round_id, entries in expected_raw.items():
        stored = {e.user_id: e for e in stored_raw[round_id]}
        if stored != entries:
            missing = sorted(set(entries) - set(stored))
            extra = sorted(set(stored) - set(entries))
            changed = sorted(u for u in set(entries) & set(stored) if entries[u] != stored[u])
            problems.append(
                f"round {round_id} raw entries differ: missing {missing[:10]}, "
                f"extra {extra[:10]}, changed {changed[:10]}"
            )
    data = load_contest_data(contest_id, {k: list(v.values()) for k, v in expected_raw.items()})
    assert data is not None
    if not boards_public(contest):
        return problems
    for doc in documents(data, now):
        expected = doc.body(0, 0, len(doc.rows))
        expected.pop("version")
        stored_doc = _stored_body(client, doc.board)
        if stored_doc is None:
            problems.append(f"board {doc.board}: not stored")
        elif stored_doc != json.loads(dumps(expected)):
            problems.append(f"board {doc.board}: differs from a recomputation")
    return problems


def live_round_body(client: redis.Redis, round_: Round, offset: int, limit: int) -> dict[str, Any]:
    """The round's live standings for organizers (full names, nothing frozen), from Redis."""
    entries = read_raw(client, [round_.id])[round_.id]
    ranking = ranked(entries)
    rows = entry_rows(ranking, masked=False)
    return {
        "round_id": round_.id,
        "version": board_version(client, round_board(round_.id)) or 0,
        "frozen": False,
        "total": len(rows),
        "offset": offset,
        "limit": limit,
        "stats": _stats(entries, 0) | {"contestants": None},
        "entries": rows[offset : offset + limit],
    }
