"""A worker killed in the middle of a parse: the message comes back after the heartbeat timeout,
another worker finishes the task, and the profile is saved exactly once."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from factory import BACKEND_ENGINEER, resume_docx
from resume_api import DOCX, get_json, running_worker, upload, wait_for_progress

from server.resumes.tables import Resume
from server.tasks.tables import Task
from tests.conftest import UserAccount, decode

UserFactory = Callable[..., Awaitable[UserAccount]]


async def test_parse_interrupted_by_a_killed_worker_completes_once_on_another(
    client: httpx.AsyncClient, user_factory: UserFactory, settings: Any, database: None
) -> None:
    user = await user_factory()
    response = await upload(client, user.headers, resume_docx(BACKEND_ENGINEER), content_type=DOCX)
    body = decode(response)
    task_id, resume_id = body["task_id"], body["resume"]["id"]

    # This worker holds every parse for a minute once the text is extracted.
    with running_worker(RESUME_PARSE_TEST_DELAY_SECONDS="60") as doomed:
        held = await wait_for_progress(client, user.headers, task_id, 40)
        assert (held["status"], held["progress"]) == ("running", 40)
        doomed.kill()
    killed_at = time.monotonic()

    await asyncio.sleep(0.5)
    orphaned = await get_json(client, user.headers, f"/api/v1/tasks/{task_id}")
    assert (orphaned["status"], orphaned["progress"]) == ("running", 40)
    assert (await get_json(client, user.headers, f"/api/v1/resumes/{resume_id}"))["status"] == "parsing"

    # The replacement checks for dead workers on every broker command, so the message comes back
    # as soon as the heartbeat timeout (5 s in the tests) has passed.
    seen: list[tuple[str, int]] = []
    with running_worker(WORKER_MAINTENANCE_CHANCE="1000000"):
        deadline = time.monotonic() + 40
        while True:
            task = await get_json(client, user.headers, f"/api/v1/tasks/{task_id}")
            seen.append((task["status"], task["progress"]))
            if task["status"] in ("succeeded", "failed"):
                break
            assert time.monotonic() < deadline, seen[-5:]
            await asyncio.sleep(0.3)
    recovered_after = time.monotonic() - killed_at

    assert task["status"] == "succeeded", task
    assert seen[-1] == ("succeeded", 100)
    assert recovered_after >= settings.worker_heartbeat_timeout_seconds
    assert [progress for _, progress in seen] == sorted(progress for _, progress in seen)
    row = await Task.select(Task.attempts).where(Task.id == uuid.UUID(task_id)).first()
    assert row["attempts"] == 2  # the killed attempt and the one that finished

    resume = await get_json(client, user.headers, f"/api/v1/resumes/{resume_id}")
    assert resume["status"] == "parsed"
    assert resume["profile"]["name"] == BACKEND_ENGINEER.name
    saved = await Resume.select(Resume.profile_task_id).where(Resume.id == uuid.UUID(resume_id)).first()
    assert saved["profile_task_id"] == uuid.UUID(task_id)
    listing = await get_json(client, user.headers, "/api/v1/resumes")
    assert listing["total"] == 1
