"""A Redis outage never stops delivery silently: sockets are closed with 1012 and resume."""

from __future__ import annotations

from pathlib import Path

from server.core.embedded import EmbeddedRedis
from tests.interviews.wsclient import InterviewSocket


async def test_redis_outage_closes_sockets_1012_and_they_resume(
    make_server,
    user_factory,
    create_interview,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    own_redis = EmbeddedRedis(tmp_path / "redis", persistent=False)
    own_redis.start()
    try:
        app = await make_server(redis_url=own_redis.url)
        user = await user_factory()
        interview = await create_interview(user.headers)
        socket = await InterviewSocket.open(app.ws_url, interview["id"], user.access_token)
        await socket.recv_until("welcome")

        own_redis.stop()
        assert await socket.closed_with(timeout=10) == 1012

        own_redis = EmbeddedRedis(tmp_path / "redis", persistent=False, port=own_redis.port)
        own_redis.start()
        again = await InterviewSocket.open(app.ws_url, interview["id"], user.access_token)
        await again.recv_until("welcome")
        await again.send({"type": "start"})
        question = await again.recv_until("question", timeout=20)
        assert question["seq"] == 2, "live frames flow again through the recovered pub/sub"
        await again.close()
    finally:
        own_redis.stop()
