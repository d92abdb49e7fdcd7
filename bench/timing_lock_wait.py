"""How long an organizer's change of a round's close waits while contestants start.

    .venv/bin/python bench/timing_lock_wait.py [starts_per_s] [advisory|row]

Against the local PostgreSQL (database ``test``): 60 connections take the lock a start takes
(Poisson arrivals, each held ~40 ms, as a start's transaction), then one connection takes the
lock a change of the close takes and reports how long it waited. ``advisory`` is what the app
does (``pg_advisory_xact_lock_shared`` / ``pg_advisory_xact_lock``); ``row`` is the round row's
``FOR SHARE`` against an UPDATE, which share holders keep starving. Asserts nothing.
"""

from __future__ import annotations

import queue
import random
import sys
import threading
import time

import psycopg

DSN = "postgresql://postgres@127.0.0.1:5432/test"
HOLD_S = 0.04


def main() -> None:
    rate = float(sys.argv[1]) if len(sys.argv) > 1 else 300.0
    mode = sys.argv[2] if len(sys.argv) > 2 else "advisory"
    with psycopg.connect(DSN, autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS bench_round; CREATE TABLE bench_round(id int primary key)")
        c.execute("INSERT INTO bench_round VALUES (1)")
    share = (
        "SELECT pg_advisory_xact_lock_shared(7, 1)"
        if mode == "advisory"
        else "SELECT * FROM bench_round WHERE id = 1 FOR SHARE"
    )
    arrivals: queue.Queue[float | None] = queue.Queue()
    starts = [0]

    def starter() -> None:
        with psycopg.connect(DSN) as c:
            while arrivals.get() is not None:
                c.execute(share)
                time.sleep(random.expovariate(1 / HOLD_S))
                c.commit()
                starts[0] += 1

    stop = threading.Event()

    def arrive() -> None:
        while not stop.is_set():
            time.sleep(random.expovariate(rate))
            arrivals.put(time.monotonic())

    threads = [threading.Thread(target=starter) for _ in range(60)]
    for t in threads:
        t.start()
    arriving = threading.Thread(target=arrive)
    arriving.start()
    time.sleep(2)
    with psycopg.connect(DSN) as c:
        c.execute("SET statement_timeout = '120s'")
        began, before = time.monotonic(), starts[0]
        try:
            if mode == "advisory":
                c.execute("SELECT pg_advisory_xact_lock(7, 1)")
            c.execute("UPDATE bench_round SET id = 1 WHERE id = 1")
            c.commit()
            outcome = "waited"
        except psycopg.errors.QueryCanceled:
            outcome = "gave up after"
        print(
            f"{rate:.0f} starts/s, {mode}: the change {outcome} {time.monotonic() - began:.2f} s "
            f"({starts[0] - before} starts meanwhile)"
        )
    stop.set()
    arriving.join()
    for _ in threads:
        arrivals.put(None)
    for t in threads:
        t.join()
    with psycopg.connect(DSN, autocommit=True) as c:
        c.execute("DROP TABLE bench_round")


if __name__ == "__main__":
    main()
