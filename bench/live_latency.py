"""How fast the live final reaches its devices: the host's "open" and a buzz, on 200 phones.

Starts the harness's stack (gunicorn with gevent workers, PostgreSQL, a real Redis, one RQ
worker), seeds a live round of 50 teams × 4 members with every member's phone connected
(``devices: members``), and opens 200 team streams (``streamLiveState``, view=team) from this
process — the phones, with sessions minted as a login leaves them. Then, for each of the buzz
segment's questions, the host (through the API, as its console does):

- ``next`` and ``open``: from the open request's send until each phone has received a state with
  that question open → ``open_visible_ms`` (p50, p95, max over every phone and question; target
  p95 < 500 ms);
- ``arm``, then one phone buzzes: the buzz request's own time → ``buzz_answer_ms``, and until
  each phone has received a state showing who buzzed first → ``buzz_shown_ms`` (target p95 <
  300 ms);
- ``judge``, ``reveal``.

On the last question every phone buzzes at once (200 requests, four per team, each on a new
connection, retried when one is dropped, as a phone retries): exactly one may be told it is first
→ ``rush`` (a retry is answered ``again`` with the same place). The server may close an idle
kept-alive connection to let a newcomer in, so the host's requests are retried the same way.
Phones read only a few fields of each state (a regex, not a JSON parse), to keep 200 of them
cheap beside the server on a 2-core machine. Prints one JSON line;
exit 1 when a check fails (a phone never saw a change, or the rush had no single winner).

    .venv/bin/python bench/live_latency.py [--teams 50] [--members 4] [--questions 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from httpclient import Client, sse_events
from seed import mint_sessions, seed_bank, seed_organizations, seed_users
from stack import Stack

STEP = re.compile(r'"step":\{"number":(\d+),"segment_id":\d+,"kind":"\w+","phase":"(\w+)"')
FIRST = re.compile(r'"buzzes":\[\{"team_id":(\d+)')


class Phone:
    """One team member's phone: the last step number and phase seen, and when each came."""

    def __init__(self) -> None:
        self.connected = asyncio.Event()
        self.seen: list[tuple[float, int, str, int | None]] = []  # (time, step, phase, first)


async def hold_stream(port: int, path: str, cookie: str, phone: Phone) -> None:
    async for event, data in sse_events(
        "127.0.0.1", port, path, timeout=30, headers={"Cookie": f"session={cookie}"}
    ):
        if event != "state":
            continue
        at = time.monotonic()
        step = STEP.search(data)
        first = FIRST.search(data)
        phone.seen.append(
            (
                at,
                int(step.group(1)) if step else 0,
                step.group(2) if step else "",
                int(first.group(1)) if first else None,
            )
        )
        phone.connected.set()


def seed_final(app: Any, teams: int, members: int, questions: int) -> tuple[int, list[int], int]:
    """The live round (app context): (round id, the members' user ids, the host's user id)."""
    from contest.extensions import db
    from contest.live_final import setup
    from contest.models import ContestStatus, Role, User
    from contest.services import contests as contest_service
    from contest.services.accounts import hash_password

    password_hash = hash_password("bench-password")
    bank_id = seed_bank(per_type=max(12, questions))
    units = seed_organizations(10)
    users = seed_users(teams * members, units, password_hash)
    host = User(
        username="bench-host",
        display_name="主持人",
        role=Role.ORGANIZER,
        password_hash=password_hash,
    )
    db.session.add(host)
    contest = contest_service.create_contest("压测：现场决赛", status=ContestStatus.PUBLISHED)
    db.session.commit()
    specs = [
        {
            "name": f"{number + 1}号队",
            "organization_id": units[number % len(units)],
            "members": [
                {"user_id": uid} for uid in users[number * members : (number + 1) * members]
            ],
        }
        for number in range(teams)
    ]
    round_ = setup.create_live_round(
        contest.id,
        title="现场决赛",
        bank_id=bank_id,
        segments=[{"kind": "buzz", "points": 10, "pool": {"type": "single", "count": questions}}],
        teams=specs,
        devices="members",
        seed=1,
    )
    return round_.id, users, host.id


def first_at(phone: Phone, since: int, test: Any) -> float | None:
    """When the phone first saw a state passing ``test``, looking from entry ``since`` on."""
    for at, step, phase, first in phone.seen[since:]:
        if test(step, phase, first):
            return at
    return None


async def wait_all(phones: list[Phone], since: list[int], test: Any, timeout: float) -> list[float]:
    deadline = time.monotonic() + timeout
    while True:
        found = [first_at(phone, mark, test) for phone, mark in zip(phones, since, strict=True)]
        if all(at is not None for at in found) or time.monotonic() > deadline:
            return [at for at in found if at is not None]
        await asyncio.sleep(0.005)


def figures(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {"n": 0}
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "p50": round(statistics.median(ordered), 1),
        "p95": round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 1),
        "max": round(ordered[-1], 1),
    }


async def run(
    args: argparse.Namespace,
    stack: Stack,
    round_id: int,
    sessions: dict[int, Any],
    users: list[int],
    host_id: int,
) -> dict[str, Any]:
    port = stack.web_port
    cookie, token = sessions[host_id]
    host = Client("127.0.0.1", port, cookies={"session": cookie}, csrf=token)
    base = f"/api/v1/rounds/{round_id}/live"

    async def act(action: str, **fields: Any) -> dict[str, Any]:
        response = await host.request_retrying(
            "POST", f"{base}/actions", {"action": action, **fields}
        )
        if response.status != 200:
            raise RuntimeError(f"{action}: {response.status} {response.body[:200]!r}")
        return response.json()

    phones = [Phone() for _ in users]
    streams = [
        asyncio.create_task(hold_stream(port, f"{base}/stream?view=team", sessions[uid][0], phone))
        for uid, phone in zip(users, phones, strict=True)
    ]
    await asyncio.wait_for(asyncio.gather(*(p.connected.wait() for p in phones)), 60)
    devices = [
        Client("127.0.0.1", port, cookies={"session": sessions[uid][0]}, csrf=sessions[uid][1])
        for uid in users
    ]
    first_segment = (await host.request("GET", f"{base}?view=host")).json()["segments"][0]["id"]
    await act("start")
    await act("segment", segment_id=first_segment)
    opened: list[float] = []
    shown: list[float] = []
    answered: list[float] = []
    missed = 0
    rush: dict[str, Any] = {}
    for number in range(args.questions):
        state = await act("next")
        step = state["step"]["number"]
        since = [len(p.seen) for p in phones]
        began = time.monotonic()
        await act("open")
        seen = await wait_all(phones, since, lambda s, ph, f, n=step: s == n and ph != "ready", 10)
        missed += len(phones) - len(seen)
        opened += [(at - began) * 1000 for at in seen]
        await act("arm")
        since = [len(p.seen) for p in phones]
        if number < args.questions - 1:
            buzzer = devices[(number * 37) % len(devices)]
            began = time.monotonic()
            response = await buzzer.request("POST", f"{base}/buzz", {"step": step})
            answered.append((time.monotonic() - began) * 1000)
            if response.status != 200:
                raise RuntimeError(
                    f"buzz {number} step {step}: {response.status} {response.body[:200]!r}"
                )
            seen = await wait_all(phones, since, lambda s, ph, f, n=step: s == n and f, 10)
            missed += len(phones) - len(seen)
            shown += [(at - began) * 1000 for at in seen]
        else:
            retried: list[Any] = []
            results = (
                await asyncio.gather(  # a phone retries a dropped connection, as the page does
                    *(
                        d.request_retrying(
                            "POST", f"{base}/buzz", {"step": step}, on_retry=retried.append
                        )
                        for d in devices
                    )
                )
            )
            outcomes = [r.json() for r in results if r.status == 200]
            firsts = [o for o in outcomes if o["outcome"] == "buzzed" and o["rank"] == 0]
            rush = {
                "requests": len(devices),
                "answered_200": len(outcomes),
                "told_first": len(firsts),
                "buzzed": sum(o["outcome"] == "buzzed" for o in outcomes),
                "again": sum(o["outcome"] == "again" for o in outcomes),
                "one_winner": len(firsts) == 1,
                "retried": len(retried),
                "refused": sorted(
                    f"{r.status} {(r.json() or {}).get('error', {}).get('code')}"
                    for r in results
                    if r.status != 200
                ),
            }
        await act("judge", correct=True)
        await act("reveal")
    for task in streams:
        task.cancel()
    await asyncio.gather(*streams, return_exceptions=True)
    for client in [host, *devices]:
        await client.close()
    return {
        "open_visible_ms": figures(opened),
        "buzz_answer_ms": figures(answered),
        "buzz_shown_ms": figures(shown),
        "phones": len(phones),
        "missed": missed,
        "rush": rush,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teams", type=int, default=50)
    parser.add_argument("--members", type=int, default=4)
    parser.add_argument("--questions", type=int, default=8)
    args = parser.parse_args()
    stack = Stack(Path(tempfile.mkdtemp(prefix="bench-live-")), workers=1)
    try:
        stack.start()
        os.environ.update(stack.env())
        from contest import create_app

        app = create_app()
        with app.app_context():
            round_id, users, host_id = seed_final(app, args.teams, args.members, args.questions)
        sessions = mint_sessions(app, [*users, host_id])
        result = asyncio.run(run(args, stack, round_id, sessions, users, host_id))
    finally:
        stack.stop()
    result.update(bench="live_latency", teams=args.teams, members=args.members)
    ok = result["missed"] == 0 and result["rush"].get("one_winner", False)
    result["ok"] = ok
    print(
        f"open → visible p95 {result['open_visible_ms'].get('p95')} ms, "
        f"buzz → first shown p95 {result['buzz_shown_ms'].get('p95')} ms "
        f"on {result['phones']} phones"
    )
    print(json.dumps(result, ensure_ascii=False))
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
