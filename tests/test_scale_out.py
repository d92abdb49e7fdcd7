"""Two web and two worker processes on one Redis and one PostgreSQL.

Two gunicorn instances (``contest.wsgi:app`` with contest/gunicorn_conf.py, one gevent process
each) on two ports and two ``contest worker`` processes share the database, Redis and
``CONTEST_SECRET_KEY``, as several machines behind a load balancer would. Every process is a child
in its own process group, killed on teardown; every wait is bounded and polls its condition.

The test needs PostgreSQL (CI's second pass sets ``CONTEST_DATABASE_URL``); on SQLite it is
skipped: SQLite is the single-machine shape (one web process, one worker), and this is the test of
the shape beyond it. Redis is CI's server there, or the embedded one.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from rq import Worker
from rq.worker import BaseWorker
from sqlalchemy import select

from contest.config import build_config, from_environ
from contest.extensions import db
from contest.models import Attempt, AttemptItem, AttemptStatus, Role, User
from contest.services.scoring import PENDING
from tests.conftest import CHEAP_HASH, EXTERNAL_DATABASE, PASSWORD
from tests.support.contests import paper_round, published_bank
from tests.support.players import answer_for
from workers.boards import UNSCORED_AFTER_S

ROOT = Path(__file__).resolve().parents[1]
LOAD_CONTESTANTS = 150  # more than the load phase gets through; it stops when told
LOAD_THREADS = 3
REQUEST_TIMEOUT_S = 15.0

pytestmark = [
    pytest.mark.scaleout,
    pytest.mark.skipif(
        not (EXTERNAL_DATABASE or "").startswith("postgresql"),
        reason="scale-out runs against PostgreSQL (CONTEST_DATABASE_URL, as in CI's second "
        "pass); SQLite is the one-process shape",
    ),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(
    what: str | Callable[[], str], condition: Callable[[], Any], timeout: float, every: float = 0.1
) -> Any:
    """Poll ``condition`` until it returns something true (returned), or fail naming ``what``
    (a callable: asked at the failure, for what was seen last)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            pytest.fail(f"{what if isinstance(what, str) else what()}: not within {timeout} s")
        time.sleep(every)


# --- processes -------------------------------------------------------------------------------


@dataclass
class Child:
    """One process of the cluster, in its own process group, with its output in a log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the process and everything it started (gunicorn's workers), while
        the process is ours (not yet reaped: its id cannot name anyone else's group)."""
        if self.popen.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signum)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.name} ---\n" + "\n".join(text.splitlines()[-lines:])


@dataclass
class Cluster:
    """Two gunicorn instances and two ``contest worker`` processes on one database and Redis."""

    env: dict[str, str]
    workdir: Path
    children: dict[str, Child] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    worker_names: dict[str, str] = field(default_factory=dict)

    def spawn(self, name: str, argv: list[str], extra: dict[str, str] | None = None) -> None:
        log = self.workdir / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                argv,
                cwd=ROOT,
                env={**self.env, **(extra or {})},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a group of its own: signals reach it and its children
            )
        self.children[name] = Child(name, popen, log)

    def start_web(self, name: str) -> None:
        port = self.ports[name] = free_port()
        # the project's configuration (it turns gunicorn's per-user control socket off, so two
        # instances on one machine do not remove each other's)
        argv = [sys.executable, "-m", "gunicorn", "-c", "python:contest.gunicorn_conf"]
        extra = {"GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "1"}
        self.spawn(name, [*argv, "contest.wsgi:app"], extra)

    def start_worker(self, name: str, scheduler: bool) -> None:
        unique = self.worker_names[name] = f"scale-{name}-{os.getpid()}-{secrets.token_hex(3)}"
        argv = [sys.executable, "-m", "contest", "worker", "--name", unique]
        self.spawn(name, argv if scheduler else [*argv, "--no-scheduler"])

    def logs(self) -> str:
        return "\n".join(child.tail() for child in self.children.values())

    def check_alive(self, *names: str) -> None:
        for name in names:
            assert self.children[name].alive(), f"{name} exited\n{self.logs()}"

    def answers_ping(self, name: str) -> bool:
        self.check_alive(name)
        conn = http.client.HTTPConnection("127.0.0.1", self.ports[name], timeout=5)
        try:
            conn.request("GET", "/api/v1/ping")
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def registered_workers(self, client: redis.Redis) -> dict[str, BaseWorker]:
        """Our workers in RQ's registry, by the cluster's name for them."""
        mine = {unique: name for name, unique in self.worker_names.items()}
        return {mine[w.name]: w for w in Worker.all(connection=client) if w.name in mine}

    def stop(self) -> None:
        """Every process, stopped ones included: TERM, then KILL what is left of each group."""
        for child in self.children.values():
            child.signal(signal.SIGCONT)
            child.signal(signal.SIGTERM)
        for child in self.children.values():
            try:
                child.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()


@pytest.fixture
def cluster(app: Flask, tmp_path: Path, redis_url: str) -> Iterator[Cluster]:
    """Web A and B (gunicorn), workers 1 and 2 (``contest worker``; 1 runs RQ's scheduler),
    started on the test database and Redis once the test has seeded them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONTEST_", "GUNICORN_"))}
    env.update(
        CONTEST_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        CONTEST_REDIS_URL=redis_url,
        CONTEST_SECRET_KEY=secrets.token_hex(32),
        CONTEST_INSTANCE_PATH=str(tmp_path / "instance"),
        CONTEST_DB_POOL_SIZE="8",
        PYTHONUNBUFFERED="1",
    )
    made = Cluster(env, tmp_path)
    try:
        yield made
    finally:
        made.stop()


def start(cluster: Cluster, client: redis.Redis) -> None:
    cluster.start_web("web-a")
    cluster.start_web("web-b")
    cluster.start_worker("worker-1", scheduler=True)
    cluster.start_worker("worker-2", scheduler=False)
    for web in ("web-a", "web-b"):

        def answering(name: str = web) -> bool:
            return cluster.answers_ping(name)

        wait_for(lambda: f"web answering\n{cluster.logs()}", answering, 60)

    def both_registered() -> bool:
        cluster.check_alive("worker-1", "worker-2")
        return len(cluster.registered_workers(client)) == 2

    wait_for(lambda: f"both workers registered\n{cluster.logs()}", both_registered, 60)


# --- HTTP clients ----------------------------------------------------------------------------


class InstanceDown(Exception):
    """The request got no answer: the connection was refused or cut."""


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: Any


class Browser:
    """One client: its cookies, CSRF token and device id. Each request names the port (the web
    instance) it goes to, as a load balancer would choose."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.cookies: dict[str, str] = {}
        self.token = ""

    def request(self, port: int, method: str, path: str, body: Any = None) -> Reply:
        headers = {"X-Device-Id": self.device, "Accept": "application/json"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.token:
            headers["X-CSRFToken"] = self.token
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
        try:
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise InstanceDown(f"{method} {path} on port {port}: {exc!r}") from exc
        finally:
            conn.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel.value and morsel["max-age"] != "0":
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        is_json = response.headers.get_content_type() == "application/json"
        return Reply(response.status, response.headers, json.loads(raw) if is_json else None)

    def fetch_token(self, port: int) -> None:
        """getSession: the CSRF token the next state-changing call sends."""
        reply = self.request(port, "GET", "/api/v1/session")
        assert reply.status == 200, reply
        self.token = reply.body["csrf_token"]

    def login(self, port: int, username: str, password: str = PASSWORD) -> Reply:
        """login (after getSession for the token); a success brings the new session's token."""
        if not self.token:
            self.fetch_token(port)
        reply = self.request(
            port, "POST", "/api/v1/session", {"username": username, "password": password}
        )
        if reply.status == 200:
            self.token = reply.body["csrf_token"]
        return reply


class BoardStream:
    """streamRoundLeaderboard, read event by event (server-sent events)."""

    def __init__(self, port: int, round_id: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
        self.conn.request(
            "GET",
            f"/api/v1/rounds/{round_id}/leaderboard/stream",
            headers={"Accept": "text/event-stream"},
        )
        self.response = self.conn.getresponse()
        assert self.response.status == 200, self.response.read()
        assert self.response.headers.get_content_type() == "text/event-stream"

    def next_board(self, deadline: float) -> dict[str, Any]:
        """The next ``board`` event's data (comment lines skipped), or fail at ``deadline``."""
        event: dict[str, str] = {}
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail("the board stream sent no event in time")
            assert self.conn.sock is not None
            self.conn.sock.settimeout(left)
            try:
                line = self.response.readline().decode().rstrip("\n")
            except TimeoutError:
                pytest.fail("the board stream sent no event in time")
            if not line:
                if event.get("event") == "board":
                    return dict(json.loads(event["data"]))
                event = {}
            elif not line.startswith(":"):
                key, _, value = line.partition(":")
                event[key] = value.removeprefix(" ")

    def close(self) -> None:
        self.response.close()
        self.conn.close()


def expected_score(items: list[dict[str, Any]], right: Callable[[int], bool]) -> int:
    return sum(item["points"] for n, item in enumerate(items) if right(n))


# --- load through the live instances ---------------------------------------------------------


@dataclass(frozen=True)
class Ack:
    attempt_id: int
    position: int
    seq: int
    answer: Any


class Load:
    """Contestants taking the round, each after the other, in a few threads: log in, start, save
    every answer, submit. Requests alternate between the live instances; a request the killed
    instance does not answer is sent again to the other (as a load balancer retries), and only
    replies count as acknowledged."""

    def __init__(self, ports: list[int], round_id: int, usernames: list[str]) -> None:
        self.live = list(ports)
        self.round_id = round_id
        self.usernames = usernames
        self.killed: int | None = None
        self.acks: list[Ack] = []
        self.submitted: dict[int, int] = {}  # attempt id → the score its answers earn
        self.in_flight: set[int] = set()  # attempts whose submission is under way
        self.errors: list[str] = []
        self.resent = 0
        self.changed = threading.Condition()
        self.stopping = threading.Event()
        self._turn = 0
        self._next = 0
        self.threads = [
            threading.Thread(target=self._run, name=f"load-{n}", daemon=True)
            for n in range(LOAD_THREADS)
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=3 * REQUEST_TIMEOUT_S)
            assert not thread.is_alive(), "a load thread did not finish"

    def wait(self, what: str, condition: Callable[[], bool], timeout: float) -> None:
        """Until ``condition`` holds after some progress (or fail; or fail on a load error)."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not condition():
                assert not self.errors, self.errors
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"{what}: not within {timeout} s ({len(self.submitted)} submitted)")
                self.changed.wait(left)
            assert not self.errors, self.errors

    def _on_live(self, call: Callable[[int], Reply]) -> Reply:
        """``call(port)`` on the next live instance; on the killed one's silence, on another."""
        while True:
            with self.changed:
                port = self.live[self._turn % len(self.live)]
                self._turn += 1
            try:
                return call(port)
            except InstanceDown:
                with self.changed:
                    if port != self.killed:
                        raise
                    if port in self.live:
                        self.live.remove(port)
                    self.resent += 1

    def _send(self, browser: Browser, method: str, path: str, body: Any = None) -> Reply:
        return self._on_live(lambda port: browser.request(port, method, path, body))

    def _login(self, browser: Browser, username: str) -> None:
        def login(port: int) -> Reply:
            browser.token = ""  # getSession on the instance the login goes to
            return browser.login(port, username)

        reply = self._on_live(login)
        assert reply.status == 200, (username, reply)

    def _contestant(self, index: int, username: str) -> None:
        browser = Browser(device=f"phone-{username}")
        self._login(browser, username)
        started = self._send(browser, "POST", f"/api/v1/rounds/{self.round_id}/attempts")
        assert started.status in (200, 201), started
        attempt = started.body
        items = attempt["items"]

        def right(n: int) -> bool:
            return (n + index) % 3 != 0

        for n, item in enumerate(items):
            answer = answer_for(item, right(n))
            path = f"/api/v1/attempts/{attempt['id']}/items/{item['position']}"
            saved = self._send(browser, "PUT", path, {"answer": answer, "seq": n + 1})
            assert saved.status == 200, saved
            if saved.body["saved"]:
                with self.changed:
                    self.acks.append(Ack(attempt["id"], item["position"], n + 1, answer))
        with self.changed:
            self.in_flight.add(attempt["id"])
        try:
            done = self._send(browser, "POST", f"/api/v1/attempts/{attempt['id']}/submission")
            assert done.status == 200 and done.body["status"] == "submitted", done
        finally:
            with self.changed:
                self.in_flight.discard(attempt["id"])
        with self.changed:
            self.submitted[attempt["id"]] = expected_score(items, right)
            self.changed.notify_all()

    def _run(self) -> None:
        while not self.stopping.is_set():
            with self.changed:
                if self._next >= len(self.usernames):
                    return
                index, self._next = self._next, self._next + 1
            try:
                self._contestant(index, self.usernames[index])
            except Exception as exc:  # reported by wait() and at the end of the test
                with self.changed:
                    self.errors.append(f"{self.usernames[index]}: {exc!r}")
                    self.changed.notify_all()
                return


# --- the test --------------------------------------------------------------------------------


@dataclass
class Seeded:
    round_id: int
    contest_id: int
    roamer: str
    guessed: str
    load: list[str]


def seed(app: Flask) -> Seeded:
    """A contest showing full names with an open paper round, and contestants (cheap hashes)."""
    with app.app_context():
        round_ = paper_round(published_bank())
        round_.contest.mask_names = False
        names = ["roamer", "guessed"] + [f"load{n:03d}" for n in range(LOAD_CONTESTANTS)]
        db.session.add_all(
            User(
                username=name,
                display_name=f"{name} 名",
                password_hash=CHEAP_HASH,
                role=Role.CONTESTANT,
            )
            for name in names
        )
        db.session.commit()
        return Seeded(round_.id, round_.contest_id, names[0], names[1], names[2:])


def login_limit(env: dict[str, str], tmp_path: Path) -> int:
    """Failed logins one client address may make for one account, as the processes read it."""
    text = build_config(tmp_path, from_environ(env))["LOGIN_LIMIT_ACCOUNT"]
    match = re.match(r"\s*(\d+)", text)
    assert match, text
    return int(match.group(1))


def unscored(app: Flask, round_id: int) -> set[int]:
    with app.app_context():
        ids = db.session.scalars(
            select(Attempt.id).where(
                Attempt.round_id == round_id,
                Attempt.status == AttemptStatus.SUBMITTED,
                Attempt.score.is_(None),
            )
        )
        found = set(ids)
        db.session.remove()
        return found


def kill_worker_holding_attempts(
    app: Flask, cluster: Cluster, client: redis.Redis, load: Load, round_id: int
) -> tuple[str, set[int]]:
    """SIGKILL a worker at the worst moment: while it holds submitted attempts it took off the
    pending list and has not committed scores for (a scoring drain mid-batch).

    Both workers are stopped (SIGSTOP) for a look: the attempts held are those submitted without
    a score, neither pending in Redis nor with their submission still under way, and one drain at
    a time takes attempts off the list, so they are held by the one worker RQ shows running a
    drain. Without such a worker and such attempts both continue (SIGCONT) and the next
    submission gives another chance. Returns the killed worker's name and the attempts it held.
    """
    workers = [cluster.children[name] for name in ("worker-1", "worker-2")]

    def caught() -> tuple[str, set[int]] | None:
        for child in workers:
            child.signal(signal.SIGSTOP)
        try:
            draining = [
                name
                for name, worker in cluster.registered_workers(client).items()
                if (worker.get_current_job_id() or "").startswith("score-drain-")
            ]
            held = unscored(app, round_id)
            held -= {int(raw) for raw in client.lrange(PENDING, 0, -1)}
            with load.changed:
                held -= load.in_flight
            if held and len(draining) == 1:
                cluster.children[draining[0]].kill()
                return draining[0], held
            return None
        finally:
            for child in workers:
                child.signal(signal.SIGCONT)

    caught_it: tuple[str, set[int]] = wait_for(
        "a worker caught holding attempts mid-drain", caught, 30, every=0.01
    )
    return caught_it


def session_moves_between_instances(
    seeded: Seeded, port_a: int, port_b: int
) -> tuple[Browser, dict[str, Any]]:
    """Log in through A; start an attempt and save every answer through B with that cookie.
    Returns the client and its attempt."""
    roamer = Browser(device="phone-roamer")
    assert roamer.login(port_a, seeded.roamer).status == 200
    assert roamer.request(port_b, "GET", "/api/v1/session").body["user"]["username"] == "roamer"
    started = roamer.request(port_b, "POST", f"/api/v1/rounds/{seeded.round_id}/attempts")
    assert started.status == 201, started
    attempt: dict[str, Any] = started.body
    for n, item in enumerate(attempt["items"]):
        path = f"/api/v1/attempts/{attempt['id']}/items/{item['position']}"
        saved = roamer.request(port_b, "PUT", path, {"answer": answer_for(item), "seq": n + 1})
        assert saved.status == 200 and saved.body["saved"] is True, saved
    return roamer, attempt


def stream_on_b_shows_submission_through_a(
    seeded: Seeded, roamer: Browser, attempt: dict[str, Any], port_a: int, port_b: int
) -> int:
    """Hold the round's board stream open on B, submit through A, and wait for the stream to
    deliver a board with the submission scored on it; returns the score."""
    score = expected_score(attempt["items"], lambda n: True)
    stream = BoardStream(port_b, seeded.round_id)
    try:
        deadline = time.monotonic() + 30
        assert stream.next_board(deadline)["entries"] == []
        done = roamer.request(port_a, "POST", f"/api/v1/attempts/{attempt['id']}/submission")
        assert done.status == 200 and done.body["status"] == "submitted", done
        while not (entries := stream.next_board(deadline)["entries"]):
            pass  # a render of the board before the submission was scored
        assert [(e["name"], e["score"]) for e in entries] == [("roamer 名", score)]
    finally:
        stream.close()
    return score


def guessing_through_a_is_refused_through_b(
    seeded: Seeded, limit: int, port_a: int, port_b: int
) -> int:
    """Wrong passwords for one account through A until refused (429); then a client that never
    guessed before is refused through B as well (same client address). Returns the guesses A
    answered 401."""
    guesser = Browser(device="guesser")
    statuses = []
    for _ in range(2 * limit + 5):
        statuses.append(guesser.login(port_a, seeded.guessed, "wrong-password").status)
        if statuses[-1] == 429:
            break
    assert statuses[0] == 401 and statuses[-1] == 429, statuses
    elsewhere = Browser(device="guesser-b")
    refused = elsewhere.login(port_b, seeded.guessed, "another-wrong-password")
    assert refused.status == 429 and refused.headers["Retry-After"], refused
    assert refused.body["error"]["code"], refused.body
    return statuses.count(401)


def kill_mid_round(
    app: Flask, cluster: Cluster, client: redis.Redis, seeded: Seeded
) -> tuple[Load, str, set[int]]:
    """Contestants take the round through A and B; web A (master and worker) and a worker holding
    attempts are killed with SIGKILL; contestants go on through B until five more have
    submitted. Returns the load, the surviving worker and the attempts the killed one held."""
    port_a, port_b = cluster.ports["web-a"], cluster.ports["web-b"]
    load = Load([port_a, port_b], seeded.round_id, seeded.load)
    load.start()
    try:
        load.wait("submissions through both instances", lambda: len(load.submitted) >= 3, 60)
        with load.changed:
            load.killed = port_a
        cluster.children["web-a"].kill()
        killed, held = kill_worker_holding_attempts(app, cluster, client, load, seeded.round_id)
        after_kills = len(load.submitted)
        load.wait("submissions after the kills", lambda: len(load.submitted) >= after_kills + 5, 60)
    finally:
        load.stop()
    assert not load.errors, load.errors
    assert load.live == [port_b] and load.resent > 0, "web A was never found down"
    survivor = "worker-2" if killed == "worker-1" else "worker-1"
    cluster.check_alive("web-b", survivor)
    return load, survivor, held


def answers_and_scores_match(app: Flask, load: Load, roamer: tuple[int, int]) -> None:
    """Every acknowledged save is in the database (the last of each item exactly) and every
    attempt's score is what its answers earn (``roamer``: another attempt and its score)."""
    submitted = [*load.submitted, roamer[0]]
    with app.app_context():
        stored = {
            (item.attempt_id, item.position): item
            for item in db.session.scalars(
                select(AttemptItem).where(AttemptItem.attempt_id.in_(submitted))
            )
        }
        scores = {
            row.id: row.score
            for row in db.session.execute(
                select(Attempt.id, Attempt.score).where(Attempt.id.in_(submitted))
            )
        }
        db.session.remove()
    last: dict[tuple[int, int], Ack] = {}
    for ack in load.acks:
        key = (ack.attempt_id, ack.position)
        assert stored[key].seq >= ack.seq, ack
        if key not in last or last[key].seq < ack.seq:
            last[key] = ack
    for key, ack in last.items():
        assert (stored[key].seq, stored[key].answer) == (ack.seq, ack.answer), ack
    for attempt_id, earned in load.submitted.items():
        assert scores[attempt_id] == earned, (attempt_id, scores[attempt_id], earned)
    assert scores[roamer[0]] == roamer[1]


def leaderboard_check(cluster: Cluster) -> None:
    """`contest leaderboard check` with the cluster's settings (the entries' ids are keyed by its
    secret key): every board equals a recomputation from the database (renders may still be
    under way: it keeps checking for up to 20 s)."""
    check = subprocess.run(
        [sys.executable, "-m", "contest", "leaderboard", "check", "--wait", "20"],
        cwd=ROOT,
        env=cluster.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "every board equals a recomputation" in check.stdout, check.stdout


def test_two_web_and_two_worker_processes_share_one_redis_and_one_database(
    app: Flask, cluster: Cluster, tmp_path: Path, redis_url: str
) -> None:
    began = time.monotonic()
    seeded = seed(app)
    client = redis.Redis.from_url(redis_url)
    start(cluster, client)
    port_a, port_b = cluster.ports["web-a"], cluster.ports["web-b"]
    started_s = time.monotonic() - began

    roamer, attempt = session_moves_between_instances(seeded, port_a, port_b)
    score = stream_on_b_shows_submission_through_a(seeded, roamer, attempt, port_a, port_b)
    limit = login_limit(cluster.env, tmp_path)
    guesses = guessing_through_a_is_refused_through_b(seeded, limit, port_a, port_b)

    load, survivor, held = kill_mid_round(app, cluster, client, seeded)
    killed_at = time.monotonic()
    # Every submitted attempt gets scored by the surviving worker. Nothing but the reconciler
    # queues the attempts the killed worker held (they are off the pending list): it does once
    # they are 30 s old without a score.
    assert held <= set(load.submitted), (held, load.submitted)
    wait_for(
        lambda: (
            f"every submitted attempt scored (held by the killed worker: {sorted(held)})\n"
            f"{cluster.logs()}"
        ),
        lambda: not unscored(app, seeded.round_id),
        90,
        every=0.5,
    )
    healed_s = time.monotonic() - killed_at
    with app.app_context():
        for held_attempt in db.session.scalars(select(Attempt).where(Attempt.id.in_(held))):
            assert held_attempt.scored_at and held_attempt.submitted_at, held_attempt.id
            waited = held_attempt.scored_at - held_attempt.submitted_at
            assert waited >= timedelta(seconds=UNSCORED_AFTER_S), (held_attempt.id, waited)
        db.session.remove()
    cluster.check_alive("web-b", survivor)
    client.close()

    answers_and_scores_match(app, load, (attempt["id"], score))
    leaderboard_check(cluster)
    print(
        f"scale-out: started in {started_s:.1f} s; {guesses} guesses before 429 (limit {limit}); "
        f"{len(load.submitted)} attempts and {len(load.acks)} acknowledged saves, "
        f"{load.resent} requests resent after web A was killed; the killed worker held "
        f"{len(held)} attempt(s), all scored {healed_s:.1f} s after the kills; "
        f"{time.monotonic() - began:.1f} s in all"
    )
