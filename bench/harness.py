"""The load harness: start the stack as production runs it, load it, check nothing was lost.

    .venv/bin/python bench/harness.py --profile smoke|standard|full [--faults] [--keep]

Phases: trivial reads, board reads idle, autosaves at 64 concurrent
contestants, board reads under 100 submissions/s + 500 saves/s, submit→visible for M spectators,
a full round with real logins and the close-of-round spike, then verification (every
acknowledged answer stored, every score regraded, boards equal a rebuild), and with --faults (and
always in smoke) a worker killed mid-scoring, Redis restarted and a web process restarted during
the round. Progress goes to stdout; the JSON summary is the last line and bench/results/latest.json.
The exit status is non-zero when a correctness check fails, never because a speed target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import wrk  # noqa: E402
from clients import (  # noqa: E402
    ContestantRecord,
    RoundStats,
    Submission,
    paced_submissions,
    run_round,
)
from httpclient import Client  # noqa: E402
from seed import (  # noqa: E402
    PASSWORD,
    OpenAttempt,
    create_round,
    mint_sessions,
    register_all,
    seed_bank,
    seed_open_attempts,
    seed_organizations,
    seed_scored_attempts,
    seed_users,
)
from stack import Stack, StackError, checkpoints  # noqa: E402

RESULTS = ROOT / "bench" / "results"
PHASES = ("trivial", "board_idle", "saves", "board_loaded", "visible", "full_round")
SAVERS = 64
SAVE_TARGET_RATE = 1000  # saves/s the latency target is stated at


@dataclass(frozen=True)
class Profile:
    ranked: int  # scored contestants on the load round's board
    wrk_seconds: float  # trivial and board reads
    saves_seconds: float
    loaded_seconds: float
    visible_seconds: float
    spectators: int
    submit_rate: float
    save_rate: float
    full_contestants: int
    full_concurrency: int
    full_questions: int
    full_duration_s: int
    workers: int
    faults: bool
    grace_s: int


PROFILES = {
    "smoke": Profile(
        ranked=300,
        wrk_seconds=3,
        saves_seconds=5,
        loaded_seconds=5,
        visible_seconds=6,
        spectators=50,
        submit_rate=100,
        save_rate=500,
        full_contestants=120,
        full_concurrency=40,
        full_questions=30,
        full_duration_s=1200,
        workers=2,
        faults=True,
        grace_s=3,
    ),
    "standard": Profile(
        ranked=2000,
        wrk_seconds=10,
        saves_seconds=15,
        loaded_seconds=15,
        visible_seconds=20,
        spectators=1000,
        submit_rate=100,
        save_rate=500,
        full_contestants=500,
        full_concurrency=64,
        full_questions=30,
        full_duration_s=1200,
        workers=3,
        faults=False,
        grace_s=5,
    ),
    "full": Profile(
        ranked=2000,
        wrk_seconds=10,
        saves_seconds=15,
        loaded_seconds=15,
        visible_seconds=20,
        spectators=1000,
        submit_rate=100,
        save_rate=500,
        full_contestants=10000,
        full_concurrency=200,
        full_questions=30,
        full_duration_s=1200,
        workers=3,
        faults=False,
        grace_s=10,
    ),
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


class Harness:
    def __init__(self, profile_name: str, faults: bool, keep: bool) -> None:
        self.name = profile_name
        self.profile = PROFILES[profile_name]
        self.faults = faults or self.profile.faults
        self.keep = keep
        self.workdir = Path(tempfile.mkdtemp(prefix="contest-bench-"))
        self.stack = Stack(self.workdir, workers=self.profile.workers, extra_env={})
        self.summary: dict[str, Any] = {
            "profile": profile_name,
            "faults_enabled": self.faults,
            "web": "gunicorn, 2 gevent workers (contest/gunicorn_conf.py)",
            "errors": {},
            "durations_s": {},
            "checks": {},
            "notes": [],
            "checkpoints_during": {},
        }
        self.last_checkpoints: tuple[int, int] | None = None
        self.failures: list[str] = []
        self.rng = random.Random(20261129)  # noqa: S311 - reproducible load
        self.app: Any = None
        self.only: set[str] | None = None  # None: every phase

    # Plumbing --------------------------------------------------------------------------------

    def fail(self, reason: str) -> None:
        log(f"CHECK FAILED: {reason}")
        self.failures.append(reason)

    def note(self, text: str) -> None:
        log(f"note: {text}")
        self.summary["notes"].append(text)

    def timed(self, name: str, began: float) -> None:
        self.summary["durations_s"][name] = round(time.monotonic() - began, 1)
        # Checkpoints since the previous phase ended: this phase (and the moments between).
        now = checkpoints()
        last, self.last_checkpoints = self.last_checkpoints, now
        if now is not None and last is not None and now != last:
            self.summary["checkpoints_during"][name] = {
                "checkpoints": now[0] - last[0],
                "buffers": now[1] - last[1],
            }
            log(
                f"  PostgreSQL checkpoints during {name}: {now[0] - last[0]} started, "
                f"{now[1] - last[1]} buffers written"
            )

    def app_context(self) -> Any:
        return self.app.app_context()

    def get_json(self, path: str) -> tuple[int, Any]:
        async def fetch() -> tuple[int, Any]:
            client = Client("127.0.0.1", self.stack.web_port)
            try:
                response = await client.request("GET", path)
                try:
                    return response.status, response.json()
                except ValueError:
                    return response.status, response.body[:300]
            finally:
                await client.close()

        return asyncio.run(fetch())

    # Setup ---------------------------------------------------------------------------------

    def start(self) -> None:
        began = time.monotonic()
        log(f"workdir {self.workdir}; starting PostgreSQL database, Redis, gunicorn, workers")
        self.last_checkpoints = checkpoints()
        self.stack.start()
        os.environ.update(self.stack.env())
        from contest import create_app

        self.app = create_app()
        self.stack.wait_workers_registered(self.profile.workers)
        log(
            f"stack up: web {self.stack.base_url} ({self.stack.web_processes} processes), "
            f"redis :{self.stack.redis_port}, {self.profile.workers} workers"
        )
        self.timed("start", began)

    def seed(self) -> None:
        began = time.monotonic()
        p = self.profile
        # wrk submits for loaded_seconds + 2 (its run outlasts the reads on both sides)
        self.loaded_n = int(p.submit_rate * (p.loaded_seconds + 2) * 1.2) + 40
        self.visible_n = int(p.submit_rate * p.visible_seconds * 1.3) + 20
        load_users = p.ranked + SAVERS + self.loaded_n + self.visible_n
        with self.app_context():
            from contest.extensions import db
            from contest.services.accounts import hash_password

            password_hash = hash_password(PASSWORD)  # once, with the production parameters
            self.bank_id = seed_bank(per_type=12)
            orgs = seed_organizations(10)
            db.session.commit()
            users = seed_users(max(load_users, p.full_contestants), orgs, password_hash)
            self.load_contest, self.load_round = create_round(
                "压测：负载轮", self.bank_id, 30, duration_s=7200
            )
            load = users[:load_users]
            register_all(self.load_contest, load)
            ranked, rest = load[: p.ranked], load[p.ranked :]
            seed_scored_attempts(self.load_round, ranked, self.rng)
            opened = seed_open_attempts(self.load_round, rest)
            self.savers = opened[:SAVERS]
            self.loaded = opened[SAVERS : SAVERS + self.loaded_n]
            self.visible = opened[SAVERS + self.loaded_n :]
            self.sessions = mint_sessions(self.app, rest)
            self.full_contest, self.full_round = create_round(
                "压测：初赛全程",
                self.bank_id,
                p.full_questions,
                duration_s=p.full_duration_s,
                grace_s=p.grace_s,
            )
            self.full_users = users[: p.full_contestants]
            register_all(self.full_contest, self.full_users)
        self.summary["contestants"] = p.full_contestants
        self.summary["seeded"] = {
            "accounts": max(load_users, p.full_contestants),
            "ranked": p.ranked,
            "open_attempts": len(opened),
        }
        self.timed("seed", began)
        log(f"seeded {self.summary['seeded']} in {time.monotonic() - began:.1f}s")
        rebuilt = self.stack.cli(["leaderboard", "rebuild"], timeout=300)
        self.boards = rebuilt.returncode == 0
        if not self.boards:
            self.note(
                "`contest leaderboard rebuild` failed or is missing: "
                + (rebuilt.stderr or rebuilt.stdout).strip().splitlines()[-1:][0][:200]
                if (rebuilt.stderr or rebuilt.stdout).strip()
                else "no output"
            )

    # Phases --------------------------------------------------------------------------------

    def wrk_get(self, path: str, seconds: float) -> wrk.WrkResult:
        command = wrk.wrk_command(
            self.stack.base_url + path,
            wrk.script(self.workdir, "get"),
            threads=2,
            connections=64,
            seconds=seconds,
        )
        return wrk.run(command, timeout=seconds + 60)

    def board_path(self, round_id: int, limit: int = 50) -> str:
        return f"/api/v1/rounds/{round_id}/leaderboard?offset=0&limit={limit}"

    def phase_trivial(self) -> None:
        began = time.monotonic()
        result = self.wrk_get("/api/v1/ping", self.profile.wrk_seconds)
        self.summary["trivial_reads_per_s"] = round(result.per_s, 1)
        self.summary["trivial"] = result.brief()
        if result.non_2xx or result.socket_errors:
            self.summary["errors"]["trivial"] = result.non_2xx + result.socket_errors
        log(f"trivial: {result.per_s:.0f} req/s, p99 {result.p99_ms} ms")
        self.timed("trivial", began)

    def board_available(self) -> bool:
        status, body = self.get_json(self.board_path(self.load_round))
        if status != 200 or not isinstance(body, dict):
            self.note(f"round board answered {status}: {str(body)[:200]}")
            return False
        log(f"board: total {body.get('total')}, version {body.get('version')}")
        return True

    def phase_board_idle(self) -> None:
        began = time.monotonic()
        result = self.wrk_get(self.board_path(self.load_round), self.profile.wrk_seconds)
        self.summary["board_reads_per_s_idle"] = round(result.per_s, 1)
        self.summary["board_idle"] = result.brief()
        trivial = self.summary.get("trivial_reads_per_s") or 0
        if trivial:
            self.summary["ratio_board_idle_to_trivial"] = round(result.per_s / trivial, 3)
        if result.non_2xx or result.socket_errors:
            self.summary["errors"]["board_idle"] = result.non_2xx + result.socket_errors
        log(f"board idle: {result.per_s:.0f} req/s, p99 {result.p99_ms} ms")
        self.timed("board_idle", began)

    def saves_command(self, seconds: float, seq_base: int, rate: float) -> list[str]:
        data = self.workdir / "saves.tsv"
        if not data.exists():
            wrk.write_saves_data(data, self.savers, self.sessions, self.rng)
        threads = 2
        return wrk.wrk_command(
            self.stack.base_url + "/",
            wrk.script(self.workdir, "saves"),
            threads=threads,
            connections=SAVERS,
            seconds=seconds,
            args=[str(data), str(seq_base), str(rate / threads), str(threads)],
        )

    def run_saves(self, key: str, seq_base: int, rate: float) -> wrk.WrkResult:
        """The 64 contestants' saves for the profile's seconds (``rate`` 0: closed loop); their
        non-2xx and socket errors are counted under ``key`` and fail the run."""
        result = wrk.run(
            self.saves_command(self.profile.saves_seconds, seq_base, rate),
            timeout=self.profile.saves_seconds + 60,
        )
        errors = result.non_2xx + result.socket_errors
        if errors:
            self.summary["errors"][key] = errors
            self.fail(f"{key}: {errors} non-2xx/socket errors ({result.statuses})")
        return result

    def phase_saves(self) -> None:
        began = time.monotonic()
        result = self.run_saves("saves", 1_000_000, 0)
        self.summary["saves_per_s"] = round(result.per_s, 1)
        self.summary["save_p50_ms"] = result.p50_ms
        self.summary["save_p99_ms"] = result.p99_ms
        self.summary["saves"] = {**result.brief(), "saved_false": result.saved_false}
        log(
            f"saves: {result.per_s:.0f}/s at {SAVERS} contestants, p50 {result.p50_ms} ms, "
            f"p99 {result.p99_ms} ms, not-2xx {result.non_2xx}, saved:false {result.saved_false}"
        )
        self.phase_saves_paced()
        self.timed("saves", began)

    def phase_saves_paced(self) -> None:
        """The same 64 contestants sending SAVE_TARGET_RATE saves/s on a schedule (open loop):
        the latency at the target rate, where the closed loop above measures it at saturation
        (each connection sending again the moment it is answered). Sends later than their slot
        are reported (``late_ms``): latency counts from the send, so that is the part to add."""
        result = self.run_saves("saves_paced", 2_000_000, SAVE_TARGET_RATE)
        self.summary["save_p99_ms_at_target_rate"] = result.p99_ms
        self.summary["saves_paced"] = {
            **result.brief(),
            "target_per_s": SAVE_TARGET_RATE,
            "saved_false": result.saved_false,
        }
        late = result.late_ms or {}
        log(
            f"saves paced at {SAVE_TARGET_RATE}/s: {result.per_s:.0f}/s, p50 {result.p50_ms} ms, "
            f"p99 {result.p99_ms} ms, max {result.max_ms} ms; sends behind their slot "
            f"p99 {late.get('p99')} ms, max {late.get('max')} ms"
        )

    def wait_scored(self, round_id: int, attempt_ids: list[int], timeout: float) -> float:
        """Until every attempt in ``attempt_ids`` is scored; returns seconds waited."""
        from sqlalchemy import func, select

        from contest.extensions import db
        from contest.models import Attempt, AttemptStatus

        began = time.monotonic()
        with self.app_context():
            while time.monotonic() - began < timeout:
                pending = db.session.scalar(
                    select(func.count())
                    .select_from(Attempt)
                    .where(
                        Attempt.id.in_(attempt_ids),
                        Attempt.status != AttemptStatus.SCORED,
                    )
                )
                db.session.rollback()
                if not pending:
                    return time.monotonic() - began
                time.sleep(0.1)
        raise StackError(f"{pending} attempts still unscored after {timeout} s")

    def submit_command(self, seconds: float, attempts: list[OpenAttempt], rate: float) -> list[str]:
        """wrk submitting ``attempts`` at ``rate`` per second (open loop, submit.lua)."""
        data = self.workdir / f"submit-{attempts[0].attempt_id}.tsv"
        if not data.exists():
            wrk.write_submit_data(data, attempts, self.sessions)
        return wrk.wrk_command(
            self.stack.base_url + "/",
            wrk.script(self.workdir, "submit"),
            threads=1,
            connections=32,
            seconds=seconds,
            args=[str(data), str(rate), "1", "32"],
        )

    def submitted(self, attempts: list[OpenAttempt]) -> list[int]:
        """The ids of these attempts that are no longer in progress (the database's word)."""
        from sqlalchemy import select

        from contest.extensions import db
        from contest.models import Attempt, AttemptStatus

        with self.app_context():
            ids = list(
                db.session.scalars(
                    select(Attempt.id).where(
                        Attempt.id.in_([a.attempt_id for a in attempts]),
                        Attempt.status != AttemptStatus.IN_PROGRESS,
                    )
                )
            )
            db.session.rollback()
        return ids

    def phase_board_loaded(self) -> None:
        """Board reads while wrk sends 500 saves/s and 100 submissions/s on a schedule (every
        load generator is wrk, so they cost the machine little of what the reads need)."""
        began = time.monotonic()
        p = self.profile
        background = wrk.start(self.saves_command(p.loaded_seconds + 2, 3_000_000, p.save_rate))
        submitter = wrk.start(self.submit_command(p.loaded_seconds + 2, self.loaded, p.submit_rate))
        time.sleep(1.0)  # let the background load reach its pace before measuring
        reads = self.wrk_get(self.board_path(self.load_round), p.loaded_seconds - 1)
        saves = wrk.finish(background, timeout=60)
        submits = wrk.finish(submitter, timeout=60)
        self.summary["board_reads_per_s_loaded"] = round(reads.per_s, 1)
        idle = self.summary.get("board_reads_per_s_idle") or 0
        if idle:
            self.summary["ratio_board_loaded_to_idle"] = round(reads.per_s / idle, 3)
        self.summary["board_loaded"] = {
            "reads": reads.brief(),
            "background_saves_per_s": round(saves.per_s, 1),
            "background_save_p99_ms": saves.p99_ms,
            "background_saves_non_2xx": saves.non_2xx,
            "submissions_per_s": round(submits.per_s, 1),
            "submissions": submits.requests - submits.non_2xx,
            "submission_p99_ms": submits.p99_ms,
            "submission_errors": submits.non_2xx + submits.socket_errors,
            **({"submission_error_example": submits.first_error} if submits.first_error else {}),
        }
        errors = reads.non_2xx + saves.non_2xx + submits.non_2xx + submits.socket_errors
        if errors:
            self.summary["errors"]["board_loaded"] = errors
            self.fail(f"board loaded phase: {errors} errors")
        log(
            f"board loaded: {reads.per_s:.0f} reads/s while {saves.per_s:.0f} saves/s and "
            f"{submits.per_s:.1f} submissions/s"
        )
        waited = self.wait_scored(self.load_round, self.submitted(self.loaded), 120)
        log(f"loaded-phase submissions all scored {waited:.1f}s after the phase")
        self.timed("board_loaded", began)

    def settle_board(self, round_id: int, timeout: float = 60) -> None:
        """Wait until the board counts every scored attempt of the round (renders caught up), so
        that totals seen afterwards grow only with the submissions being measured."""
        from sqlalchemy import func, select

        from contest.extensions import db
        from contest.models import Attempt, AttemptStatus

        give_up = time.monotonic() + timeout
        while time.monotonic() < give_up:
            with self.app_context():
                scored = db.session.scalar(
                    select(func.count(func.distinct(Attempt.user_id))).where(
                        Attempt.round_id == round_id, Attempt.status == AttemptStatus.SCORED
                    )
                )
                db.session.rollback()
            if self.board_total(round_id) == scored:
                return
            time.sleep(0.2)
        self.note(f"board of round {round_id} did not settle within {timeout:.0f} s")

    def phase_visible(self) -> None:
        began = time.monotonic()
        p = self.profile
        self.settle_board(self.load_round)
        out = self.workdir / "spectators.json"
        stream = self.board_path(self.load_round).replace("/leaderboard?", "/leaderboard/stream?")
        spectators = subprocess.Popen(  # noqa: S603 - our own script
            [
                sys.executable,
                str(ROOT / "bench" / "spectators.py"),
                "--port",
                str(self.stack.web_port),
                "--path",
                stream,
                "--count",
                str(p.spectators),
                "--out",
                str(out),
            ],
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            assert spectators.stdout is not None
            line = spectators.stdout.readline().strip()
            log(f"spectators: {line}")
            submissions = asyncio.run(
                paced_submissions(
                    "127.0.0.1",
                    self.stack.web_port,
                    self.visible,
                    self.sessions,
                    p.submit_rate,
                    p.visible_seconds,
                )
            )
            ok = [s for s in submissions if s.status == 200]
            self.wait_scored(self.load_round, [s.attempt_id for s in ok], 120)
            time.sleep(2.0)  # the renderer batches: the last snapshot follows within ~1 s
        finally:
            spectators.terminate()
            spectators.wait(60)
        result = json.loads(out.read_text())
        latencies, unseen = self.visible_latencies(ok, result["updates"])
        spread = (max(s.started for s in ok) - min(s.started for s in ok)) if len(ok) > 1 else 0
        self.summary["visible_p95_ms"] = round(percentile(latencies, 95) * 1000, 1)
        self.summary["visible"] = {
            "p50_ms": round(percentile(latencies, 50) * 1000, 1),
            "max_ms": round(max(latencies, default=0) * 1000, 1),
            "spectators_connected": result["connected"],
            "spectators_requested": result["count"],
            "spectators_dropped": result["dropped"],
            "spectator_errors": result["errors"],
            "snapshots_received": result["events"],
            "spectator_client_cpu_s": result.get("cpu_s"),
            "spectator_client_wall_s": result.get("wall_s"),
            "submissions": len(ok),
            "submissions_per_s": round(len(ok) / spread, 1) if spread else 0,
            "submission_errors": len(submissions) - len(ok),
            "submission_error_examples": sorted({s.error for s in submissions if s.error})[:5],
            "never_visible": unseen,
        }
        if len(submissions) - len(ok):
            self.summary["errors"]["visible_submissions"] = len(submissions) - len(ok)
            self.fail(f"visible phase: {len(submissions) - len(ok)} submissions failed")
        log(
            f"visible: p50 {self.summary['visible']['p50_ms']} ms, p95 "
            f"{self.summary['visible_p95_ms']} ms, max {self.summary['visible']['max_ms']} ms "
            f"to {result['connected']} spectators ({unseen} never seen by all)"
        )
        self.timed("visible", began)

    def visible_latencies(
        self, ok: list[Submission], updates: list[list[list[float]]]
    ) -> tuple[list[float], int]:
        """Per submission: when the last spectator saw a total that includes it, minus the
        submit's start. The k-th submission to be scored (by scored_at) is in totals ≥ T0 + k."""
        from sqlalchemy import select

        from contest.extensions import db
        from contest.models import Attempt

        started = {s.attempt_id: s.started for s in ok}
        with self.app_context():
            rows = db.session.execute(
                select(Attempt.id, Attempt.scored_at)
                .where(Attempt.id.in_(list(started)))
                .order_by(Attempt.scored_at, Attempt.id)
            ).all()
            db.session.rollback()
        live = [u for u in updates if u]
        if not live:
            return [], len(rows)
        base = min(u[0][0] for u in live)
        latencies: list[float] = []
        unseen = 0
        for k, (attempt_id, _scored_at) in enumerate(rows, start=1):
            threshold = base + k
            seen_by_all = 0.0
            for spectator in live:
                when = next((t for total, t in spectator if total >= threshold), None)
                if when is None:
                    seen_by_all = -1
                    break
                seen_by_all = max(seen_by_all, when)
            if seen_by_all < 0:
                unseen += 1
                continue
            latencies.append(max(0.0, seen_by_all - started[attempt_id]))
        return latencies, unseen

    # Full round, faults, spike and verification ------------------------------------------

    def phase_full_round(self) -> None:
        began = time.monotonic()
        p = self.profile
        records = [
            ContestantRecord(uid, f"bench{index:05d}", straggler=index % 5 == 0)
            for index, uid in enumerate(self.full_users, start=1)
        ]
        stats = RoundStats()
        fault_log: dict[str, Any] = {}
        host, port = "127.0.0.1", self.stack.web_port

        async def progress() -> None:
            while True:
                await asyncio.sleep(10)
                log(
                    f"  round: {stats.finished}/{len(records)} done, {stats.logins} logins, "
                    f"{stats.saves} saves, {stats.submits} submits"
                )

        async def main() -> None:
            ticker = asyncio.ensure_future(progress())
            injector = asyncio.ensure_future(self.inject_faults(stats, records, fault_log))
            try:
                await run_round(host, port, self.full_round, records, p.full_concurrency, 7, stats)
            finally:
                ticker.cancel()
            await injector

        log(
            f"full round: {len(records)} contestants, {p.full_questions} questions, "
            f"concurrency {p.full_concurrency}, faults {'on' if self.faults else 'off'}"
        )
        asyncio.run(main())
        round_s = time.monotonic() - began
        self.summary["full_round"] = {
            "seconds": round(round_s, 1),
            "window_s": p.full_duration_s,
            "logins": stats.logins,
            "login_p50_ms": round(percentile(stats.login_s, 50) * 1000, 1),
            "login_p99_ms": round(percentile(stats.login_s, 99) * 1000, 1),
            "saves": stats.saves,
            "saves_per_s": round(stats.saves / round_s, 1),
            "save_p50_ms": round(percentile(stats.save_s, 50) * 1000, 1),
            "save_p99_ms": round(percentile(stats.save_s, 99) * 1000, 1),
            "submits": stats.submits,
            "stragglers": sum(r.straggler for r in records),
            "statuses": stats.statuses,
            "client_retries": sum(r.retries for r in records),
            "retry_reasons": sorted({x for r in records for x in r.retry_reasons})[:10],
        }
        failed = [r for r in records if r.errors]
        if failed:
            key = "full_round_during_faults" if self.faults else "full_round"
            self.summary["errors"][key] = len(failed)
            self.summary["full_round"]["error_examples"] = [r.errors[0] for r in failed[:10]]
            if not self.faults:
                self.fail(f"full round: {len(failed)} contestants met errors")
        log(
            f"full round done in {round_s:.1f}s: {stats.logins} logins, {stats.saves} saves "
            f"({stats.saves / round_s:.0f}/s), {stats.submits} submits, {len(failed)} with errors"
        )
        if self.faults:
            self.summary["faults"] = fault_log
            self.heal(records)
        self.close_spike(records)
        self.verify(records)
        self.timed("full_round", began)

    async def inject_faults(
        self, stats: RoundStats, records: list[ContestantRecord], fault_log: dict[str, Any]
    ) -> None:
        if not self.faults:
            return
        submitters = sum(1 for r in records if not r.straggler)

        async def when(share: float) -> None:
            while stats.submits < share * submitters and stats.finished < len(records):
                await asyncio.sleep(0.05)

        await when(0.15)
        fault_log["worker_kill"] = await asyncio.to_thread(self.kill_busy_worker)
        log(f"  fault: {fault_log['worker_kill']}")
        await when(0.4)
        down = await asyncio.to_thread(self.stack.restart_redis)
        fault_log["redis_restart"] = {"unavailable_s": round(down, 2)}
        log(f"  fault: redis restarted ({down:.2f}s down)")
        await when(0.65)
        old, new = await asyncio.to_thread(self.stack.restart_web_worker)
        fault_log["web_restart"] = {"terminated_pid": old, "replacement_pid": new}
        log(f"  fault: web worker {old} terminated, replaced by {new}")

    def kill_busy_worker(self) -> dict[str, Any]:
        """kill -9 a worker caught performing a job (polled for up to 5 s), then replace it."""
        import redis as redis_lib
        from rq import Worker

        pids = {
            proc.pid: name for name, proc in self.stack.procs.items() if name.startswith("worker")
        }
        deadline = time.monotonic() + 5
        with redis_lib.Redis(port=self.stack.redis_port) as conn:
            while time.monotonic() < deadline:
                for worker in Worker.all(connection=conn):
                    if worker.get_state() == "busy" and worker.pid in pids:
                        job = worker.get_current_job_id()
                        self.stack.kill_and_replace_worker(pids[worker.pid])
                        return {"killed": pids[worker.pid], "busy": True, "job": job}
                time.sleep(0.005)
        name = next(iter(sorted(pids.values())))
        self.stack.kill_and_replace_worker(name)
        return {"killed": name, "busy": False, "job": None}

    def heal(self, records: list[ContestantRecord]) -> None:
        """After faults: wait for the reconciler until every submitted attempt is scored."""
        began = time.monotonic()
        submitted = [r.attempt_id for r in records if r.submitted and r.attempt_id]
        try:
            waited = self.wait_scored(self.full_round, submitted, 180)
            self.summary["faults"]["healed_after_s"] = round(waited, 1)
            log(f"healed: every submitted attempt scored {waited:.1f}s after the round")
        except StackError as exc:
            self.summary["faults"]["healed_after_s"] = None
            self.fail(f"not healed after faults: {exc}")
        self.summary["faults"]["worker_exits"] = list(self.stack.unexpected_exits)
        self.timed("heal", began)

    def board_total(self, round_id: int) -> int | None:
        status, body = self.get_json(self.board_path(round_id, 1))
        if status == 200 and isinstance(body, dict):
            return int(body.get("total") or 0)
        return None

    def close_spike(self, records: list[ContestantRecord]) -> None:
        """Close the round with every straggler's attempt open; time until all are on the board."""
        from sqlalchemy import func, select, update

        from contest.extensions import db
        from contest.models import Attempt, AttemptStatus, Round

        p = self.profile
        with self.app_context():
            closing = datetime.now(UTC)
            db.session.execute(
                update(Round).where(Round.id == self.full_round).values(closes_at=closing)
            )
            opened = db.session.execute(
                update(Attempt)
                .where(
                    Attempt.round_id == self.full_round,
                    Attempt.status == AttemptStatus.IN_PROGRESS,
                )
                .values(deadline_at=closing)
            ).rowcount  # type: ignore[attr-defined]
            db.session.commit()
        log(f"closing the round: {opened} attempts still open; grace {p.grace_s}s")
        # Saves are accepted until deadline + grace: the close starts after it.
        time.sleep(
            max(
                0.0,
                (closing + timedelta(seconds=p.grace_s + 0.5) - datetime.now(UTC)).total_seconds(),
            )
        )
        began = time.monotonic()
        sweep = self.stack.cli(["attempts", "close-overdue"], timeout=600)
        sweep_s = time.monotonic() - began
        scored_at: float | None = None
        on_board_at: float | None = None
        with self.app_context():
            while time.monotonic() - began < 300:
                counts = dict(
                    db.session.execute(
                        select(Attempt.status, func.count())
                        .where(Attempt.round_id == self.full_round)
                        .group_by(Attempt.status)
                    ).all()
                )
                db.session.rollback()
                pending = counts.get(AttemptStatus.IN_PROGRESS, 0) + counts.get(
                    AttemptStatus.SUBMITTED, 0
                )
                if not pending and scored_at is None:
                    scored_at = time.monotonic() - began
                if scored_at is not None:
                    total = self.board_total(self.full_round) if self.boards else None
                    if not self.boards or total == counts.get(AttemptStatus.SCORED, 0):
                        on_board_at = time.monotonic() - began
                        break
                time.sleep(0.1)
        self.summary["spike_on_board_s"] = round(on_board_at, 2) if on_board_at else None
        self.summary["spike"] = {
            "open_attempts": opened,
            "scored_s": round(scored_at, 2) if scored_at else None,
            "close_overdue_s": round(sweep_s, 2),
            "close_overdue_output": (sweep.stdout + sweep.stderr).strip()[-200:],
            "boards_checked": self.boards,
        }
        if on_board_at is None:
            self.fail("close-of-round spike: not every attempt scored and on the board in 300 s")
        log(f"spike: {opened} open attempts scored in {scored_at}s, on the board {on_board_at}s")

    def verify(self, records: list[ContestantRecord]) -> None:
        from verify import verify_round

        with self.app_context():
            result = verify_round(self.full_round, records)
        self.summary["answers_acknowledged"] = result.answers_acknowledged
        self.summary["answers_lost"] = result.answers_lost
        self.summary["checks"]["answers_unexpected"] = result.answers_unexpected
        self.summary["checks"]["attempts_checked"] = result.attempts_checked
        self.summary["checks"]["attempts_unscored"] = result.attempts_unscored
        self.summary["checks"]["score_mismatches"] = result.score_mismatches
        if result.examples:
            self.summary["checks"]["examples"] = result.examples
        if not result.ok:
            self.fail(f"verification: {result.examples[:3]}")
        log(
            f"verified: {result.answers_acknowledged} acknowledged answers, "
            f"{result.answers_lost} lost, {result.score_mismatches} score mismatches, "
            f"{result.attempts_unscored} unscored of {result.attempts_checked}"
        )
        check = self.stack.cli(["leaderboard", "check"], timeout=600)
        self.summary["checks"]["leaderboard_check_exit"] = check.returncode
        if check.returncode != 0:
            self.summary["checks"]["leaderboard_check_output"] = (
                check.stdout + check.stderr
            ).strip()[-1000:]
            self.fail(f"`contest leaderboard check` exited {check.returncode}")
        log(f"contest leaderboard check: exit {check.returncode}")

    # Run -----------------------------------------------------------------------------------

    def run(self) -> int:
        began = time.monotonic()
        try:
            self.start()
            self.seed()
            if self.wanted("trivial"):
                self.phase_trivial()
            if self.wanted("board_idle") and self.board_available():
                self.phase_board_idle()
            if self.wanted("saves"):
                self.phase_saves()
            if self.boards and self.board_available():
                if self.wanted("board_loaded"):
                    self.phase_board_loaded()
                if self.wanted("visible"):
                    self.phase_visible()
            else:
                self.fail("board endpoints missing or failing: board phases not measured")
            if self.wanted("full_round"):
                self.phase_full_round()
            peak, label = self.stack.peak_rss()
            self.summary["peak_rss_mb"] = peak
            self.summary["peak_rss_process"] = label
        except (StackError, RuntimeError, OSError, subprocess.SubprocessError) as exc:
            self.fail(f"harness aborted: {type(exc).__name__}: {exc}")
        finally:
            if "peak_rss_mb" not in self.summary:
                self.summary["peak_rss_mb"], self.summary["peak_rss_process"] = (
                    self.stack.peak_rss()
                )
            self.stop()
        self.summary["durations_s"]["total"] = round(time.monotonic() - began, 1)
        self.summary["failures"] = self.failures
        self.summary["ok"] = not self.failures
        return self.report()

    def wanted(self, phase: str) -> bool:
        return self.only is None or phase in self.only

    def stop(self) -> None:
        log("stopping the stack")
        if self.app is not None:
            from contest.extensions import db

            with self.app_context():
                db.engine.dispose()
        self.stack.stop()
        left = self.stack.leftovers()
        if left:
            self.fail(f"processes left running after stop: {left}")
        if not self.keep:
            try:
                from stack import drop_database

                drop_database(self.stack.database)
            except Exception as exc:
                self.note(f"could not drop the database: {exc}")
            shutil.rmtree(self.workdir, ignore_errors=True)
        else:
            log(f"kept: database {self.stack.database}, logs in {self.workdir}")

    def report(self) -> int:
        required = (
            "saves_per_s",
            "save_p50_ms",
            "save_p99_ms",
            "save_p99_ms_at_target_rate",
            "visible_p95_ms",
            "board_reads_per_s_idle",
            "board_reads_per_s_loaded",
            "trivial_reads_per_s",
            "contestants",
            "answers_acknowledged",
            "answers_lost",
            "peak_rss_mb",
        )
        for key in required:
            self.summary.setdefault(key, None)
        line = json.dumps(self.summary, ensure_ascii=False, sort_keys=True)
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "latest.json").write_text(json.dumps(self.summary, indent=2, ensure_ascii=False))
        (RESULTS / f"{self.name}.json").write_text(
            json.dumps(self.summary, indent=2, ensure_ascii=False)
        )
        print(line, flush=True)
        return 1 if self.failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="smoke")
    parser.add_argument("--faults", action="store_true", help="inject faults during the round")
    parser.add_argument("--keep", action="store_true", help="keep the database and logs")
    parser.add_argument(
        "--only",
        default=None,
        help="comma-separated phases to run (development; the summary is then partial): "
        + ",".join(PHASES),
    )
    args = parser.parse_args(argv)
    harness = Harness(args.profile, args.faults, args.keep)
    if args.only:
        harness.only = set(args.only.split(","))
        unknown = harness.only - set(PHASES)
        if unknown:
            parser.error(f"unknown phases {sorted(unknown)}; choose from {', '.join(PHASES)}")
        harness.name += "-partial"
    try:
        return harness.run()
    except KeyboardInterrupt:  # run() stopped the stack on its way out
        return 130


if __name__ == "__main__":
    sys.exit(main())
