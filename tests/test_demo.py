"""`contest demo`: the whole stack in one process tree that stops cleanly (slow: real processes)."""

from __future__ import annotations

import http.cookiejar
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.slow
PASSWORD = "Demo-Password-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ignore_sigint() -> None:  # runs in the child before exec
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class Demo:
    """One `contest demo` process in a session of its own, with its log captured."""

    def __init__(self, instance: Path, *, sigint_ignored: bool = False) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONTEST_")}
        env.update(
            CONTEST_INSTANCE_PATH=str(instance),
            CONTEST_PORT=str(self.port),
            CONTEST_DEMO_PASSWORD=PASSWORD,
        )
        self.log_path = instance.parent / f"demo-{self.port}.log"
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "contest", "demo"],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # As `make demo &` from a script: a shell without job control ignores SIGINT.
            preexec_fn=ignore_sigint if sigint_ignored else None,
        )

    def output(self) -> str:
        return self.log_path.read_text()

    def wait_until_serving(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output()
            try:
                with urllib.request.urlopen(self.base + "/login", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        raise AssertionError("demo did not serve /login in time:\n" + self.output())

    def tree(self) -> list[psutil.Process]:
        return [psutil.Process(self.process.pid), *psutil.Process(self.process.pid).children(True)]

    def stop(self, sig: signal.Signals, whole_group: bool) -> list[psutil.Process]:
        tree = self.tree()
        if whole_group:
            os.killpg(self.process.pid, sig)  # what a terminal's Ctrl-C does
        else:
            self.process.send_signal(sig)
        self.process.wait(30)
        _, alive = psutil.wait_procs(tree, timeout=15)
        self.log.close()
        return alive


class Session:
    """A browser-like API client: cookies and the CSRF token."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        self.token = self.call("GET", "/api/v1/session")[1]["csrf_token"]

    def call(self, method: str, path: str, body: object = None) -> tuple[int, dict]:  # type: ignore[type-arg]
        request = urllib.request.Request(
            self.base + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "X-CSRFToken": getattr(self, "token", "")},
        )
        try:
            with self.opener.open(request) as response:
                return int(response.status), json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)


def api_login(base: str, username: str, password: str) -> int:
    session = Session(base)
    return session.call("POST", "/api/v1/session", {"username": username, "password": password})[0]


def practice_board(base: str, contest_id: int) -> dict[str, object]:
    """The practice contest's public board, read as a spectator."""
    status, body = Session(base).call("GET", f"/api/v1/contests/{contest_id}/leaderboard")
    assert status == 200, body
    return body


def take_practice_round(base: str) -> int:
    """demo01 starts the practice round, answers nothing, submits; the worker scores it and its
    board thread puts it on the public board."""
    me = Session(base)
    status, body = me.call("POST", "/api/v1/session", {"username": "demo01", "password": PASSWORD})
    assert status == 200
    me.token = body["csrf_token"]
    contests = me.call("GET", "/api/v1/contests")[1]["contests"]
    practice = next(c for c in contests if c["rounds"][0]["attempts_allowed"] == 0)
    assert [c["rounds"][0]["status"] for c in contests if c is not practice] == ["scheduled"]
    status, attempt = me.call("POST", f"/api/v1/rounds/{practice['rounds'][0]['id']}/attempts")
    assert status == 201 and len(attempt["items"]) == 20
    me.call("POST", f"/api/v1/attempts/{attempt['id']}/submission")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        result = me.call("GET", f"/api/v1/attempts/{attempt['id']}/result")[1]
        if result["score"] is not None:
            assert result["score"] == 0
            assert result["max_score"] == practice["rounds"][0]["max_score"] > 0
            break
        time.sleep(0.2)
    else:
        raise AssertionError("the demo's worker did not score the attempt within 30 s")
    while time.monotonic() < deadline:
        if practice_board(base, practice["id"])["total"] == 1:
            return int(practice["id"])
        time.sleep(0.2)
    raise AssertionError("the scored attempt did not reach the public board")


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "instance"


def test_demo_serves_logs_in_and_stops_on_ctrl_c_then_runs_again(instance: Path) -> None:
    demo = Demo(instance)
    try:
        demo.wait_until_serving()
        names = " ".join(" ".join(p.cmdline()) for p in demo.tree())
        assert "valkey-server" in names and "worker" in names, names
        assert api_login(demo.base, "demo01", PASSWORD) == 200
        assert api_login(demo.base, "organizer", PASSWORD) == 200
        assert api_login(demo.base, "demo01", "wrong-password") == 401
        practice_id = take_practice_round(demo.base)
    finally:
        alive = demo.stop(signal.SIGINT, whole_group=True)
    assert alive == [], f"left running after Ctrl-C: {alive}"
    assert "51 accounts created" in demo.output()
    assert "225 questions created" in demo.output()

    again = Demo(instance)  # the same instance folder: data is reused
    try:
        again.wait_until_serving()
        assert api_login(again.base, "demo50", PASSWORD) == 200
        # The embedded Redis started empty: the board was rebuilt from the database.
        assert practice_board(again.base, practice_id)["total"] == 1
    finally:
        alive = again.stop(signal.SIGTERM, whole_group=False)
    assert alive == [], f"left running after SIGTERM: {alive}"
    assert "0 accounts created, 51 reused" in again.output()
    assert "0 questions created, 225 already there" in again.output()


def test_killing_the_demo_outright_takes_its_children_along(instance: Path) -> None:
    demo = Demo(instance)
    try:
        demo.wait_until_serving()
    finally:
        alive = demo.stop(signal.SIGKILL, whole_group=False)
    assert alive == [], f"outlived a kill -9 of the demo: {alive}"


def test_ctrl_c_stops_a_demo_started_in_the_background_and_redis_goes_last(
    instance: Path,
) -> None:
    """Started with SIGINT ignored, the demo still stops on it; its Redis, outside the process
    group, stops after the web server and workers, so none of them logs a lost Redis."""
    demo = Demo(instance, sigint_ignored=True)
    try:
        demo.wait_until_serving()
    finally:
        alive = demo.stop(signal.SIGINT, whole_group=True)
    assert alive == [], f"left running after Ctrl-C: {alive}"
    output = demo.output()
    assert "Stopped: web server, workers and Redis." in output
    assert "unavailable" not in output and "Error 111" not in output, output[-2000:]
