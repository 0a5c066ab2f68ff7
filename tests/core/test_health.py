"""Health, readiness, problem details and the headers every response carries."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.conftest import RunningServer, decode


async def test_health_reports_version(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    body = decode(response)
    assert body["status"] == "ok"
    assert body["version"]


async def test_ready_checks_database_and_redis(client: httpx.AsyncClient) -> None:
    response = await client.get("/ready")
    assert response.status_code == 200
    assert decode(response) == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}


async def test_ready_names_the_failed_check_when_redis_is_down(make_server) -> None:  # type: ignore[no-untyped-def]
    from server.core.embedded import free_tcp_port

    broken = await make_server(redis_url=f"redis://127.0.0.1:{free_tcp_port()}/0")
    async with httpx.AsyncClient(base_url=broken.base_url) as http:
        response = await http.get("/ready")
    assert response.status_code == 503
    body = decode(response)
    assert body["status"] == "unavailable"
    assert body["checks"] == {"database": "ok", "redis": "error"}


async def test_unknown_route_is_problem_details(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/does-not-exist")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    body = decode(response)
    assert body["status"] == 404
    assert body["code"] == "not_found"
    assert body["title"]
    assert body["type"].startswith("https://")


async def test_wrong_method_is_problem_details(client: httpx.AsyncClient) -> None:
    response = await client.delete("/health")
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("application/problem+json")
    assert decode(response)["code"] == "method_not_allowed"


async def test_request_id_is_echoed_when_valid(client: httpx.AsyncClient) -> None:
    mine = uuid.uuid4().hex
    response = await client.get("/health", headers={"X-Request-ID": mine})
    assert response.headers["x-request-id"] == mine


@pytest.mark.parametrize("bad", ["short", "has spaces in it!", "x" * 300, "<script>alert(1)</script>"])
async def test_request_id_is_replaced_when_invalid(client: httpx.AsyncClient, bad: str) -> None:
    response = await client.get("/health", headers={"X-Request-ID": bad})
    generated = response.headers["x-request-id"]
    assert generated != bad
    uuid.UUID(generated)


async def test_request_id_on_errors_too(client: httpx.AsyncClient) -> None:
    response = await client.get("/nowhere")
    uuid.UUID(response.headers["x-request-id"])


async def test_security_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "strict-transport-security" not in response.headers  # development/test: no HSTS


async def test_hsts_in_production(make_server) -> None:  # type: ignore[no-untyped-def]
    prod = await make_server(
        environment="production", secret_key="p" * 48, allowed_origins="https://interviewace.example"
    )
    async with httpx.AsyncClient(base_url=prod.base_url) as http:
        response = await http.get("/health")
    assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_cors_allows_only_configured_origins(client: httpx.AsyncClient) -> None:
    allowed = await client.options(
        "/health",
        headers={"Origin": "http://localhost:8000", "Access-Control-Request-Method": "GET"},
    )
    assert allowed.headers.get("access-control-allow-origin") == "http://localhost:8000"
    refused = await client.options(
        "/health",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert refused.headers.get("access-control-allow-origin") != "https://evil.example"


async def test_openapi_document_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    document = decode(response)
    assert document["info"]["title"] == "InterviewAce API"
    assert "/health" in document["paths"]
    assert "/ready" in document["paths"]


async def test_second_app_instance_shares_the_pool(server: RunningServer, make_server) -> None:  # type: ignore[no-untyped-def]
    other = await make_server()
    async with httpx.AsyncClient(base_url=other.base_url) as http:
        assert (await http.get("/ready")).status_code == 200
    await other.stop()
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        assert (await http.get("/ready")).status_code == 200


def test_server_processes_freeze_startup_objects_and_collect_young_objects_less_often() -> None:
    """Full collections over a large heap stall every socket of the process (see app.py)."""
    import gc

    from server.core.app import GC_YOUNG_THRESHOLD, tune_gc_for_server_process

    thresholds = gc.get_threshold()
    try:
        tune_gc_for_server_process()
        assert gc.get_freeze_count() > 100_000
        assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
