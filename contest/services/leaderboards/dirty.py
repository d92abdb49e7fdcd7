"""Asking for renders: contests whose boards need rendering, and boards that are hidden.

Services note the contests they change with :func:`render_after_commit` (or
:func:`settings_changed`); once the session commits (:mod:`contest.after_commit`), hidden boards
are removed and the contests are marked dirty for the renderer (:func:`mark_dirty`). A rollback
forgets both.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

import redis
from flask import current_app

from contest.after_commit import after_commit
from contest.extensions import redis_hub
from contest.services.leaderboards.keys import DIRTY, EVENTS, WAKE, board_key

# Callbacks run when this process changes a board (the web process's BoardHub caches pages and
# would otherwise learn of its own change only when the pub/sub message comes back).
local_listeners: list[Callable[[], None]] = []


def _changed_locally() -> None:
    for listener in list(local_listeners):
        listener()


def delete_boards(client: redis.Redis, boards: Sequence[str]) -> None:
    """Remove stored boards and announce it (readers answer 404 from now on)."""
    pipe = client.pipeline()
    pipe.delete(*[board_key(b) for b in boards])
    for board in boards:
        pipe.publish(EVENTS, f"{board} 0")
    pipe.execute()
    _changed_locally()


def settings_changed(contest_id: int, *, hide: Sequence[str] = ()) -> None:
    """Render the contest's boards once the session commits (its settings or rounds changed);
    ``hide`` names boards removed at the commit (they became organizer-only), without waiting
    for a renderer."""
    after_commit(_follow, *[("hide", board) for board in hide], ("render", contest_id))


def render_after_commit(contest_id: int) -> None:
    """Render the contest's boards once the session commits (what they show changed: a round's
    settings, or who started, which the boards count)."""
    after_commit(_follow, ("render", contest_id))


def _follow(changes: Sequence[tuple[str, Any]]) -> None:
    """After the commit: remove the hidden boards, then ask for the renders."""
    client = redis_hub.client_for_app(current_app._get_current_object())  # type: ignore[attr-defined]
    hidden = sorted({str(board) for kind, board in changes if kind == "hide"})
    if hidden:
        delete_boards(client, hidden)
    contests = sorted({int(c) for kind, c in changes if kind == "render"})
    if contests:
        mark_dirty(client, *contests)


def mark_dirty(client: redis.Redis, *contest_ids: int) -> None:
    """Ask the renderer to render these contests' boards soon."""
    pipe = client.pipeline()
    _mark_dirty(pipe, contest_ids)
    pipe.execute()


def _mark_dirty(pipe: Any, contest_ids: Collection[int]) -> None:
    pipe.sadd(DIRTY, *contest_ids)
    pipe.lpush(WAKE, 1)
    pipe.ltrim(WAKE, 0, 0)
