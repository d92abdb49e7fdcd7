"""The CPU one render of a contest's boards costs, with N ranked contestants (no other load).

    .venv/bin/python bench/render_cost.py [--entries 2000] [--renders 50]

Uses a temporary SQLite database for the contest and round, and Redis database 9 of the local
server (REDIS_URL to change it; it is emptied before and after). Prints the mean CPU time of
``render_contest`` and of ``read_raw`` (the raw entries' read). Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from contest import create_app  # noqa: E402
from contest.extensions import db, redis_hub  # noqa: E402
from contest.services import leaderboards  # noqa: E402
from tests.support.contests import paper_round, published_bank  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--renders", type=int, default=50)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    app = create_app(
        {
            "INSTANCE_PATH": str(folder / "instance"),
            "DATABASE_URL": f"sqlite:///{folder / 'render.db'}",
            "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9"),
            "SECRET_KEY": "render-cost",
        }
    )
    with app.app_context():
        client = redis_hub.client
        db.create_all()
        client.flushdb()
        try:
            round_ = paper_round(published_bank())
            rng = random.Random(1)  # noqa: S311 - test data, not secrets
            now = datetime.now(UTC)
            entries = {
                user: leaderboards.RawEntry(
                    user,
                    f"选手{user:05d}",
                    None,
                    "",
                    Decimal(rng.randint(0, 100)),
                    rng.randint(60, 1800),
                    now - timedelta(seconds=rng.randint(0, 3600)),
                    user,
                )
                for user in range(1, args.entries + 1)
            }
            client.hset(
                leaderboards.raw_key(round_.id),
                mapping={u: e.to_json() for u, e in entries.items()},
            )
            leaderboards.render_contest(client, round_.contest_id)  # warm the caches
            began = time.process_time()
            for _ in range(args.renders):
                leaderboards.render_contest(client, round_.contest_id)
            render_ms = (time.process_time() - began) / args.renders * 1000
            began = time.process_time()
            for _ in range(args.renders):
                leaderboards.read_raw(client, [round_.id])
            read_ms = (time.process_time() - began) / args.renders * 1000
            print(
                f"{args.entries} entries: render {render_ms:.1f} ms CPU, "
                f"of which read_raw {read_ms:.2f} ms"
            )
        finally:
            client.flushdb()
            redis_hub.close(app)
            db.engine.dispose()


if __name__ == "__main__":
    main()
