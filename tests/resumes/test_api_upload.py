"""The upload itself: the size cap holds on the bytes as they arrive, names are only for display,
requests that are not an upload are refused clearly, the quota holds, other users see nothing,
and the schema describes the multipart body. (Parsing is in test_api_parsing.py.)"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from factory import BACKEND_ENGINEER, resume_pdf
from resume_api import PDF, get_json, stored_files, upload

from tests.conftest import RunningServer, UserAccount, decode

MiB = 1024 * 1024
UserFactory = Callable[..., Awaitable[UserAccount]]


async def test_six_mib_upload_is_refused_without_being_stored(
    client: httpx.AsyncClient, user_factory: UserFactory, settings: Any
) -> None:
    user = await user_factory()
    before = stored_files(settings)
    big = b"%PDF-1.7\n" + bytes(6 * MiB)

    response = await upload(client, user.headers, big)
    assert response.status_code == 413
    assert decode(response)["code"] == "file_too_large"

    async def chunked() -> AsyncIterator[bytes]:
        # No Content-Length: the cap has to hold on the bytes as they arrive.
        boundary = b"cap-test-boundary"
        yield b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
        yield b"Content-Type: application/pdf\r\n\r\n%PDF-1.7\n"
        for _ in range(6 * 16):
            yield bytes(64 * 1024)
        yield b"\r\n--" + boundary + b"--\r\n"

    response = await client.post(
        "/api/v1/resumes",
        headers={**user.headers, "Content-Type": "multipart/form-data; boundary=cap-test-boundary"},
        content=chunked(),
    )
    assert response.status_code == 413
    assert decode(response)["code"] == "file_too_large"

    exactly_at_cap = resume_pdf(BACKEND_ENGINEER)
    padded = exactly_at_cap + b"\n" * (5 * MiB - len(exactly_at_cap))
    response = await upload(client, user.headers, padded)
    assert response.status_code == 202, response.text
    assert decode(response)["resume"]["size_bytes"] == 5 * MiB

    listing = await get_json(client, user.headers, "/api/v1/resumes")
    assert listing["total"] == 1
    assert len(stored_files(settings) - before) == 1


async def test_path_names_are_reduced_to_a_display_basename(
    client: httpx.AsyncClient, user_factory: UserFactory, settings: Any
) -> None:
    user = await user_factory()
    before = stored_files(settings)
    names = {
        "../../../../etc/cron.d/evil.pdf": "evil.pdf",
        "..\\..\\windows\\system32\\cv.pdf": "cv.pdf",
        "/..": "resume",
        'quote"and;semi\r\nX-Injected: 1.pdf': None,  # whatever survives must be header-safe
    }
    ids = []
    for sent, shown in names.items():
        response = await upload(client, user.headers, resume_pdf(BACKEND_ENGINEER), filename=sent)
        assert response.status_code == 202, response.text
        resume = decode(response)["resume"]
        if shown is not None:
            assert resume["filename"] == shown
        assert not set(resume["filename"]) & set('"\\/\r\n;')
        ids.append(resume["id"])
    new_files = stored_files(settings) - before
    assert len(new_files) == len(names)
    assert all(name.isalnum() and len(name) == 32 for name in new_files)
    assert not (Path(settings.data_path) / "etc").exists()

    download = await client.get(f"/api/v1/resumes/{ids[3]}/file", headers=user.headers)
    assert download.status_code == 200
    assert "\r" not in download.headers["content-disposition"]
    assert "x-injected" not in download.headers


@pytest.mark.parametrize(
    ("request_kwargs", "status", "code"),
    [
        pytest.param({"json": {"file": "resume.pdf"}}, 415, "unsupported_media_type", id="json-body"),
        pytest.param(
            {"files": {"other": ("a.pdf", b"%PDF-1.4", PDF)}}, 422, "validation_error", id="no-file-part"
        ),
        pytest.param(
            {
                "content": b"--b\r\nContent-Disposition: form-data; name=file\r\n\r\n%PDF-1.4",
                "headers": {"Content-Type": "multipart/form-data; boundary=b"},
            },
            400,
            "malformed_upload",
            id="unterminated-multipart",
        ),
    ],
)
async def test_requests_that_are_not_a_resume_upload_are_refused(
    client: httpx.AsyncClient,
    user_factory: UserFactory,
    request_kwargs: dict[str, Any],
    status: int,
    code: str,
) -> None:
    user = await user_factory()
    headers = {**user.headers, **request_kwargs.pop("headers", {})}
    response = await client.post("/api/v1/resumes", headers=headers, **request_kwargs)
    assert response.status_code == status, response.text
    assert decode(response)["code"] == code


async def test_quota_refuses_the_upload_past_it(
    user_factory: UserFactory, make_server: Callable[..., Awaitable[RunningServer]]
) -> None:
    server = await make_server(resume_quota_per_user="2")
    user = await user_factory()
    async with httpx.AsyncClient(base_url=server.base_url, timeout=20) as client:
        ids = []
        for _ in range(2):
            response = await upload(client, user.headers, resume_pdf(BACKEND_ENGINEER))
            assert response.status_code == 202
            ids.append(decode(response)["resume"]["id"])
        response = await upload(client, user.headers, resume_pdf(BACKEND_ENGINEER))
        assert response.status_code == 422
        assert decode(response)["code"] == "resume_quota_exceeded"

        # Deleted resumes do not count.
        assert (await client.delete(f"/api/v1/resumes/{ids[0]}", headers=user.headers)).status_code == 204
        response = await upload(client, user.headers, resume_pdf(BACKEND_ENGINEER))
        assert response.status_code == 202


async def test_someone_elses_resume_and_task_answer_404(
    client: httpx.AsyncClient, user_factory: UserFactory
) -> None:
    owner = await user_factory()
    stranger = await user_factory()
    body = decode(await upload(client, owner.headers, resume_pdf(BACKEND_ENGINEER)))
    resume_id, task_id = body["resume"]["id"], body["task_id"]

    attempts = [
        ("GET", f"/api/v1/resumes/{resume_id}", "resume_not_found"),
        ("GET", f"/api/v1/resumes/{resume_id}/file", "resume_not_found"),
        ("POST", f"/api/v1/resumes/{resume_id}/parse", "resume_not_found"),
        ("DELETE", f"/api/v1/resumes/{resume_id}", "resume_not_found"),
        ("GET", f"/api/v1/tasks/{task_id}", "task_not_found"),
    ]
    for method, path, code in attempts:
        response = await client.request(method, path, headers=stranger.headers)
        assert response.status_code == 404, (method, path, response.text)
        assert decode(response)["code"] == code
    assert (await get_json(client, stranger.headers, "/api/v1/resumes"))["total"] == 0

    # Still there for its owner, untouched.
    assert (await get_json(client, owner.headers, f"/api/v1/resumes/{resume_id}"))["id"] == resume_id
    assert (await client.get("/api/v1/resumes")).status_code == 401


async def test_openapi_describes_the_multipart_upload(client: httpx.AsyncClient) -> None:
    schema = decode(await client.get("/schema/openapi.json"))
    operation = schema["paths"]["/api/v1/resumes"]["post"]
    body_schema = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert body_schema["properties"]["file"] == {"type": "string", "format": "binary"}
    assert {"202", "413", "415", "422"} <= set(operation["responses"])
    assert "/api/v1/tasks/{task_id}" in schema["paths"]
