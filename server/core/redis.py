"""The Redis client shared by everything in one process (stores, channels, revocation, presence)."""

from __future__ import annotations

from redis.asyncio import Redis

from server.core.settings import Settings


def create_redis(settings: Settings) -> Redis:
    if not settings.redis_url:
        raise RuntimeError("REDIS_URL is not set: start through `interviewace serve` or set it explicitly")
    client: Redis = Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=5,
        socket_keepalive=True,
        health_check_interval=30,
        max_connections=256,
        decode_responses=False,
    )
    return client
