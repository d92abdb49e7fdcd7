"""Follow-up work that runs once the database session commits, and never when it rolls back.

Who commits: a service function that changes state commits its own transaction (its docstring
says "committed"); one that says "not committed" leaves the commit to its caller — another
service, a job or a view action that groups several changes — and says so. Whatever must happen
*because* of a change — queue the attempt's scoring, schedule its close at the deadline, set
board entries, render a contest's boards — is scheduled by the service with :func:`after_commit`
while it makes the change, so that no caller can forget it and none runs it for a change that
was rolled back.

A follow-up is an ``action`` that takes a list of items; items given for the same action before
one commit are collected (in order, each once) and the action is called once with them: a sweep
that closes 500 attempts queues their scoring in one call. Actions run when ``commit()`` has
returned from the database, in the order they were first scheduled; they may use the session
(a new transaction). One that cannot reach Redis is logged and the others still run — the change
is committed, and the reconciler repairs what a lost follow-up left undone; any other error is a
bug and is raised once the other actions have run. A rollback (or closing the session) drops
what was scheduled.

One follow-up is run by its service in the open instead: an accepted appeal's regrade
(:func:`contest.services.appeal_decisions.decide_and_commit`), because the organizer is told
whether it was queued and a follow-up here has no way to answer back. That service commits and
then queues, in that order, as this module would.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import flask_sqlalchemy.session
import redis
from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import SessionTransaction

log = logging.getLogger(__name__)

Action = Callable[[Sequence[Any]], None]
_KEY = "after_commit"


class Session(flask_sqlalchemy.session.Session):
    """Flask-SQLAlchemy's session, running the follow-ups of a transaction after its commit."""

    def commit(self) -> None:
        super().commit()
        pending: dict[Action, dict[Hashable, None]] | None = self.info.pop(_KEY, None)
        if pending:
            _run(pending)

    def rollback(self) -> None:
        self.info.pop(_KEY, None)  # also when no transaction had begun
        super().rollback()

    def close(self) -> None:
        self.info.pop(_KEY, None)
        super().close()


@event.listens_for(Session, "after_soft_rollback")
def _drop(session: Session, previous: SessionTransaction) -> None:
    """The whole transaction rolled back, also inside a commit that failed (a savepoint's
    rollback keeps what the transaction scheduled)."""
    if previous.parent is None and not previous.nested:
        session.info.pop(_KEY, None)


def after_commit(action: Action, *items: Hashable) -> None:
    """Call ``action(items)`` once the current session commits, with every item given for it
    until then (each once, first-given first)."""
    session = current_app.extensions["sqlalchemy"].session
    pending: dict[Action, dict[Hashable, None]] = session.info.setdefault(_KEY, {})
    pending.setdefault(action, {}).update(dict.fromkeys(items))


def scheduled(action: Action) -> list[Any]:
    """The items scheduled for ``action`` in the current transaction."""
    session = current_app.extensions["sqlalchemy"].session
    return list(session.info.get(_KEY, {}).get(action, ()))


def _run(pending: dict[Action, dict[Hashable, None]]) -> None:
    failed: Exception | None = None
    for action, items in pending.items():
        try:
            action(list(items))
        except redis.RedisError as exc:
            log.warning("after commit: %s not run (%s)", action.__qualname__, exc)
        except Exception as exc:
            log.exception("after commit: %s failed", action.__qualname__)
            failed = failed or exc
    if failed is not None:
        raise failed
