"""GeminiProvider against the real google-genai SDK, with its REST endpoints stubbed by respx.

google-genai 3.x sends through httpx2 by default, which respx cannot see; the provider hands
the SDK a classic `httpx.AsyncClient`, so these stubs sit on the exact path production uses.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import respx
from llm_stubs import (
    BRIEF,
    GEMINI_JSON_URL,
    GEMINI_KEY,
    GEMINI_STREAM_URL,
    evaluation_request,
    gemini_error,
    gemini_json_response,
    gemini_stream_response,
    llm_settings,
    question_context,
    request_json,
    scores_json,
)

from server.llm.gemini_provider import GeminiProvider
from server.llm.model_backed import SCORES_OUTPUT, ProviderError
from server.llm.schema import StructuredOutputError


@pytest.fixture
async def provider() -> AsyncIterator[GeminiProvider]:
    instance = GeminiProvider(llm_settings())
    yield instance
    await instance.aclose()


async def test_question_streams_over_sse(router: respx.MockRouter, provider: GeminiProvider) -> None:
    route = router.post(GEMINI_STREAM_URL).mock(
        return_value=gemini_stream_response("Wie würden ", "Sie Wiederholungen ", "absichern?")
    )
    pieces = [piece async for piece in provider.stream_question(question_context(language="de"))]

    assert pieces == ["Wie würden ", "Sie Wiederholungen ", "absichern?"]
    request = route.calls.last.request
    assert request.url.params["alt"] == "sse"
    assert request.headers["x-goog-api-key"] == GEMINI_KEY
    body = request_json(request)
    assert '"de"' in body["systemInstruction"]["parts"][0]["text"]
    assert body["contents"][0]["role"] == "user"
    assert BRIEF.text in body["contents"][0]["parts"][0]["text"]
    # The SDK sends timeout=None per request; our transport restores the connect timeout.
    assert request.extensions["timeout"]["connect"] == 3.0


async def test_scores_use_json_mode_with_the_schema(
    router: respx.MockRouter, provider: GeminiProvider
) -> None:
    route = router.post(GEMINI_JSON_URL).mock(
        return_value=gemini_json_response(scores_json(specificity=10.5))
    )

    scores = await provider.score_answer(evaluation_request(), "You named idempotency keys.")

    config = request_json(route.calls.last.request)["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"] == SCORES_OUTPUT.gemini_schema
    assert scores.criteria["specificity"] == 10.0
    assert scores.strengths == ["Named idempotency keys"]


async def test_invalid_json_is_repaired_as_a_model_turn(
    router: respx.MockRouter, provider: GeminiProvider
) -> None:
    route = router.post(GEMINI_JSON_URL).mock(
        side_effect=[gemini_json_response("Sure! Here are the scores."), gemini_json_response(scores_json())]
    )

    scores = await provider.score_answer(evaluation_request(), "feedback")

    assert scores.criteria["depth"] == 6
    contents = request_json(route.calls[1].request)["contents"]
    assert [turn["role"] for turn in contents] == ["user", "model", "user"]
    assert contents[1]["parts"][0]["text"] == "Sure! Here are the scores."
    assert "not valid JSON" in contents[2]["parts"][0]["text"]


async def test_invalid_json_twice_is_a_structured_output_error(
    router: respx.MockRouter, provider: GeminiProvider
) -> None:
    route = router.post(GEMINI_JSON_URL).mock(return_value=gemini_json_response('{"name": 42}'))
    with pytest.raises(StructuredOutputError, match="resume_profile"):
        await provider.structure_resume("Ada Example")
    assert route.call_count == 2


async def test_429_reads_the_retry_delay_from_retry_info(
    router: respx.MockRouter, provider: GeminiProvider
) -> None:
    retry_info = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}
    route = router.post(GEMINI_STREAM_URL).mock(
        return_value=gemini_error(429, "Quota exceeded", [retry_info])
    )
    with pytest.raises(ProviderError) as caught:
        [piece async for piece in provider.stream_question(question_context())]
    assert route.call_count == 1  # the SDK's own retries are off
    assert caught.value.status == 429
    assert caught.value.retryable is True
    assert caught.value.retry_after == 7.0


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (503, True), (400, False), (401, False)])
async def test_status_codes_map_to_retryability(
    router: respx.MockRouter, provider: GeminiProvider, status: int, retryable: bool
) -> None:
    route = router.post(GEMINI_JSON_URL).mock(
        return_value=gemini_error(status, f"API key {GEMINI_KEY} rejected")
    )
    with pytest.raises(ProviderError) as caught:
        await provider.score_answer(evaluation_request(), "feedback")
    assert route.call_count == 1
    assert caught.value.status == status
    assert caught.value.retryable is retryable
    assert GEMINI_KEY not in caught.value.summary


async def test_blocked_prompt_is_not_retryable(router: respx.MockRouter, provider: GeminiProvider) -> None:
    router.post(GEMINI_STREAM_URL).mock(
        return_value=httpx.Response(
            200,
            headers={"content-type": "text/event-stream"},
            content=b'data: {"promptFeedback": {"blockReason": "SAFETY"}}\r\n\r\n',
        )
    )
    with pytest.raises(ProviderError, match="blocked by the safety filter") as caught:
        [piece async for piece in provider.stream_question(question_context())]
    assert caught.value.retryable is False


async def test_timeouts_are_retryable(router: respx.MockRouter, provider: GeminiProvider) -> None:
    router.post(GEMINI_STREAM_URL).mock(side_effect=httpx.ConnectTimeout("timed out"))
    with pytest.raises(ProviderError, match="timed out") as caught:
        [piece async for piece in provider.stream_question(question_context())]
    assert caught.value.retryable is True


async def test_without_a_key_it_is_unconfigured(router: respx.MockRouter) -> None:
    route = router.post(GEMINI_STREAM_URL).mock(return_value=gemini_stream_response("never"))
    provider = GeminiProvider(llm_settings(gemini_api_key=""))
    assert provider.configured is False
    with pytest.raises(ProviderError, match="no API key configured"):
        await provider.structure_resume("Ada Example")
    assert route.call_count == 0
