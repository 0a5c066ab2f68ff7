"""GET /api/v1/me/progress through real HTTP: scores of completed interviews, oldest first."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import RunningServer, decode
from tests.interviews.wsclient import STRONG_ANSWER, InterviewSocket

CRITERIA = ("relevance", "depth", "structure", "communication", "specificity")
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


async def insert_interview(
    owner_id: uuid.UUID,
    *,
    status: str = "completed",
    completed_at: datetime | None = None,
    overall: float | None = None,
    criteria: dict[str, float] | None = None,
    deleted: bool = False,
    track: str = "backend",
) -> uuid.UUID:
    """A row as the engine leaves it, written directly so dates and scores can be chosen."""
    from server.core.db import engine

    interview_id = uuid.uuid4()
    report = (
        None
        if criteria is None
        else json.dumps({"interview_id": str(interview_id), "overall_score": overall, "criteria": criteria})
    )
    await engine().pool.execute(
        """
        INSERT INTO interviews (id, owner, track, difficulty, question_count, language, status,
            current_question, overall_score, report, plan, state, last_seq, created_at, completed_at,
            deleted_at)
        VALUES ($1, $2, $3, 3, 4, 'en', $4, 0, $5, $6::jsonb, '{}'::jsonb, '{}'::jsonb, 0, $7, $8, $9)
        """,
        interview_id,
        owner_id,
        track,
        status,
        overall,
        report,
        (completed_at or START) - timedelta(minutes=30),
        completed_at,
        completed_at if deleted else None,
    )
    return interview_id


def scores(base: float) -> dict[str, float]:
    return {name: round(base + index * 0.5, 1) for index, name in enumerate(CRITERIA)}


async def test_progress_needs_a_signed_in_user(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/me/progress")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert decode(response)["code"] == "not_authenticated"


async def test_progress_lists_only_your_completed_interviews_oldest_first(
    client: httpx.AsyncClient,
    user_factory,  # type: ignore[no-untyped-def]
) -> None:
    user = await user_factory()
    someone_else = await user_factory()
    newest = await insert_interview(
        user.id, completed_at=START + timedelta(days=9), overall=7.5, criteria=scores(7.0), track="frontend"
    )
    oldest = await insert_interview(user.id, completed_at=START, overall=4.2, criteria=scores(4.0))
    middle = await insert_interview(
        user.id, completed_at=START + timedelta(days=3), overall=5.9, criteria=scores(5.5)
    )
    await insert_interview(user.id, status="in_progress")
    await insert_interview(user.id, status="abandoned", completed_at=START + timedelta(days=1))
    await insert_interview(
        user.id, completed_at=START + timedelta(days=2), overall=9.0, criteria=scores(9.0), deleted=True
    )
    await insert_interview(
        someone_else.id, completed_at=START + timedelta(days=4), overall=3.0, criteria=scores(3.0)
    )

    response = await client.get("/api/v1/me/progress", headers=user.headers)
    assert response.status_code == 200, response.text
    page = decode(response)
    assert page["total"] == 3
    assert page["has_more"] is False
    assert [item["interview_id"] for item in page["items"]] == [str(oldest), str(middle), str(newest)]
    first = page["items"][0]
    assert first["overall_score"] == 4.2
    assert first["criteria"] == scores(4.0)
    assert first["completed_at"] == "2026-03-01T09:00:00Z"
    assert first["track"] == "backend"
    assert first["difficulty"] == 3
    assert first["question_count"] == 4
    assert page["items"][2]["track"] == "frontend"


async def test_progress_pages_with_skip_and_limit(
    client: httpx.AsyncClient,
    user_factory,  # type: ignore[no-untyped-def]
) -> None:
    user = await user_factory()
    ids = [
        await insert_interview(
            user.id, completed_at=START + timedelta(hours=day), overall=float(day), criteria=scores(day)
        )
        for day in range(5)
    ]
    first = decode(await client.get("/api/v1/me/progress?limit=2", headers=user.headers))
    assert [item["interview_id"] for item in first["items"]] == [str(ids[0]), str(ids[1])]
    assert (first["total"], first["skip"], first["limit"], first["has_more"]) == (5, 0, 2, True)
    # What the history page does to plot the most recent points: skip = total - limit.
    tail = decode(await client.get("/api/v1/me/progress?skip=3&limit=2", headers=user.headers))
    assert [item["interview_id"] for item in tail["items"]] == [str(ids[3]), str(ids[4])]
    assert tail["has_more"] is False
    beyond = decode(await client.get("/api/v1/me/progress?skip=10", headers=user.headers))
    assert (beyond["items"], beyond["total"], beyond["has_more"]) == ([], 5, False)


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "skip=-1"])
async def test_progress_refuses_bad_paging_with_problem_details(
    client: httpx.AsyncClient,
    user_factory,  # type: ignore[no-untyped-def]
    query: str,
) -> None:
    user = await user_factory()
    response = await client.get(f"/api/v1/me/progress?{query}", headers=user.headers)
    assert response.status_code == 422
    assert decode(response)["code"] == "validation_error"


async def test_progress_carries_the_scores_of_a_real_interviews_report(
    server: RunningServer,
    client: httpx.AsyncClient,
    user_factory,  # type: ignore[no-untyped-def]
) -> None:
    user = await user_factory()
    created = decode(
        await client.post(
            "/api/v1/interviews", json={"track": "backend", "question_count": 1}, headers=user.headers
        )
    )
    socket = await InterviewSocket.open(server.ws_url, created["id"], user.access_token)
    await socket.recv_until("welcome")
    await socket.send({"type": "start"})
    while True:
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
            break
    await socket.close()

    report = decode(await client.get(f"/api/v1/interviews/{created['id']}/report", headers=user.headers))
    page = decode(await client.get("/api/v1/me/progress", headers=user.headers))
    assert page["total"] == 1
    point: dict[str, Any] = page["items"][0]
    assert point["interview_id"] == created["id"]
    assert point["criteria"] == report["criteria"]
    assert set(point["criteria"]) == set(CRITERIA)
    assert point["overall_score"] == report["overall_score"]
    interview = decode(await client.get(f"/api/v1/interviews/{created['id']}", headers=user.headers))
    assert point["completed_at"].rstrip("Z") == interview["completed_at"].rstrip("Z").replace("+00:00", "")


async def test_progress_is_documented_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    document = decode(await client.get("/schema/openapi.json"))
    operation = document["paths"]["/api/v1/me/progress"]["get"]
    assert "oldest first" in operation["description"]
    assert {"200", "401", "422", "429"} <= set(operation["responses"])
    parameters = {parameter["name"] for parameter in operation["parameters"]}
    assert {"skip", "limit"} <= parameters
    example = operation["responses"]["200"]["content"]["application/json"]["examples"]
    assert example, "the success answer carries an example"
    assert not any(path.startswith(("/login", "/history", "/watch")) for path in document["paths"]), (
        "the browser pages stay out of the API document"
    )
