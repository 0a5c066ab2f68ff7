"""Sentry only when configured; structured logs that carry the request id and no secrets."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys

import httpx

from server.core.logging import configure_logging, get_logger

SENTRY_PROBE = """
import json
import sentry_sdk
from sentry_sdk.integrations.asgi import SentryAsgiMiddleware
from sentry_sdk.integrations.litestar import LitestarIntegration
from server.core.app import create_asgi_app
from server.core.settings import load_settings

without = create_asgi_app(load_settings(dotenv_path=None))
inactive = not sentry_sdk.get_client().is_active()
app = create_asgi_app(load_settings({**__import__("os").environ, "SENTRY_DSN": "http://public@127.0.0.1:9/1",
                                     "RELEASE": "test-release"}, dotenv_path=None))
client = sentry_sdk.get_client()
print(json.dumps({
    "inactive_without_dsn": inactive,
    "active": client.is_active(),
    "environment": client.options["environment"],
    "release": client.options["release"],
    "asgi_middleware": isinstance(app.app, SentryAsgiMiddleware),
    "litestar_integration": client.get_integration(LitestarIntegration) is not None,
}))
"""


def test_sentry_is_initialised_only_with_a_dsn() -> None:
    # In a subprocess: initialising the SDK patches libraries for the rest of a process.
    result = subprocess.run(
        [sys.executable, "-c", SENTRY_PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe == {
        "inactive_without_dsn": True,
        "active": True,
        "environment": "test",
        "release": "test-release",
        "asgi_middleware": True,
        # Its Litestar integration would read every request body before the handler.
        "litestar_integration": False,
    }


async def test_streamed_uploads_work_with_sentry_enabled(database: None, user_factory) -> None:  # type: ignore[no-untyped-def]
    from tests.interviews.test_failover import AppProcess
    from tests.resumes.factory import BACKEND_ENGINEER, resume_pdf

    app = AppProcess(sentry_dsn="http://public@127.0.0.1:9/1")
    try:
        user = await user_factory()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{app.port}", timeout=20) as http:
            response = await http.post(
                "/api/v1/resumes",
                files={"file": ("cv.pdf", resume_pdf(BACKEND_ENGINEER), "application/pdf")},
                headers=user.headers,
            )
        assert response.status_code == 202, response.text
    finally:
        app.stop()


def test_json_logs_are_one_object_per_line_with_secrets_redacted() -> None:
    stream = io.StringIO()
    configure_logging(json_logs=True, level="INFO")
    handler = logging.getLogger().handlers[0]
    handler.setStream(stream)  # type: ignore[attr-defined]
    try:
        get_logger("test").info(
            "signed_in", user="ada@example.com", password="hunter2-secret", refresh_token="abc"
        )
    finally:
        configure_logging(json_logs=False, level="WARNING")
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["event"] == "signed_in"
    assert line["level"] == "info"
    assert line["password"] == "[redacted]"
    assert line["refresh_token"] == "[redacted]"
    assert "hunter2" not in stream.getvalue()


async def test_access_log_line_carries_the_request_id(make_server) -> None:  # type: ignore[no-untyped-def]
    app = await make_server(log_json="true", log_level="INFO")
    stream = io.StringIO()
    logging.getLogger().handlers[0].setStream(stream)  # type: ignore[attr-defined]
    try:
        async with httpx.AsyncClient(base_url=app.base_url) as http:
            await http.get("/health", headers={"X-Request-ID": "req-0123456789"})
    finally:
        configure_logging(json_logs=False, level="WARNING")
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("event") == "request" and line.get("path") == "/health"]
    assert access, stream.getvalue()
    assert access[0]["request_id"] == "req-0123456789"
    assert access[0]["status"] == 200
    assert access[0]["method"] == "GET"
    assert "duration_ms" in access[0]
