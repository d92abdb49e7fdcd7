"""Compensation for a phone's network delay in the buzz order (optional, off by default).

A round may allow up to ``compensation_ms`` (at most :data:`MAX_MS`). Each team phone's round trip
is measured by the server alone: its stream sends a ``ping`` event carrying a nonce, the phone
posts the nonce straight back, and the server takes the time between the two on Redis's clock.
Only the smallest round trip a phone ever showed is kept — a phone can make itself look slower
than it is by answering late, never faster, and the cap bounds what that could win. Nothing the
phone says about itself is used.

With compensation, a buzz counts as made at its arrival minus half that round trip (capped). So
that a later-arriving buzz may still come first, the order is decided once, when the cap has
passed since the first buzz of the question: every buzz of that window is ranked by its
compensated time, in one script, and whoever asks is told the same order. Buzzes after the window
queue behind, in arrival order.
"""

from __future__ import annotations

import secrets
from typing import Any

import redis

MAX_MS = 150
RTT_KEPT_S = 24 * 3600

_PING = """
local t = redis.call('TIME')
local ms = math.floor((tonumber(t[1]) * 1000000 + tonumber(t[2])) / 1000)
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ms, 'PX', 30000)
return ms
"""

_PONG = """
local sent = redis.call('GET', KEYS[1])
if not sent then return -1 end
local sep = string.find(sent, ' ')
if string.sub(sent, 1, sep - 1) ~= ARGV[1] then return -1 end
redis.call('DEL', KEYS[1])
local t = redis.call('TIME')
local ms = math.floor((tonumber(t[1]) * 1000000 + tonumber(t[2])) / 1000)
local rtt = ms - tonumber(string.sub(sent, sep + 1))
local best = redis.call('HGET', KEYS[2], ARGV[1])
if not best or rtt < tonumber(best) then
  redis.call('HSET', KEYS[2], ARGV[1], rtt)
  redis.call('EXPIRE', KEYS[2], ARGV[2])
end
return rtt
"""

# KEYS: arm, early, pending, window, decided; ARGV: step, team, user, cap ms, kept s
_BUZZ = """
local arm = redis.call('HMGET', KEYS[1], 'step', 'armed')
local t = redis.call('TIME')
local us = tonumber(t[1]) * 1000000 + tonumber(t[2])
local at_ms = math.floor(us / 1000)
if not arm[1] or arm[1] ~= ARGV[1] then return {'closed', at_ms, 0} end
if redis.call('SISMEMBER', KEYS[2], ARGV[2]) == 1 then return {'locked', at_ms, 0} end
if arm[2] ~= '1' then
  redis.call('SADD', KEYS[2], ARGV[2])
  redis.call('EXPIRE', KEYS[2], ARGV[5])
  return {'early', at_ms, 0}
end
if redis.call('EXISTS', KEYS[5]) == 1 then return {'decided', at_ms, 0} end
local rtt = tonumber(redis.call('HGET', KEYS[6], ARGV[3]) or '0')
local credit = math.min(math.floor(rtt / 2), tonumber(ARGV[4]))
local added = redis.call('ZADD', KEYS[3], 'NX', us - credit * 1000, ARGV[2])
redis.call('EXPIRE', KEYS[3], ARGV[5])
redis.call('SET', KEYS[4], at_ms + tonumber(ARGV[4]), 'NX', 'EX', ARGV[5])
local window = tonumber(redis.call('GET', KEYS[4]))
if added == 0 then return {'again', at_ms, window} end
return {'pending', at_ms, window, credit}
"""

# KEYS: pending, buzz order, count, decided; ARGV: kept s
_DECIDE = """
local mine = 0
if redis.call('SET', KEYS[4], 1, 'NX', 'EX', ARGV[1]) then
  mine = 1
  local ranked = redis.call('ZRANGE', KEYS[1], 0, -1)
  for i, team in ipairs(ranked) do
    redis.call('ZADD', KEYS[2], i, team)
  end
  redis.call('SET', KEYS[3], #ranked, 'EX', ARGV[1])
  redis.call('EXPIRE', KEYS[2], ARGV[1])
end
local out = {mine}
for _, pair in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')) do
  table.insert(out, pair)
end
return out
"""


def _keys(round_id: int, step: int) -> dict[str, str]:
    return {
        "arm": f"live:{round_id}:arm",
        "early": f"live:{round_id}:early:{step}",
        "pending": f"live:{round_id}:pending:{step}",
        "window": f"live:{round_id}:window:{step}",
        "decided": f"live:{round_id}:decided:{step}",
        "rtt": f"live:{round_id}:rtt",
        "order": f"live:{round_id}:buzz:{step}",
        "count": f"live:{round_id}:count:{step}",
    }


def ping(client: redis.Redis, round_id: int, user_id: int) -> str:
    """A new ping for the user's phone: its nonce, the send time kept on Redis's clock."""
    nonce = secrets.token_urlsafe(12)
    client.eval(_PING, 1, f"live:{round_id}:ping:{nonce}", str(user_id))
    return nonce


def pong(client: redis.Redis, round_id: int, nonce: str, user_id: int) -> int | None:
    """The round trip of the ping ``nonce`` answered now by the user it was sent to (kept if it
    is the user's smallest); None for a nonce unknown, expired, used or another user's."""
    rtt = int(
        client.eval(
            _PONG,
            2,
            f"live:{round_id}:ping:{nonce}",
            _keys(round_id, 0)["rtt"],
            str(user_id),
            RTT_KEPT_S,
        )
    )
    return None if rtt < 0 else rtt


def round_trips(client: redis.Redis, round_id: int) -> dict[int, int]:
    """The smallest round trip measured per user, in ms."""
    found = client.hgetall(_keys(round_id, 0)["rtt"])
    return {int(user): int(ms) for user, ms in found.items()}


def buzz(
    client: redis.Redis, round_id: int, step: int, team_id: int, user_id: int, cap_ms: int
) -> tuple[str, int, int, int]:
    """Enter a buzz in the question's window: (outcome, arrival ms, window end ms, credit ms).
    ``pending``: counted, the order is known at the window's end (:func:`decide`); ``decided``:
    the window is over, the buzz queues as without compensation; ``again``, ``early``,
    ``locked``, ``closed`` as without."""
    keys = _keys(round_id, step)
    result: list[Any] = client.eval(
        _BUZZ,
        6,
        keys["arm"],
        keys["early"],
        keys["pending"],
        keys["window"],
        keys["decided"],
        keys["rtt"],
        str(step),
        str(team_id),
        str(user_id),
        str(min(cap_ms, MAX_MS)),
        str(RTT_KEPT_S),
    )
    outcome = result[0].decode() if isinstance(result[0], bytes) else str(result[0])
    credit = int(result[3]) if len(result) > 3 else 0
    return outcome, int(result[1]), int(result[2]), credit


def decide(client: redis.Redis, round_id: int, step: int) -> tuple[bool, list[tuple[int, int]]]:
    """The window's order, fixed by the first caller: (whether this call fixed it, [(team,
    compensated time in ms)] first to last). Later buzzes continue the same order."""
    keys = _keys(round_id, step)
    result: list[Any] = client.eval(
        _DECIDE, 4, keys["pending"], keys["order"], keys["count"], keys["decided"], RTT_KEPT_S
    )
    mine = bool(int(result[0]))
    pairs = result[1:]
    order = [(int(pairs[i]), int(float(pairs[i + 1]) // 1000)) for i in range(0, len(pairs), 2)]
    return mine, order
