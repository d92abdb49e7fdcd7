"""Live-round streams: server-sent events woken by Redis pub/sub, one listener per process.

The listener subscribes to :data:`contest.live_final.store.CHANNEL`; each message names a round
and its new version. A stream sleeps until its round moves, then sends its audience's view of the
new state at once (no batching: the host's "open" and a buzz must reach every device within a few
hundred milliseconds). The state is read from Redis once per version per process and each view
is serialized once per version, audience and team, however many devices show it.

A device that connects is seen in ``live:<round>:presence`` (refreshed with each keepalive), which
is how the host's lobby knows which teams and screens are connected.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import redis
from flask import Flask

from contest.extensions import redis_hub
from contest.live_final import store

log = logging.getLogger(__name__)

KEEPALIVE_S = 10.0
PING_S = 5.0  # how often a team phone's round trip is measured (with delay compensation)
PRESENCE_S = 30  # a device unseen for longer is no longer shown as connected
VIEWS_KEPT = 512


class LiveHub:
    """The versions announced per round and the views serialized per version, in one process."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.changed = threading.Condition()
        self.versions: dict[int, int] = {}  # round → newest version announced
        self.generation = 0  # bumps on every message and reconnect
        self._views: dict[tuple[int, int, str], bytes] = {}
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._stopping = threading.Event()

    def start(self) -> None:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._listen, name="live-hub", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _bump(self, round_id: int | None = None, version: int | None = None) -> None:
        with self.changed:
            if round_id is not None and version is not None:
                self.versions[round_id] = max(version, self.versions.get(round_id, 0))
            self.generation += 1
            self.changed.notify_all()

    def _listen(self) -> None:
        while not self._stopping.is_set():
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(store.CHANNEL)
                self._bump()  # (re)subscribed: anything may have changed meanwhile
                while not self._stopping.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is not None and message.get("type") == "message":
                        round_id, version = bytes(message["data"]).split()
                        self._bump(int(round_id), int(version))
            except Exception as exc:  # Redis restarting, or the client closed under us
                if self._stopping.is_set():
                    return
                log.warning("live hub: Redis unavailable (%s); reconnecting", exc)
                self._bump()
                self._stopping.wait(0.5)
            finally:
                try:
                    pubsub.close()
                except Exception:
                    log.debug("live hub: closing the subscription failed", exc_info=True)

    def wait(self, generation: int, timeout: float) -> int:
        with self.changed:
            self.changed.wait_for(lambda: self.generation != generation, timeout)
            return self.generation

    def view_bytes(
        self, round_id: int, state: dict[str, Any], key: str, make: Callable[[], dict[str, Any]]
    ) -> bytes:
        """The event for one audience's view of ``state``: the view is serialized once per
        version, the server's clock (``server_now``, for the countdowns) added at each send."""
        cache_key = (round_id, int(state["version"]), key)
        body = self._views.get(cache_key)
        if body is None:
            if len(self._views) >= VIEWS_KEPT:
                self._views.clear()
            text = json.dumps(make(), ensure_ascii=False, separators=(",", ":"))
            body = self._views[cache_key] = text.encode()
        now = datetime.now(UTC).isoformat().encode()
        return b'id: %d\nevent: state\ndata: {"server_now":"%s",%s\n\n' % (
            state["version"],
            now,
            body[1:],
        )

    def stream(
        self,
        round_id: int,
        read: Callable[[], dict[str, Any]],
        key: str,
        view: Callable[[dict[str, Any]], dict[str, Any]],
        presence: str,
        ping: Callable[[], str] | None = None,
    ) -> Iterator[bytes]:
        """The view now, then on every new version; ``read`` gives the state (the live copy, or
        the log's), ``view`` cuts it for this audience, ``presence`` names the device. ``ping``
        (a team phone, when the round compensates network delay) registers a ping and gives its
        nonce, sent as a ``ping`` event every :data:`PING_S`."""
        self.start()
        member = f"{presence}:{uuid.uuid4().hex[:8]}"
        sent = -1
        generation = self.generation
        last_seen = 0.0
        pinged = 0.0
        pause = min(KEEPALIVE_S, PING_S) if ping else KEEPALIVE_S
        try:
            while not self._stopping.is_set():
                if time.monotonic() - last_seen > KEEPALIVE_S / 2:
                    self._seen(round_id, member)
                    last_seen = time.monotonic()
                if ping is not None and sent >= 0 and time.monotonic() - pinged > PING_S:
                    pinged = time.monotonic()
                    with contextlib.suppress(redis.RedisError):
                        yield b"event: ping\ndata: %s\n\n" % ping().encode()
                if self.versions.get(round_id, sent + 1) != sent:
                    try:
                        state = read()
                    except (redis.ConnectionError, redis.TimeoutError):
                        state = None
                    if state is not None and state["version"] != sent:
                        sent = int(state["version"])
                        yield self.view_bytes(round_id, state, key, functools.partial(view, state))
                        continue
                    if state is not None:
                        self.versions.setdefault(round_id, sent)
                new_generation = self.wait(generation, pause)
                if new_generation == generation:
                    yield b": keepalive\n\n"
                generation = new_generation
        finally:
            self._gone(round_id, member)

    def _seen(self, round_id: int, member: str) -> None:
        key = f"live:{round_id}:presence"
        with contextlib.suppress(redis.RedisError):
            self.client.hset(key, member, int(time.time()))
            self.client.expire(key, store.KEPT_S)

    def _gone(self, round_id: int, member: str) -> None:
        with contextlib.suppress(redis.RedisError):
            self.client.hdel(f"live:{round_id}:presence", member)


def connected(client: redis.Redis, round_id: int) -> dict[str, Any]:
    """The devices seen lately: {"teams": {team id: devices}, "screens": n, "hosts": n}."""
    try:
        seen = client.hgetall(f"live:{round_id}:presence")
    except redis.RedisError:
        return {"teams": {}, "screens": 0, "hosts": 0}
    cutoff = time.time() - PRESENCE_S
    teams: dict[str, int] = {}
    screens = hosts = 0
    for raw, at in seen.items():
        if int(at) < cutoff:
            continue
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        audience, who, _conn = text.split(":", 2)
        if audience == "team":
            teams[who] = teams.get(who, 0) + 1
        elif audience == "screen":
            screens += 1
        elif audience == "host":
            hosts += 1
    return {"teams": teams, "screens": screens, "hosts": hosts}


_hubs_lock = threading.Lock()


def hub_for(app: Flask) -> LiveHub:
    """The app's live hub in this process."""
    with _hubs_lock:
        hub: LiveHub | None = app.extensions.get("live_hub")
        if hub is None:
            hub = app.extensions["live_hub"] = LiveHub(redis_hub.client_for_app(app))
        return hub
