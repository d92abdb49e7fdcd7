"""Progress of a long job (done/total) in a Redis hash that the pages poll, kept an hour."""

from __future__ import annotations

from collections.abc import Callable

from contest.extensions import redis_hub

TTL_S = 3600


def publisher(key: str) -> Callable[[int, int], None]:
    """A progress callback that writes done/total under ``key``."""
    client = redis_hub.client

    def publish(done: int, total: int) -> None:
        client.hset(key, mapping={"done": done, "total": total})
        client.expire(key, TTL_S)

    return publish


def read(key: str) -> tuple[int, int] | None:
    """(done, total) last written under ``key``; None before the first write or an hour after
    the last."""
    values = redis_hub.client.hgetall(key)
    if not values:
        return None
    return int(values[b"done"]), int(values[b"total"])
