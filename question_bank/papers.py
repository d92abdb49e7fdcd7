"""Drawing papers: pure and reproducible.

A blueprint is a list of rows (category, type, optional difficulty, count, points). Drawing takes
the candidate questions of each row — published questions in the row's category (or below it) of
that type and difficulty — and picks ``count`` of them with a ``random.Random(seed)``. The same
seed over the same candidates always gives the same paper: the same questions, order and option
order; different seeds give different papers. A paper also stores the question versions it drew,
so an appeal can show exactly what a contestant saw even after the bank changed.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from question_bank.domain import N_, Difficulty, Problem, QuestionType

OPTION_ID_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


@dataclass(frozen=True)
class BlueprintRow:
    category: str
    type: QuestionType
    count: int
    points: int
    difficulty: Difficulty | None = None

    def label(self) -> str:
        parts = [self.category or "*", self.type.value]
        if self.difficulty:
            parts.append(self.difficulty.value)
        return " / ".join(parts)


@dataclass(frozen=True)
class Candidate:
    """A question that may be drawn: its current version and how many options it has."""

    question_id: int
    version_id: int
    option_count: int
    # An ordering question's key: its options are always shuffled (uniformly, see draw_paper).
    key_order: tuple[int, ...] | None = None


@dataclass(frozen=True)
class PaperItem:
    position: int  # 1-based, in the order this contestant sees
    question_id: int
    version_id: int
    points: int
    option_order: tuple[int, ...]  # original option indexes in display order
    option_ids: tuple[str, ...]  # opaque ids, aligned with the display order


def shortfalls(
    rows: Sequence[BlueprintRow],
    available: Mapping[int, int],
    label: Callable[[BlueprintRow], str] = BlueprintRow.label,
) -> list[Problem]:
    """Rows asking for more questions than the bank has (``available``: row index → count).

    Rows may share candidates (e.g. 法律法规 单选 and 法律法规/网络安全法 单选); each row is
    checked on its own, and the draw never gives one question twice.
    """
    problems = []
    for index, row in enumerate(rows):
        have = available.get(index, 0)
        if have < row.count:
            problems.append(
                Problem(
                    index + 1,
                    N_("%(row)s: needs %(need)d, bank has %(have)d"),
                    {"row": label(row), "need": row.count, "have": have},
                )
            )
    return problems


def overlap_shortfalls(
    rows: Sequence[BlueprintRow],
    candidates: Sequence[Sequence[Candidate]],
    label: Callable[[BlueprintRow], str] = BlueprintRow.label,
) -> list[Problem]:
    """Rows that share candidates and together need more distinct questions than they have.

    A paper never shows a question twice, so 法律法规 单选 ×3 and "any category" 单选 ×2 over
    a bank of 4 single-choice questions cannot be drawn although each row alone can.
    """
    groups: list[tuple[set[int], set[int]]] = []  # (row indexes, question ids)
    for index, pool in enumerate(candidates):
        ids = {c.question_id for c in pool}
        merged_rows, merged_ids = {index}, set(ids)
        for group in [g for g in groups if g[1] & ids]:
            groups.remove(group)
            merged_rows |= group[0]
            merged_ids |= group[1]
        groups.append((merged_rows, merged_ids))
    problems = []
    for row_indexes, ids in groups:
        need = sum(rows[i].count for i in row_indexes)
        if len(row_indexes) > 1 and need > len(ids):
            labels = "; ".join(label(rows[i]) for i in sorted(row_indexes))
            problems.append(
                Problem(
                    min(row_indexes) + 1,
                    N_(
                        "%(rows)s share questions: together they need %(need)d, "
                        "the bank has %(have)d"
                    ),
                    {"rows": labels, "need": need, "have": len(ids)},
                )
            )
    return problems


def draw_paper(
    rows: Sequence[BlueprintRow],
    candidates: Sequence[Sequence[Candidate]],
    seed: int,
    *,
    shuffle_questions: bool = True,
    shuffle_options: bool = True,
) -> list[PaperItem]:
    """The paper for ``seed``: ``candidates[i]`` are row i's candidates (any order).

    Raises ValueError when a row cannot be filled (check :func:`shortfalls` first).
    """
    rng = random.Random(seed)  # noqa: S311 - reproducible by design; the seed is secret
    taken: set[int] = set()
    by_row: dict[int, list[tuple[Candidate, int]]] = {}
    # Rows with the fewest candidates draw first, so that a broad row ("any category") does not
    # take the questions a narrow row needs.
    for index in sorted(range(len(rows)), key=lambda i: (len(candidates[i]), i)):
        row, pool = rows[index], candidates[index]
        ordered = sorted(
            (c for c in pool if c.question_id not in taken), key=lambda c: c.question_id
        )
        if len(ordered) < row.count:
            raise ValueError(f"{row.label()}: needs {row.count}, has {len(ordered)}")
        by_row[index] = [(c, row.points) for c in rng.sample(ordered, row.count)]
        taken.update(c.question_id for c, _points in by_row[index])
    drawn = [pair for index in range(len(rows)) for pair in by_row[index]]
    if shuffle_questions:
        rng.shuffle(drawn)
    items = []
    for position, (candidate, points) in enumerate(drawn, start=1):
        order = list(range(candidate.option_count))
        if shuffle_options or candidate.key_order:
            # Uniformly, the right order as likely as any other: never showing it would tell
            # which order is wrong (with two options, which one is right).
            rng.shuffle(order)
        ids = _option_ids(rng, candidate.option_count)
        items.append(
            PaperItem(
                position, candidate.question_id, candidate.version_id, points, tuple(order), ids
            )
        )
    return items


def _option_ids(rng: random.Random, count: int) -> tuple[str, ...]:
    """Opaque, distinct ids: drawn from the seed, so they carry nothing about the key."""
    ids: list[str] = []
    while len(ids) < count:
        candidate = "".join(rng.choice(OPTION_ID_ALPHABET) for _ in range(8))
        if candidate not in ids:
            ids.append(candidate)
    return tuple(ids)
