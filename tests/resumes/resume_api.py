"""Helpers for the resume API tests: uploads, task polling, and hostile files the factory lacks."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
import struct
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from factory import BACKEND_ENGINEER, ResumeSpec, minimal_docx, resume_pdf

from server.llm.chain import build_chain
from server.resumes.service import storage_for
from server.resumes.skills import default_vocabulary
from server.resumes.tables import Resume
from server.resumes.tasks import run_parse
from tests.conftest import UserAccount, WorkerProcess, decode

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
TERMINAL = ("succeeded", "failed")


@contextlib.contextmanager
def running_worker(**env: str) -> Iterator[WorkerProcess]:
    """A real worker process started with extra environment variables (test-only settings)."""
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    worker = WorkerProcess()
    try:
        worker.start()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    try:
        yield worker
    finally:
        worker.stop()


async def upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    data: bytes,
    *,
    filename: str = "resume.pdf",
    content_type: str = PDF,
) -> httpx.Response:
    return await client.post(
        "/api/v1/resumes", headers=headers, files={"file": (filename, data, content_type)}
    )


async def get_json(client: httpx.AsyncClient, headers: dict[str, str], path: str) -> Any:
    """GET that waits out the per-user rate limit instead of failing on it (polling loops)."""
    while True:
        response = await client.get(path, headers=headers)
        if response.status_code != 429:
            assert response.status_code == 200, response.text
            return decode(response)
        await asyncio.sleep(float(response.headers.get("retry-after", "1")))


async def wait_for_task(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    task_id: str,
    *,
    timeout: float = 45.0,
    until: tuple[str, ...] = TERMINAL,
) -> dict[str, Any]:
    """Poll GET /tasks/{id} until its status is one of `until`; returns every state seen last."""
    deadline = time.monotonic() + timeout
    while True:
        task: dict[str, Any] = await get_json(client, headers, f"/api/v1/tasks/{task_id}")
        if task["status"] in until:
            return task
        assert time.monotonic() < deadline, (
            f"task still {task['status']} at {task['progress']}% after {timeout}s"
        )
        await asyncio.sleep(0.3)


async def wait_for_progress(
    client: httpx.AsyncClient, headers: dict[str, str], task_id: str, progress: int, *, timeout: float = 30.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        task: dict[str, Any] = await get_json(client, headers, f"/api/v1/tasks/{task_id}")
        if task["progress"] >= progress:
            return task
        assert task["status"] not in TERMINAL, task
        assert time.monotonic() < deadline, f"task still at {task['progress']}% after {timeout}s"
        await asyncio.sleep(0.2)


def lying_zip_bomb_docx(expanded_mib: int = 100) -> bytes:
    """A DOCX with one entry of zeros whose headers claim it holds 1 KiB: the archive's directory
    looks harmless, and only inflating the entry shows what it is."""
    output = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(minimal_docx())) as source,
        zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for entry in source.infolist():
            target.writestr(entry.filename, source.read(entry))
        with target.open("word/media/filler.bin", "w") as handle:
            block = bytes(1024 * 1024)
            for _ in range(expanded_mib):
                handle.write(block)
    data = bytearray(output.getvalue())
    claimed = 1024
    end_of_directory = data.rfind(b"PK\x05\x06")
    entries, _, position = struct.unpack_from("<HII", data, end_of_directory + 10)
    for _ in range(entries):
        name_length, extra_length, comment_length = struct.unpack_from("<HHH", data, position + 28)
        if data[position + 46 : position + 46 + name_length] == b"word/media/filler.bin":
            # Uncompressed size: offset 24 in the directory entry, 22 in the local header.
            struct.pack_into("<I", data, position + 24, claimed)
            (local_header,) = struct.unpack_from("<I", data, position + 42)
            struct.pack_into("<I", data, local_header + 22, claimed)
        position += 46 + name_length + extra_length + comment_length
    return bytes(data)


def stored_files(settings: Any) -> set[str]:
    """Names of the objects in local storage."""
    root = Path(settings.data_path) / "files"
    return {path.name for path in root.iterdir()} if root.is_dir() else set()


async def stored_path(settings: Any, resume_id: str) -> Path:
    row = await Resume.select(Resume.storage_key).where(Resume.id == uuid.UUID(resume_id)).first()
    return Path(settings.data_path) / "files" / row["storage_key"]


async def upload_pdf(
    client: httpx.AsyncClient, user: UserAccount, data: bytes | None = None
) -> dict[str, Any]:
    response = await upload(client, user.headers, data or resume_pdf(BACKEND_ENGINEER))
    assert response.status_code == 202, response.text
    body: dict[str, Any] = decode(response)
    return body


async def parse_in_process(settings: Any, task_id: str) -> str:
    """Run the parse job's body here instead of in a worker: same code, same database."""
    chain = build_chain(settings)
    try:
        return await run_parse(
            uuid.UUID(task_id), storage=storage_for(settings), chain=chain, settings=settings
        )
    finally:
        await chain.aclose()


def assert_profile_holds(profile: dict[str, Any], spec: ResumeSpec) -> None:
    """The profile has the facts written into the file and nothing else."""
    assert profile["name"] == spec.name
    assert profile["headline"] == spec.headline
    assert profile["email"] == spec.email
    assert profile["phone"] == spec.phone
    assert profile["location"] == spec.location
    assert profile["summary"] == spec.summary
    # The listed skills first, in order; any more only if the resume's own words name them.
    assert profile["skills"][: len(spec.skills_expected)] == list(spec.skills_expected)
    prose = " ".join(
        [spec.headline or "", spec.summary or "", *(line for job in spec.jobs for line in job.highlights)]
    ).lower()
    vocabulary = default_vocabulary()
    for extra in profile["skills"][len(spec.skills_expected) :]:
        skill = vocabulary.get(extra)
        assert skill is not None, extra
        assert any(re.search(rf"(?<!\w){re.escape(term)}(?!\w)", prose) for term in skill.terms), extra
    assert [
        (job["title"], job["company"], job["start"], job["end"], job["highlights"])
        for job in profile["experience"]
    ] == [(job.title, job.company, job.start, job.end, list(job.highlights)) for job in spec.jobs]
    assert [
        (school["institution"], school["degree"], school["start"], school["end"])
        for school in profile["education"]
    ] == [(school.institution, school.degree, school.start, school.end) for school in spec.schools]
    # Experience runs up to today, past the day the factory's figure was computed for.
    assert profile["years_experience"] is not None
    assert spec.years_experience is not None
    assert profile["years_experience"] >= spec.years_experience
