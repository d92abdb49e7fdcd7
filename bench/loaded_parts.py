"""Board reads beside one background load at a time (what the loaded phase combines).

    .venv/bin/python bench/loaded_parts.py

Starts the standard stack, seeds it, then measures board reads (wrk, 64 connections) idle, beside
paced saves only (the loaded phase's 500/s), beside paced submissions only (100/s), and idle
again. Prints one line per measurement; asserts nothing.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness
import wrk


class LoadedParts(harness.Harness):
    def measure(self, label: str, seconds: float = 7) -> None:
        reads = self.wrk_get(self.board_path(self.load_round), seconds)
        harness.log(f"{label}: board reads {reads.per_s:.0f}/s, p50 {reads.brief()['p50_ms']} ms")

    def run(self) -> int:
        try:
            self.start()
            self.seed()
            p = self.profile
            self.measure("idle")
            background = wrk.start(self.saves_command(10, 3_000_000, p.save_rate))
            time.sleep(1)  # the saves reach their pace
            self.measure(f"beside {p.save_rate:.0f} saves/s")
            saves = wrk.finish(background, timeout=60)
            harness.log(f"  (saves achieved {saves.per_s:.0f}/s)")
            submitter = wrk.start(self.submit_command(10, self.loaded, p.submit_rate))
            time.sleep(1)
            self.measure(f"beside {p.submit_rate:.0f} submissions/s")
            submits = wrk.finish(submitter, timeout=60)
            harness.log(f"  ({submits.requests} submissions, {submits.non_2xx} not 2xx)")
            self.settle_board(self.load_round)
            self.measure("idle again")
        finally:
            self.stop()
        return 0


if __name__ == "__main__":
    sys.exit(LoadedParts("standard", faults=False, keep=False).run())
