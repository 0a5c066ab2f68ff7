"""The live interview channel through a real websocket client (websocket.md)."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest
import websockets

from tests.conftest import RunningServer, decode
from tests.interviews.wsclient import STRONG_ANSWER, InterviewSocket, answer_current


async def test_a_whole_interview_streams_records_and_reports(
    server: RunningServer,
    client: httpx.AsyncClient,
    user_factory,
    create_interview,  # type: ignore[no-untyped-def]
) -> None:
    user = await user_factory()
    interview = await create_interview(user.headers, question_count=3)
    socket = await InterviewSocket.open(server.ws_url, interview["id"], user.access_token)
    welcome = await socket.recv()
    assert welcome["type"] == "welcome"
    assert welcome["role"] == "candidate"
    assert welcome["protocol"] == 1
    assert welcome["last_seq"] == 0
    assert welcome["interview"]["id"] == interview["id"]

    await socket.send({"type": "start"})
    completed: dict[str, Any] | None = None
    while completed is None:
        frame = await socket.recv(20)
        if frame["type"] == "question":
            await socket.send(
                {
                    "type": "answer",
                    "client_id": uuid.uuid4().hex,
                    "question_id": frame["question_id"],
                    "text": STRONG_ANSWER,
                }
            )
        elif frame["type"] == "interview.completed":
            completed = frame
    assert await socket.closed_with() == 1000

    durable = socket.durable()
    assert [f["seq"] for f in durable] == list(range(1, len(durable) + 1)), "seq is gap-free from 1"
    questions = [f for f in durable if f["type"] == "question"]
    assert questions[0]["kind"] == "warmup"
    assert sum(1 for q in questions if q["kind"] != "follow_up") == 3
    for question in questions:
        assert question["total"] == 3
        assert question["provider"] == "offline"
    streamed = socket.streamed_text("question.delta", "question_id")
    for question in questions:
        assert streamed[question["question_id"]] == question["text"], "deltas add up to the durable text"
    feedback = socket.streamed_text("evaluation.delta", "answer_id")
    for evaluation in (f for f in durable if f["type"] == "evaluation"):
        assert feedback[evaluation["answer_id"]] == evaluation["feedback"]
        assert 0 <= evaluation["score"] <= 10
        assert set(evaluation["criteria"]) >= {"relevance", "depth", "structure", "communication"}

    transcript = decode(
        await client.get(f"/api/v1/interviews/{interview['id']}/transcript", headers=user.headers)
    )
    assert transcript["interview_id"] == interview["id"]
    assert transcript["items"] == durable, "the transcript serves the same objects as the socket"

    report = decode(await client.get(f"/api/v1/interviews/{interview['id']}/report", headers=user.headers))
    assert report == completed["report"]
    assert report["overall_score"] == completed["overall_score"]
    assert len(report["questions"]) == len(questions)
    assert all(q["model_answer"] for q in report["questions"])
    stored = decode(await client.get(f"/api/v1/interviews/{interview['id']}", headers=user.headers))
    assert stored["status"] == "completed"
    assert stored["overall_score"] == completed["overall_score"]
    assert stored["started_at"] and stored["completed_at"]


async def test_report_is_409_before_completion(
    client: httpx.AsyncClient, user_factory, create_interview
) -> None:  # type: ignore[no-untyped-def]
    user = await user_factory()
    interview = await create_interview(user.headers)
    response = await client.get(f"/api/v1/interviews/{interview['id']}/report", headers=user.headers)
    assert response.status_code == 409
    assert decode(response)["code"] == "not_completed"


async def test_observer_joining_midway_gets_the_replay_then_live_frames(
    server: RunningServer,
    client: httpx.AsyncClient,
    user_factory,
    create_interview,  # type: ignore[no-untyped-def]
) -> None:
    user = await user_factory()
    interview = await create_interview(user.headers, question_count=2)
    candidate = await InterviewSocket.open(server.ws_url, interview["id"], user.access_token)
    await candidate.recv_until("welcome")
    await candidate.send({"type": "start"})
    first = await answer_current(candidate, STRONG_ANSWER)
    await candidate.recv_until("evaluation")

    invite = await client.post(
        f"/api/v1/interviews/{interview['id']}/observers", json={"expires_in": 600}, headers=user.headers
    )
    assert invite.status_code == 201
    token = decode(invite)["observer_token"]
    observer = await InterviewSocket.open(server.ws_url, interview["id"], token)
    welcome = await observer.recv_until("welcome")
    assert welcome["role"] == "observer"
    while len(observer.durable()) < welcome["last_seq"]:
        await observer.recv()
    replayed = observer.durable()
    assert [f["seq"] for f in replayed] == list(range(1, welcome["last_seq"] + 1))
    assert any(f["type"] == "question" and f["question_id"] == first["question_id"] for f in replayed)
    presence = await observer.recv_until("presence")
    assert presence["candidate_connected"] is True

    await observer.send({"type": "note", "client_id": "n-1", "text": "Good structure", "about_seq": 2})
    note = await observer.recv_until("note")
    assert note["text"] == "Good structure"

    second = await answer_current(candidate, STRONG_ANSWER)
    live_answer = await observer.recv_until("answer", question_id=second["question_id"])
    assert live_answer["seq"] > welcome["last_seq"], "sent after the observer joined: a live frame"
    while not any(f["type"] == "interview.completed" for f in candidate.frames):
        frame = await candidate.recv()
        if frame["type"] == "question":  # a follow-up
            await candidate.send(
                {
                    "type": "answer",
                    "client_id": uuid.uuid4().hex,
                    "question_id": frame["question_id"],
                    "text": "More.",
                }
            )
    done = await observer.recv_until("interview.completed")
    assert done["report"]["notes"][0]["text"] == "Good structure"
    assert all(f["type"] != "note" for f in candidate.frames), "notes are private to observers"
    await candidate.close()
    await observer.close()


async def test_reconnect_with_last_seq_replays_exactly_what_was_missed(
    server: RunningServer,
    user_factory,
    create_interview,  # type: ignore[no-untyped-def]
) -> None:
    user = await user_factory()
    interview = await create_interview(user.headers, question_count=3)
    first = await InterviewSocket.open(server.ws_url, interview["id"], user.access_token)
    await first.recv_until("welcome")
    await first.send({"type": "start"})
    await first.recv_until("question")
    seen = max(f["seq"] for f in first.durable())
    await first.close()

    again = await InterviewSocket.open(server.ws_url, interview["id"], user.access_token, last_seq=seen)
    welcome = await again.recv_until("welcome")
    assert welcome["last_seq"] == seen
    await again.send({"type": "ping", "nonce": "x1"})
    pong = await again.recv_until("pong")
    assert pong["nonce"] == "x1"
    assert not [f for f in again.frames if "seq" in f], "nothing was missed, nothing is replayed"
    await again.close()

    from_start = await InterviewSocket.open(server.ws_url, interview["id"], user.access_token, last_seq=1)
    await from_start.recv_until("welcome")
    await from_start.recv_until("question")
    assert [f["seq"] for f in from_start.durable()] == list(range(2, seen + 1))
    await from_start.close()


async def test_duplicate_client_id_is_recorded_once(
    server: RunningServer,
    client: httpx.AsyncClient,
    user_factory,
    create_interview,  # type: ignore[no-untyped-def]
) -> None:
    user = await user_factory()
    interview = await create_interview(user.headers, question_count=2)
    socket = await InterviewSocket.open(server.ws_url, interview["id"], user.access_token)
    await socket.recv_until("welcome")
    await socket.send({"type": "start"})
    question = await socket.recv_until("question")
    frame = {
        "type": "answer",
        "client_id": "same-answer",
        "question_id": question["question_id"],
        "text": STRONG_ANSWER,
    }
    await socket.send(frame)
    first = await socket.recv_until("answer")
    await socket.recv_until("evaluation")
    await socket.send(frame)
    again = await socket.recv_until("answer")
    assert again == first
    # The same client_id for the next question: the unique index refuses it, the stored one returns.
    later = [f for f in socket.frames if f["type"] == "question" and f["seq"] > question["seq"]]
    next_question = later[0] if later else await socket.recv_until("question")
    await socket.send({**frame, "question_id": next_question["question_id"]})
    assert await socket.recv_until("answer") == first
    transcript = decode(
        await client.get(f"/api/v1/interviews/{interview['id']}/transcript", headers=user.headers)
    )
    answers = [item for item in transcript["items"] if item["type"] == "answer"]
    assert len(answers) == 1
    await socket.close()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "bad_frame"),
        ('{"type": "teleport"}', "bad_frame"),
        ('{"type": "answer", "question_id": "x"}', "bad_frame"),
        (
            json.dumps(
                {"type": "answer", "client_id": "c", "question_id": str(uuid.UUID(int=0)), "text": ""}
            ),
            "bad_frame",
        ),
        ("[1, 2]", "bad_frame"),
        ('{"no_type": true}', "bad_frame"),
        ('{"type": "hello", "token": "again"}', "bad_frame"),
        (
            json.dumps(
                {
                    "type": "answer",
                    "client_id": "c",
                    "question_id": str(uuid.UUID(int=1)),
                    "text": "x" * 10_001,
                }
            ),
            "bad_frame",
        ),
        (json.dumps({"type": "note", "client_id": "n", "text": "y" * 2_001}), "bad_frame"),
        (
            json.dumps(
                {"type": "answer", "client_id": "c" * 65, "question_id": str(uuid.UUID(int=1)), "text": "hi"}
            ),
            "bad_frame",
        ),
        ('{"type": "note", "client_id": "n", "text": "hi"}', "forbidden"),
    ],
)
async def test_bad_frames_get_an_error_and_the_socket_stays_open(
    server: RunningServer,
    user_factory,
    create_interview,
    frame: str,
    code: str,  # type: ignore[no-untyped-def]
) -> None:
    user = await user_factory()
    interview = await create_interview(user.headers)
    socket = await InterviewSocket.open(server.ws_url, interview["id"], user.access_token)
    await socket.recv_until("welcome")
    await socket.connection.send(frame)
    error = await socket.recv_until("error")
    assert error["code"] == code
    assert error["message"]
    await socket.send({"type": "ping", "nonce": 7})
    assert (await socket.recv_until("pong"))["nonce"] == 7
    await socket.close()


async def test_binary_frames_and_wrong_phase_answers(
    server: RunningServer, user_factory, create_interview
) -> None:  # type: ignore[no-untyped-def]
    user = await user_factory()
    interview = await create_interview(user.headers)
    socket = await InterviewSocket.open(server.ws_url, interview["id"], user.access_token)
    await socket.recv_until("welcome")
    await socket.connection.send(b"\x00\x01")
    assert (await socket.recv_until("error"))["code"] == "bad_frame"
    await socket.send(
        {"type": "answer", "client_id": "early", "question_id": str(uuid.uuid4()), "text": "too early"}
    )
    error = await socket.recv_until("error")
    assert error["code"] == "not_awaiting_answer"
    assert error["ref"] == "early"
    await socket.send({"type": "start"})
    await socket.recv_until("question")
    await socket.send({"type": "start"})
    assert (await socket.recv_until("error"))["code"] == "already_started"
    await socket.close()


async def test_observer_cannot_send_candidate_frames(
    server: RunningServer,
    client: httpx.AsyncClient,
    user_factory,
    create_interview,  # type: ignore[no-untyped-def]
) -> None:
    user = await user_factory()
    interview = await create_interview(user.headers)
    token = decode(
        await client.post(f"/api/v1/interviews/{interview['id']}/observers", headers=user.headers)
    )["observer_token"]
    observer = await InterviewSocket.open(server.ws_url, interview["id"], token)
    await observer.recv_until("welcome")
    for frame in ({"type": "start"}, {"type": "end"}):
        await observer.send(frame)
        assert (await observer.recv_until("error"))["code"] == "forbidden"
    await observer.close()


async def test_end_finishes_early(server: RunningServer, user_factory, create_interview) -> None:  # type: ignore[no-untyped-def]
    user = await user_factory()
    interview = await create_interview(user.headers, question_count=5)
    socket = await InterviewSocket.open(server.ws_url, interview["id"], user.access_token)
    await socket.recv_until("welcome")
    await socket.send({"type": "start"})
    await answer_current(socket, STRONG_ANSWER)
    await socket.recv_until("evaluation")
    await socket.send({"type": "end"})
    completed = await socket.recv_until("interview.completed")
    assert completed["reason"] == "ended_by_candidate"
    assert await socket.closed_with() == 1000


# ---- close codes ----------------------------------------------------------------------------


async def test_bad_token_closes_4401(server: RunningServer, user_factory, create_interview) -> None:  # type: ignore[no-untyped-def]
    user = await user_factory()
    interview = await create_interview(user.headers)
    for token in ("nonsense", user.access_token[:-4] + "AAAA", "obs_not-a-real-invitation", ""):
        socket = await InterviewSocket.open(server.ws_url, interview["id"], token)
        assert await socket.closed_with() == 4401


async def test_first_frame_must_be_hello(server: RunningServer, user_factory, create_interview) -> None:  # type: ignore[no-untyped-def]
    user = await user_factory()
    interview = await create_interview(user.headers)
    socket = await InterviewSocket.open(server.ws_url, interview["id"], None, hello=False)
    await socket.send({"type": "ping", "nonce": 1})
    assert await socket.closed_with() == 4401


async def test_no_hello_in_time_closes_4401(make_server, user_factory, create_interview) -> None:  # type: ignore[no-untyped-def]
    quick = await make_server(ws_hello_timeout_seconds="0.5")
    user = await user_factory()
    interview = await create_interview(user.headers)
    socket = await InterviewSocket.open(quick.ws_url, interview["id"], None, hello=False)
    assert await socket.closed_with() == 4401


async def test_authorization_header_instead_of_hello_token(
    server: RunningServer, user_factory, create_interview
) -> None:  # type: ignore[no-untyped-def]
    user = await user_factory()
    interview = await create_interview(user.headers)
    connection = await websockets.connect(
        f"{server.ws_url}/ws/interviews/{interview['id']}",
        additional_headers={"Authorization": f"Bearer {user.access_token}"},
        compression=None,
    )
    socket = InterviewSocket(connection)
    await socket.send({"type": "hello", "last_seq": 0})
    assert (await socket.recv_until("welcome"))["role"] == "candidate"
    await socket.close()


async def test_someone_elses_interview_closes_4403(
    server: RunningServer, user_factory, create_interview
) -> None:  # type: ignore[no-untyped-def]
    owner = await user_factory()
    stranger = await user_factory()
    interview = await create_interview(owner.headers)
    socket = await InterviewSocket.open(server.ws_url, interview["id"], stranger.access_token)
    assert await socket.closed_with() == 4403


async def test_invitation_for_another_interview_closes_4403(
    server: RunningServer,
    client: httpx.AsyncClient,
    user_factory,
    create_interview,  # type: ignore[no-untyped-def]
) -> None:
    user = await user_factory()
    first = await create_interview(user.headers)
    second = await create_interview(user.headers)
    token = decode(await client.post(f"/api/v1/interviews/{first['id']}/observers", headers=user.headers))[
        "observer_token"
    ]
    socket = await InterviewSocket.open(server.ws_url, second["id"], token)
    assert await socket.closed_with() == 4403


async def test_unknown_or_deleted_interview_closes_4404(
    server: RunningServer,
    client: httpx.AsyncClient,
    user_factory,
    create_interview,  # type: ignore[no-untyped-def]
) -> None:
    user = await user_factory()
    for target in (uuid.uuid4(), "not-a-uuid"):
        socket = await InterviewSocket.open(server.ws_url, target, user.access_token)
        assert await socket.closed_with() == 4404
    interview = await create_interview(user.headers)
    live = await InterviewSocket.open(server.ws_url, interview["id"], user.access_token)
    await live.recv_until("welcome")
    assert (
        await client.delete(f"/api/v1/interviews/{interview['id']}", headers=user.headers)
    ).status_code == 204
    assert await live.closed_with() == 4404
    again = await InterviewSocket.open(server.ws_url, interview["id"], user.access_token)
    assert await again.closed_with() == 4404


async def test_a_newer_candidate_socket_replaces_the_older(
    server: RunningServer, user_factory, create_interview
) -> None:  # type: ignore[no-untyped-def]
    user = await user_factory()
    interview = await create_interview(user.headers)
    older = await InterviewSocket.open(server.ws_url, interview["id"], user.access_token)
    await older.recv_until("welcome")
    newer = await InterviewSocket.open(server.ws_url, interview["id"], user.access_token)
    await newer.recv_until("welcome")
    assert await older.closed_with() == 4409
    await newer.send({"type": "ping", "nonce": 1})
    await newer.recv_until("pong")
    await newer.close()


async def test_frame_too_large_closes_1009(server: RunningServer, user_factory, create_interview) -> None:  # type: ignore[no-untyped-def]
    user = await user_factory()
    interview = await create_interview(user.headers)
    socket = await InterviewSocket.open(server.ws_url, interview["id"], user.access_token)
    await socket.recv_until("welcome")
    await socket.send({"type": "ping", "nonce": "x" * (65 * 1024)})
    assert await socket.closed_with() == 1009


async def test_frame_flood_closes_4429(server: RunningServer, user_factory, create_interview) -> None:  # type: ignore[no-untyped-def]
    user = await user_factory()
    interview = await create_interview(user.headers)
    socket = await InterviewSocket.open(server.ws_url, interview["id"], user.access_token)
    await socket.recv_until("welcome")
    for index in range(80):
        await socket.send({"type": "ping", "nonce": index})
    assert await socket.closed_with() == 4429


async def test_eleventh_socket_of_a_user_closes_4429(
    server: RunningServer, user_factory, create_interview
) -> None:  # type: ignore[no-untyped-def]
    user = await user_factory()
    interviews = [await create_interview(user.headers) for _ in range(11)]
    sockets = []
    for interview in interviews[:10]:
        socket = await InterviewSocket.open(server.ws_url, interview["id"], user.access_token)
        await socket.recv_until("welcome")
        sockets.append(socket)
    eleventh = await InterviewSocket.open(server.ws_url, interviews[10]["id"], user.access_token)
    assert await eleventh.closed_with() == 4429
    await sockets[0].close()
    await asyncio.sleep(0.2)
    replacement = await InterviewSocket.open(server.ws_url, interviews[10]["id"], user.access_token)
    assert (await replacement.recv_until("welcome"))["role"] == "candidate"
    for socket in [*sockets[1:], replacement]:
        await socket.close()


async def test_idle_socket_closes_4408(make_server, user_factory, create_interview) -> None:  # type: ignore[no-untyped-def]
    quick = await make_server(ws_idle_timeout_seconds="1.5")
    user = await user_factory()
    interview = await create_interview(user.headers)
    socket = await InterviewSocket.open(quick.ws_url, interview["id"], user.access_token)
    await socket.recv_until("welcome")
    assert await socket.closed_with(timeout=10) == 4408


async def test_logout_closes_the_socket_4401(
    server: RunningServer,
    client: httpx.AsyncClient,
    user_factory,
    create_interview,  # type: ignore[no-untyped-def]
) -> None:
    user = await user_factory()
    interview = await create_interview(user.headers)
    socket = await InterviewSocket.open(server.ws_url, interview["id"], user.access_token)
    await socket.recv_until("welcome")
    response = await client.post(
        "/api/v1/auth/logout", json={"refresh_token": user.refresh_token}, headers=user.headers
    )
    assert response.status_code == 204
    assert await socket.closed_with(timeout=6) == 4401


async def test_revoking_invitations_drops_observers_4401(
    server: RunningServer,
    client: httpx.AsyncClient,
    user_factory,
    create_interview,  # type: ignore[no-untyped-def]
) -> None:
    user = await user_factory()
    interview = await create_interview(user.headers)
    token = decode(
        await client.post(f"/api/v1/interviews/{interview['id']}/observers", headers=user.headers)
    )["observer_token"]
    observer = await InterviewSocket.open(server.ws_url, interview["id"], token)
    await observer.recv_until("welcome")
    assert (
        await client.delete(f"/api/v1/interviews/{interview['id']}/observers", headers=user.headers)
    ).status_code == 204
    assert await observer.closed_with(timeout=6) == 4401
    refused = await InterviewSocket.open(server.ws_url, interview["id"], token)
    assert await refused.closed_with() == 4401


async def test_observer_token_is_useless_as_an_api_credential(
    client: httpx.AsyncClient,
    user_factory,
    create_interview,  # type: ignore[no-untyped-def]
) -> None:
    user = await user_factory()
    interview = await create_interview(user.headers)
    token = decode(
        await client.post(f"/api/v1/interviews/{interview['id']}/observers", headers=user.headers)
    )["observer_token"]
    response = await client.get(
        f"/api/v1/interviews/{interview['id']}", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401


async def test_moderators_join_as_observers(
    server: RunningServer, user_factory, moderator_user, create_interview
) -> None:  # type: ignore[no-untyped-def]
    owner = await user_factory()
    interview = await create_interview(owner.headers)
    moderator = moderator_user
    socket = await InterviewSocket.open(server.ws_url, interview["id"], moderator.access_token)
    assert (await socket.recv_until("welcome"))["role"] == "observer"
    await socket.send({"type": "start"})
    assert (await socket.recv_until("error"))["code"] == "forbidden"
    await socket.close()


async def test_cross_site_origin_is_refused_at_the_handshake(
    server: RunningServer, user_factory, create_interview
) -> None:  # type: ignore[no-untyped-def]
    user = await user_factory()
    interview = await create_interview(user.headers)
    with pytest.raises(websockets.InvalidStatus) as refused:
        await InterviewSocket.open(
            server.ws_url, interview["id"], user.access_token, origin="https://evil.example"
        )
    assert refused.value.response.status_code == 403
    allowed = await InterviewSocket.open(
        server.ws_url, interview["id"], user.access_token, origin="http://localhost:8000"
    )
    assert (await allowed.recv_until("welcome"))["role"] == "candidate"
    await allowed.close()


async def test_no_permessage_deflate(server: RunningServer, user_factory, create_interview) -> None:  # type: ignore[no-untyped-def]
    user = await user_factory()
    interview = await create_interview(user.headers)
    connection = await websockets.connect(
        f"{server.ws_url}/ws/interviews/{interview['id']}"
    )  # offers deflate
    assert connection.response is not None
    assert "permessage-deflate" not in connection.response.headers.get("Sec-WebSocket-Extensions", "")
    await connection.close()


async def test_admin_stats_count_live_sockets_and_interviews(
    server: RunningServer,
    client: httpx.AsyncClient,
    user_factory,
    admin_user,
    create_interview,  # type: ignore[no-untyped-def]
) -> None:
    user = await user_factory()
    interview = await create_interview(user.headers)
    await create_interview(user.headers)
    socket = await InterviewSocket.open(server.ws_url, interview["id"], user.access_token)
    await socket.recv_until("welcome")
    await socket.send({"type": "start"})
    await socket.recv_until("question")
    stats = decode(await client.get("/api/v1/admin/stats", headers=admin_user.headers))
    assert stats["live_sockets"] == 1
    assert stats["by_status"]["interviews"] == {"created": 1, "in_progress": 1}
    await socket.close()
    await asyncio.sleep(0.3)
    stats = decode(await client.get("/api/v1/admin/stats", headers=admin_user.headers))
    assert stats["live_sockets"] == 0
