"""The production worker class (contest/gunicorn_worker.py) in a real gunicorn with two workers:
keep-alive connections opened at once end up shared evenly, idle connections are closed (and make
way for new ones), request heads and bodies are held to their limits and times."""

from __future__ import annotations

import io
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psutil
import pytest

from contest.gunicorn_worker import BODY_S, MIN_RATE, body_deadline, over_share, read_head
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
PING = b"GET /api/v1/ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def read_response(sock: socket.socket) -> bytes:
    """One HTTP response with a Content-Length body; b"" if the server closed the connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def workers_of(master: int) -> list[int]:
    return [child.pid for child in psutil.Process(master).children()]


def connections_per_worker(master: int, port: int) -> dict[int, int]:
    """Established connections to ``port`` held by each worker of ``master``."""
    return {
        pid: sum(
            1
            for c in psutil.Process(pid).net_connections(kind="tcp")
            if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port
        )
        for pid in workers_of(master)
    }


def both_serving(port: int, master: int) -> bool:
    probes = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(6)]
    try:
        for sock in probes:
            sock.sendall(PING)
        for sock in probes:
            read_response(sock)
        held = connections_per_worker(master, port)
        return len(held) == 2 and min(held.values()) > 0
    finally:
        for sock in probes:
            sock.close()


@contextmanager
def running_gunicorn(
    tmp_path: Path, redis_url: str, keepalive: int, options: str = ""
) -> Iterator[tuple[int, int]]:
    """gunicorn with contest/gunicorn_conf.py and two workers (and ``options``, command-line
    flags); yields (port, master pid)."""
    port = free_port()
    env = {
        **os.environ,
        "CONTEST_INSTANCE_PATH": str(tmp_path / "instance"),
        "CONTEST_SECRET_KEY": "gunicorn-worker-test",
        "CONTEST_DATABASE_URL": f"sqlite:///{tmp_path / 'web.db'}",
        "CONTEST_REDIS_URL": redis_url,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_CMD_ARGS": f"--keep-alive {keepalive} {options}",
    }
    log_path = tmp_path / "gunicorn.log"
    log = log_path.open("w")
    argv = ["-m", "gunicorn", "-c", "python:contest.gunicorn_conf", "contest.wsgi:app"]
    master = subprocess.Popen(
        [sys.executable, *argv],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert master.poll() is None, log_path.read_text()
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                    sock.sendall(PING)
                    if read_response(sock).startswith(b"HTTP/1.1 200"):
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        # Until both workers serve: a worker still loading the app takes no connections, and
        # the one serving takes them all meanwhile.
        while not both_serving(port, master.pid):
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        yield port, master.pid
    finally:
        for pid in workers_of(master.pid):
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        master.terminate()
        master.wait(timeout=30)
        log.close()


@pytest.fixture
def gunicorn(tmp_path: Path, redis_url: str) -> Iterator[tuple[int, int]]:
    with running_gunicorn(tmp_path, redis_url, keepalive=30) as served:
        yield served


@pytest.fixture(scope="module")
def shared_gunicorn(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str
) -> Iterator[tuple[int, int]]:
    """One server for the tests that only send requests."""
    with running_gunicorn(tmp_path_factory.mktemp("web"), redis_url, keepalive=30) as served:
        yield served


@pytest.fixture
def gunicorn_short_keepalive(tmp_path: Path, redis_url: str) -> Iterator[tuple[int, int]]:
    with running_gunicorn(tmp_path, redis_url, keepalive=1) as served:
        yield served


def open_keep_alive(port: int, count: int, timeout: float = 10) -> list[socket.socket]:
    """``count`` connections, each answered once and kept open."""
    clients = [socket.create_connection(("127.0.0.1", port), timeout=timeout) for _ in range(count)]
    for sock in clients:
        sock.sendall(PING)
    for sock in clients:
        assert read_response(sock).startswith(b"HTTP/1.1 200")
    return clients


def raw_status(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        return sock.recv(65536).split(b"\r\n", 1)[0]


def test_over_share_is_more_than_an_even_share_plus_one() -> None:
    assert not over_share(3, 5, 2)  # 3 of 5 between two: 2.5 + 1 allowed
    assert over_share(4, 5, 2)
    assert not over_share(0, 0, 2)
    assert not over_share(100, 100, 1)  # a single worker takes everything


def test_keep_alive_connections_opened_at_once_are_shared_evenly(
    gunicorn: tuple[int, int],
) -> None:
    port, master = gunicorn
    clients = open_keep_alive(port, 40)
    try:
        for sock in clients:  # the connections stay open: a second request on each
            sock.sendall(PING)
        for sock in clients:
            assert read_response(sock).startswith(b"HTTP/1.1 200")
        held = connections_per_worker(master, port)
        assert sum(held.values()) == 40, held
        assert max(held.values()) - min(held.values()) <= 4, held
    finally:
        for sock in clients:
            sock.close()


def test_an_idle_keep_alive_connection_is_closed_after_the_keep_alive_time(
    gunicorn_short_keepalive: tuple[int, int],
) -> None:
    port, _ = gunicorn_short_keepalive
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(PING)
        assert read_response(sock).startswith(b"HTTP/1.1 200")
        began = time.monotonic()
        assert sock.recv(1) == b""  # closed by the server, not by the 10 s client timeout
        assert 0.9 <= time.monotonic() - began < 5


def test_a_stuck_worker_does_not_hold_back_the_other(gunicorn: tuple[int, int]) -> None:
    """A worker that stops serving (here SIGSTOP; gunicorn would replace it only after its
    60 s timeout) drops out of the shares once its heartbeat is old, so the other worker takes
    every new connection instead of pausing at its share."""
    port, master = gunicorn
    first = open_keep_alive(port, 10)
    stuck, other = workers_of(master)
    os.kill(stuck, signal.SIGSTOP)
    try:
        began = time.monotonic()
        later = open_keep_alive(port, 10, timeout=15)  # all answered by the other worker
        waited = time.monotonic() - began
        held = connections_per_worker(master, port)
        assert held[other] >= 10, held
        assert waited < 10, waited
    finally:
        os.kill(stuck, signal.SIGCONT)
        for sock in first + later:
            sock.close()


@pytest.mark.parametrize(
    ("name", "head"),
    [
        ("two lengths", b"Content-Length: 3\r\nContent-Length: 30\r\n"),
        ("length and chunked", b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n"),
        ("chunked twice", b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"),
        ("not digits", b"Content-Length: 1_0\r\n"),
        ("a long line", b"X-Long: " + b"a" * 9000 + b"\r\n"),
        ("too many lines", b"".join(b"X-H%d: 1\r\n" % n for n in range(101))),
        ("a line without a colon", b"X-Broken\r\n"),
        ("whitespace before the colon", b"Content-Length : 3\r\n"),
        ("a folded line", b"X-A: 1\r\n continued\r\n"),
        ("a CR before a length", b"Content-Length:\r3\r\n"),
        ("a CR before chunked", b"Transfer-Encoding:\rchunked\r\n"),
        ("a CR inside a value", b"X-A: a\rContent-Length: 3\r\n"),
        ("a NUL in a value", b"X-Device-Id: dev\x00-1\r\n"),
        ("CR CR LF", b"Content-Length: 3\r\r\n"),
    ],
)
def test_request_heads_gunicorn_would_refuse_are_answered_400(
    shared_gunicorn: tuple[int, int], name: str, head: bytes
) -> None:
    port, _ = shared_gunicorn
    request = b"POST /api/v1/ping HTTP/1.1\r\nHost: 127.0.0.1\r\n" + head + b"\r\nabc"
    assert raw_status(port, request) == b"HTTP/1.1 400 Bad Request", name
    ordinary = b"POST /api/v1/ping HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\n\r\nabc"
    assert raw_status(port, ordinary) != b"HTTP/1.1 400 Bad Request"


def test_read_head_keeps_names_order_and_repeats_and_trims_values() -> None:
    head = (
        b"Host: 127.0.0.1:5000\r\n"
        b"cookie:session=a.b.c\r\n"
        b"X-Device-Id: \t dev-7 \t\r\n"
        b"Accept: a\r\n"
        b"Accept: b\r\n"
        b"X-Empty:\r\n"
        b"Content-Length: 2\r\n"
        b"\r\n"
        b"{}"
    )
    stream = io.BytesIO(head)
    message = read_head(stream)
    assert message.status == ""
    assert message._headers == [
        ("Host", "127.0.0.1:5000"),
        ("cookie", "session=a.b.c"),
        ("X-Device-Id", "dev-7"),
        ("Accept", "a"),
        ("Accept", "b"),
        ("X-Empty", ""),
        ("Content-Length", "2"),
    ]
    assert message.get("COOKIE") == "session=a.b.c"
    assert message.get_all("accept") == ["a", "b"]
    assert message.getheader("content-length") == "2"
    assert stream.read() == b"{}"  # the body is left for the handler


def test_read_head_allows_exactly_the_limit_of_header_lines() -> None:
    lines = b"".join(b"X-H%d: %d\r\n" % (n, n) for n in range(100))
    assert read_head(io.BytesIO(lines + b"\r\n")).status == ""
    assert read_head(io.BytesIO(lines + b"X-One-More: 1\r\n\r\n")).status == "Too many headers"


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"Content-Length: 3 \r\nHost: a\r\n\r\n", ""),
        (b"Transfer-Encoding: chunked \t\r\n\r\n", ""),
        (b"Transfer-Encoding: gzip, chunked\r\n\r\n", "Unsupported Transfer-Encoding"),
        (b"X-A: a\rContent-Length: 3\r\n\r\n", "Invalid header"),
        (b"Host: a\r\nHost: b\r\n\r\n", "Invalid Host"),
    ],
)
def test_read_head_refuses_what_a_proxy_could_read_otherwise(head: bytes, status: str) -> None:
    assert read_head(io.BytesIO(head)).status == status


def test_read_head_wants_a_host_when_told() -> None:
    assert read_head(io.BytesIO(b"Accept: a\r\n\r\n"), host_required=True).status == (
        "Invalid Host"
    )
    assert read_head(io.BytesIO(b"Host: a\r\n\r\n"), host_required=True).status == ""


@pytest.fixture
def gunicorn_ten_connections(tmp_path: Path, redis_url: str) -> Iterator[tuple[int, int]]:
    """Ten connections a worker, twenty in all: few enough to fill."""
    options = "--worker-connections 10"
    with running_gunicorn(tmp_path, redis_url, keepalive=30, options=options) as served:
        yield served


def owners(master: int, port: int, clients: list[socket.socket]) -> dict[socket.socket, int]:
    """The worker holding each client's connection."""
    held = {
        pid: {
            c.raddr.port
            for c in psutil.Process(pid).net_connections(kind="tcp")
            if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port
        }
        for pid in workers_of(master)
    }
    return {
        sock: next(pid for pid, ports in held.items() if sock.getsockname()[1] in ports)
        for sock in clients
    }


def sockets_of_workers(master: int, port: int) -> int:
    """Sockets the workers hold for connections to ``port``, in any state (a slot each)."""
    return sum(
        1
        for pid in workers_of(master)
        for c in psutil.Process(pid).net_connections(kind="tcp")
        if c.laddr.port == port and c.status != psutil.CONN_LISTEN
    )


def closed_by_server(clients: list[socket.socket], wait: float) -> list[socket.socket]:
    """The clients whose connection the server has closed, waiting up to ``wait`` s for one."""
    readable, _, _ = select.select(clients, [], [], wait)
    readable, _, _ = select.select(clients, [], [], 0)  # and any other closed by now
    return [sock for sock in readable if sock.recv(1) == b""]


def test_a_new_client_takes_the_place_of_the_oldest_idle_connection(
    gunicorn_ten_connections: tuple[int, int],
) -> None:
    """With every connection of both workers idle in keep-alive, a new client is served at once:
    a worker closes its oldest idle connection for it (before, it waited in the backlog until a
    keep-alive ran out, here 30 s)."""
    port, master = gunicorn_ten_connections
    deadline = time.monotonic() + 10
    while sockets_of_workers(master, port):  # until the start-up probes are closed
        assert time.monotonic() < deadline
        time.sleep(0.05)
    clients = open_keep_alive(port, 20)
    try:
        owner = owners(master, port, clients)
        oldest: dict[int, socket.socket] = {}  # each worker's first; the others are used again
        for sock in clients:
            oldest.setdefault(owner[sock], sock)
        again = [sock for sock in clients if sock not in oldest.values()]
        for sock in again:
            sock.sendall(PING)
        for sock in again:
            assert read_response(sock).startswith(b"HTTP/1.1 200")
        began = time.monotonic()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as newcomer:
            newcomer.sendall(PING)
            assert read_response(newcomer).startswith(b"HTTP/1.1 200")
        assert time.monotonic() - began < 2
        # Both workers see the newcomer waiting; each may close its own oldest for it.
        closed = closed_by_server(clients, wait=5)
        assert closed and set(closed) <= set(oldest.values()), (closed, oldest)
    finally:
        for sock in clients:
            sock.close()


def test_a_burst_of_connections_is_accepted_at_once(gunicorn: tuple[int, int]) -> None:
    """A worker over its share pauses only briefly: with a fixed 50 ms pause both workers were
    often paused together, and 600 connections opened at once took ~2.6 s to be answered
    (~230 a second; 4,200 kept a new client waiting 14–19 s)."""
    port, _ = gunicorn
    clients: list[socket.socket] = []
    began = time.monotonic()
    try:
        for _ in range(600):
            clients.append(socket.create_connection(("127.0.0.1", port), timeout=10))
            clients[-1].sendall(PING)
        for sock in clients:
            assert read_response(sock).startswith(b"HTTP/1.1 200")
        assert time.monotonic() - began < 1.5, time.monotonic() - began
    finally:
        for sock in clients:
            sock.close()


def test_a_body_that_trickles_in_is_cut(shared_gunicorn: tuple[int, int]) -> None:
    """A body sent a byte every 2 s is answered 408 and its connection closed after BODY_S."""
    port, _ = shared_gunicorn
    head = (
        b"PUT /api/v1/attempts/1/items/1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(head + b"{")
        began = time.monotonic()
        while True:
            readable, _, _ = select.select([sock], [], [], 2.0)
            waited = time.monotonic() - began
            if readable:
                break
            assert waited < BODY_S + 4, "the body is still being waited for"
            sock.sendall(b" ")
        assert sock.recv(65536).startswith(b"HTTP/1.1 408")
        assert sock.recv(65536) == b""  # closed
        assert BODY_S - 1 < waited < BODY_S + 4


def test_the_body_deadline_spares_a_slow_upload_and_cuts_a_trickle() -> None:
    """A 300 KB upload at 2 KB/s (16 kbit/s) keeps ahead of its deadline from the first byte to
    the last; a byte every 2 s falls behind after BODY_S."""
    for second in range(150):
        assert body_deadline(0.0, 2000 * second) > second + 1
    trickle = [second for second in range(0, 60, 2) if body_deadline(0.0, second // 2) < second]
    assert trickle and BODY_S <= trickle[0] <= BODY_S + 2
    assert body_deadline(0.0, MIN_RATE) == BODY_S + 1


def test_a_json_body_over_its_limit_is_refused_before_it_is_sent(
    shared_gunicorn: tuple[int, int],
) -> None:
    """413 from the head alone, and the connection closed rather than the 30 MB read."""
    port, _ = shared_gunicorn
    head = (
        b"POST /api/v1/session HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: 30000000\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(head + b'{"username": "')
        answer = read_response(sock)
        assert answer.startswith(b"HTTP/1.1 413"), answer
        assert b'"code":"too_large"' in answer
        assert sock.recv(65536) == b""


@pytest.mark.parametrize(
    ("name", "request_head", "status"),
    [
        ("no Host", b"GET /api/v1/ping HTTP/1.1\r\n\r\n", b"400"),
        ("two Hosts", b"GET /api/v1/ping HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", b"400"),
        ("HTTP/1.0 without Host", b"GET /api/v1/ping HTTP/1.0\r\n\r\n", b"200"),
    ],
)
def test_a_request_must_name_exactly_one_host(
    shared_gunicorn: tuple[int, int], name: str, request_head: bytes, status: bytes
) -> None:
    port, _ = shared_gunicorn
    assert raw_status(port, request_head).split(b" ")[1] == status, name
