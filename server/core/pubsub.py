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
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, TypeAlias

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

RedisCommand: TypeAlias = tuple[Any, ...]  # ("HSET", key, field, value), as for execute_command
Listener: TypeAlias = Callable[[bytes], None]


class ResilientChannelsPlugin(ChannelsPlugin):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.outages = 0
        self._outage_listeners: list[Callable[[], None]] = []
        self._listeners: dict[str, list[Listener]] = {}

    # ---- listeners: messages handed over synchronously by the receiving task ---------------------
    # A `Subscriber` queues each message for a task of its own to pick up; for a consumer that only
    # sorts messages into other bounded queues (the live hub) that extra hop per message is pure
    # cost. A channel is used either through listeners or through subscribers, never both.

    async def listen(self, channel: str, listener: Listener) -> None:
        listeners = self._listeners.setdefault(channel, [])
        listeners.append(listener)
        if len(listeners) == 1:
            await self._backend.subscribe([channel])

    async def stop_listening(self, channel: str, listener: Listener) -> None:
        listeners = self._listeners.get(channel)
        if not listeners or listener not in listeners:
            return
        listeners.remove(listener)
        if not listeners:
            del self._listeners[channel]
            await self._backend.unsubscribe([channel])

    def publish_after(self, commands: Sequence[RedisCommand], data: bytes | None, channel: str) -> None:
        """Queue Redis `commands` and then the message (if any), on the same ordered path as
        `publish`: a subscriber that gets the message can already see what the commands wrote,
        and no round trip is awaited by the caller."""
        if not commands and data is not None:
            self.publish(data, channel)
            return
        if self._pub_queue is None:
            raise RuntimeError("the channels plugin is not started")
        # The queue's items are (data, channels) for plain publishes; a third element carries
        # the commands to run first, and data None means commands only.
        self._pub_queue.put_nowait((data, [channel], tuple(commands)))  # type: ignore[arg-type]

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

    async def _publish_with_retry(self, batch: list[tuple[Any, ...]]) -> None:
        """One pipelined round trip of plain PUBLISH commands (and the commands queued with them),
        in queue order: what the backend's Lua script does per message, without a round trip per
        message. Retried as a whole: the queued commands are idempotent writes."""
        redis: Redis = self._backend._redis  # type: ignore[attr-defined]
        for attempt in range(1, PUBLISH_ATTEMPTS + 1):
            try:
                async with redis.pipeline(transaction=False) as pipe:
                    for item in batch:
                        if len(item) == 3:
                            for command in item[2]:
                                pipe.execute_command(*command)
                        data, channels = item[0], item[1]
                        for channel in dict.fromkeys(channels) if data is not None else ():
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
                async for channel, payload in self._receive():
                    delay = 0.1
                    for subscriber in self._channels.get(channel, ()):
                        subscriber.put_nowait(payload)
                    for listener in self._listeners.get(channel, ()):
                        try:
                            listener(payload)
                        except Exception:
                            log.exception("channel_listener_failed", channel=channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # redis-py reconnects and re-subscribes on the next read; messages published in
                # between are gone, which is what the outage report is for.
                self._report_outage(exc)
                await asyncio.sleep(delay)
                delay = min(MAX_RECONNECT_DELAY_SECONDS, delay * 2)

    async def _receive(self) -> AsyncIterator[tuple[str, bytes]]:
        """The backend's `stream_events` without its per-message check against every subscribed
        channel (a set difference as large as the number of live interviews, for each message):
        messages of a channel no longer subscribed here find no subscriber or listener anyway."""
        backend: Any = self._backend
        pubsub = backend._pub_sub
        while True:
            await backend._has_subscribed.wait()
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is not None and message["type"] == "message":
                yield message["channel"].decode(), message["data"]


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
