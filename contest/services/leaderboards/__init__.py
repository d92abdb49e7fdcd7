"""Leaderboards: views derived from the database and kept in Redis.

Three boards per contest, each rendered from the contestants' *counting* attempts (the best or the
last scored attempt of a round, per the round's policy):

- per round (``r<id>``): ranked entries with the round's live figures;
- per contest (``c<id>``): the sum over its rounds;
- per organization (``o<id>``): per unit, members enrolled, started and submitted, the
  participation rate (submitted of enrolled), mean and top score.

How the data moves:

1. After scoring commits, :func:`record_attempts` *sets* the contestants' entries in the round's raw
   hash (``lb:raw:<round>``, user id → entry) from the database and marks the contest dirty. Setting
   from the database, never incrementing, makes a job that runs twice change nothing.
2. A renderer (:mod:`workers.boards`, inside every ``contest worker``) calls :func:`render_contest`
   for dirty contests, at most a few times a second: it ranks the raw entries with the single
   ranking rule (:mod:`question_bank.ranking`), writes every page of every public board as ready
   JSON bytes into one hash per board (``lb:board:<board>``) under a new version, and publishes the
   change on ``lb:events``.
3. Public reads (:func:`read_board`) take one page from that hash: no database query, no ranking.

封榜: once a round's ``freeze_at`` has passed (and until the organizers reveal it), its public
board and the contest's public boards count only attempts submitted before the freeze; organizers
see live standings (:func:`live_round_body`, computed on request). Public boards mask names
(张*三) unless the contest shows full names; phone numbers and e-mails are never part of an entry.

Redis only holds derived views: :func:`rebuild_contest` recomputes everything from the database,
and :func:`check_contest` compares what Redis holds with a recomputation.

The package, by concern:

- :mod:`~contest.services.leaderboards.keys`: Redis key names, channels, a contest's boards;
- :mod:`~contest.services.leaderboards.entries`: raw entries (counting attempts) from the database;
- :mod:`~contest.services.leaderboards.freeze`: the freeze and its reveal;
- :mod:`~contest.services.leaderboards.standings`: standings and rows, pure;
- :mod:`~contest.services.leaderboards.board_documents`: a contest's board documents;
- :mod:`~contest.services.leaderboards.dirty`: renders asked for once the session commits;
- :mod:`~contest.services.leaderboards.store`: raw entries, renders and reads in Redis;
- :mod:`~contest.services.leaderboards.rebuild`: rebuild and check from the database, live views.
"""

from __future__ import annotations

from contest.services.leaderboards.board_documents import (
    BoardDocument,
    ContestData,
    boards_public,
    documents,
    dumps,
    load_contest_data,
    unit_counts,
)
from contest.services.leaderboards.dirty import (
    delete_boards,
    local_listeners,
    mark_dirty,
    render_after_commit,
    settings_changed,
)
from contest.services.leaderboards.entries import RawEntry, RoundRef, counting_entries, freeze_stamp
from contest.services.leaderboards.freeze import (
    due_freezes,
    freeze_active,
    public_entries,
    reveal,
    revealed,
)
from contest.services.leaderboards.keys import (
    DIRTY,
    EPOCH,
    EVENTS,
    FREEZES,
    MAX_LIMIT,
    PAGE,
    RECORDING,
    WAKE,
    board_key,
    boards_of,
    contest_board,
    organization_board,
    raw_key,
    round_board,
)
from contest.services.leaderboards.rebuild import (
    check_contest,
    contest_ids,
    live_round_body,
    rebuild_all,
    rebuild_contest,
)
from contest.services.leaderboards.standings import (
    Standing,
    UnitCounts,
    contest_standings,
    entry_rows,
    mask_name,
    organization_rows,
    ranked,
    row_id,
)
from contest.services.leaderboards.store import (
    Snapshot,
    begin_recording,
    board_version,
    end_recording,
    read_board,
    read_raw,
    record_attempts,
    record_unfinished,
    render_contest,
    render_if_missing,
    store_round_entries,
    write_documents,
)

__all__ = [
    "DIRTY",
    "EPOCH",
    "EVENTS",
    "FREEZES",
    "MAX_LIMIT",
    "PAGE",
    "RECORDING",
    "WAKE",
    "BoardDocument",
    "ContestData",
    "RawEntry",
    "RoundRef",
    "Snapshot",
    "Standing",
    "UnitCounts",
    "begin_recording",
    "board_key",
    "board_version",
    "boards_of",
    "boards_public",
    "check_contest",
    "contest_board",
    "contest_ids",
    "contest_standings",
    "counting_entries",
    "delete_boards",
    "documents",
    "due_freezes",
    "dumps",
    "end_recording",
    "entry_rows",
    "freeze_active",
    "freeze_stamp",
    "live_round_body",
    "load_contest_data",
    "local_listeners",
    "mark_dirty",
    "mask_name",
    "organization_board",
    "organization_rows",
    "public_entries",
    "ranked",
    "raw_key",
    "read_board",
    "read_raw",
    "rebuild_all",
    "rebuild_contest",
    "record_attempts",
    "record_unfinished",
    "render_after_commit",
    "render_contest",
    "render_if_missing",
    "reveal",
    "revealed",
    "round_board",
    "row_id",
    "settings_changed",
    "store_round_entries",
    "unit_counts",
    "write_documents",
]
