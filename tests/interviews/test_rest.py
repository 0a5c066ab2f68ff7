"""Interviews over REST: creation rules, listing, and nobody reaching someone else's interview."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from tests.conftest import RunningServer, decode
from tests.interviews.wsclient import InterviewSocket


async def test_tracks_describe_what_can_be_served(client: httpx.AsyncClient, user_factory) -> None:  # type: ignore[no-untyped-def]
    user = await user_factory()
    body = decode(await client.get("/api/v1/interviews/tracks", headers=user.headers))
    ids = {track["id"] for track in body["tracks"]}
    assert {"backend", "behavioural", "system_design"} <= ids
    assert all(track["questions"] >= 30 for track in body["tracks"])
    assert body["difficulty"] == {"min": 1, "max": 5}
    assert body["languages"] == ["en"], "offline only: English"
    assert "startup" in body["company_styles"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"track": "astrology"}, "track"),
        ({"track": "backend", "difficulty": 6}, "difficulty"),
        ({"track": "backend", "question_count": 0}, "question_count"),
        ({"track": "backend", "question_count": 21}, "question_count"),
        ({"track": "backend", "company_style": "pirate"}, "company_style"),
        ({"track": "backend", "job_description": "x" * 20_001}, "job_description"),
        ({"track": "backend", "language": "not a language!"}, "language"),
        ({}, "track"),
    ],
)
async def test_invalid_interviews_are_refused_with_the_field_named(
    client: httpx.AsyncClient,
    user_factory,
    body: dict[str, object],
    field: str,  # type: ignore[no-untyped-def]
) -> None:
    user = await user_factory()
    response = await client.post("/api/v1/interviews", json=body, headers=user.headers)
    assert response.status_code == 422
    problem = decode(response)
    assert problem["errors"][0]["field"] == field


async def test_a_language_no_provider_serves_is_refused(client: httpx.AsyncClient, user_factory) -> None:  # type: ignore[no-untyped-def]
    user = await user_factory()
    response = await client.post(
        "/api/v1/interviews", json={"track": "backend", "language": "fr"}, headers=user.headers
    )
    assert response.status_code == 422
    assert decode(response)["code"] == "language_unavailable"


async def test_someone_elses_resume_cannot_tailor_an_interview(
    client: httpx.AsyncClient, user_factory
) -> None:  # type: ignore[no-untyped-def]
    user = await user_factory()
    response = await client.post(
        "/api/v1/interviews", json={"track": "backend", "resume_id": str(uuid.uuid4())}, headers=user.headers
    )
    assert response.status_code == 404
    assert decode(response)["code"] == "resume_not_found"


async def test_job_description_keywords_and_defaults(client: httpx.AsyncClient, user_factory) -> None:  # type: ignore[no-untyped-def]
    user = await user_factory()
    created = decode(
        await client.post(
            "/api/v1/interviews",
            json={"track": "backend", "job_description": "We run Kafka and PostgreSQL on Kubernetes."},
            headers=user.headers,
        )
    )
    assert created["status"] == "created"
    assert created["difficulty"] == 2
    assert created["question_count"] == 5
    assert created["language"] == "en"
    assert created["current_question"] == 0


async def test_history_is_newest_first_paginated_and_filtered(
    client: httpx.AsyncClient, user_factory, create_interview
) -> None:  # type: ignore[no-untyped-def]
    user = await user_factory()
    made = [await create_interview(user.headers) for _ in range(3)]
    page = decode(await client.get("/api/v1/interviews?limit=2", headers=user.headers))
    assert [item["id"] for item in page["items"]] == [made[2]["id"], made[1]["id"]]
    assert page["total"] == 3
    assert page["has_more"] is True
    rest = decode(await client.get("/api/v1/interviews?limit=2&skip=2", headers=user.headers))
    assert [item["id"] for item in rest["items"]] == [made[0]["id"]]
    assert rest["has_more"] is False
    created = decode(await client.get("/api/v1/interviews?status=created", headers=user.headers))
    assert created["total"] == 3
    none = decode(await client.get("/api/v1/interviews?status=completed", headers=user.headers))
    assert none == {"items": [], "total": 0, "skip": 0, "limit": 20, "has_more": False}
    bad = await client.get("/api/v1/interviews?status=sleeping", headers=user.headers)
    assert bad.status_code == 422
    for query in ("limit=101", "limit=0", "skip=-1"):
        assert (await client.get(f"/api/v1/interviews?{query}", headers=user.headers)).status_code == 422


async def test_no_route_reaches_someone_elses_interview(
    client: httpx.AsyncClient, user_factory, create_interview
) -> None:  # type: ignore[no-untyped-def]
    owner = await user_factory()
    stranger = await user_factory()
    interview = await create_interview(owner.headers)
    base = f"/api/v1/interviews/{interview['id']}"
    attempts = [
        client.get(base, headers=stranger.headers),
        client.get(f"{base}/transcript", headers=stranger.headers),
        client.get(f"{base}/report", headers=stranger.headers),
        client.post(f"{base}/observers", json={"expires_in": 600}, headers=stranger.headers),
        client.delete(f"{base}/observers", headers=stranger.headers),
        client.delete(base, headers=stranger.headers),
    ]
    for response in await asyncio.gather(*attempts):
        assert response.status_code == 404, response.request.url
        assert decode(response)["code"] == "interview_not_found"
    listing = decode(await client.get("/api/v1/interviews", headers=stranger.headers))
    assert listing["total"] == 0
    still_there = await client.get(base, headers=owner.headers)
    assert still_there.status_code == 200


async def test_deleted_interviews_are_gone_everywhere(
    client: httpx.AsyncClient, user_factory, create_interview
) -> None:  # type: ignore[no-untyped-def]
    user = await user_factory()
    interview = await create_interview(user.headers)
    assert (
        await client.delete(f"/api/v1/interviews/{interview['id']}", headers=user.headers)
    ).status_code == 204
    assert (
        await client.get(f"/api/v1/interviews/{interview['id']}", headers=user.headers)
    ).status_code == 404
    assert (
        await client.delete(f"/api/v1/interviews/{interview['id']}", headers=user.headers)
    ).status_code == 404
    assert decode(await client.get("/api/v1/interviews", headers=user.headers))["total"] == 0


@pytest.mark.parametrize("expires_in", [59, 7 * 24 * 3600 + 1, "soon"])
async def test_observer_invitation_lifetime_is_bounded(
    client: httpx.AsyncClient,
    user_factory,
    create_interview,
    expires_in: object,  # type: ignore[no-untyped-def]
) -> None:
    user = await user_factory()
    interview = await create_interview(user.headers)
    response = await client.post(
        f"/api/v1/interviews/{interview['id']}/observers",
        json={"expires_in": expires_in},
        headers=user.headers,
    )
    assert response.status_code == 422


async def test_requests_without_a_token_are_refused(client: httpx.AsyncClient) -> None:
    for response in await asyncio.gather(
        client.get("/api/v1/interviews"), client.post("/api/v1/interviews", json={"track": "backend"})
    ):
        assert response.status_code == 401


async def test_a_socket_leaves_nothing_running_once_it_is_gone(
    server: RunningServer,
    user_factory,
    create_interview,  # type: ignore[no-untyped-def]
) -> None:
    from server.interviews.live import REVOCATION_LISTENER_TASK

    live = server.litestar.state.live

    def running() -> int:
        return sum(1 for task in asyncio.all_tasks() if task.get_name() != REVOCATION_LISTENER_TASK)

    baseline = running()
    user = await user_factory()
    interview = await create_interview(user.headers, question_count=3)
    for cut_after in ("welcome", "question.delta", "answer", "evaluation"):
        socket = await InterviewSocket.open(server.ws_url, interview["id"], user.access_token)
        await socket.recv_until("welcome")
        if cut_after == "question.delta":
            await socket.send({"type": "start"})
        if cut_after in ("answer", "evaluation"):
            question = await socket.recv_until("question")
            await socket.send(
                {
                    "type": "answer",
                    "client_id": uuid.uuid4().hex,
                    "question_id": question["question_id"],
                    "text": "An answer.",
                }
            )
        if cut_after != "welcome":
            await socket.recv_until(cut_after)
        await socket.close()
    for _ in range(50):
        if not live.hub.rooms and not live.runner.tasks and running() <= baseline:
            break
        await asyncio.sleep(0.1)
    assert live.hub.rooms == {}, "no room (channel subscription) outlives its sockets"
    assert live.runner.tasks == {}, "no streaming work outlives the interview's needs"
    channel = f"interviewace:interview:{interview['id']}"
    assert not live.hub.channels._channels.get(channel), "the channels plugin holds no subscriber"
    assert running() <= baseline


async def test_an_unexpected_server_error_closes_1011(
    server: RunningServer,
    client: httpx.AsyncClient,
    user_factory,
    create_interview,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    import server.interviews.socket as socket_module

    async def broken(interview_id: uuid.UUID) -> list[object]:
        raise RuntimeError("injected failure while replaying notes")

    monkeypatch.setattr(socket_module, "list_notes", broken)
    user = await user_factory()
    interview = await create_interview(user.headers)
    token = decode(
        await client.post(f"/api/v1/interviews/{interview['id']}/observers", headers=user.headers)
    )["observer_token"]
    observer = await InterviewSocket.open(server.ws_url, interview["id"], token)
    assert await observer.closed_with() == 1011
