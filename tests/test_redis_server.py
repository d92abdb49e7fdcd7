"""The embedded Valkey server: a real server process that never outlives its owner."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil
import redis

from contest.redis_server import EmbeddedRedis, socket_path_for


def wait_gone(pid: int, timeout: float = 10) -> bool:
    try:
        psutil.Process(pid).wait(timeout)
    except psutil.NoSuchProcess:
        return True
    except psutil.TimeoutExpired:
        return False
    return True


def test_start_serve_and_stop_leaves_nothing(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "r")
    assert server.start() is True
    pid = server.pid
    assert pid is not None
    client = redis.Redis.from_url(server.url)
    client.set("k", "v")
    assert client.get("k") == b"v"
    assert client.info("server")["valkey_version"].startswith("8.")
    client.close()
    server.stop()
    assert wait_gone(pid)
    assert not server.socket_path.exists()


def test_a_second_owner_adopts_the_running_server(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path / "r") as first:
        second = EmbeddedRedis(tmp_path / "r")
        assert second.start() is False  # answered already: nothing started, nothing to stop
        second.stop()
        with redis.Redis.from_url(first.url) as client:
            assert client.ping()


def test_deep_folders_get_a_short_fixed_socket(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*["very-long-folder-name"] * 6)
    path = socket_path_for(deep)
    assert len(str(path)) < 108
    assert path == socket_path_for(deep)  # every process of the install finds the same one


def test_server_dies_with_its_owner_even_on_sigkill(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from contest.redis_server import EmbeddedRedis
        server = EmbeddedRedis(Path({str(tmp_path / "r")!r}))
        server.start()
        print(server.pid, flush=True)
        time.sleep(600)
    """)
    owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert owner.stdout is not None
    server_pid = int(owner.stdout.readline())
    assert psutil.pid_exists(server_pid)
    os.kill(owner.pid, signal.SIGKILL)
    owner.wait()
    owner.stdout.close()
    assert wait_gone(server_pid), "the embedded server outlived its owner"
