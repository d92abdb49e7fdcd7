"""The live copy of a live round in Redis: its state, its buzzers and the change channel.

- ``live:<round>:state``: the state as JSON (:mod:`contest.live_final.state`), written only
  forward: a copy of a lower version never replaces a newer one (:data:`_STORE`), so two web
  processes that commit one after the other cannot leave the older state behind.
- ``live:<round>:arm``: {step, armed} while a 抢答 question is open (armed 0) or armed (1);
  ``live:<round>:early:<step>`` the teams locked out for buzzing before arming;
  ``live:<round>:buzz:<step>`` the valid buzzes, scored by arrival (``…:count:<step>``).
  :data:`_BUZZ` decides a buzz in one script, so however many arrive at once Redis puts them in
  one order and exactly one is first. Its time is Redis's own clock (``TIME``): one clock for
  every web process, and nothing a device claims.
- ``live:changes``: a message ``<round> <version>`` after each change, which wakes the streams.

Everything here can be lost: :func:`contest.live_final.service.rebuild` derives it again from
the database's event log.
"""

from __future__ import annotations

import json
from typing import Any

import redis

CHANNEL = "live:changes"
KEPT_S = 3 * 24 * 3600  # a final's keys outlive its day, then go

_STORE = """
local stored = redis.call('HGET', KEYS[1], 'version')
if stored and tonumber(stored) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'version', ARGV[1], 'state', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
"""

_BUZZ = """
local arm = redis.call('HMGET', KEYS[1], 'step', 'armed')
local t = redis.call('TIME')
local at_ms = math.floor((tonumber(t[1]) * 1000000 + tonumber(t[2])) / 1000)
if not arm[1] or arm[1] ~= ARGV[1] then return {'closed', -1, at_ms} end
local team = ARGV[2]
if redis.call('SISMEMBER', KEYS[2], team) == 1 then return {'locked', -1, at_ms} end
if arm[2] ~= '1' then
  redis.call('SADD', KEYS[2], team)
  redis.call('EXPIRE', KEYS[2], ARGV[3])
  return {'early', -1, at_ms}
end
local known = redis.call('ZRANK', KEYS[3], team)
if known then return {'again', known, at_ms} end
local n = redis.call('INCR', KEYS[4])
redis.call('EXPIRE', KEYS[4], ARGV[3])
redis.call('ZADD', KEYS[3], n, team)
redis.call('EXPIRE', KEYS[3], ARGV[3])
return {'buzzed', n - 1, at_ms}
"""


def state_key(round_id: int) -> str:
    return f"live:{round_id}:state"


def _buzz_keys(round_id: int, step: int) -> list[str]:
    return [
        f"live:{round_id}:arm",
        f"live:{round_id}:early:{step}",
        f"live:{round_id}:buzz:{step}",
        f"live:{round_id}:count:{step}",
    ]


def read(client: redis.Redis, round_id: int) -> dict[str, Any] | None:
    """The live copy of the state, or None when Redis has none."""
    raw = client.hget(state_key(round_id), "state")
    return json.loads(raw) if raw else None


def store(client: redis.Redis, round_id: int, state: dict[str, Any]) -> bool:
    """Write ``state`` unless a newer one is there, announce it and bring the buzzers in line
    with it; False when a newer state was there already."""
    version = int(state["version"])
    written = client.eval(
        _STORE,
        1,
        state_key(round_id),
        version,
        json.dumps(state, ensure_ascii=False),
        KEPT_S,
        CHANNEL,
        f"{round_id} {version}",
    )
    if written:
        sync_buzzers(client, round_id, state)
    return bool(written)


def sync_buzzers(client: redis.Redis, round_id: int, state: dict[str, Any]) -> None:
    """Open, arm or close the buzzers as the state says; a step's buzzes and lock-outs the state
    knows are written back (after Redis lost them), never taken away."""
    step = state.get("step")
    arm_key, early_key, buzz_key, count_key = _buzz_keys(round_id, step["number"] if step else 0)
    if not step or step["kind"] != "buzz" or step["phase"] not in ("open", "armed", "answering"):
        client.delete(arm_key)
        return
    armed = "0" if step["phase"] == "open" else "1"
    with client.pipeline() as pipe:
        pipe.hset(arm_key, mapping={"step": str(step["number"]), "armed": armed})
        pipe.expire(arm_key, KEPT_S)
        if step["early"]:
            pipe.sadd(early_key, *(str(team) for team in step["early"]))
            pipe.expire(early_key, KEPT_S)
        if step["buzzes"]:
            pipe.zadd(buzz_key, {str(b["team_id"]): b["rank"] + 1 for b in step["buzzes"]}, nx=True)
            pipe.expire(buzz_key, KEPT_S)
            pipe.set(count_key, max(b["rank"] + 1 for b in step["buzzes"]), nx=True)
            pipe.expire(count_key, KEPT_S)
        pipe.execute()


def buzz(client: redis.Redis, round_id: int, step: int, team_id: int) -> tuple[str, int, int]:
    """Decide one buzz: (outcome, rank from 0, server time in ms). Outcomes: ``buzzed`` (valid;
    rank 0 is first), ``again`` (this team had buzzed), ``early`` (before arming: the team is
    locked out of the question), ``locked`` (locked out before), ``closed`` (no 抢答 question
    is open)."""
    outcome, rank, at_ms = client.eval(
        _BUZZ, 4, *_buzz_keys(round_id, step), str(step), str(team_id), KEPT_S
    )
    return (outcome.decode() if isinstance(outcome, bytes) else outcome), int(rank), int(at_ms)


def forget(client: redis.Redis, round_id: int) -> None:
    """Drop the live copy (the next read rebuilds it from the log)."""
    client.delete(state_key(round_id), f"live:{round_id}:arm")
