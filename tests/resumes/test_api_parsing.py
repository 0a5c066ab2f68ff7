"""Resumes parsed by a real worker process (one for this module): generated PDF and DOCX
resumes come back as profiles holding exactly their facts; hostile files end in a clear 4xx or a
failed task while the server and the worker stay healthy; parsing again supersedes a profile
only when it succeeds; duplicate deliveries change nothing; a parse that keeps failing gives up
with its reason."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from factory import (
    BACKEND_ENGINEER,
    PRODUCT_DESIGNER,
    ResumeSpec,
    flate_bomb_pdf,
    png_bytes,
    random_bytes,
    resume_docx,
    resume_pdf,
    self_referencing_pdf,
    xlsx_like_zip,
    xxe_docx,
    zip_bomb_docx,
)
from resume_api import (
    DOCX,
    PDF,
    assert_profile_holds,
    get_json,
    lying_zip_bomb_docx,
    running_worker,
    stored_path,
    upload,
    upload_pdf,
    wait_for_task,
)

from server.core.broker import broker
from server.resumes.tasks import QUEUE_NAME, parse_resume
from server.tasks.service import create_task
from server.tasks.tables import Task
from tests.conftest import UserAccount, WorkerProcess, decode

UserFactory = Callable[..., Awaitable[UserAccount]]


@pytest.fixture(scope="module")
def module_worker(_database_session: None) -> Iterator[WorkerProcess]:
    """One worker for every test here: starting one costs seconds, and each test waits for its
    own tasks to finish before the next one cleans the database."""
    with running_worker() as worker:
        yield worker


async def test_pdf_and_docx_resumes_are_parsed_into_their_facts(
    client: httpx.AsyncClient, user_factory: UserFactory, module_worker: WorkerProcess
) -> None:
    user = await user_factory()
    cases = [
        (BACKEND_ENGINEER, resume_pdf(BACKEND_ENGINEER), "marta.pdf", PDF),
        (PRODUCT_DESIGNER, resume_docx(PRODUCT_DESIGNER), "tomás cv.docx", DOCX),
    ]
    accepted: list[tuple[ResumeSpec, dict[str, Any], bytes]] = []
    for spec, data, filename, content_type in cases:
        started = time.monotonic()
        response = await upload(client, user.headers, data, filename=filename, content_type=content_type)
        assert response.status_code == 202, response.text
        # Accepted at once: parsing happens in the worker, after the answer.
        assert time.monotonic() - started < 2.0
        body = decode(response)
        resume = body["resume"]
        assert resume["filename"] == filename
        assert resume["content_type"] == content_type
        assert resume["size_bytes"] == len(data)
        assert resume["status"] in ("uploaded", "parsing")
        assert resume["profile"] is None
        assert resume["parsed_at"] is None
        accepted.append((spec, body, data))

    for spec, body, _ in accepted:
        task = await wait_for_task(client, user.headers, body["task_id"])
        assert task["status"] == "succeeded", task
        assert task["kind"] == "parse_resume"
        assert task["progress"] == 100
        assert task["error"] is None
        assert task["result"]["resume_id"] == body["resume"]["id"]
        assert task["result"]["provider"] == "offline"

        resume = await get_json(client, user.headers, f"/api/v1/resumes/{body['resume']['id']}")
        assert resume["status"] == "parsed"
        assert resume["error"] is None
        assert resume["parsed_at"] is not None
        assert_profile_holds(resume["profile"], spec)

    listing = await get_json(client, user.headers, "/api/v1/resumes?limit=1")
    assert listing["total"] == 2
    assert listing["has_more"] is True
    assert [item["id"] for item in listing["items"]] == [accepted[1][1]["resume"]["id"]]
    second_page = await get_json(client, user.headers, "/api/v1/resumes?skip=1&limit=1")
    assert [item["id"] for item in second_page["items"]] == [accepted[0][1]["resume"]["id"]]
    assert second_page["has_more"] is False


async def test_hostile_files_end_in_a_clear_refusal_or_a_failed_task(
    client: httpx.AsyncClient, user_factory: UserFactory, module_worker: WorkerProcess
) -> None:
    user = await user_factory()
    refused = [
        ("renamed image", png_bytes(), "photo.pdf", PDF, 415, "unsupported_file_type"),
        ("random bytes", random_bytes(), "resume.docx", DOCX, 415, "unsupported_file_type"),
        ("spreadsheet zip", xlsx_like_zip(), "resume.docx", DOCX, 415, "unsupported_file_type"),
        ("empty file", b"", "resume.pdf", PDF, 422, "empty_file"),
        ("docx zip bomb", zip_bomb_docx(70), "resume.docx", DOCX, 422, "unsafe_file"),
    ]
    for label, data, filename, content_type, status, code in refused:
        response = await upload(client, user.headers, data, filename=filename, content_type=content_type)
        assert response.status_code == status, (label, response.text)
        problem = decode(response)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert problem["code"] == code, label
        assert problem["status"] == status

    truncated = resume_pdf(BACKEND_ENGINEER)
    # Each of these gets past the upload checks; the sandboxed extraction is what refuses them.
    failing = [
        ("truncated pdf", truncated[: len(truncated) // 2], PDF, {"corrupt_pdf"}),
        ("pdf flate bomb", flate_bomb_pdf(48), PDF, {"decompression_bomb"}),
        ("pdf referring to itself", self_referencing_pdf(), PDF, {"corrupt_pdf"}),
        ("xxe docx", xxe_docx(), DOCX, {"xml_entities"}),
        ("zip bomb lying about its size", lying_zip_bomb_docx(70), DOCX, {"zip_bomb", "corrupt_docx"}),
    ]
    tasks: list[tuple[str, str, str, set[str]]] = []
    for label, data, content_type, codes in failing:
        response = await upload(client, user.headers, data, content_type=content_type)
        assert response.status_code == 202, (label, response.text)
        body = decode(response)
        tasks.append((label, body["task_id"], body["resume"]["id"], codes))

    for label, task_id, resume_id, codes in tasks:
        task = await wait_for_task(client, user.headers, task_id)
        assert task["status"] == "failed", (label, task)
        assert task["error"]["code"] in codes, (label, task["error"])
        assert task["error"]["message"]
        resume = await get_json(client, user.headers, f"/api/v1/resumes/{resume_id}")
        assert resume["status"] == "failed", label
        assert resume["error"] == task["error"]
        assert resume["profile"] is None

    ready = await client.get("/ready")
    assert ready.status_code == 200
    assert module_worker.process is not None and module_worker.process.poll() is None
    response = await upload(client, user.headers, resume_docx(BACKEND_ENGINEER), content_type=DOCX)
    task = await wait_for_task(client, user.headers, decode(response)["task_id"])
    assert task["status"] == "succeeded", task


async def test_parse_again_replaces_the_profile_only_when_it_succeeds(
    client: httpx.AsyncClient, user_factory: UserFactory, module_worker: WorkerProcess, settings: Any
) -> None:
    user = await user_factory()
    body = await upload_pdf(client, user)
    resume_id, first_task = body["resume"]["id"], body["task_id"]
    assert (await wait_for_task(client, user.headers, first_task))["status"] == "succeeded"
    first = await get_json(client, user.headers, f"/api/v1/resumes/{resume_id}")

    response = await client.post(f"/api/v1/resumes/{resume_id}/parse", headers=user.headers)
    assert response.status_code == 202
    second_task = decode(response)["task_id"]
    assert second_task != first_task
    assert (await wait_for_task(client, user.headers, second_task))["status"] == "succeeded"
    second = await get_json(client, user.headers, f"/api/v1/resumes/{resume_id}")
    assert second["parsed_at"] > first["parsed_at"]
    assert second["profile"] == first["profile"]

    # The stored bytes no longer match the upload: this parse fails and changes nothing else.
    (await stored_path(settings, resume_id)).write_bytes(resume_pdf(PRODUCT_DESIGNER))
    response = await client.post(f"/api/v1/resumes/{resume_id}/parse", headers=user.headers)
    failed = await wait_for_task(client, user.headers, decode(response)["task_id"])
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "file_changed"
    third = await get_json(client, user.headers, f"/api/v1/resumes/{resume_id}")
    assert third["status"] == "parsed"
    assert third["profile"] == first["profile"]
    assert third["parsed_at"] == second["parsed_at"]
    assert third["error"]["code"] == "file_changed"

    # The first parse's message delivered once more: the finished task and the profile stay as they are.
    before = await Task.select(Task.updated_at, Task.attempts).where(Task.id == uuid.UUID(first_task)).first()
    await asyncio.to_thread(parse_resume.send, first_task)
    await asyncio.to_thread(broker.join, QUEUE_NAME, timeout=20_000)
    after = await Task.select(Task.updated_at, Task.attempts).where(Task.id == uuid.UUID(first_task)).first()
    assert after == before
    fourth = await get_json(client, user.headers, f"/api/v1/resumes/{resume_id}")
    assert fourth["parsed_at"] == second["parsed_at"]


async def test_a_parse_that_keeps_failing_gives_up_with_its_reason(
    client: httpx.AsyncClient, user_factory: UserFactory, module_worker: WorkerProcess, settings: Any
) -> None:
    user = await user_factory()
    body = await upload_pdf(client, user)
    resume_id = body["resume"]["id"]
    assert (await wait_for_task(client, user.headers, body["task_id"]))["status"] == "succeeded"

    # Reading the stored file now fails in a way no parse anticipates; the message is sent with
    # no retries left, so the Retries middleware gives up on the first failure.
    path = await stored_path(settings, resume_id)
    path.unlink()
    path.mkdir()
    task_id = await create_task(owner_id=user.id, kind="parse_resume", subject_id=uuid.UUID(resume_id))
    await asyncio.to_thread(parse_resume.send_with_options, args=(str(task_id),), max_retries=0)
    await asyncio.to_thread(broker.join, QUEUE_NAME, timeout=20_000)

    task = await wait_for_task(client, user.headers, str(task_id), timeout=20)
    assert task["status"] == "failed"
    assert task["error"]["code"] == "internal_error"
    assert task["error"]["message"].startswith("Gave up after 1 attempts: unexpected IsADirectoryError")
    resume = await get_json(client, user.headers, f"/api/v1/resumes/{resume_id}")
    assert resume["status"] == "parsed"  # the earlier profile stays
    assert resume["profile"]["name"] == BACKEND_ENGINEER.name
    assert resume["error"] == task["error"]
