"""GET /admin/stats: counts of users, of each feature's rows by status, live sockets, queue depth.

A feature that owns a table with a status adds one line to STATUS_COUNTS, e.g.
`"resumes": lambda: count_by(Resume.status)`; the answer then carries `by_status.resumes`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from piccolo.columns import Column
from piccolo.query.functions.aggregate import Count
from redis.asyncio import Redis

from server.accounts.schemas import ROLES, AdminStats, UserCounts
from server.accounts.tables import User
from server.core.broker import broker
from server.interviews.tables import Interview
from server.resumes.tables import Resume

CountQuery = Callable[[], Awaitable[dict[str, int]]]

# Live websockets: members are socket ids, scores the time (ms) until which each is known alive.
# The websocket layer calls `mark_socket_live` on connect and every heartbeat, `forget_socket` on
# close; a process that dies stops refreshing its sockets and they age out.
LIVE_SOCKETS_KEY = "interviewace:ws:live"
LIVE_SOCKET_TTL_SECONDS = 60


async def count_by(column: Column, *, where: Any = None) -> dict[str, int]:
    """Rows of the column's table grouped by the column's value: {value: count}."""
    table = column._meta.table
    query = table.select(column.as_alias("value"), Count(alias="n")).group_by(column)
    if where is not None:
        query = query.where(where)
    return {str(row["value"]): int(row["n"]) for row in await query}


STATUS_COUNTS: dict[str, CountQuery] = {
    "resumes": lambda: count_by(Resume.status, where=Resume.deleted_at.is_null()),
    "interviews": lambda: count_by(Interview.status, where=Interview.deleted_at.is_null()),
}


async def user_counts() -> UserCounts:
    rows = await User.select(User.role, User.is_active, Count(alias="n")).group_by(User.role, User.is_active)
    by_role: dict[str, int] = dict.fromkeys(ROLES, 0)
    active = inactive = 0
    for row in rows:
        by_role[row["role"]] = by_role.get(row["role"], 0) + row["n"]
        if row["is_active"]:
            active += row["n"]
        else:
            inactive += row["n"]
    return UserCounts(total=active + inactive, active=active, inactive=inactive, by_role=by_role)


def live_socket_score(ttl_seconds: int = LIVE_SOCKET_TTL_SECONDS) -> int:
    """A socket's score in LIVE_SOCKETS_KEY: when it stops counting unless marked again (ms)."""
    return int((time.time() + ttl_seconds) * 1000)


async def mark_socket_live(
    redis: Redis, socket_id: str, *, ttl_seconds: int = LIVE_SOCKET_TTL_SECONDS
) -> None:
    await redis.zadd(LIVE_SOCKETS_KEY, {socket_id: live_socket_score(ttl_seconds)})


async def forget_socket(redis: Redis, socket_id: str) -> None:
    await redis.zrem(LIVE_SOCKETS_KEY, socket_id)


async def count_live_sockets(redis: Redis) -> int:
    async with redis.pipeline(transaction=True) as pipe:
        pipe.zremrangebyscore(LIVE_SOCKETS_KEY, "-inf", int(time.time() * 1000))
        pipe.zcard(LIVE_SOCKETS_KEY)
        _, live = await pipe.execute()
    return int(live)


async def queue_depth(redis: Redis) -> dict[str, int]:
    """Messages waiting (or being worked on, or scheduled for a retry) per Dramatiq queue, read
    from the broker's Redis keys: `<namespace>:<queue>.msgs` and its delay queue `.DQ.msgs`."""
    namespace = getattr(broker, "namespace", None)
    if namespace is None:  # no Redis broker in this process: nothing can be queued
        return {}
    queues = {name.removesuffix(".DQ") for name in broker.get_declared_queues()}
    prefix, suffix = f"{namespace}:", ".msgs"
    async for raw_key in redis.scan_iter(match=f"{prefix}*{suffix}", count=500):
        name = raw_key.decode()[len(prefix) : -len(suffix)]
        if not name.endswith(".XQ"):  # dead letters are not waiting for anything
            queues.add(name.removesuffix(".DQ"))
    names = sorted(queues)
    async with redis.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.hlen(f"{prefix}{name}{suffix}")
            pipe.hlen(f"{prefix}{name}.DQ{suffix}")
        lengths = await pipe.execute()
    return {name: int(lengths[2 * i]) + int(lengths[2 * i + 1]) for i, name in enumerate(names)}


async def admin_stats(redis: Redis) -> AdminStats:
    async def status_counts() -> dict[str, dict[str, int]]:
        names = list(STATUS_COUNTS)
        counts = await asyncio.gather(*(STATUS_COUNTS[name]() for name in names))
        return dict(zip(names, counts, strict=True))

    users, by_status, live, depth = await asyncio.gather(
        user_counts(), status_counts(), count_live_sockets(redis), queue_depth(redis)
    )
    return AdminStats(users=users, by_status=by_status, live_sockets=live, queue_depth=depth)
