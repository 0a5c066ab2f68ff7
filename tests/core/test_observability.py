"""Sentry only when configured; structured logs that carry the request id and no secrets."""

from __future__ import annotations

import io
import json
import logging

import httpx
import sentry_sdk

from server.core.logging import configure_logging, get_logger
from tests.conftest import make_settings


def test_sentry_is_initialised_only_with_a_dsn() -> None:
    from server.core.app import create_app

    create_app(make_settings())
    assert not sentry_sdk.get_client().is_active()
    create_app(make_settings(sentry_dsn="http://public@127.0.0.1:9/1", release="test-release"))
    try:
        client = sentry_sdk.get_client()
        assert client.is_active()
        assert client.options["environment"] == "test"
        assert client.options["release"] == "test-release"
    finally:
        sentry_sdk.init()  # an inactive client again for the rest of the suite


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
