"""Spectators: N clients holding the round's live board stream open (run as its own process).

    python bench/spectators.py --port P --path /api/v1/rounds/1/leaderboard/stream?offset=0&limit=50
        --count 1000 --out result.json

Prints ``connected <n> failed <m>`` once every client has its first snapshot (or gave up), then
records, per client, each time the board's ``total`` grew: ``[total, time.monotonic()]``. Stops
on SIGTERM/SIGINT and writes the JSON result. Only ``version`` and ``total`` are read from each
snapshot (a regex, not a JSON parse), to keep 1,000 clients cheap.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import signal
import sys
import time
from pathlib import Path

from httpclient import sse_events

TOTAL = re.compile(r'"total"\s*:\s*(\d+)')
VERSION = re.compile(r'"version"\s*:\s*(\d+)')


class Spectator:
    def __init__(self) -> None:
        self.updates: list[list[float]] = []
        self.events = 0
        self.first = asyncio.Event()
        self.error = ""
        self.total = -1
        self.version = -1


async def watch(host: str, port: int, path: str, spectator: Spectator) -> None:
    try:
        async for event, data in sse_events(host, port, path):
            if event not in ("board", "message"):
                continue
            now = time.monotonic()
            spectator.events += 1
            total_match, version_match = TOTAL.search(data), VERSION.search(data)
            if total_match is None:
                continue
            total = int(total_match.group(1))
            if version_match is not None:
                spectator.version = int(version_match.group(1))
            if total != spectator.total:
                spectator.total = total
                spectator.updates.append([total, now])
            spectator.first.set()
        spectator.error = spectator.error or "stream closed by the server"
    except Exception as exc:
        spectator.error = f"{type(exc).__name__}: {exc}"
    finally:
        spectator.first.set()


async def main(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    spectators = [Spectator() for _ in range(args.count)]
    tasks = []
    began = time.monotonic()
    for index, spectator in enumerate(spectators):
        tasks.append(asyncio.ensure_future(watch(args.host, args.port, args.path, spectator)))
        if index % 50 == 49:
            await asyncio.sleep(0.02)  # a ramp, not a SYN flood
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(
            asyncio.gather(*(s.first.wait() for s in spectators)), args.connect_timeout
        )
    connected = sum(1 for s in spectators if s.updates and not s.error)
    print(
        f"connected {connected} failed {args.count - connected} in {time.monotonic() - began:.1f}s",
        flush=True,
    )
    await stop.wait()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    result = {
        "connected": connected,
        "count": args.count,
        "errors": sorted({s.error for s in spectators if s.error})[:10],
        "dropped": sum(1 for s in spectators if s.error),
        "events": sum(s.events for s in spectators),
        # The client's own CPU: if it nears the wall time, receipt times lag the server.
        "cpu_s": round(time.process_time(), 1),
        "wall_s": round(time.monotonic() - began, 1),
        "updates": [s.updates for s in spectators],
    }
    Path(args.out).write_text(json.dumps(result))


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--connect-timeout", type=float, default=60.0)
    parser.add_argument("--out", required=True)
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse_args(sys.argv[1:])))
