"""Live boards for spectators: server-sent events fed from Redis pub/sub.

One :class:`BoardHub` per web process subscribes to ``lb:events`` in a background thread (a
greenlet under gunicorn's gevent workers, see ``contest/gunicorn_conf.py``; a real thread in the
demo's threaded server) and wakes the streams when a new version is published. A stream sleeps
until then; the new page is read once per process — the first waking stream fetches it, the others
reuse it — so a thousand spectators cost one Redis read per change. Plain board reads use the same
page cache while the subscription is live (:meth:`BoardHub.read`).

Events are batched: a stream sends at most one snapshot per :data:`MIN_GAP_S`, always the newest.
A comment line every :data:`KEEPALIVE_S` keeps proxies from closing idle streams and lets the
server notice clients that left. When Redis restarts, the listener reconnects and every stream
re-reads its board.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator

import redis
from flask import Flask

from contest.extensions import redis_hub
from contest.services import leaderboards

log = logging.getLogger(__name__)

MIN_GAP_S = 0.25
KEEPALIVE_S = 15.0
# Pages cached per process. Any (board, offset, limit) a client asks for is a key, so the cache
# starts over when it reaches this size instead of growing with whatever anonymous readers ask.
PAGES_KEPT = 2048


class _Fetch:
    """One read of a page from Redis that other readers of the same page may wait for."""

    def __init__(self, generation: int) -> None:
        self.generation = generation  # the reader's generation when the read began
        self.done = threading.Event()
        self.snapshot: leaderboards.Snapshot | None = None
        self.failed = False


class BoardHub:
    """Versions announced on ``lb:events`` and cached pages, shared by a process's streams."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.changed = threading.Condition()
        self.generation = 0  # bumps on every event (and on reconnect): streams compare it
        # (board, offset, limit) → (generation it was read at, page)
        self._pages: dict[tuple[str, int, int], tuple[int, leaderboards.Snapshot | None]] = {}
        self._fetches: dict[tuple[str, int, int], _Fetch] = {}  # reads of Redis under way
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._stopping = threading.Event()
        self.subscribed = False  # True while the listener holds a live subscription
        self._streams: Counter[str] = Counter()  # open streams per client address
        self._open = 0  # open streams in all
        self._streams_lock = threading.Lock()

    def start(self) -> None:
        with self._start_lock:
            if self._notify not in leaderboards.local_listeners:
                leaderboards.local_listeners.append(self._notify)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._listen, name="board-hub", daemon=True)
                self._thread.start()

    def _notify(self) -> None:
        with self.changed:
            self.generation += 1
            self.changed.notify_all()

    def stop(self) -> None:
        """Stop listening (the app is closing its Redis client); streams keep their last page."""
        self._stopping.set()
        if self._notify in leaderboards.local_listeners:
            leaderboards.local_listeners.remove(self._notify)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _listen(self) -> None:
        while not self._stopping.is_set():
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(leaderboards.EVENTS)
                self.subscribed = True
                self._notify()  # (re)subscribed: anything may have changed meanwhile
                while not self._stopping.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is not None and message.get("type") == "message":
                        self._notify()
            except Exception as exc:  # Redis restarting, or the client closed under us
                self.subscribed = False
                self._notify()  # cached pages may be stale now: read Redis until resubscribed
                if self._stopping.is_set():
                    return
                log.warning("board hub: Redis unavailable (%s); reconnecting", exc)
                self._stopping.wait(0.5)
            finally:
                self.subscribed = False
                try:
                    pubsub.close()
                except Exception:
                    log.debug("board hub: closing the subscription failed", exc_info=True)

    def page(self, board: str, offset: int, limit: int) -> leaderboards.Snapshot | None:
        """The current page, read from Redis at most once per announced change per process.

        A page read at or after the reader's generation is returned without locking. Otherwise
        one reader fetches it and the others wanting the same page wait for that fetch, all
        woken together when it lands (and all told when it failed: Redis is failing, and a
        thousand streams retrying at once would not help it). A single lock held across the
        fetch made them queue: each handed the lock to the next on a later turn of the event
        loop, and under load the reads of a changed board waited hundreds of milliseconds.
        """
        key = (board, offset, limit)
        generation = self.generation
        cached = self._pages.get(key)
        if cached is not None and cached[0] >= generation:
            return cached[1]
        fetch = self._fetches.get(key)
        if fetch is not None and fetch.generation >= generation:
            fetch.done.wait()
            if fetch.failed:  # Redis is failing: the waiters do not all try again at once
                raise redis.ConnectionError("the shared read of the board failed")
            return fetch.snapshot
        fetch = self._fetches[key] = _Fetch(generation)
        try:
            fetch.snapshot = leaderboards.read_board(self.client, board, offset, limit)
            stored = self._pages.get(key)
            if stored is None or stored[0] <= generation:
                if len(self._pages) >= PAGES_KEPT:
                    self._pages.clear()
                self._pages[key] = (generation, fetch.snapshot)
        except BaseException:
            fetch.failed = True
            raise
        finally:  # cached first, then released: a reader arriving now finds one or the other
            if self._fetches.get(key) is fetch:
                del self._fetches[key]
            fetch.done.set()
        return fetch.snapshot

    def read(self, board: str, offset: int, limit: int) -> leaderboards.Snapshot | None:
        """A page for a plain read: from this process's cache while the subscription is live
        (every change invalidates it), otherwise straight from Redis."""
        self.start()
        if self.subscribed:
            return self.page(board, offset, limit)
        return leaderboards.read_board(self.client, board, offset, limit)

    def wait(self, generation: int, timeout: float) -> int:
        """Sleep until the generation moves past ``generation`` (or the timeout); returns it."""
        with self.changed:
            self.changed.wait_for(lambda: self.generation != generation, timeout)
            return self.generation

    def admit(self, address: str, per_process: int, per_address: int) -> Admitted | None:
        """A stream for ``address`` if this process holds fewer than ``per_process`` streams and
        fewer than ``per_address`` of that address (None: refuse; the page polls instead). Each
        open stream holds a socket and a greenlet for as long as the spectator stays."""
        with self._streams_lock:
            if self._open >= per_process or self._streams[address] >= per_address:
                return None
            self._streams[address] += 1
            self._open += 1
        return Admitted(self, address)

    def _release(self, address: str) -> None:
        with self._streams_lock:
            self._open -= 1
            self._streams[address] -= 1
            if self._streams[address] <= 0:
                del self._streams[address]

    @property
    def open_streams(self) -> int:
        return self._open

    def stream(self, board: str, offset: int, limit: int) -> Iterator[bytes]:
        """Server-sent events: the board now, then each new version (batched), with keepalives."""
        self.start()
        sent = None
        generation = self.generation
        last_sent = 0.0
        while not self._stopping.is_set():
            try:
                snapshot = self.page(board, offset, limit)
            except (redis.ConnectionError, redis.TimeoutError):
                snapshot = None  # Redis is restarting: keep the stream, try again on the next tick
            if snapshot is not None and snapshot.version != sent:
                gap = last_sent + MIN_GAP_S - time.monotonic()
                if gap > 0:
                    time.sleep(gap)  # batch: the newest version is read again after the pause
                    continue
                sent, last_sent = snapshot.version, time.monotonic()
                yield b"id: %d\nevent: board\ndata: %s\n\n" % (snapshot.version, snapshot.body)
                continue
            new_generation = self.wait(generation, KEEPALIVE_S)
            if new_generation == generation:
                yield b": keepalive\n\n"
            generation = new_generation


class Admitted:
    """A stream's place in its hub's count, given back when the response is closed (the server
    closes it when the spectator leaves, or when it never started sending)."""

    def __init__(self, hub: BoardHub, address: str) -> None:
        self._hub: BoardHub | None = hub
        self._address = address
        self._events: Iterator[bytes] | None = None

    def serve(self, events: Iterator[bytes]) -> Admitted:
        self._events = events
        return self

    def __iter__(self) -> Iterator[bytes]:
        assert self._events is not None
        return self._events

    def close(self) -> None:
        hub, self._hub = self._hub, None
        if hub is None:
            return
        try:
            close = getattr(self._events, "close", None)
            if close is not None:
                close()
        finally:
            hub._release(self._address)


_hubs_lock = threading.Lock()


def hub_for(app: Flask) -> BoardHub:
    """The app's hub in this process (stopped when the app closes its Redis client)."""
    with _hubs_lock:
        hub: BoardHub | None = app.extensions.get("board_hub")
        if hub is None:
            hub = app.extensions["board_hub"] = BoardHub(redis_hub.client_for_app(app))
        return hub
