"""A real RQ worker (burst mode, real Redis) runs jobs inside the app context."""

from __future__ import annotations

import subprocess
import sys

from flask import Flask

from contest.extensions import redis_hub
from contest.models import User
from workers import queues
from workers.health import ping
from workers.runner import get_queue, make_worker


def test_a_job_runs_in_the_app_context_with_the_database(app: Flask, contestant: User) -> None:
    job = get_queue(app, queues.DEFAULT).enqueue(ping, "t-1", job_timeout=30)
    worked = make_worker(app, [queues.DEFAULT]).work(burst=True)
    assert worked
    job.refresh()
    assert job.get_status() == "finished", job.latest_result()
    result = job.return_value()
    assert result["token"] == "t-1"
    assert result["users"] == 1
    assert result["database"] == app.config["SQLALCHEMY_DATABASE_URI"].split(":")[0].split("+")[0]


def test_worker_command_and_health_check_against_a_worker_process(
    app: Flask, tmp_path, redis_url: str
) -> None:
    """`contest worker` in its own process answers `contest health --worker`."""
    env = {
        "CONTEST_INSTANCE_PATH": app.instance_path,
        "CONTEST_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "CONTEST_REDIS_URL": redis_url,
        "CONTEST_SECRET_KEY": "test-secret",
        "PATH": "/usr/bin:/bin",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "contest", "worker", "--name", "test-worker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        check = subprocess.run(
            [sys.executable, "-m", "contest", "health", "--worker", "--timeout", "30"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert check.returncode == 0, check.stdout + check.stderr
        assert "worker: ok" in check.stdout and "'users': 0" in check.stdout
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0].decode()
    assert worker.returncode == 0, output


def test_the_worker_waits_for_jobs_on_connections_that_outlast_its_wait(app: Flask) -> None:
    """redis-py's default socket timeout is 5 s; RQ's blocking wait for a job is 405 s."""
    with app.app_context():
        redis_hub.client.ping()  # the shared pool now holds a connection with the default
        worker = make_worker(app, [queues.DEFAULT])
        pool = worker.connection.connection_pool
        used = pool.get_connection()
        try:
            assert used.socket_timeout is None or used.socket_timeout > worker.dequeue_timeout
        finally:
            pool.release(used)
