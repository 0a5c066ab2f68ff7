"""A resume after its upload, with no worker running (parses, where needed, run in this process):
two runs of one parse, a parse asked for while one is pending, download, soft delete, the
retention job, the interview engine's read and the admin counts."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from factory import BACKEND_ENGINEER, resume_pdf
from resume_api import get_json, parse_in_process, stored_path, upload, upload_pdf

from server.resumes.service import ResumeNotFound, ResumeNotParsed, profile_for_interview, storage_for
from server.resumes.tables import Resume
from server.resumes.tasks import ParseFailure, purge_expired_files
from server.tasks.tables import Task
from tests.conftest import UserAccount, decode

UserFactory = Callable[..., Awaitable[UserAccount]]


async def test_two_runs_of_one_parse_save_the_profile_once(
    client: httpx.AsyncClient, user_factory: UserFactory, settings: Any
) -> None:
    user = await user_factory()
    body = await upload_pdf(client, user)
    task_id, resume_id = body["task_id"], body["resume"]["id"]

    outcomes = await asyncio.gather(parse_in_process(settings, task_id), parse_in_process(settings, task_id))
    assert outcomes.count("saved") == 1
    assert set(outcomes) - {"saved"} <= {"finished_elsewhere", "already_finished"}
    assert await parse_in_process(settings, task_id) == "already_finished"

    row = (
        await Resume.select(Resume.profile_task_id, Resume.status)
        .where(Resume.id == uuid.UUID(resume_id))
        .first()
    )
    assert row == {"profile_task_id": uuid.UUID(task_id), "status": "parsed"}
    task = await get_json(client, user.headers, f"/api/v1/tasks/{task_id}")
    assert (task["status"], task["progress"]) == ("succeeded", 100)


async def test_parse_again_while_a_parse_is_pending_answers_that_task(
    client: httpx.AsyncClient, user_factory: UserFactory
) -> None:
    user = await user_factory()
    body = await upload_pdf(client, user)
    resume_id, pending = body["resume"]["id"], body["task_id"]
    response = await client.post(f"/api/v1/resumes/{resume_id}/parse", headers=user.headers)
    assert response.status_code == 202
    assert decode(response) == {"task_id": pending}

    # A pending task nothing has touched for longer than a message may wait is presumed lost.
    await Task.update({Task.updated_at: datetime.now(UTC) - timedelta(hours=7)}).where(
        Task.id == uuid.UUID(pending)
    )
    response = await client.post(f"/api/v1/resumes/{resume_id}/parse", headers=user.headers)
    assert decode(response)["task_id"] != pending


async def test_local_download_sends_the_original_file_as_an_attachment(
    client: httpx.AsyncClient, user_factory: UserFactory
) -> None:
    user = await user_factory()
    data = resume_pdf(BACKEND_ENGINEER)
    response = await upload(client, user.headers, data, filename="Marta Kowalczyk – CV.pdf")
    resume_id = decode(response)["resume"]["id"]

    download = await client.get(f"/api/v1/resumes/{resume_id}/file", headers=user.headers)
    assert download.status_code == 200
    assert download.content == data
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["x-content-type-options"] == "nosniff"
    disposition = download.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="Marta Kowalczyk _ CV.pdf"')
    assert "filename*=UTF-8''Marta%20Kowalczyk%20%E2%80%93%20CV.pdf" in disposition


async def test_deleted_resume_is_hidden_from_every_route_and_audited(
    client: httpx.AsyncClient, user_factory: UserFactory, admin_user: UserAccount, settings: Any
) -> None:
    user = await user_factory()
    body = await upload_pdf(client, user)
    resume_id, task_id = body["resume"]["id"], body["task_id"]
    kept = await upload_pdf(client, user)

    assert (await client.delete(f"/api/v1/resumes/{resume_id}", headers=user.headers)).status_code == 204

    for method, path in [
        ("GET", f"/api/v1/resumes/{resume_id}"),
        ("GET", f"/api/v1/resumes/{resume_id}/file"),
        ("POST", f"/api/v1/resumes/{resume_id}/parse"),
        ("DELETE", f"/api/v1/resumes/{resume_id}"),
    ]:
        response = await client.request(method, path, headers=user.headers)
        assert response.status_code == 404, (method, path)
        assert decode(response)["code"] == "resume_not_found"
    listing = await get_json(client, user.headers, "/api/v1/resumes")
    assert [item["id"] for item in listing["items"]] == [kept["resume"]["id"]]
    with pytest.raises(ResumeNotFound):
        await profile_for_interview(user.id, uuid.UUID(resume_id))
    tracks = await get_json(client, user.headers, "/api/v1/interviews/tracks")
    response = await client.post(
        "/api/v1/interviews",
        headers=user.headers,
        json={"track": tracks["tracks"][0]["id"], "resume_id": resume_id},
    )
    assert response.status_code == 404
    assert decode(response)["code"] == "resume_not_found"

    # The parse that was still queued finds the resume gone and fails for that reason.
    with pytest.raises(ParseFailure) as failure:
        await parse_in_process(settings, task_id)
    assert failure.value.error.code == "resume_deleted"
    assert failure.value.permanent

    audit = await get_json(client, admin_user.headers, "/api/v1/admin/audit-log?action=resume.deleted")
    assert [(entry["actor_id"], entry["target_type"], entry["target_id"]) for entry in audit["items"]] == [
        (str(user.id), "resume", resume_id)
    ]
    assert audit["items"][0]["details"]["filename"] == "resume.pdf"
    # The file itself stays until the retention period is over.
    assert (await stored_path(settings, resume_id)).is_file()


async def test_retention_job_removes_the_files_of_long_deleted_resumes(
    client: httpx.AsyncClient, user_factory: UserFactory, settings: Any
) -> None:
    from server.core.broker import scheduler

    user = await user_factory()
    old, recent, live = [(await upload_pdf(client, user))["resume"]["id"] for _ in range(3)]
    for resume_id in (old, recent):
        assert (await client.delete(f"/api/v1/resumes/{resume_id}", headers=user.headers)).status_code == 204
    now = datetime.now(UTC)
    await Resume.update({Resume.deleted_at: now - timedelta(days=31), Resume.profile: {"name": "x"}}).where(
        Resume.id == uuid.UUID(old)
    )
    await Resume.update({Resume.deleted_at: now - timedelta(days=29)}).where(Resume.id == uuid.UUID(recent))
    paths = {resume_id: await stored_path(settings, resume_id) for resume_id in (old, recent, live)}

    storage = storage_for(settings)
    assert await purge_expired_files(storage, retention=timedelta(days=30)) == 1
    assert not paths[old].exists()
    assert paths[recent].is_file()
    assert paths[live].is_file()
    row = (
        await Resume.select(Resume.file_removed_at, Resume.profile).where(Resume.id == uuid.UUID(old)).first()
    )
    assert row["file_removed_at"] is not None
    assert row["profile"] is None
    assert await purge_expired_files(storage, retention=timedelta(days=30)) == 0

    # The job runs hourly through the periodic scheduler of every worker.
    assert "resumes.purge_deleted_files" in scheduler().run_due()


async def test_interview_engine_reads_the_profile_once_parsed(
    client: httpx.AsyncClient, user_factory: UserFactory, settings: Any
) -> None:
    user = await user_factory()
    body = await upload_pdf(client, user)
    resume_id = uuid.UUID(body["resume"]["id"])
    with pytest.raises(ResumeNotParsed):
        await profile_for_interview(user.id, resume_id)
    tracks = await get_json(client, user.headers, "/api/v1/interviews/tracks")
    create = {"track": tracks["tracks"][0]["id"], "resume_id": body["resume"]["id"]}
    response = await client.post("/api/v1/interviews", headers=user.headers, json=create)
    assert response.status_code == 422
    assert decode(response)["code"] == "resume_not_parsed"

    assert await parse_in_process(settings, body["task_id"]) == "saved"
    profile = await profile_for_interview(user.id, resume_id)
    assert (profile.name, profile.email) == (BACKEND_ENGINEER.name, BACKEND_ENGINEER.email)
    stranger = await user_factory()
    with pytest.raises(ResumeNotFound):
        await profile_for_interview(stranger.id, resume_id)
    response = await client.post("/api/v1/interviews", headers=user.headers, json=create)
    assert response.status_code == 201, response.text


async def test_admin_stats_count_resumes_by_status(
    client: httpx.AsyncClient, user_factory: UserFactory, admin_user: UserAccount, settings: Any
) -> None:
    user = await user_factory()
    parsed = await upload_pdf(client, user)
    await upload_pdf(client, user)
    deleted = await upload_pdf(client, user)
    assert await parse_in_process(settings, parsed["task_id"]) == "saved"
    await client.delete(f"/api/v1/resumes/{deleted['resume']['id']}", headers=user.headers)

    stats = await get_json(client, admin_user.headers, "/api/v1/admin/stats")
    assert stats["by_status"]["resumes"] == {"parsed": 1, "uploaded": 1}
    assert stats["queue_depth"]["resumes"] >= 1  # the uploads' parse messages, with no worker running
