"""OpenAIProvider against the real SDK, with the chat completions endpoint stubbed by respx."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import respx
from llm_stubs import (
    BRIEF,
    OPENAI_KEY,
    OPENAI_MODEL,
    OPENAI_URL,
    evaluation_request,
    llm_settings,
    openai_error,
    openai_json_response,
    openai_stream_response,
    question_context,
    request_json,
    scores_json,
)

from server.llm.model_backed import SCORES_OUTPUT, ProviderError
from server.llm.openai_provider import OpenAIProvider
from server.llm.schema import StructuredOutputError
from server.llm.types import CRITERIA


@pytest.fixture
async def provider() -> AsyncIterator[OpenAIProvider]:
    instance = OpenAIProvider(llm_settings())
    yield instance
    await instance.aclose()


async def test_question_streams_chunk_by_chunk(router: respx.MockRouter, provider: OpenAIProvider) -> None:
    route = router.post(OPENAI_URL).mock(
        return_value=openai_stream_response("How would ", "you make ", "retries safe?")
    )
    pieces = [piece async for piece in provider.stream_question(question_context(language="es"))]

    assert pieces == ["How would ", "you make ", "retries safe?"]
    request = route.calls.last.request
    assert request.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    body = request_json(request)
    assert body["model"] == OPENAI_MODEL
    assert body["stream"] is True
    assert [message["role"] for message in body["messages"]] == ["system", "user"]
    assert '"es"' in body["messages"][0]["content"]
    assert BRIEF.text in body["messages"][1]["content"]
    # The connect timeout reaches the HTTP layer; the total timeout caps the rest.
    assert request.extensions["timeout"]["connect"] == 3.0
    assert request.extensions["timeout"]["read"] == 20.0


async def test_feedback_streams_from_the_feedback_prompt(
    router: respx.MockRouter, provider: OpenAIProvider
) -> None:
    route = router.post(OPENAI_URL).mock(return_value=openai_stream_response("Good start. ", "Add locking."))
    request = evaluation_request()
    assert [p async for p in provider.stream_feedback(request)] == ["Good start. ", "Add locking."]
    assert request.answer in request_json(route.calls.last.request)["messages"][1]["content"]


async def test_scores_use_strict_json_schema_and_are_clamped(
    router: respx.MockRouter, provider: OpenAIProvider
) -> None:
    reply = scores_json(relevance=12, depth=-3).replace(
        '"covered_points": ["idempotency keys", "stored outcomes"]',
        '"covered_points": ["Idempotency Keys", "charm", "stored outcomes"]',
    )
    route = router.post(OPENAI_URL).mock(return_value=openai_json_response(reply))

    scores = await provider.score_answer(evaluation_request(), "You named idempotency keys.")

    body = request_json(route.calls.last.request)
    assert "stream" not in body
    assert body["response_format"] == SCORES_OUTPUT.openai_response_format()
    assert set(scores.criteria) == set(CRITERIA)
    assert scores.criteria["relevance"] == 10.0
    assert scores.criteria["depth"] == 0.0
    # Labels are mapped onto the brief's own; invented ones are dropped.
    assert scores.covered_points == ["idempotency keys", "stored outcomes"]
    assert scores.missed_points == ["concurrent duplicates"]


async def test_invalid_json_is_repaired_with_one_more_request(
    router: respx.MockRouter, provider: OpenAIProvider
) -> None:
    route = router.post(OPENAI_URL).mock(
        side_effect=[
            openai_json_response('{"criteria": {"relevance": 7}}'),
            openai_json_response(scores_json()),
        ]
    )

    scores = await provider.score_answer(evaluation_request(), "feedback")

    assert scores.criteria["structure"] == 7
    assert route.call_count == 2
    messages = request_json(route.calls[1].request)["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[2]["content"] == '{"criteria": {"relevance": 7}}'
    assert "could not be used" in messages[3]["content"]
    assert "Object missing required field `strengths`" in messages[3]["content"]


async def test_invalid_json_twice_is_a_structured_output_error(
    router: respx.MockRouter, provider: OpenAIProvider
) -> None:
    route = router.post(OPENAI_URL).mock(return_value=openai_json_response("I think the answer is fine."))
    with pytest.raises(StructuredOutputError, match="evaluation_scores reply was not valid JSON"):
        await provider.score_answer(evaluation_request(), "feedback")
    assert route.call_count == 2


async def test_resume_profile_keeps_only_contact_details_found_in_the_text(
    router: respx.MockRouter, provider: OpenAIProvider
) -> None:
    text = "Ada Example\nada@example.com\nBackend engineer, Paylane, 2021-03 to present\nSkills: Go, Kafka"
    reply = (
        '{"name": "Ada Example", "headline": null, "email": "ada@example.com", "phone": "+1 555 0100",'
        ' "location": null, "summary": null, "skills": ["Go", "Kafka", "Go"],'
        ' "experience": [{"title": "Backend engineer", "company": "Paylane", "start": "2021-03", "end": null,'
        ' "highlights": []}], "education": [], "years_experience": null}'
    )
    route = router.post(OPENAI_URL).mock(return_value=openai_json_response(reply))

    profile = await provider.structure_resume(text)

    assert profile.name == "Ada Example"
    assert profile.email == "ada@example.com"
    assert profile.phone is None  # not in the text: the model made it up
    assert profile.skills == ["Go", "Kafka"]
    assert profile.experience[0].company == "Paylane"
    body = request_json(route.calls.last.request)
    assert body["response_format"]["json_schema"]["name"] == "resume_profile"
    assert text in body["messages"][1]["content"]


async def test_401_is_not_retried_by_the_sdk_and_is_not_retryable(
    router: respx.MockRouter, provider: OpenAIProvider
) -> None:
    route = router.post(OPENAI_URL).mock(
        return_value=openai_error(401, f"Incorrect API key provided: {OPENAI_KEY[:8]}***")
    )
    with pytest.raises(ProviderError) as caught:
        [piece async for piece in provider.stream_question(question_context())]
    assert route.call_count == 1
    assert caught.value.status == 401
    assert caught.value.retryable is False
    assert caught.value.summary == "HTTP 401: authentication failed (check the API key)"
    assert OPENAI_KEY[:8] not in caught.value.summary


@pytest.mark.parametrize(
    ("headers", "expected"), [({"retry-after": "2"}, 2.0), ({"retry-after-ms": "1500"}, 1.5), ({}, None)]
)
async def test_429_reports_the_servers_retry_after(
    router: respx.MockRouter, provider: OpenAIProvider, headers: dict[str, str], expected: float | None
) -> None:
    route = router.post(OPENAI_URL).mock(return_value=openai_error(429, "Rate limit reached", headers))
    with pytest.raises(ProviderError) as caught:
        await provider.score_answer(evaluation_request(), "feedback")
    assert route.call_count == 1
    assert caught.value.retryable is True
    assert caught.value.retry_after == expected


async def test_refusal_is_a_non_retryable_failure(router: respx.MockRouter, provider: OpenAIProvider) -> None:
    router.post(OPENAI_URL).mock(return_value=openai_json_response("", refusal="I can't help with that."))
    with pytest.raises(ProviderError, match="refused") as caught:
        await provider.score_answer(evaluation_request(), "feedback")
    assert caught.value.retryable is False


async def test_connection_failures_are_retryable(router: respx.MockRouter, provider: OpenAIProvider) -> None:
    router.post(OPENAI_URL).mock(side_effect=httpx.ConnectError("connection refused"))
    with pytest.raises(ProviderError, match="connection failed") as caught:
        [piece async for piece in provider.stream_question(question_context())]
    assert caught.value.retryable is True


async def test_without_a_key_it_is_unconfigured_and_sends_nothing(router: respx.MockRouter) -> None:
    route = router.post(OPENAI_URL).mock(return_value=openai_stream_response("never"))
    provider = OpenAIProvider(llm_settings(openai_api_key="  "))
    assert provider.configured is False
    with pytest.raises(ProviderError, match="no API key configured"):
        [piece async for piece in provider.stream_question(question_context())]
    assert route.call_count == 0


@pytest.mark.parametrize(
    ("tag", "supported"),
    [("en", True), ("pt-BR", True), ("zh-Hant-TW", True), ("es-419", True), ("", False), ("english!", False)],
)
def test_any_well_formed_language_tag_is_supported(tag: str, supported: bool) -> None:
    assert OpenAIProvider(llm_settings()).supports_language(tag) is supported


async def test_base_url_setting_points_the_sdk_elsewhere(router: respx.MockRouter) -> None:
    route = router.post("http://127.0.0.1:9999/v1/chat/completions").mock(
        return_value=openai_stream_response("local")
    )
    provider = OpenAIProvider(llm_settings(openai_base_url="http://127.0.0.1:9999/v1"))
    try:
        assert [p async for p in provider.stream_question(question_context())] == ["local"]
    finally:
        await provider.aclose()
    assert route.call_count == 1
