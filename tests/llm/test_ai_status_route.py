"""GET /ai/status through a real Litestar app that provides the chain as the `llm` dependency."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import respx
from litestar import Litestar
from litestar.di import Provide
from litestar.testing import AsyncTestClient
from llm_stubs import OPENAI_URL, llm_settings, openai_error, question_context

from server.llm.chain import ChainExhausted, ProviderChain
from server.llm.gemini_provider import GeminiProvider
from server.llm.openai_provider import OpenAIProvider
from server.llm.routes import AIStatusController


@pytest.fixture
async def chain() -> AsyncIterator[ProviderChain]:
    settings = llm_settings(gemini_api_key="", llm_max_retries=0, llm_breaker_failure_threshold=1)
    instance = ProviderChain([OpenAIProvider(settings), GeminiProvider(settings)], settings)
    yield instance
    await instance.aclose()


@pytest.fixture
async def client(chain: ProviderChain) -> AsyncIterator[AsyncTestClient[Litestar]]:
    def provide_llm() -> ProviderChain:
        return chain

    app = Litestar(
        route_handlers=[AIStatusController],
        dependencies={"llm": Provide(provide_llm, sync_to_thread=False)},
    )
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


async def test_status_reports_each_provider_and_who_serves(
    client: AsyncTestClient[Litestar], chain: ProviderChain, router: respx.MockRouter
) -> None:
    response = await client.get("/ai/status")
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "providers": [
            {
                "name": "openai",
                "model": "gpt-4o-mini",
                "configured": True,
                "state": "ok",
                "last_ok_at": None,
                "last_error_at": None,
                "last_error": None,
            },
            {
                "name": "gemini",
                "model": "gemini-2.0-flash",
                "configured": False,
                "state": "unconfigured",
                "last_ok_at": None,
                "last_error_at": None,
                "last_error": None,
            },
        ],
        "serving": "openai",
    }

    router.post(OPENAI_URL).mock(return_value=openai_error(503, "overloaded"))
    with pytest.raises(ChainExhausted, match="no AI provider could ask the question"):
        [piece async for piece in chain.stream_question(question_context())]

    body = (await client.get("/ai/status")).json()
    openai = body["providers"][0]
    assert openai["state"] == "down"
    assert openai["last_error"] == "HTTP 503: server error"
    assert openai["last_error_at"].endswith("Z")
    assert body["serving"] is None


async def test_openapi_documents_the_route_with_an_example(client: AsyncTestClient[Litestar]) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    operation = schema["paths"]["/ai/status"]["get"]
    assert operation["summary"] == "AI provider status"
    assert "circuit breaker" in operation["description"]
    example = operation["responses"]["200"]["content"]["application/json"]["examples"]
    (value,) = (entry["value"] for entry in example.values())
    assert value["serving"] == "gemini"
    assert {provider["state"] for provider in value["providers"]} == {"down", "ok"}
    assert "401" in operation["responses"]
