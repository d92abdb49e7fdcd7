"""`contest demo`: the whole stack in one process tree that stops cleanly (slow: real processes)."""

from __future__ import annotations

import http.cookiejar
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import psutil
import pytest

from tests.conftest import SHARED, needs_shared
from tests.support.ports import free_port

pytestmark = pytest.mark.slow
PASSWORD = "Demo-Password-1"
# The law texts beside the repository (CI has them): the demo imports them before its bank.
LAWS = SHARED / "laws"
HAS_LAWS = LAWS.is_dir() or bool(os.environ.get("CI"))
BANK_SIZE = 242  # questions in question_bank/demo_bank/*.json


def ignore_sigint() -> None:  # runs in the child before exec
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class Demo:
    """One `contest demo` process in a session of its own, with its log captured."""

    def __init__(
        self,
        instance: Path,
        *,
        sigint_ignored: bool = False,
        laws_setting: Path | None = None,
        laws_option: Path | None = None,
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONTEST_")}
        env.update(
            CONTEST_INSTANCE_PATH=str(instance),
            CONTEST_PORT=str(self.port),
            CONTEST_DEMO_PASSWORD=PASSWORD,
        )
        if laws_setting is not None:
            env["CONTEST_DEMO_LAWS"] = str(laws_setting)
        options = ["--laws", str(laws_option)] if laws_option is not None else []
        self.log_path = instance.parent / f"demo-{self.port}.log"
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "contest", "demo", *options],
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


def question_citing(instance: Path, law: str, article: int) -> int:
    """The id of a demo question whose current version cites ``law`` ``article`` (read from the
    demo's own SQLite file)."""
    with closing(sqlite3.connect(instance / "contest.db")) as connection:
        row = connection.execute(
            "SELECT question.id FROM question JOIN question_version"
            " ON question_version.id = question.current_version_id"
            " WHERE citation_law = ? AND citation_article = ? ORDER BY question.id",
            (law, article),
        ).fetchone()
    assert row is not None, (law, article)
    return int(row[0])


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
    # The preliminary opens tomorrow; the live final waits for its host.
    others = sorted(
        (c["rounds"][0]["mode"], c["rounds"][0]["status"]) for c in contests if c is not practice
    )
    assert others == [("live", "scheduled"), ("paper", "scheduled")]
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
    demo = Demo(instance, laws_setting=LAWS if HAS_LAWS else None)
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
    assert f"{BANK_SIZE} questions created" in demo.output()
    if HAS_LAWS:
        assert "10 versions imported, 0 already there" in demo.output()
        assert "0 questions cite a superseded version" in demo.output()

    again = Demo(instance, laws_setting=LAWS if HAS_LAWS else None)  # data is reused
    try:
        again.wait_until_serving()
        assert api_login(again.base, "demo50", PASSWORD) == 200
        # The embedded Redis started empty: the board was rebuilt from the database.
        assert practice_board(again.base, practice_id)["total"] == 1
    finally:
        alive = again.stop(signal.SIGTERM, whole_group=False)
    assert alive == [], f"left running after SIGTERM: {alive}"
    assert "0 accounts created, 51 reused" in again.output()
    assert f"0 questions created, {BANK_SIZE} already there" in again.output()
    if HAS_LAWS:
        assert "0 versions imported, 10 already there" in again.output()
        assert "0 questions cite a superseded version" in again.output()


@needs_shared
def test_the_demo_imports_the_law_texts_it_is_given_before_its_bank(instance: Path) -> None:
    """`contest demo --laws DIR`: the bank's citations meet the imported texts, so a question's
    page shows the article it cites, from the version in force (网络安全法 as amended in 2025)."""
    demo = Demo(instance, laws_option=LAWS)
    try:
        demo.wait_until_serving()
        organizer = Session(demo.base)
        status, _ = organizer.call(
            "POST", "/api/v1/session", {"username": "organizer", "password": PASSWORD}
        )
        assert status == 200
        question_id = question_citing(instance, "网络安全法", 3)  # an article the amendment added
        with organizer.opener.open(f"{demo.base}/admin/questions/{question_id}") as response:
            page = response.read().decode()
    finally:
        alive = demo.stop(signal.SIGTERM, whole_group=False)
    assert alive == [], f"left running after SIGTERM: {alive}"
    assert 'data-testid="article-text"' in page
    assert "网络安全工作坚持中国共产党的领导" in page
    assert "中华人民共和国网络安全法 (2025-10-28)" in page
    assert "所引法规已导入新版本" not in page  # not flagged for review
    assert "10 versions imported" in demo.output()


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


def test_a_missing_law_texts_folder_stops_the_demo_before_it_starts(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTEST_")}
    env.update(
        CONTEST_INSTANCE_PATH=str(tmp_path / "instance"),
        CONTEST_DEMO_LAWS=str(tmp_path / "no-such-folder"),
    )
    result = subprocess.run(
        [sys.executable, "-m", "contest", "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "the law texts folder" in result.stderr and "does not exist" in result.stderr
    assert not (tmp_path / "instance" / "contest.db").exists()  # nothing was set up
