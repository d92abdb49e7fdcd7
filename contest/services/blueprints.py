"""Round blueprints: the rows a paper is drawn by, the questions each row can draw, and the
check that a bank can fill them."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import or_, select

from contest.errors import InvalidInput
from contest.extensions import db
from contest.labels import blueprint_row_label
from question_bank.domain import N_, Difficulty, Problem, QuestionType
from question_bank.models import Category, Question, QuestionStatus, QuestionVersion
from question_bank.papers import (
    BlueprintRow,
    Candidate,
    draw_paper,
    overlap_shortfalls,
    shortfalls,
)


def blueprint_rows(blueprint: Sequence[dict[str, Any]]) -> list[BlueprintRow]:
    """Rows from their stored form, or :class:`InvalidInput` naming the bad row."""
    rows = []
    for number, row in enumerate(blueprint, start=1):
        try:
            rows.append(
                BlueprintRow(
                    category=str(row.get("category") or "").strip("/"),
                    type=QuestionType(row["type"]),
                    difficulty=Difficulty(row["difficulty"]) if row.get("difficulty") else None,
                    count=int(row["count"]),
                    points=int(row["points"]),
                )
            )
        except (KeyError, TypeError, ValueError):
            raise InvalidInput(_("Blueprint row %(n)d is not valid.", n=number)) from None
        if rows[-1].count < 1 or rows[-1].points < 1:
            raise InvalidInput(
                _("Blueprint row %(n)d needs a count and points of at least 1.", n=number)
            )
    if not rows:
        raise InvalidInput(_("A round needs at least one blueprint row."))
    return rows


def candidates(bank_id: int, row: BlueprintRow) -> list[Candidate]:
    """Published questions of the bank fitting a blueprint row (subcategories included)."""
    query = (
        select(Question.id, QuestionVersion.id, QuestionVersion.options, QuestionVersion.answer)
        .join(QuestionVersion, QuestionVersion.id == Question.current_version_id)
        .where(
            Question.bank_id == bank_id,
            Question.status == QuestionStatus.PUBLISHED,
            QuestionVersion.type == row.type,
        )
    )
    if row.difficulty:
        query = query.where(QuestionVersion.difficulty == row.difficulty)
    if row.category:
        query = query.join(Category, Category.id == Question.category_id).where(
            or_(Category.path == row.category, Category.path.like(row.category + "/%"))
        )
    ordering = row.type is QuestionType.ORDERING
    return [
        Candidate(qid, vid, len(options or []), tuple(answer) if ordering else None)
        for qid, vid, options, answer in db.session.execute(query)
    ]


# How long a process draws papers from the pools it read: every start of a round reads the same
# pools (a large share of a start's CPU: bench/HISTORY.md), and a bank
# edited during a round reaches new papers within seconds.
DRAWING_POOLS_TTL_S = 10.0


def drawing_pools(bank_id: int, rows: Sequence[BlueprintRow]) -> list[tuple[Candidate, ...]]:
    """Each row's candidates for drawing a paper, kept by this process for
    :data:`DRAWING_POOLS_TTL_S` (app context). Checking a blueprint reads them fresh."""
    cache: dict[tuple[int, BlueprintRow], tuple[float, tuple[Candidate, ...]]]
    cache = current_app.extensions.setdefault("drawing_pools", {})
    now = time.monotonic()
    pools = []
    for row in rows:
        hit = cache.get((bank_id, row))
        if hit is None or now - hit[0] > DRAWING_POOLS_TTL_S:
            hit = cache[(bank_id, row)] = (now, tuple(candidates(bank_id, row)))
        pools.append(hit[1])
    return pools


def check_blueprint(bank_id: int, rows: Sequence[BlueprintRow]) -> list[Problem]:
    """Every row the bank's published questions cannot fill."""
    pools = [candidates(bank_id, row) for row in rows]
    problems = shortfalls(
        rows, {i: len(pool) for i, pool in enumerate(pools)}, label=blueprint_row_label
    )
    if not problems:
        problems = overlap_shortfalls(rows, pools, label=blueprint_row_label)
    if not problems:
        try:  # overlaps that counting cannot see: one trial draw tells
            draw_paper(rows, pools, seed=0)
        except ValueError:
            problems = [
                Problem(
                    0,
                    N_(
                        "The rows overlap too much to draw a paper; make them "
                        "disjoint or lower their counts."
                    ),
                )
            ]
    return problems
