"""The Redis client shared by everything in one process (stores, channels, revocation, presence)."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis

from server.core.settings import Settings

MAX_CONNECTIONS = 256
# Under a burst, a command waits this long for a free connection instead of failing at once with
# "Too many connections" (which closed live sockets with 1012 in the capacity benchmark).
CONNECTION_WAIT_SECONDS = 5


def create_redis(settings: Settings) -> Redis:
    if not settings.redis_url:
        raise RuntimeError("REDIS_URL is not set: start through `interviewace serve` or set it explicitly")
    pool = BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=MAX_CONNECTIONS,
        timeout=CONNECTION_WAIT_SECONDS,
        socket_connect_timeout=5,
        socket_keepalive=True,
        health_check_interval=30,
        decode_responses=False,
    )
    client: Redis = Redis.from_pool(pool)
    return client
