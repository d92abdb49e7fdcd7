"""Running wrk with the bench's Lua scripts and reading the JSON line their ``done()`` prints."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seed import OpenAttempt, random_answer

LUA = Path(__file__).resolve().parent / "lua"


@dataclass
class WrkResult:
    """What one wrk run measured (latencies in ms)."""

    requests: int
    seconds: float
    per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: dict[str, int]
    statuses: dict[str, int]
    saved_true: int
    saved_false: int
    first_error: str = ""
    late_ms: dict[str, int] | None = None  # paced scripts: how far sends fell behind their slots

    @property
    def non_2xx(self) -> int:
        return sum(n for code, n in self.statuses.items() if not code.startswith("2"))

    @property
    def socket_errors(self) -> int:
        return sum(v for k, v in self.errors.items() if k != "status")

    def brief(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "per_s": round(self.per_s, 1),
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "max_ms": self.max_ms,
            "non_2xx": self.non_2xx,
            "socket_errors": self.socket_errors,
            "statuses": self.statuses,
            **({"first_error": self.first_error} if self.first_error else {}),
            **({"late_ms": self.late_ms} if self.late_ms and self.late_ms["sends"] else {}),
        }


def script(workdir: Path, name: str) -> Path:
    """common.lua + ``name``.lua as one file (wrk takes a single script)."""
    path = workdir / f"wrk-{name}.lua"
    path.write_text((LUA / "common.lua").read_text() + "\n" + (LUA / f"{name}.lua").read_text())
    return path


def wrk_command(
    url: str,
    script_path: Path,
    *,
    threads: int,
    connections: int,
    seconds: float,
    args: Sequence[str] = (),
) -> list[str]:
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError("wrk is not installed: apt-get install -y wrk")
    command = [
        binary,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(script_path),
        url,
    ]
    if args:
        command += ["--", *args]
    return command


def parse(output: str) -> WrkResult:
    line = next((ln for ln in output.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{output}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    seconds = data["duration_us"] / 1e6
    latency = data["latency_us"]
    return WrkResult(
        requests=data["requests"],
        seconds=seconds,
        per_s=data["requests"] / seconds if seconds else 0.0,
        p50_ms=round(latency["p50"] / 1000, 2),
        p90_ms=round(latency["p90"] / 1000, 2),
        p99_ms=round(latency["p99"] / 1000, 2),
        max_ms=round(latency["max"] / 1000, 2),
        errors=data["errors"],
        statuses=data["statuses"],
        saved_true=data["saved_true"],
        saved_false=data["saved_false"],
        first_error=data.get("first_error", ""),
        late_ms=data.get("late_ms"),
    )


def run(command: list[str], timeout: float) -> WrkResult:
    done = subprocess.run(  # noqa: S603 - wrk with our arguments
        command, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return parse(done.stdout)


def start(command: list[str]) -> subprocess.Popen[str]:
    """wrk in the background (its own process group); read it back with :func:`finish`."""
    return subprocess.Popen(  # noqa: S603 - wrk with our arguments
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )


def finish(process: subprocess.Popen[str], timeout: float) -> WrkResult:
    out, err = process.communicate(timeout=timeout)
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{out}\n{err}")
    return parse(out)


def _attempt_line(tag: str, attempt: OpenAttempt, sessions: dict[int, tuple[str, str]]) -> str:
    """``tag``, the attempt and its contestant's cookie, CSRF token and device, tab-separated."""
    cookie, token = sessions[attempt.user_id]
    return f"{tag}\t{attempt.attempt_id}\t{cookie}\t{token}\tdev-{attempt.user_id}"


def write_submit_data(
    path: Path, attempts: Sequence[OpenAttempt], sessions: dict[int, tuple[str, str]]
) -> None:
    """The data file submit.lua reads: per attempt its contestant's cookie, token and device."""
    lines = [_attempt_line("S", attempt, sessions) for attempt in attempts]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_saves_data(
    path: Path,
    attempts: Sequence[OpenAttempt],
    sessions: dict[int, tuple[str, str]],
    rng: random.Random,
) -> None:
    """The data file saves.lua reads: per contestant its cookie, token, device and answers."""
    lines = []
    for attempt in attempts:
        lines.append(_attempt_line("A", attempt, sessions))
        for item in attempt.items:
            first, second = (
                json.dumps(
                    random_answer(item.type, item.option_ids, item.blanks, rng),
                    ensure_ascii=False,
                    separators=(",", ":"),
                )
                for _ in range(2)
            )
            lines.append(f"P\t{item.position}\t{first}\t{second}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
