"""CPU per process group while the loaded phase's background runs alone (no board reads).

    .venv/bin/python bench/background_cpu.py [saves|submissions|both]

Starts the standard stack, seeds it, runs wrk saves at the loaded phase's 500/s and submissions
at 100/s (or one of them), and prints the cores each group used over 10 s: the web processes,
the RQ workers, Redis, PostgreSQL (every ``postgres`` process on the machine) and wrk. Asserts
nothing; this is how bench/HISTORY.md splits the loaded phase's background.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness
import wrk

SECONDS = 10.0


def groups(stack: object) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for pid, name in stack.stack_pids().items():  # type: ignore[attr-defined]
        group = (
            "web" if name.startswith("web") else "workers" if name.startswith("worker") else name
        )
        found.setdefault(group, []).append(pid)
    for process in psutil.process_iter(["name", "pid"]):
        name = process.info["name"] or ""
        if name.startswith("postgres") or name == "wrk":
            found.setdefault("postgres" if name.startswith("postgres") else "wrk", []).append(
                process.info["pid"]
            )
    return found


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


class BackgroundCpu(harness.Harness):
    def __init__(self, which: str) -> None:
        super().__init__("standard", faults=False, keep=False)
        self.which = which

    def run(self) -> int:
        try:
            self.start()
            self.seed()
            p = self.profile
            save_rate = p.save_rate if self.which != "submissions" else 1
            submit_rate = p.submit_rate if self.which != "saves" else 1
            saves = wrk.start(self.saves_command(SECONDS + 4, 3_000_000, save_rate))
            submits = wrk.start(self.submit_command(SECONDS + 4, self.loaded, submit_rate))
            time.sleep(1.5)  # both at their pace
            pids = groups(self.stack)
            before = {group: cpu_seconds(ids) for group, ids in pids.items()}
            began = time.monotonic()
            time.sleep(SECONDS)
            elapsed = time.monotonic() - began
            used = {
                group: (cpu_seconds(ids) - before[group]) / elapsed for group, ids in pids.items()
            }
            saved, submitted = wrk.finish(saves, timeout=60), wrk.finish(submits, timeout=60)
            for group in sorted(used):
                harness.log(f"{group}: {used[group]:.2f} cores")
            harness.log(
                f"total {sum(used.values()):.2f} cores; saves {saved.per_s:.0f}/s, "
                f"submissions {submitted.per_s:.1f}/s"
            )
        finally:
            self.stop()
        return 0


if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 else "both"
    if which not in ("saves", "submissions", "both"):
        raise SystemExit(__doc__)
    sys.exit(BackgroundCpu(which).run())
