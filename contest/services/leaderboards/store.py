"""The boards in Redis: setting raw entries, rendering the boards and reading their pages.

Scoring sets entries from the database (:func:`record_attempts`), never increments them; a
render (:func:`render_contest`) ranks the raw entries and writes every page of every public
board under a new version; reads (:func:`read_board`) take one stored page.
"""

from __future__ import annotations

import gc
import hashlib
import json
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis

from contest.extensions import db
from contest.models import Contest, Round, ScorePolicy
from contest.services.leaderboards.board_documents import (
    BoardDocument,
    _bytes,
    boards_public,
    documents,
    dumps,
    load_contest_data,
)
from contest.services.leaderboards.dirty import _mark_dirty, delete_boards, mark_dirty
from contest.services.leaderboards.entries import RawEntry, RoundRef, counting_entries, freeze_stamp
from contest.services.leaderboards.keys import (
    EVENTS,
    FREEZES,
    PAGE,
    RECORDING,
    board_key,
    boards_of,
    raw_key,
)

# Replace a board's hash only with a newer version whose content differs, then announce it.
# KEYS[1] the board hash, KEYS[2] the channel; ARGV[1] the version, ARGV[2] the board name,
# ARGV[3] the content's digest, ARGV[4…] field/value pairs. Returns 0 (written), -1 (the same
# content is stored: nothing changes, not even the version) or the newer stored version.
_WRITE_BOARD = """
local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
local version = tonumber(ARGV[1])
if version <= current then return current end
if redis.call('HGET', KEYS[1], 'digest') == ARGV[3] then return -1 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'digest', ARGV[3], unpack(ARGV, 4))
redis.call('PUBLISH', KEYS[2], ARGV[2] .. ' ' .. ARGV[1])
return 0
"""


def record_attempts(
    client: redis.Redis,
    contestants: Iterable[tuple[int, int]],
    rounds: Mapping[int, RoundRef] | None = None,
) -> None:
    """Set these (round id, user id) entries from the database, one query per round and one
    Redis transaction for all, and mark their contests dirty. ``rounds`` spares loading the
    rounds a caller has read already."""
    by_round: dict[int, set[int]] = defaultdict(set)
    for round_id, user_id in contestants:
        by_round[round_id].add(user_id)
    if not by_round:
        return
    pipe = client.pipeline()
    contests = set()
    for round_id, user_ids in by_round.items():
        round_ = (rounds or {}).get(round_id) or RoundRef.of(db.session.get_one(Round, round_id))
        entries = counting_entries(round_, user_ids=user_ids)
        if entries:
            pipe.hset(raw_key(round_id), mapping={u: e.to_json() for u, e in entries.items()})
        if gone := user_ids - entries.keys():
            pipe.hdel(raw_key(round_id), *gone)
        contests.add(round_.contest_id)
    _mark_dirty(pipe, contests)
    pipe.execute()


def begin_recording(client: redis.Redis, contestants: Iterable[tuple[int, int]]) -> None:
    """Note, before a scoring commit, the entries it will set (:data:`RECORDING`)."""
    members = {f"{round_id}:{user_id}": time.time() for round_id, user_id in contestants}
    if members:
        client.zadd(RECORDING, members)


def end_recording(client: redis.Redis, contestants: Iterable[tuple[int, int]]) -> None:
    """The entries of :func:`begin_recording` are set: forget them."""
    members = [f"{round_id}:{user_id}" for round_id, user_id in contestants]
    if members:
        client.zrem(RECORDING, *members)


def record_unfinished(client: redis.Redis, begun_before: float) -> int:
    """Set the entries that a scoring job noted before ``begun_before`` (epoch seconds) and
    never set — it died between its commit and :func:`record_attempts` — from the database, as
    that function does (idempotent); how many."""
    raw = client.zrangebyscore(RECORDING, "-inf", begun_before)
    if not raw:
        return 0
    members = [m.decode() if isinstance(m, bytes) else str(m) for m in raw]
    contestants = [(int(r), int(u)) for r, _, u in (m.partition(":") for m in members)]
    record_attempts(client, contestants)
    client.zrem(RECORDING, *members)
    return len(members)


# Parsed raw entries of the rounds this process rendered last, by their stored bytes: a render
# parses only the entries that changed since the previous one.
_parsed: dict[int, dict[bytes, RawEntry]] = {}


def read_raw(client: redis.Redis, round_ids: Sequence[int]) -> dict[int, list[RawEntry]]:
    pipe = client.pipeline(transaction=False)
    for round_id in round_ids:
        pipe.hvals(raw_key(round_id))
    result = {}
    for round_id, values in zip(round_ids, pipe.execute(), strict=True):
        known = _parsed.get(round_id, {})
        fresh = {v: known.get(v) or RawEntry.from_json(v) for v in values}
        if len(_parsed) > 64 and round_id not in _parsed:
            _parsed.clear()
        _parsed[round_id] = fresh
        result[round_id] = list(fresh.values())
    return result


def _version(client: redis.Redis, board: str) -> int:
    """A version above the stored one; milliseconds, so it keeps rising across Redis restarts."""
    stored = int(_bytes(client.hget(board_key(board), "version") or 0))
    return max(int(time.time() * 1000), stored + 1)


_NO_VERSION = b'"version":0,'


def _pages(doc: BoardDocument) -> list[bytes]:
    """The document's stored pages with the version left at 0 (see :func:`_fields`)."""
    if not doc.paged:
        return [dumps(doc.body(0, 0, 0))]
    pages = max(1, -(-len(doc.rows) // PAGE))
    return [dumps(doc.body(0, page * PAGE, PAGE)) for page in range(pages)]


def _fields(pages: Sequence[bytes], version: int) -> list[Any]:
    """Field/value pairs of a board's hash. A page is rendered once, without its version, for
    the content's digest; the version goes in by replacing the first ``"version":0,``, which is
    the body's own key: it comes after the head's numbers and flags and before any text, and a
    name holding those characters is escaped (``\\"version\\":0,``), so it cannot match."""
    stamped = b'"version":%d,' % version
    fields: list[Any] = ["version", version]
    for index, page in enumerate(pages):
        fields += [f"p{index}", page.replace(_NO_VERSION, stamped, 1)]
    return fields


def write_documents(client: redis.Redis, docs: Sequence[BoardDocument]) -> list[str]:
    """Store each document whose content changed under a new version and publish it; returns
    boards refused as stale (a newer version is stored).

    A render that changes nothing a reader sees (the same entries, a frozen board while
    submissions pour in) writes nothing: the version, the ETag and the streams stay still.
    """
    script = client.register_script(_WRITE_BOARD)
    refused = []
    for doc in docs:
        pages = _pages(doc)
        digest = hashlib.blake2b(b"\0".join(pages), digest_size=16).hexdigest()
        version = _version(client, doc.board)
        written = script(
            keys=[board_key(doc.board), EVENTS],
            args=[version, doc.board, digest, *_fields(pages, version)],
        )
        if int(written) > 0:
            refused.append(doc.board)
    return refused


def render_contest(client: redis.Redis, contest_id: int, now: datetime | None = None) -> bool:
    """Render a contest's public boards from the raw entries in Redis. False: nothing to render.

    The cyclic garbage collector is paused meanwhile: a render allocates tens of thousands of
    short-lived objects (freed by reference counting), which would otherwise trigger full
    collections over the whole worker heap in the middle of it.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _render_contest(client, contest_id, now)
    finally:
        if enabled:
            gc.enable()


def _render_contest(client: redis.Redis, contest_id: int, now: datetime | None) -> bool:
    now = now or datetime.now(UTC)
    contest = db.session.get(Contest, contest_id)
    if contest is None:
        return False
    round_ids = [r.id for r in contest.rounds]
    raw = read_raw(client, round_ids)
    for _try in range(_RECOMPUTE_TRIES):
        stale = [r for r in contest.rounds if _chosen_otherwise(r, raw[r.id])]
        if not stale:
            break
        for round_ in stale:
            store_round_entries(client, round_)
        raw = read_raw(client, round_ids)
    else:
        # A scoring job that read the round before its freeze time (or policy) changed keeps
        # writing entries chosen for the old one: publishing them could show a score from after
        # the freeze.
        # Render nothing now; the job's own mark brings the contest back.
        mark_dirty(client, contest_id)
        return False
    data = load_contest_data(contest_id, raw)
    if data is None:
        return False
    if not boards_public(contest):
        delete_boards(client, boards_of(contest))
        return True
    if write_documents(client, documents(data, now)):
        mark_dirty(client, contest_id)  # another renderer wrote meanwhile: render once more
    upcoming = [
        r.freeze_at.timestamp()
        for r in data.rounds
        if r.freeze_at is not None and r.freeze_at > now
    ]
    if upcoming:
        client.zadd(FREEZES, {str(contest_id): min(upcoming)})
    return True


@dataclass(frozen=True)
class Snapshot:
    version: int
    body: bytes


def read_board(
    client: redis.Redis, board: str, offset: int = 0, limit: int = PAGE
) -> Snapshot | None:
    """A page of a stored board as JSON bytes, or None when the board is not stored."""
    key = board_key(board)
    if offset % PAGE == 0 and limit == PAGE:
        version, body = client.hmget(key, ["version", f"p{offset // PAGE}"])
        if version is None:
            return None
        if body is None:  # past the end: the first page tells the head and the total
            first = client.hget(key, "p0")
            if first is None:
                return None
            return Snapshot(int(version), _reslice(json.loads(first), [], offset, limit))
        return Snapshot(int(version), _bytes(body))
    first_page, last_page = offset // PAGE, (offset + max(limit, 1) - 1) // PAGE
    fields = ["version"] + [f"p{p}" for p in range(first_page, last_page + 1)] + ["p0"]
    values = client.hmget(key, fields)
    if values[0] is None or values[-1] is None:
        return None
    head = json.loads(values[-1])
    if "entries" not in head:  # an unpaged board
        return Snapshot(int(values[0]), _bytes(values[-1]))
    rows: list[dict[str, Any]] = []
    for page_body in values[1:-1]:
        if page_body is not None:
            rows += json.loads(page_body)["entries"]
    skip = offset - first_page * PAGE
    return Snapshot(int(values[0]), _reslice(head, rows[skip : skip + limit], offset, limit))


def _reslice(head: dict[str, Any], rows: list[dict[str, Any]], offset: int, limit: int) -> bytes:
    return dumps({**head, "offset": offset, "limit": limit, "entries": rows})


def board_version(client: redis.Redis, board: str) -> int | None:
    value = client.hget(board_key(board), "version")
    return int(_bytes(value)) if value is not None else None


def store_round_entries(client: redis.Redis, round_: Round | RoundRef) -> int:
    """Replace a round's raw entries with a recomputation from the database; returns how many.

    The hash is watched from before the database is read: scoring commits an attempt and then
    sets its entry, so an entry set after the read (from an attempt the read may have missed)
    makes the replacement fail and start over, instead of being overwritten. (Each query sees
    what was committed before it: PostgreSQL's READ COMMITTED, SQLite outside a write.)
    """
    key = raw_key(round_.id)

    stored: list[int] = []

    def replace(pipe: redis.client.Pipeline) -> None:  # run again when the watch fails
        entries = counting_entries(round_)
        pipe.multi()  # readers see the old hash or the new one
        pipe.delete(key)
        if entries:
            pipe.hset(key, mapping={str(u): e.to_json() for u, e in entries.items()})
        stored[:] = [len(entries)]

    client.transaction(replace, key)
    return stored[0]


# Renders in a row that find entries chosen for another freeze time before giving up for now.
_RECOMPUTE_TRIES = 3


# One render of a missing board at a time per contest in this process (see render_if_missing).
_missing_locks: defaultdict[int, threading.Lock] = defaultdict(threading.Lock)


def render_if_missing(
    client: redis.Redis, contest_id: int, board: str, offset: int, limit: int
) -> Snapshot | None:
    """The page of a board that was never rendered (or was lost with Redis's data), rendering
    the contest first. One reader of this process renders while the others wait and read:
    otherwise every reader of a popular board would render the same contest at once."""
    with _missing_locks[contest_id]:
        snapshot = read_board(client, board, offset, limit)
        if snapshot is None:
            render_contest(client, contest_id)
            snapshot = read_board(client, board, offset, limit)
    return snapshot


def _chosen_otherwise(round_: Round, entries: Iterable[RawEntry]) -> bool:
    """True when stored entries were chosen for another freeze time than the round's (it was
    set or moved since) or under another best/last policy (it was changed): the render
    recomputes the round's entries first."""
    stamp = freeze_stamp(round_)
    last = round_.score_policy is ScorePolicy.LAST
    return any(e.freeze_us != stamp or e.last != last for e in entries)
