"""Cross-process fan-out: Litestar's channels plugin on Redis pub/sub.

Pub/sub is at-most-once, so it only ever wakes participants up; whatever must not be lost is
stored in PostgreSQL first and read back from there when a participant falls behind.

Litestar's plugin runs one publishing and one receiving task with no error handling: a single
Redis error ends them, and from then on messages are queued or awaited forever without a word.
`ResilientChannelsPlugin` keeps both tasks alive across Redis errors and reports each outage, so
that whoever relies on delivery (the live interview hub) can tell its clients to resume from the
database instead of waiting on a stream that lost messages.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from litestar.channels import ChannelsPlugin
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from redis.asyncio import Redis

from server.core.logging import get_logger

log = get_logger(__name__)

CHANNEL_PREFIX = "interviewace:channels"
PUBLISH_ATTEMPTS = 3
# Messages sent in one pipelined round trip. Publishing one message per awaited round trip let the
# queue grow to thousands of messages under load (seconds of delay for every stream).
PUBLISH_BATCH = 256
MAX_RECONNECT_DELAY_SECONDS = 2.0


class ResilientChannelsPlugin(ChannelsPlugin):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.outages = 0
        self._outage_listeners: list[Callable[[], None]] = []

    def on_outage(self, listener: Callable[[], None]) -> None:
        self._outage_listeners.append(listener)

    def _report_outage(self, exc: BaseException) -> None:
        self.outages += 1
        log.warning("pubsub_outage", error=type(exc).__name__, outages=self.outages)
        for listener in list(self._outage_listeners):
            listener()

    async def _pub_worker(self) -> None:
        while self._pub_queue:
            batch = [await self._pub_queue.get()]
            while len(batch) < PUBLISH_BATCH and not self._pub_queue.empty():
                batch.append(self._pub_queue.get_nowait())
            try:
                await self._publish_with_retry(batch)
            finally:
                for _ in batch:
                    self._pub_queue.task_done()

    async def _publish_with_retry(self, batch: list[tuple[bytes, list[str]]]) -> None:
        """One pipelined round trip of plain PUBLISH commands, in queue order (what the backend's
        Lua script does per message, without a round trip per message)."""
        redis: Redis = self._backend._redis  # type: ignore[attr-defined]
        for attempt in range(1, PUBLISH_ATTEMPTS + 1):
            try:
                async with redis.pipeline(transaction=False) as pipe:
                    for data, channels in batch:
                        for channel in dict.fromkeys(channels):
                            pipe.publish(channel, data)
                    await pipe.execute()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._report_outage(exc)
                await asyncio.sleep(0.2 * attempt)
        # Subscribers were told about the outage; they resume from the database.
        log.error("pubsub_messages_dropped", count=len(batch))

    async def _sub_worker(self) -> None:
        delay = 0.1
        while True:
            try:
                async for channel, payload in self._backend.stream_events():
                    delay = 0.1
                    for subscriber in self._channels.get(channel, []):
                        subscriber.put_nowait(payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # redis-py reconnects and re-subscribes on the next read; messages published in
                # between are gone, which is what the outage report is for.
                self._report_outage(exc)
                await asyncio.sleep(delay)
                delay = min(MAX_RECONNECT_DELAY_SECONDS, delay * 2)


def build_channels(redis: Redis) -> ResilientChannelsPlugin:
    return ResilientChannelsPlugin(
        backend=RedisChannelsPubSubBackend(redis=redis, key_prefix=CHANNEL_PREFIX),
        arbitrary_channels_allowed=True,
        # A bounded backlog per subscriber: memory stays flat when a consumer stalls. Dropped
        # messages are detected by their sequence numbers and re-read from the database.
        subscriber_max_backlog=2048,
        subscriber_backlog_strategy="dropleft",
    )


async def publish_raw(redis: Redis, channel: str, data: bytes) -> None:
    """Publish to a channel from a process without the plugin (workers, scripts). The pub/sub
    backend uses channel names as they are, so names carry their own `interviewace:` namespace."""
    await redis.publish(channel, data)
