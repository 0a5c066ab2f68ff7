"""Cross-process fan-out: Litestar's channels plugin on Redis pub/sub.

Pub/sub is at-most-once, so it only ever wakes participants up; whatever must not be lost is
stored in PostgreSQL first and read back from there when a participant falls behind.
"""

from __future__ import annotations

from litestar.channels import ChannelsPlugin
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from redis.asyncio import Redis

CHANNEL_PREFIX = "interviewace:channels"


def build_channels(redis: Redis) -> ChannelsPlugin:
    return ChannelsPlugin(
        backend=RedisChannelsPubSubBackend(redis=redis, key_prefix=CHANNEL_PREFIX),
        arbitrary_channels_allowed=True,
        # A bounded backlog per subscriber: memory stays flat when a socket stalls. Dropped
        # messages are detected by their sequence numbers and re-read from the database.
        subscriber_max_backlog=2048,
        subscriber_backlog_strategy="dropleft",
    )
