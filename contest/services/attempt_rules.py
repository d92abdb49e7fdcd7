"""May this attempt change? Each rule once, as SQL; the Python check evaluates the same expression.

A save or a submission may change an attempt when its request is:

* **account** — from a session of an active account, of the account's current session
  generation (logout, password change and deactivation end older sessions);
* **owner** — from the attempt's owner;
* **open** — the attempt is in progress;
* **in time** — now is not past the deadline plus the round's grace;
* **same device** — the request names the device the attempt is held on (one that names none is
  not told apart, as the page's first load is not).

Each rule is written here once, as a SQLAlchemy condition over the attempt's and the account's
columns with named parameters (:class:`Rule`). The fast paths put the conditions in their one
statement (:func:`conditions`); the general path and the user loader evaluate the very same
expressions in Python (:func:`holds`, :func:`first_broken`) on values they already hold, with
SQL's three-valued logic, and explain the first rule that fails. A test runs every refusal
through every path that serves a save (tests/test_save_refusals.py).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, or_
from sqlalchemy.sql import elements, operators

from contest.models import Attempt, AttemptStatus, SessionUser, User

attempts, users = Attempt.__table__, User.__table__


@dataclass(frozen=True)
class Rule:
    """One condition an attempt's change must meet, and the refusal when it does not."""

    name: str
    condition: ColumnElement[bool]


OWNER = Rule("owner", attempts.c.user_id == bindparam("b_user"))
ACCOUNT = Rule(
    "account",
    and_(users.c.active.is_(True), users.c.session_generation == bindparam("b_generation")),
)
OPEN = Rule("open", attempts.c.status == AttemptStatus.IN_PROGRESS)
IN_TIME = Rule("in_time", attempts.c.deadline_at >= bindparam("b_cutoff"))
SAME_DEVICE = Rule(
    "same_device",
    or_(attempts.c.device_id.is_(None), attempts.c.device_id == bindparam("b_device")),
)


@dataclass(frozen=True, slots=True)
class Change:
    """A request to change an attempt: who asks, from which device, when.

    ``answer``, ``seq`` and ``flagged`` are a save's (a submission leaves them unset)."""

    attempt_id: int
    user: SessionUser
    now: datetime
    device_id: str | None = None
    position: int = 0
    answer: Any = None
    seq: int = 0
    flagged: bool | None = None


# In the order refusals are explained.
EVERY_RULE: tuple[Rule, ...] = (ACCOUNT, OWNER, OPEN, IN_TIME, SAME_DEVICE)
WITHOUT_DEVICE = EVERY_RULE[:-1]

# The columns the rules read: a checking read selects them, and :func:`row_facts` names them.
COLUMNS = (
    attempts.c.user_id,
    attempts.c.status,
    attempts.c.deadline_at,
    attempts.c.device_id,
    users.c.active,
    users.c.session_generation,
)


def rules_for(change: Change) -> tuple[Rule, ...]:
    """The rules a change must meet: a request that names no device is not checked against the
    attempt's."""
    return WITHOUT_DEVICE if change.device_id is None else EVERY_RULE


def conditions(rules: Sequence[Rule]) -> list[ColumnElement[bool]]:
    """The rules as SQL conditions for a statement's WHERE (which joins the account's row)."""
    return [rule.condition for rule in rules]


def params(change: Change, grace_s: int) -> dict[str, Any]:
    """The values of the rules' parameters for ``change`` in a round with ``grace_s``."""
    return {
        "b_user": change.user.id,
        "b_generation": change.user.generation,
        "b_cutoff": change.now - timedelta(seconds=grace_s),
        "b_device": change.device_id,
    }


def facts(attempt: Attempt | None = None, user: User | None = None) -> dict[str, Any]:
    """The column values the rules read, from the ORM objects a caller holds (an account given
    as None: :data:`NO_ACCOUNT`)."""
    values: dict[str, Any] = {}
    if attempt is not None:
        values |= {
            "attempt.user_id": attempt.user_id,
            "attempt.status": attempt.status,
            "attempt.deadline_at": attempt.deadline_at,
            "attempt.device_id": attempt.device_id,
        }
    if user is not None:
        values |= {
            "user_account.active": user.active,
            "user_account.session_generation": user.session_generation,
        }
    return values


# The account's facts when the session names no account that exists: the account rule fails.
NO_ACCOUNT: dict[str, Any] = {"user_account.active": None, "user_account.session_generation": None}


def row_facts(row: Any) -> dict[str, Any]:
    """The column values the rules read, from a row that selected :data:`COLUMNS`."""
    mapping = row._mapping
    return {str(column): mapping[column] for column in COLUMNS}


def holds(rule: Rule, values: Mapping[str, Any], bound: Mapping[str, Any]) -> bool:
    """Whether ``rule`` holds for these column values (``table.column``) and parameters, as SQL
    would answer in a WHERE: a comparison with NULL is unknown, and unknown is not true."""
    return _evaluate(rule.condition, values, bound) is True


def first_broken(
    rules: Iterable[Rule], values: Mapping[str, Any], bound: Mapping[str, Any]
) -> Rule | None:
    """The first of ``rules`` that does not hold; None when all do."""
    return next((rule for rule in rules if not holds(rule, values, bound)), None)


# The Python side of the rules: a small evaluator for the expressions above (comparisons, IS,
# AND, OR over columns, bound parameters and constants). An expression it does not know raises:
# a new rule is caught by the tests, never evaluated loosely.

_COMPARISONS: dict[Any, Callable[[Any, Any], Any]] = {
    operators.eq: operator.eq,
    operators.ne: operator.ne,
    operators.lt: operator.lt,
    operators.le: operator.le,
    operators.gt: operator.gt,
    operators.ge: operator.ge,
}


def _evaluate(expr: Any, values: Mapping[str, Any], bound: Mapping[str, Any]) -> Any:
    """True, False or None (SQL's unknown)."""
    if isinstance(expr, elements.Grouping):
        return _evaluate(expr.element, values, bound)
    if isinstance(expr, elements.BooleanClauseList):
        parts = [_evaluate(clause, values, bound) for clause in expr.clauses]
        if expr.operator is operators.and_:
            return False if False in parts else (None if None in parts else True)
        if expr.operator is operators.or_:
            return True if True in parts else (None if None in parts else False)
    if isinstance(expr, elements.BinaryExpression):
        left = _value(expr.left, values, bound)
        right = _value(expr.right, values, bound)
        if expr.operator in (operators.is_, operators.is_not):  # never unknown
            same = left is None if right is None else left is not None and left == right
            return same if expr.operator is operators.is_ else not same
        compare = _COMPARISONS.get(expr.operator)
        if compare is not None:
            return None if left is None or right is None else bool(compare(left, right))
    raise TypeError(f"attempt rules: cannot evaluate {expr!r} in Python")


def _value(expr: Any, values: Mapping[str, Any], bound: Mapping[str, Any]) -> Any:
    if isinstance(expr, elements.Grouping):
        return _value(expr.element, values, bound)
    if isinstance(expr, elements.ColumnClause) and expr.table is not None:
        return values[str(expr)]  # "table.column"
    if isinstance(expr, elements.BindParameter):
        return bound.get(expr.key, expr.effective_value)
    if isinstance(expr, elements.True_):
        return True
    if isinstance(expr, elements.False_):
        return False
    if isinstance(expr, elements.Null):
        return None
    raise TypeError(f"attempt rules: cannot evaluate {expr!r} in Python")
