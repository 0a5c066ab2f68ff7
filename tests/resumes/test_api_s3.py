"""The resume API with STORAGE_BACKEND=s3, against moto's S3 server on a loopback port: the
upload lands in the bucket, the parse job reads it from there, the download is a 307 to a signed
URL that serves the file as an attachment, and the retention job removes the object."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx
import pytest
from factory import PRODUCT_DESIGNER, resume_docx
from moto.server import ThreadedMotoServer
from resume_api import DOCX, get_json, parse_in_process, upload

from server.resumes.service import storage_for
from server.resumes.tables import Resume
from server.resumes.tasks import purge_expired_files
from tests.conftest import RunningServer, UserAccount, decode, make_settings

UserFactory = Callable[..., Awaitable[UserAccount]]
BUCKET = "interviewace-api-resumes"


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    # Through the standard AWS variables, as in production; a worker started later inherits them.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test-access-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret-access-key")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")


@pytest.fixture
def s3_endpoint(aws_credentials: None) -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


async def test_s3_backend_stores_parses_serves_and_purges(
    s3_endpoint: str,
    user_factory: UserFactory,
    make_server: Callable[..., Awaitable[RunningServer]],
) -> None:
    storage_settings = {"storage_backend": "s3", "s3_bucket": BUCKET, "s3_endpoint_url": s3_endpoint}
    server = await make_server(**storage_settings)
    user = await user_factory()
    data = resume_docx(PRODUCT_DESIGNER)
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")

    async with httpx.AsyncClient(base_url=server.base_url, timeout=20) as client:
        response = await upload(client, user.headers, data, filename="tomas.docx", content_type=DOCX)
        assert response.status_code == 202, response.text
        body = decode(response)
        resume_id = body["resume"]["id"]

        row = await Resume.select(Resume.storage_key).where(Resume.id == uuid.UUID(resume_id)).first()
        stored = s3.get_object(Bucket=BUCKET, Key=f"files/{row['storage_key']}")
        assert stored["Body"].read() == data
        assert stored["ContentType"] == DOCX

        # The parse job's own code, run here with the server's settings, reads the file from S3.
        assert await parse_in_process(make_settings(**storage_settings), body["task_id"]) == "saved"
        task = await get_json(client, user.headers, f"/api/v1/tasks/{body['task_id']}")
        assert task["status"] == "succeeded", task
        resume = await get_json(client, user.headers, f"/api/v1/resumes/{resume_id}")
        assert resume["profile"]["name"] == PRODUCT_DESIGNER.name
        assert resume["profile"]["email"] == PRODUCT_DESIGNER.email

        response = await client.get(f"/api/v1/resumes/{resume_id}/file", headers=user.headers)
        assert response.status_code == 307
        location = response.headers["location"]
        assert location.startswith(f"{s3_endpoint}/{BUCKET}/files/")
        query = parse_qs(urlsplit(location).query)
        assert query["X-Amz-Expires"] == ["300"]
        assert query["response-content-disposition"][0].startswith('attachment; filename="tomas.docx"')
        async with httpx.AsyncClient(timeout=20) as anonymous:
            fetched = await anonymous.get(location)
        assert fetched.status_code == 200
        assert fetched.content == data
        assert fetched.headers["content-disposition"].startswith("attachment;")

        assert (await client.delete(f"/api/v1/resumes/{resume_id}", headers=user.headers)).status_code == 204
        assert (
            await client.get(f"/api/v1/resumes/{resume_id}/file", headers=user.headers)
        ).status_code == 404

    long_ago = datetime.now(UTC) - timedelta(days=31)
    await Resume.update({Resume.deleted_at: long_ago}).where(Resume.id == uuid.UUID(resume_id))
    settings: Any = make_settings(**storage_settings)
    assert await purge_expired_files(storage_for(settings), retention=timedelta(days=30)) == 1
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


async def test_an_unreachable_bucket_answers_503_and_keeps_nothing(
    aws_credentials: None, user_factory: UserFactory, make_server: Callable[..., Awaitable[RunningServer]]
) -> None:
    from server.core.embedded import free_tcp_port

    dead_endpoint = f"http://127.0.0.1:{free_tcp_port()}"
    server = await make_server(storage_backend="s3", s3_bucket=BUCKET, s3_endpoint_url=dead_endpoint)
    user = await user_factory()
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        response = await upload(client, user.headers, resume_docx(PRODUCT_DESIGNER), content_type=DOCX)
        assert response.status_code == 503, response.text
        assert decode(response)["code"] == "storage_unavailable"
        assert (await get_json(client, user.headers, "/api/v1/resumes"))["total"] == 0
