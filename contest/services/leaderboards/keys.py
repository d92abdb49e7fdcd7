"""Where the leaderboards live in Redis: key names, channels and the boards a contest has.

A board is named ``r<round id>``, ``c<contest id>`` or ``o<contest id>``; its pages are kept in
the hash ``lb:board:<board>`` and the raw entries it is ranked from in ``lb:raw:<round id>``.
"""

from __future__ import annotations

from contest.models import Contest

PAGE = 50  # entries per stored page; reads of other slices combine pages
MAX_LIMIT = 100
EVENTS = "lb:events"  # pub/sub channel: "<board> <version>"
DIRTY = "lb:dirty"  # contest ids whose boards need rendering
WAKE = "lb:wake"  # a list the renderer blocks on
FREEZES = "lb:freezes"  # contest id scored by the next freeze time (epoch seconds)
EPOCH = "lb:epoch"  # absent after Redis lost its data: the reconciler rebuilds everything
# "round:user" entries a scoring job is about to set after its commit, scored by when it began:
# a job killed between its commit and :func:`record_attempts` leaves them for the reconciler.
RECORDING = "lb:recording"


def raw_key(round_id: int) -> str:
    return f"lb:raw:{round_id}"


def board_key(board: str) -> str:
    return f"lb:board:{board}"


def round_board(round_id: int) -> str:
    return f"r{round_id}"


def contest_board(contest_id: int) -> str:
    return f"c{contest_id}"


def organization_board(contest_id: int) -> str:
    return f"o{contest_id}"


def boards_of(contest: Contest) -> list[str]:
    """Every board a contest has: one per round, the contest's and the organizations'."""
    return [round_board(r.id) for r in contest.rounds] + [
        contest_board(contest.id),
        organization_board(contest.id),
    ]
