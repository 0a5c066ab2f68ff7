"""The channels plugin as the live hub uses it: listeners, and commands kept in order with messages."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from server.core.pubsub import ResilientChannelsPlugin, build_channels
from server.core.redis import create_redis


@pytest.fixture
async def channels(redis_client: Any, settings: Any) -> AsyncIterator[ResilientChannelsPlugin]:
    redis = create_redis(settings)
    plugin = build_channels(redis)
    await plugin._on_startup()
    try:
        yield plugin
    finally:
        await plugin._on_shutdown()
        await redis.aclose()


async def _subscribers(redis: Any, channel: str) -> int:
    [(_, count)] = await redis.pubsub_numsub(channel)
    return int(count)


async def test_commands_published_with_a_message_are_visible_to_whoever_receives_it(
    channels: ResilientChannelsPlugin, redis_client: Any
) -> None:
    seen: list[bytes] = []
    received = asyncio.Event()

    def on_message(data: bytes) -> None:
        # Runs on the receiving task, after Redis executed the commands queued before the message.
        seen.append(data)
        if len(seen) == 5:
            received.set()

    await channels.listen("interviewace:test:a", on_message)
    for n in range(5):
        channels.publish_after(
            [("HSET", "interviewace:test:snapshot", "text", f"v{n}")], b"m%d" % n, "interviewace:test:a"
        )
    await asyncio.wait_for(received.wait(), 5)
    assert seen == [b"m0", b"m1", b"m2", b"m3", b"m4"]
    assert await redis_client.hget("interviewace:test:snapshot", "text") == b"v4"


async def test_commands_alone_publish_nothing(channels: ResilientChannelsPlugin, redis_client: Any) -> None:
    seen: list[bytes] = []
    await channels.listen("interviewace:test:b", seen.append)
    channels.publish_after([("SET", "interviewace:test:flag", "1")], None, "interviewace:test:b")
    channels.publish(b"after", "interviewace:test:b")
    for _ in range(200):
        if seen:
            break
        await asyncio.sleep(0.01)
    assert seen == [b"after"]
    assert await redis_client.get("interviewace:test:flag") == b"1"


async def test_listeners_share_one_subscription_which_ends_with_the_last(
    channels: ResilientChannelsPlugin, redis_client: Any
) -> None:
    first: list[bytes] = []
    second: list[bytes] = []
    await channels.listen("interviewace:test:c", first.append)
    await channels.listen("interviewace:test:c", second.append)
    assert await _subscribers(redis_client, "interviewace:test:c") == 1
    channels.publish(b"both", "interviewace:test:c")
    for _ in range(200):
        if first and second:
            break
        await asyncio.sleep(0.01)
    assert first == second == [b"both"]

    await channels.stop_listening("interviewace:test:c", first.append)
    await channels.stop_listening("interviewace:test:c", first.append)  # no longer there: a no-op
    assert await _subscribers(redis_client, "interviewace:test:c") == 1  # one listener left
    await channels.stop_listening("interviewace:test:c", second.append)
    assert await _subscribers(redis_client, "interviewace:test:c") == 0


async def test_a_failing_listener_does_not_stop_delivery(channels: ResilientChannelsPlugin) -> None:
    delivered: list[bytes] = []

    def broken(data: bytes) -> None:
        raise ValueError("a bug in one consumer")

    await channels.listen("interviewace:test:e", broken)
    await channels.listen("interviewace:test:e", delivered.append)
    channels.publish(b"one", "interviewace:test:e")
    channels.publish(b"two", "interviewace:test:e")
    for _ in range(200):
        if len(delivered) == 2:
            break
        await asyncio.sleep(0.01)
    assert delivered == [b"one", b"two"]
