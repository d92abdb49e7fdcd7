"""Follow-ups run once after a commit, with every item given before it, and never after a
rollback; the jobs services queue by name exist."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence
from typing import Any

import pytest
import redis
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from contest.after_commit import after_commit, scheduled
from contest.extensions import db
from contest.models import Organization
from contest.services import scoring, timing


def test_items_are_collected_and_the_action_runs_once_after_the_commit(app: Flask) -> None:
    seen: list[list[Any]] = []

    def action(items: Sequence[Any]) -> None:
        # The change is committed when the action runs, and the session can still be used.
        names = db.session.scalars(select(Organization.name)).all()
        seen.append([*items, names])

    with app.app_context():
        db.session.add(Organization(name="甲单位"))
        after_commit(action, 1, 2)
        after_commit(action, 2, 3)
        assert scheduled(action) == [1, 2, 3]
        assert seen == []
        db.session.commit()
        assert seen == [[1, 2, 3, ["甲单位"]]]
        db.session.commit()  # nothing new scheduled: nothing runs again
        assert seen == [[1, 2, 3, ["甲单位"]]]


def test_a_rollback_drops_what_was_scheduled(app: Flask) -> None:
    seen: list[Sequence[Any]] = []
    with app.app_context():
        after_commit(seen.append, "lost")
        db.session.rollback()
        db.session.commit()
        after_commit(seen.append, "kept")
        db.session.commit()
    assert seen == [["kept"]]


def test_redis_down_is_logged_and_other_errors_are_raised_after_the_rest_ran(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []

    def unreachable(items: Sequence[Any]) -> None:
        raise redis.ConnectionError("down")

    def broken(items: Sequence[Any]) -> None:
        raise ValueError("a bug")

    def fine(items: Sequence[Any]) -> None:
        ran.append("fine")

    with app.app_context():
        after_commit(unreachable, 1)
        db.session.commit()  # logged, not raised: the change stands
        after_commit(broken, 1)
        after_commit(fine, 1)
        with caplog.at_level(logging.WARNING), pytest.raises(ValueError, match="a bug"):
            db.session.commit()
    assert ran == ["fine"]
    assert "unreachable not run" in caplog.text


@pytest.mark.parametrize(
    "name", [scoring.SCORE_JOB, scoring.DRAIN_JOB, scoring.REGRADE_JOB, timing.CLOSE_JOB]
)
def test_the_jobs_queued_by_name_exist(name: str) -> None:
    module, _, function = name.rpartition(".")
    assert callable(getattr(importlib.import_module(module), function))


def test_a_failed_commit_drops_and_a_savepoint_keeps(app: Flask) -> None:
    seen: list[Sequence[Any]] = []
    with app.app_context():
        db.session.add(Organization(name="乙单位"))
        db.session.commit()
        after_commit(seen.append, "kept")
        with pytest.raises(IntegrityError), db.session.begin_nested():  # a twin wins the insert
            db.session.add(Organization(name="乙单位"))
        db.session.commit()
        assert seen == [["kept"]]
        after_commit(seen.append, "lost")
        db.session.add(Organization(name="乙单位"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        db.session.commit()
    assert seen == [["kept"]]
