"""BoardHub.page (contest/live.py): one Redis read per change per process, shared by the readers
waiting for it, and never an older page for a reader that was told about a newer change.

The hub reads a real Redis; ``read_board`` is wrapped only to count the reads and to hold one
open while the test arranges the readers around it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from contest import live
from contest.services import leaderboards

BOARD = "round:hub-test"


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    client.delete(leaderboards.board_key(BOARD))
    yield client
    client.delete(leaderboards.board_key(BOARD))
    client.close()


def store(client: redis.Redis, version: int) -> None:
    client.hset(
        leaderboards.board_key(BOARD),
        mapping={"version": version, "p0": b'{"version": %d}' % version},
    )


class GatedReads:
    """Counts ``read_board`` calls; while ``gate`` is clear, each read waits for it first."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.real = leaderboards.read_board
        self.calls = 0
        self.lock = threading.Lock()
        self.started = threading.Event()
        self.gate = threading.Event()
        self.gate.set()
        self.fail_calls: set[int] = set()  # which calls (1, 2, …) raise as if Redis went away
        monkeypatch.setattr(leaderboards, "read_board", self)

    def __call__(self, *args: Any) -> leaderboards.Snapshot | None:
        with self.lock:
            self.calls += 1
            call = self.calls
        result = None if call in self.fail_calls else self.real(*args)
        self.started.set()
        assert self.gate.wait(10)  # the read is done; its answer waits for the gate
        if call in self.fail_calls:
            raise redis.ConnectionError("Redis went away")
        return result

    def wait_for_calls(self, count: int) -> None:
        until(lambda: self.calls >= count)


def until(condition: Callable[[], bool]) -> None:
    """Poll ``condition`` for up to 5 s (the assertions after it say what was expected)."""
    deadline = time.monotonic() + 5
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


class CountedEvent(threading.Event):
    """An Event that counts the threads that have begun waiting on it."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting = 0
        self._count_lock = threading.Lock()

    def wait(self, timeout: float | None = None) -> bool:
        with self._count_lock:
            self.waiting += 1
        return super().wait(timeout)


def read_in_threads(hub: live.BoardHub, count: int) -> tuple[list[threading.Thread], list[Any]]:
    results: list[Any] = []

    def read() -> None:
        try:
            results.append(hub.page(BOARD, 0, 50))
        except redis.ConnectionError as exc:
            results.append(exc)

    threads = [threading.Thread(target=read) for _ in range(count)]
    for thread in threads:
        thread.start()
    return threads, results


def test_readers_after_a_change_share_one_read(
    client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = live.BoardHub(client)
    reads = GatedReads(monkeypatch)
    store(client, 1)
    assert hub.page(BOARD, 0, 50).version == 1  # type: ignore[union-attr]
    assert hub.page(BOARD, 0, 50).version == 1  # type: ignore[union-attr]
    assert reads.calls == 1  # the second came from the cache

    store(client, 2)
    hub._notify()  # the change is announced
    reads.gate.clear()
    reads.started.clear()
    threads, results = read_in_threads(hub, 1)
    assert reads.started.wait(10)  # the first reader is fetching, held at the gate
    shared = hub._fetches[(BOARD, 0, 50)].done = CountedEvent()
    more, more_results = read_in_threads(hub, 15)
    until(lambda: shared.waiting == 15)
    assert shared.waiting == 15  # all fifteen wait for the one fetch under way
    reads.gate.set()
    for thread in threads + more:
        thread.join(10)
    assert [s.version for s in results + more_results] == [2] * 16
    assert reads.calls == 2  # one read for the change, shared by all sixteen


def test_a_reader_told_of_a_newer_change_does_not_take_an_older_read(
    client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = live.BoardHub(client)
    reads = GatedReads(monkeypatch)
    store(client, 1)
    reads.gate.clear()
    first, first_results = read_in_threads(hub, 1)
    assert reads.started.wait(10)  # version 1 read, its answer held back
    store(client, 2)
    hub._notify()
    second, second_results = read_in_threads(hub, 1)
    reads.wait_for_calls(2)  # the second reader reads for itself instead of waiting on the first
    reads.gate.set()
    for thread in first + second:
        thread.join(10)
    assert first_results[0].version == 1
    assert second_results[0].version == 2
    assert reads.calls == 2


def test_when_the_shared_read_fails_the_waiting_readers_are_told_and_the_next_read_tries_again(
    client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = live.BoardHub(client)
    reads = GatedReads(monkeypatch)
    store(client, 3)
    reads.gate.clear()
    reads.fail_calls = {1}
    first, first_results = read_in_threads(hub, 1)
    assert reads.started.wait(10)  # the first read is under way (and will fail)
    shared = hub._fetches[(BOARD, 0, 50)].done = CountedEvent()
    waiting, waiting_results = read_in_threads(hub, 5)
    until(lambda: shared.waiting == 5)
    reads.gate.set()
    for thread in first + waiting:
        thread.join(10)
    assert isinstance(first_results[0], redis.ConnectionError)
    assert all(isinstance(r, redis.ConnectionError) for r in waiting_results), waiting_results
    assert reads.calls == 1  # the waiters did not all go to Redis at once
    page = hub.page(BOARD, 0, 50)
    assert page is not None and page.version == 3


def test_the_page_cache_stays_bounded_whatever_readers_ask_for(
    client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "PAGES_KEPT", 10)
    hub = live.BoardHub(client)
    store(client, 4)
    for offset in range(0, 50 * 25, 50):  # 25 different pages, most past the end of the board
        hub.page(BOARD, offset, 50)
        assert len(hub._pages) <= 10
    page = hub.page(BOARD, 0, 50)
    assert page is not None and page.version == 4
