"""The per-process socket watch: the backstops for pushes that were lost, checked on real Redis
and PostgreSQL by driving its ticks directly."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from server.accounts.admin_stats import LIVE_SOCKETS_KEY
from server.accounts.auth import authenticate_token
from server.accounts.revocation import revoke_access_token
from server.core.db import engine
from server.core.pubsub import build_channels
from server.core.redis import create_redis
from server.interviews.live import LiveHub, Participant, candidate_key, presence_key
from server.interviews.observers import find_invitation
from server.interviews.watch import SocketWatch, Watched
from tests.conftest import decode


class RecordingRunner:
    """Stands in for the interview runner: the watch only has to ask it for progress."""

    def __init__(self) -> None:
        self.asked: list[tuple[uuid.UUID, bool]] = []

    async def ensure_progress(self, interview_id: uuid.UUID, *, lease_checked: bool = False) -> None:
        self.asked.append((interview_id, lease_checked))


@pytest.fixture
async def watch(redis_client: Any, settings: Any) -> AsyncIterator[tuple[SocketWatch, RecordingRunner]]:
    redis = create_redis(settings)
    channels = build_channels(redis)
    await channels._on_startup()
    runner = RecordingRunner()
    socket_watch = SocketWatch(LiveHub(channels, redis), runner, redis, settings)  # type: ignore[arg-type]
    try:
        yield socket_watch, runner
    finally:
        await socket_watch.close()
        await channels._on_shutdown()
        await redis.aclose()


async def _ignore(text: str) -> None:
    return None


def _watched(role: str = "observer", **fields: Any) -> Watched:
    participant = Participant(interview_id=uuid.uuid4(), role=role, send_text=_ignore)  # type: ignore[arg-type]
    for name in ("interview_id", "invitation_id", "last_event_type"):
        if name in fields:
            setattr(participant, name, fields.pop(name))
    defaults: dict[str, Any] = {
        "user": None,
        "invitation_expires": None,
        "user_sockets_key": None,
        "last_frame_at": time.monotonic(),
    }
    watched = Watched(participant=participant, **{**defaults, **fields})
    watched.next_validity = watched.next_presence = watched.next_progress = float("inf")
    return watched


async def test_a_token_revoked_without_a_push_closes_its_socket(
    watch: tuple[SocketWatch, RecordingRunner], user_factory: Any, settings: Any, redis_client: Any
) -> None:
    socket_watch, _ = watch
    account = await user_factory()
    user = await authenticate_token(account.access_token, settings=settings, redis=redis_client)
    watched = _watched(user=user)
    socket_watch.add(watched)
    watched.next_validity = 0
    await socket_watch.tick()
    assert watched.participant.close_code is None

    await revoke_access_token(redis_client, jti=user.jti, expires_at=int(time.time()) + 600)
    await socket_watch.tick()
    assert watched.participant.close_code is None, "not due yet: checks come every 3 s per socket"
    watched.next_validity = 0
    await socket_watch.tick()
    assert watched.participant.close_code == 4401


async def test_invitations_revoked_or_expired_without_a_push_close_their_sockets(
    watch: tuple[SocketWatch, RecordingRunner],
    user_factory: Any,
    client: httpx.AsyncClient,
    create_interview: Any,
) -> None:
    socket_watch, _ = watch
    owner = await user_factory()
    interview = await create_interview(owner.headers)
    invite = await client.post(
        f"/api/v1/interviews/{interview['id']}/observers", json={"expires_in": 600}, headers=owner.headers
    )
    invitation = await find_invitation(decode(invite)["observer_token"])
    assert invitation is not None
    revoked = _watched(invitation_id=invitation.id, invitation_expires=time.time() + 600)
    expired = _watched(invitation_id=invitation.id, invitation_expires=time.time() - 1)
    for watched in (revoked, expired):
        socket_watch.add(watched)
        watched.next_validity = watched.next_invitation_check = 0
    await socket_watch.tick()
    assert revoked.participant.close_code is None
    assert expired.participant.close_code == 4401

    await engine().pool.execute(
        "UPDATE observer_invitations SET revoked_at = now() WHERE id = $1", invitation.id
    )
    revoked.next_validity = revoked.next_invitation_check = 0
    await socket_watch.tick()
    assert revoked.participant.close_code == 4401


async def test_idle_replaced_and_present(
    watch: tuple[SocketWatch, RecordingRunner], redis_client: Any
) -> None:
    socket_watch, _ = watch
    idle = _watched(last_frame_at=time.monotonic() - 3600)
    replaced = _watched(role="candidate", last_event_type="question")
    present = _watched(user_sockets_key="interviewace:sockets:someone")
    for watched in (idle, replaced, present):
        socket_watch.add(watched)
    await redis_client.set(candidate_key(replaced.participant.interview_id), "a-newer-socket")
    replaced.next_progress = present.next_presence = 0
    await socket_watch.tick()
    assert idle.participant.close_code == 4408
    assert replaced.participant.close_code == 4409
    assert present.participant.close_code is None
    socket_id = present.participant.socket_id
    entry = await redis_client.hget(presence_key(present.participant.interview_id), socket_id)
    assert entry is not None and entry.startswith(b"observer:")
    assert await redis_client.zscore(LIVE_SOCKETS_KEY, socket_id) is not None
    assert await redis_client.zscore("interviewace:sockets:someone", socket_id) is not None


async def test_work_is_looked_after_only_while_the_server_owes_a_move(
    watch: tuple[SocketWatch, RecordingRunner], redis_client: Any
) -> None:
    socket_watch, runner = watch
    thinking = _watched(role="candidate", last_event_type="question")
    waiting = _watched(role="candidate", last_event_type="answer")
    for watched in (thinking, waiting):
        socket_watch.add(watched)
        await redis_client.set(candidate_key(watched.participant.interview_id), watched.participant.socket_id)
        watched.next_progress = 0
    await socket_watch.tick()
    await asyncio.sleep(0)  # the takeover check runs as its own task
    assert runner.asked == [(waiting.participant.interview_id, True)]
    assert thinking.participant.close_code is None and waiting.participant.close_code is None


async def test_a_malformed_message_on_an_interview_channel_is_dropped(
    watch: tuple[SocketWatch, RecordingRunner], redis_client: Any
) -> None:
    """Whatever lands on a channel, the room keeps delivering what follows."""
    from server.interviews.live import Header, interview_channel, pack

    hub = watch[0].hub
    participant = Participant(interview_id=uuid.uuid4(), role="observer", send_text=_ignore)
    await hub.attach(participant)
    channel = interview_channel(participant.interview_id)
    for garbage in (b"not json\n{}", b'{"k":"nonsense"}\n{}', b"", b'{"k":"event","seq":"x"}'):
        await redis_client.publish(channel, garbage)
    await redis_client.publish(channel, pack(Header(k="presence"), b'{"type":"presence"}'))
    header, frame = await asyncio.wait_for(participant.queue.get(), 5)
    assert (header.k, frame) == ("presence", '{"type":"presence"}')
    assert participant.queue.empty()
    await hub.detach(participant)
