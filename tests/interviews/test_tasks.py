"""The periodic job that abandons interviews left idle."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from server.core.db import engine
from server.interviews.tasks import abandon_stale_interviews
from tests.interviews.wsclient import InterviewSocket


async def test_idle_interviews_are_abandoned_and_participants_told(
    server,
    client,
    user_factory,
    create_interview,  # type: ignore[no-untyped-def]
) -> None:
    user = await user_factory()
    idle = await create_interview(user.headers)
    fresh = await create_interview(user.headers)
    not_started = await create_interview(user.headers)
    for interview in (idle, fresh):
        socket = await InterviewSocket.open(server.ws_url, interview["id"], user.access_token)
        await socket.recv_until("welcome")
        await socket.send({"type": "start"})
        await socket.recv_until("question")
        await socket.close()
    long_ago = datetime.now(UTC) - timedelta(days=3)
    await engine().pool.execute(
        "UPDATE interview_events SET created_at = $2 WHERE interview = $1", uuid.UUID(idle["id"]), long_ago
    )
    watcher = await InterviewSocket.open(server.ws_url, idle["id"], user.access_token)
    await watcher.recv_until("welcome")

    assert await abandon_stale_interviews() == 1

    abandoned = await watcher.recv_until("interview.abandoned")
    assert abandoned["reason"] == "inactive"
    assert await watcher.closed_with() == 1000
    statuses = {
        row["id"]: row["status"]
        for row in await engine().pool.fetch("SELECT id, status FROM interviews WHERE owner = $1", user.id)
    }
    assert statuses[uuid.UUID(idle["id"])] == "abandoned"
    assert statuses[uuid.UUID(fresh["id"])] == "in_progress"
    assert statuses[uuid.UUID(not_started["id"])] == "created"
    assert await abandon_stale_interviews() == 0  # idempotent: nothing more to do
