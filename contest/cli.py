"""The ``contest`` command: a Flask CLI group bound to :func:`contest.create_app`.

The project's commands are added to ``app.cli`` by :func:`register` (so ``flask --app contest``
and the test CLI runner see them too); Flask adds ``run``, ``shell`` and ``routes``, and
Flask-Migrate adds ``db`` (``contest db upgrade``). The commands that run and check the services
(``demo``, ``worker``, ``health``, ``attempts``, ``leaderboard``) are here; the groups that manage
accounts, question banks, laws and contests are in :mod:`contest.commands`.
"""

from __future__ import annotations

import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import click
import redis
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import text

from contest import create_app
from contest.commands.bank import bank, laws
from contest.commands.contests import contests
from contest.commands.users import users
from contest.extensions import db, redis_hub


def _create_app() -> object:
    return create_app()


@click.group(
    cls=FlaskGroup,
    create_app=_create_app,
    add_version_option=False,
    load_dotenv=False,
    set_debug_flag=False,
)
def main() -> None:
    """NetSec Contest: cybersecurity knowledge contests.

    Configuration comes from CONTEST_* environment variables (see the README).
    """


@click.command()
@click.option(
    "--laws",
    "laws_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Folder of law texts to import before the demo bank (default: CONTEST_DEMO_LAWS).",
)
@with_appcontext
def demo(laws_dir: Path | None) -> None:
    """Run the whole stack with demo data (embedded Redis, workers, web server)."""
    from contest.demo import run_demo

    run_demo(current_app._get_current_object(), laws=laws_dir)  # type: ignore[attr-defined]


@click.command()
@click.option(
    "--queue", "queue_names", multiple=True, help="Queue to serve (repeatable); default all."
)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--name", default=None, help="Worker name in RQ's registry.")
@click.option(
    "--scheduler/--no-scheduler",
    default=True,
    show_default=True,
    help="Also run RQ's scheduler (it closes attempts at their deadline).",
)
@click.option(
    "--boards/--no-boards",
    default=True,
    show_default=True,
    help="Also render leaderboards and run the reconciler (a thread of this process).",
)
@with_appcontext
def worker(
    queue_names: tuple[str, ...], burst: bool, name: str | None, scheduler: bool, boards: bool
) -> None:
    """Start an RQ worker; every job runs inside the app context.

    The worker also renders leaderboards and runs the reconciler (see workers/boards.py). It
    outlives a Redis restart: it reconnects and carries on.
    """
    from workers import queues
    from workers.boards import BoardThread, render_pending
    from workers.runner import make_worker

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    thread = BoardThread(app) if boards and not burst else None
    if thread:
        thread.start()
    retry = 0
    try:
        while True:
            worker_name = name if not retry or name is None else f"{name}-{retry}"
            try:
                make_worker(app, queue_names or queues.ALL, name=worker_name).work(
                    burst=burst, logging_level="INFO", with_scheduler=scheduler
                )
                break
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                retry += 1
                click.echo(f"Redis unavailable ({exc}); reconnecting in 1 s", err=True)
                time.sleep(1)
        if boards and burst:
            render_pending(redis_hub.client, wait=False)
    finally:
        if thread:
            thread.stop()


@click.command()
@click.option(
    "--worker", "check_worker", is_flag=True, help="Also send a job and wait for a worker."
)
@click.option("--timeout", default=10.0, show_default=True, help="Seconds to wait for the job.")
@with_appcontext
def health(check_worker: bool, timeout: float) -> None:
    """Check the database and Redis (and a worker with --worker); exit 1 on failure."""
    problems = []
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()  # end the transaction: SQLite would hold its lock while we wait
        click.echo(f"database: ok ({db.engine.dialect.name})")
    except Exception as exc:
        problems.append(f"database: {exc}")
    # A plain connection, not redis_hub.client: a health check must not start the embedded server.
    try:
        with redis.Redis.from_url(redis_hub.url, socket_timeout=5) as probe:
            probe.ping()
        click.echo(f"redis: ok ({redis_hub.url})")
    except (redis.RedisError, OSError) as exc:
        problems.append(f"redis: {exc}")
    if check_worker and not problems:
        problems += _check_worker(timeout)
    for problem in problems:
        click.echo(problem, err=True)
    sys.exit(1 if problems else 0)


def _check_worker(timeout: float) -> list[str]:
    from workers.health import ping
    from workers.runner import get_queue

    token = uuid.uuid4().hex
    job = get_queue(current_app._get_current_object()).enqueue(  # type: ignore[attr-defined]
        ping, token, job_timeout=30, result_ttl=60
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if job.get_status(refresh=True) == "finished":
            click.echo(f"worker: ok ({job.return_value()})")
            return []
        time.sleep(0.1)
    job.cancel()
    return [f"worker: no worker answered within {timeout} s"]


@click.group()
def attempts() -> None:
    """Attempts of paper rounds."""


@attempts.command("close-overdue")
@with_appcontext
def attempts_close_overdue() -> None:
    """Submit every open attempt past its deadline plus grace, and enqueue its scoring."""
    from workers.deadlines import close_overdue_attempts

    closed = close_overdue_attempts(_now())
    click.echo(f"closed {closed} overdue attempt(s)")


@click.group()
def leaderboard() -> None:
    """Leaderboards in Redis (derived from the database, which is the source of truth)."""


def _contest_ids(contest_id: int | None) -> list[int]:
    from contest.services import leaderboards

    return [contest_id] if contest_id is not None else leaderboards.contest_ids()


@leaderboard.command("rebuild")
@click.option("--contest", "contest_id", type=int, default=None, help="Only this contest.")
@with_appcontext
def leaderboard_rebuild(contest_id: int | None) -> None:
    """Recompute every board (or one contest's) from the database into Redis."""
    from contest.services import leaderboards

    client = redis_hub.client
    for cid in _contest_ids(contest_id):
        count = leaderboards.rebuild_contest(client, cid)
        click.echo(f"contest {cid}: {count} ranked entr{'y' if count == 1 else 'ies'}")
    if contest_id is None:
        client.set(leaderboards.EPOCH, int(time.time()))


@leaderboard.command("check")
@click.option("--contest", "contest_id", type=int, default=None, help="Only this contest.")
@click.option(
    "--wait",
    type=float,
    default=0.0,
    show_default=True,
    help="Seconds to keep checking while boards are still being rendered.",
)
@with_appcontext
def leaderboard_check(contest_id: int | None, wait: float) -> None:
    """Compare the boards in Redis with a recomputation from the database; exit 1 if any differ."""
    from contest.services import leaderboards

    client = redis_hub.client
    give_up = time.monotonic() + wait
    while True:
        problems = [
            problem
            for cid in _contest_ids(contest_id)
            for problem in leaderboards.check_contest(client, cid)
        ]
        db.session.remove()
        if not problems or time.monotonic() >= give_up:
            break
        time.sleep(0.5)
    for problem in problems:
        click.echo(problem)
    if problems:
        sys.exit(1)
    click.echo("every board equals a recomputation from the database")


def _now() -> datetime:
    return datetime.now(UTC)


def register(app: Flask) -> None:
    """Add the project's commands to ``app.cli``."""
    for command in (demo, worker, health, users, bank, laws, contests, attempts, leaderboard):
        app.cli.add_command(command)
