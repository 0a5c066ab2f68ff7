"""Task rows: how they move (forward only, finished once) and how GET /tasks/{id} shows them."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

import httpx
import pytest

from server.tasks.service import (
    TaskError,
    complete_task,
    create_task,
    fail_task,
    find_active_task,
    load_task,
    note_retry,
    report_progress,
    start_attempt,
)
from tests.conftest import UserAccount, decode

UserFactory = Callable[..., Awaitable[UserAccount]]


async def test_a_task_moves_forward_and_finishes_once(user_factory: UserFactory) -> None:
    user = await user_factory()
    subject = uuid.uuid4()
    task_id = await create_task(owner_id=user.id, kind="parse_resume", subject_id=subject)
    task = await load_task(task_id)
    assert task is not None
    assert (task.status, task.progress, task.attempts, task.subject_id) == ("queued", 0, 0, subject)

    assert await start_attempt(task_id)
    await report_progress(task_id, 40)
    await report_progress(task_id, 10)  # a redelivered job starting over does not move it back
    task = await load_task(task_id)
    assert task is not None
    assert (task.status, task.progress, task.attempts) == ("running", 40, 1)

    assert await complete_task(task_id, {"answer": 42})
    assert not await complete_task(task_id, {"answer": 43})
    assert not await fail_task(task_id, TaskError(code="late", message="too late"))
    assert not await start_attempt(task_id)
    await report_progress(task_id, 50)
    task = await load_task(task_id)
    assert task is not None
    assert (task.status, task.progress, task.attempts, task.error) == ("succeeded", 100, 1, None)
    assert task.finished


async def test_a_retried_task_shows_its_last_error_until_it_fails_for_good(user_factory: UserFactory) -> None:
    user = await user_factory()
    task_id = await create_task(owner_id=user.id, kind="parse_resume")
    assert await start_attempt(task_id)
    await note_retry(task_id, TaskError(code="storage_unavailable", message="S3 timed out"))
    task = await load_task(task_id)
    assert task is not None
    assert task.status == "queued"
    assert task.error == TaskError(code="storage_unavailable", message="S3 timed out")

    assert await start_attempt(task_id)
    assert await fail_task(task_id, TaskError(code="storage_unavailable", message="gave up"))
    assert not await fail_task(task_id, TaskError(code="other", message="second opinion"))
    await note_retry(task_id, TaskError(code="other", message="ignored"))
    task = await load_task(task_id)
    assert task is not None
    assert (task.status, task.attempts, task.error) == (
        "failed",
        2,
        TaskError(code="storage_unavailable", message="gave up"),
    )


async def test_only_recently_touched_pending_tasks_count_as_active(user_factory: UserFactory) -> None:
    user = await user_factory()
    subject = uuid.uuid4()
    assert (
        await find_active_task(kind="parse_resume", subject_id=subject, touched_within=timedelta(hours=1))
        is None
    )
    task_id = await create_task(owner_id=user.id, kind="parse_resume", subject_id=subject)
    assert (
        await find_active_task(kind="parse_resume", subject_id=subject, touched_within=timedelta(hours=1))
        == task_id
    )
    assert (
        await find_active_task(kind="parse_resume", subject_id=subject, touched_within=timedelta(0)) is None
    )
    await complete_task(task_id, {})
    assert (
        await find_active_task(kind="parse_resume", subject_id=subject, touched_within=timedelta(hours=1))
        is None
    )


async def test_bad_arguments_are_refused(user_factory: UserFactory) -> None:
    user = await user_factory()
    with pytest.raises(ValueError, match="unknown task kind"):
        await create_task(owner_id=user.id, kind="mine_bitcoin")  # type: ignore[arg-type]
    task_id = await create_task(owner_id=user.id, kind="parse_resume")
    with pytest.raises(ValueError, match="between 0 and 100"):
        await report_progress(task_id, 101)


async def test_get_task_shows_the_owner_their_task_and_nobody_else(
    client: httpx.AsyncClient, user_factory: UserFactory
) -> None:
    owner = await user_factory()
    stranger = await user_factory()
    task_id = await create_task(owner_id=owner.id, kind="parse_resume", subject_id=uuid.uuid4())
    assert await start_attempt(task_id)
    await report_progress(task_id, 40)

    response = await client.get(f"/api/v1/tasks/{task_id}", headers=owner.headers)
    assert response.status_code == 200
    body = decode(response)
    assert set(body) == {"id", "kind", "status", "progress", "result", "error", "created_at", "updated_at"}
    assert (body["id"], body["kind"], body["status"], body["progress"]) == (
        str(task_id),
        "parse_resume",
        "running",
        40,
    )
    assert (body["result"], body["error"]) == (None, None)
    assert body["created_at"].endswith("Z")

    await fail_task(task_id, TaskError(code="corrupt_pdf", message="the PDF is damaged"))
    body = decode(await client.get(f"/api/v1/tasks/{task_id}", headers=owner.headers))
    assert body["status"] == "failed"
    assert body["error"] == {"code": "corrupt_pdf", "message": "the PDF is damaged"}

    for path in (f"/api/v1/tasks/{task_id}", f"/api/v1/tasks/{uuid.uuid4()}"):
        response = await client.get(path, headers=stranger.headers)
        assert response.status_code == 404
        assert decode(response)["code"] == "task_not_found"
    assert (await client.get("/api/v1/tasks/not-a-uuid", headers=owner.headers)).status_code == 404
    unauthenticated = await client.get(f"/api/v1/tasks/{task_id}")
    assert unauthenticated.status_code == 401
