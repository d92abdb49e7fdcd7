"""streamRoundLeaderboard over a real HTTP server: the snapshot at once, then every change."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from contest.extensions import db, redis_hub
from contest.live import hub_for
from contest.models import Round
from tests.support.boards import settle, sit
from tests.support.contests import paper_round, published_bank
from tests.support.players import Player


@pytest.fixture
def served(app: Flask) -> Iterator[tuple[str, int]]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class Stream:
    """A spectator's event stream, read event by event (each read times out after 10 s)."""

    def __init__(self, host: str, port: int, path: str) -> None:
        self.connection = http.client.HTTPConnection(host, port, timeout=10)
        self.connection.request("GET", path, headers={"Accept": "text/event-stream"})
        self.response = self.connection.getresponse()

    def event(self) -> dict[str, Any]:
        fields: dict[str, str] = {}
        while True:
            line = self.response.readline().decode().rstrip("\n")
            if not line:
                if "data" in fields:
                    return {
                        "id": fields.get("id"),
                        "event": fields.get("event"),
                        **json.loads(fields["data"]),
                    }
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(": ")
            fields[name] = value

    def close(self) -> None:
        self.connection.close()


def test_the_stream_sends_the_board_then_each_change(app: Flask, served: tuple[str, int]) -> None:
    with app.app_context():
        round_id = paper_round(published_bank(), attempts_allowed=0).id
    stream = Stream(*served, f"/api/v1/rounds/{round_id}/leaderboard/stream?limit=10")
    try:
        assert stream.response.status == 200
        assert stream.response.getheader("Content-Type", "").startswith("text/event-stream")
        first = stream.event()
        assert first["event"] == "board" and first["total"] == 0 and first["limit"] == 10
        assert first["id"] == str(first["version"])
        sit(app, Player(app, "s1"), round_id, right=10)
        settle(app)
        second = stream.event()
        while second["total"] < 1:  # a render of the same data may come first
            second = stream.event()
        assert second["version"] > first["version"]
        assert second["entries"][0]["score"] == 20 and second["entries"][0]["rank"] == 1
        sit(app, Player(app, "s2"), round_id, right=0)
        settle(app)
        third = stream.event()
        while third["total"] < 2:
            third = stream.event()
        assert [e["score"] for e in third["entries"]] == [20, 0]
    finally:
        stream.close()


def test_a_stream_of_an_unknown_round_is_404(served: tuple[str, int]) -> None:
    connection = http.client.HTTPConnection(*served, timeout=10)
    connection.request("GET", "/api/v1/rounds/424242/leaderboard/stream")
    response = connection.getresponse()
    assert response.status == 404
    assert json.loads(response.read())["error"]["code"] == "board_not_found"
    connection.close()


def test_many_streams_share_one_read_per_change(app: Flask, served: tuple[str, int]) -> None:
    """Twenty spectators get the same new snapshot after one change."""
    with app.app_context():
        round_id = paper_round(published_bank(), attempts_allowed=0).id
        round_ = db.session.get(Round, round_id)
        assert round_ is not None
    streams = [Stream(*served, f"/api/v1/rounds/{round_id}/leaderboard/stream") for _ in range(20)]
    try:
        versions = {s.event()["version"] for s in streams}
        assert len(versions) == 1
        sit(app, Player(app, "many"), round_id, right=10)
        settle(app)
        latest = []
        for s in streams:
            event = s.event()
            while event["total"] < 1:
                event = s.event()
            latest.append(event)
        assert {e["version"] for e in latest} == {latest[0]["version"]}
        assert all(e["entries"][0]["score"] == 20 for e in latest)
        with app.app_context():
            assert redis_hub.client.ping()
    finally:
        for s in streams:
            s.close()


def test_streams_are_capped_per_address_and_per_process(app: Flask) -> None:
    """Each open stream holds a socket and a greenlet: past the caps the stream is refused with
    503 and Retry-After (the page polls instead), and a closed stream gives its place back."""
    with app.app_context():
        round_id = paper_round(published_bank(), attempts_allowed=0).id
    app.config.update(CONTEST_STREAMS_PER_ADDRESS=2, CONTEST_STREAMS_PER_PROCESS=3)
    hub = hub_for(app)
    url = f"/api/v1/rounds/{round_id}/leaderboard/stream"
    client = app.test_client()

    def open_from(address: str) -> Any:
        return client.get(url, environ_base={"REMOTE_ADDR": address}, buffered=False)

    first, second = open_from("10.0.0.1"), open_from("10.0.0.1")
    assert first.status_code == second.status_code == 200
    assert hub.open_streams == 2
    refused = open_from("10.0.0.1")
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "60"
    assert refused.get_json()["error"]["code"] == "too_many_streams"
    other = open_from("10.0.0.2")  # another address still gets one: three in the process
    assert other.status_code == 200
    assert open_from("10.0.0.3").status_code == 503  # the process is full
    first.close()  # the spectator left
    assert hub.open_streams == 2
    again = open_from("10.0.0.1")
    assert again.status_code == 200
    assert next(again.response).startswith(b"id: ")  # a real stream: the board at once
    for response in (second, other, again):
        response.close()
    assert hub.open_streams == 0
