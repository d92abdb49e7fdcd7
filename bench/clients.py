"""Python clients for the correctness phases: contestants taking a round, a paced submitter.

Contestants behave like the phone page: log in (GET the session for a CSRF token, POST the
credentials), start the attempt, autosave every answer with a per-attempt increasing ``seq``
(some answers changed later), then submit — or stop, answers saved, until the round closes.
Every save is recorded with what the server answered: only 200 ``{"saved": true}`` counts as
acknowledged. A connection error is retried with the same body, as a phone would.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from httpclient import Client, Response
from seed import PASSWORD, OpenAttempt, random_answer


@dataclass
class Save:
    position: int
    seq: int
    answer: Any
    status: int = 0
    acknowledged: bool = False


@dataclass
class ContestantRecord:
    user_id: int
    username: str
    attempt_id: int = 0
    saves: list[Save] = field(default_factory=list)
    submitted: bool = False
    straggler: bool = False
    errors: list[str] = field(default_factory=list)
    retries: int = 0
    retry_reasons: list[str] = field(default_factory=list)


@dataclass
class RoundStats:
    """Counters of a full round, shared by all contestant tasks."""

    logins: int = 0
    login_s: list[float] = field(default_factory=list)
    saves: int = 0
    save_s: list[float] = field(default_factory=list)
    submits: int = 0
    finished: int = 0
    statuses: dict[str, int] = field(default_factory=dict)

    def count(self, response: Response) -> None:
        key = str(response.status)
        self.statuses[key] = self.statuses.get(key, 0) + 1


async def take_round(
    host: str,
    port: int,
    round_id: int,
    record: ContestantRecord,
    stats: RoundStats,
    rng: random.Random,
    change_share: float = 0.2,
) -> None:
    """One contestant's whole round; problems are recorded, never raised."""
    client = Client(host, port, device_id=f"phone-{record.user_id}")

    def retried(exc: BaseException) -> None:
        record.retries += 1
        if len(record.retry_reasons) < 5:
            record.retry_reasons.append(f"{type(exc).__name__}: {exc}")

    try:
        session = await client.request_retrying("GET", "/api/v1/session", on_retry=retried)
        stats.count(session)
        client.csrf = session.json()["csrf_token"]
        began = time.monotonic()
        login = await client.request_retrying(
            "POST",
            "/api/v1/session",
            {"username": record.username, "password": PASSWORD},
            on_retry=retried,
        )
        stats.count(login)
        if login.status != 200:
            record.errors.append(f"login {login.status} {login.body[:200]!r}")
            return
        stats.logins += 1
        stats.login_s.append(time.monotonic() - began)
        client.csrf = login.json()["csrf_token"]
        start = await client.request_retrying(
            "POST", f"/api/v1/rounds/{round_id}/attempts", on_retry=retried
        )
        stats.count(start)
        if start.status not in (200, 201):
            record.errors.append(f"start {start.status} {start.body[:200]!r}")
            return
        attempt = start.json()
        record.attempt_id = attempt["id"]
        items = attempt["items"]
        plan = [(item, random_answer(*_shape(item), rng)) for item in items]
        changes = [item for item in items if rng.random() < change_share]
        plan += [(item, random_answer(*_shape(item), rng)) for item in changes]
        for seq, (item, answer) in enumerate(plan, start=1):
            save = Save(item["position"], seq, answer)
            record.saves.append(save)
            began = time.monotonic()
            response = await client.request_retrying(
                "PUT",
                f"/api/v1/attempts/{record.attempt_id}/items/{item['position']}",
                {"answer": answer, "seq": seq},
                on_retry=retried,
            )
            stats.count(response)
            stats.saves += 1
            stats.save_s.append(time.monotonic() - began)
            save.status = response.status
            if response.status == 200:
                save.acknowledged = bool(response.json().get("saved"))
            else:
                record.errors.append(f"save {response.status} {response.body[:200]!r}")
        if record.straggler:
            return
        submit = await client.request_retrying(
            "POST", f"/api/v1/attempts/{record.attempt_id}/submission", on_retry=retried
        )
        stats.count(submit)
        if submit.status == 200:
            record.submitted = True
            stats.submits += 1
        else:
            record.errors.append(f"submit {submit.status} {submit.body[:200]!r}")
    except Exception as exc:  # recorded: the verification decides what it means
        record.errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        stats.finished += 1
        await client.close()


def _shape(item: dict[str, Any]) -> tuple[str, list[str], int]:
    return item["type"], [o["id"] for o in item["options"]], int(item.get("blanks") or 0)


async def run_round(
    host: str,
    port: int,
    round_id: int,
    records: Sequence[ContestantRecord],
    concurrency: int,
    seed: int,
    stats: RoundStats,
) -> None:
    """Every contestant takes the round, at most ``concurrency`` at a time."""
    gate = asyncio.Semaphore(concurrency)

    async def one(index: int, record: ContestantRecord) -> None:
        async with gate:
            await take_round(host, port, round_id, record, stats, random.Random(seed + index))  # noqa: S311 - load, not secrets

    await asyncio.gather(*(one(i, r) for i, r in enumerate(records)))


@dataclass
class Submission:
    attempt_id: int
    started: float  # time.monotonic() when the request was sent
    wall: float
    seconds: float = 0.0
    status: int = 0
    error: str = ""


async def paced_submissions(
    host: str,
    port: int,
    attempts: Sequence[OpenAttempt],
    sessions: dict[int, tuple[str, str]],
    rate: float,
    duration: float,
    pool: int = 64,
    stop: Callable[[], bool] | None = None,
) -> list[Submission]:
    """Submit ``attempts`` at ``rate`` per second (open loop) for ``duration`` seconds."""
    clients: asyncio.Queue[Client] = asyncio.Queue()
    for _ in range(pool):
        clients.put_nowait(Client(host, port, timeout=15.0))
    done: list[Submission] = []
    tasks: list[asyncio.Future[None]] = []

    async def submit(attempt: OpenAttempt) -> None:
        entry = Submission(attempt.attempt_id, time.monotonic(), time.time())
        cookie, token = sessions[attempt.user_id]
        try:
            client = await clients.get()
        except asyncio.CancelledError:
            entry.error = "never sent: every connection was waiting on the server"
            done.append(entry)
            raise
        headers = {
            "Cookie": f"session={cookie}",
            "X-CSRFToken": token,
            "X-Device-Id": f"dev-{attempt.user_id}",
        }
        try:
            for attempt_no in range(3):
                try:
                    response = await client.request(
                        "POST", f"/api/v1/attempts/{attempt.attempt_id}/submission", None, headers
                    )
                    entry.status = response.status
                    if response.status != 200:
                        entry.error = f"{response.status} {response.body[:200]!r}"
                    break
                except (ConnectionError, OSError, asyncio.IncompleteReadError) as exc:
                    entry.error = f"{type(exc).__name__}: {exc}"
                    await asyncio.sleep(0.05 * (attempt_no + 1))
        finally:
            entry.seconds = time.monotonic() - entry.started
            done.append(entry)
            clients.put_nowait(client)

    began = time.monotonic()
    for index, attempt in enumerate(attempts):
        due = began + index / rate
        if due - began >= duration or (stop is not None and stop()):
            break
        wait = due - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.ensure_future(submit(attempt)))
    # A stuck server must not hold the phase: whatever is still waiting after a grace counts
    # as failed (status 0).
    if tasks:
        _done, pending = await asyncio.wait(tasks, timeout=30)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    while not clients.empty():
        await clients.get_nowait().close()
    return done
