"""ProviderChain over real OpenAI and Gemini SDK clients whose HTTP endpoints respx stubs."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
import respx
from llm_stubs import (
    GEMINI_JSON_URL,
    GEMINI_KEY,
    GEMINI_MODEL,
    GEMINI_STREAM_URL,
    OPENAI_KEY,
    OPENAI_MODEL,
    OPENAI_URL,
    FakeClock,
    RecordedSleep,
    connection_dropped,
    evaluation_request,
    gemini_error,
    gemini_json_response,
    gemini_stream_response,
    llm_settings,
    openai_chunk,
    openai_error,
    openai_json_response,
    openai_stream_response,
    question_context,
    scores_json,
    scripted_response,
)

from server.core.settings import Settings, SettingsError
from server.llm.chain import (
    DEGRADED_WINDOW_SECONDS,
    ChainExhausted,
    CircuitBreaker,
    ProviderChain,
    build_chain,
)
from server.llm.gemini_provider import GeminiProvider
from server.llm.model_backed import EmptyInputError
from server.llm.offline import OfflineProvider
from server.llm.openai_provider import OpenAIProvider
from server.llm.provider import InterviewerProvider
from server.llm.types import Evaluation, StreamPiece
from server.questions.scoring import overall_score

EPOCH = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
PROFILE_JSON = (
    '{"name": "Ada Example", "headline": null, "email": null, "phone": null, "location": "Leeds",'
    ' "summary": null, "skills": ["Go"], "experience": [], "education": [], "years_experience": null}'
)


class Harness:
    def __init__(self, settings: Settings, providers: list[InterviewerProvider]) -> None:
        self.clock = FakeClock()
        self.sleep = RecordedSleep()
        self.providers = providers
        self.chain = ProviderChain(
            providers,
            settings,
            clock=self.clock,
            now=lambda: EPOCH + timedelta(seconds=self.clock.now),
            sleep=self.sleep,
            jitter=lambda: 0.0,
        )

    def state(self, name: str) -> str:
        return next(p.state for p in self.chain.status().providers if p.name == name)


@pytest.fixture
async def make_harness() -> AsyncIterator[Any]:
    harnesses: list[Harness] = []

    def factory(
        settings: Settings | None = None, providers: list[InterviewerProvider] | None = None
    ) -> Harness:
        settings = settings or llm_settings()
        harness = Harness(settings, providers or [OpenAIProvider(settings), GeminiProvider(settings)])
        harnesses.append(harness)
        return harness

    yield factory
    for harness in harnesses:
        await harness.chain.aclose()


async def collect(stream: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in stream]


def texts(pieces: list[StreamPiece]) -> list[tuple[str, str, bool]]:
    return [(piece.provider, piece.text, piece.restart) for piece in pieces]


# ---- streaming and fallback ------------------------------------------------------------------


async def test_first_provider_streams_the_question(router: respx.MockRouter, make_harness: Any) -> None:
    harness = make_harness()
    router.post(OPENAI_URL).mock(return_value=openai_stream_response("Tell me ", "about retries."))
    gemini = router.post(GEMINI_STREAM_URL).mock(return_value=gemini_stream_response("unused"))

    pieces = await collect(harness.chain.stream_question(question_context()))

    assert texts(pieces) == [("openai", "Tell me ", False), ("openai", "about retries.", False)]
    assert {piece.model for piece in pieces} == {OPENAI_MODEL}
    assert gemini.call_count == 0
    status = harness.chain.status()
    assert status.serving == "openai"
    assert status.providers[0].state == "ok"
    assert status.providers[0].last_ok_at == EPOCH + timedelta(seconds=harness.clock.now)


async def test_401_falls_through_to_the_next_provider_without_retry(
    router: respx.MockRouter, make_harness: Any
) -> None:
    harness = make_harness()
    openai = router.post(OPENAI_URL).mock(
        return_value=openai_error(401, f"Incorrect API key provided: {OPENAI_KEY}")
    )
    router.post(GEMINI_STREAM_URL).mock(return_value=gemini_stream_response("Gemini ", "asks."))

    pieces = await collect(harness.chain.stream_question(question_context()))

    assert texts(pieces) == [("gemini", "Gemini ", False), ("gemini", "asks.", False)]
    assert openai.call_count == 1
    assert harness.sleep.delays == []
    openai_status = harness.chain.status().providers[0]
    assert openai_status.state == "degraded"
    assert openai_status.last_error == "HTTP 401: authentication failed (check the API key)"
    assert OPENAI_KEY not in msgspec.json.encode(harness.chain.status()).decode()


async def test_429_is_retried_after_retry_after_then_succeeds(
    router: respx.MockRouter, make_harness: Any
) -> None:
    harness = make_harness()
    openai = router.post(OPENAI_URL).mock(
        side_effect=[
            openai_error(429, "slow down", {"retry-after": "1"}),
            openai_stream_response("Second try."),
        ]
    )

    pieces = await collect(harness.chain.stream_question(question_context()))

    assert texts(pieces) == [("openai", "Second try.", False)]
    assert openai.call_count == 2
    assert harness.sleep.delays == [1.0]
    assert harness.state("openai") == "ok"


async def test_5xx_is_retried_with_exponential_backoff_then_falls_back(
    router: respx.MockRouter, make_harness: Any
) -> None:
    harness = make_harness(llm_settings(llm_max_retries=3))
    openai = router.post(OPENAI_URL).mock(return_value=openai_error(500, "boom"))
    router.post(GEMINI_STREAM_URL).mock(return_value=gemini_stream_response("From Gemini."))

    pieces = await collect(harness.chain.stream_question(question_context()))

    assert texts(pieces) == [("gemini", "From Gemini.", False)]
    assert openai.call_count == 4  # the first call and three retries
    # Jitter pinned to 0: half of 0.5 s, 1 s, 2 s.
    assert harness.sleep.delays == [0.25, 0.5, 1.0]


async def test_long_retry_after_moves_on_instead_of_waiting(
    router: respx.MockRouter, make_harness: Any
) -> None:
    # The total budget would allow the wait; the provider is simply too saturated to wait for.
    harness = make_harness(llm_settings(llm_total_timeout_seconds=600))
    openai = router.post(OPENAI_URL).mock(return_value=openai_error(429, "quota", {"retry-after": "60"}))
    router.post(GEMINI_STREAM_URL).mock(return_value=gemini_stream_response("Right away."))

    pieces = await collect(harness.chain.stream_question(question_context()))

    assert texts(pieces) == [("gemini", "Right away.", False)]
    assert openai.call_count == 1
    assert harness.sleep.delays == []


async def test_first_piece_timeout_falls_back_quickly(router: respx.MockRouter, make_harness: Any) -> None:
    harness = make_harness(llm_settings(llm_first_token_timeout_seconds=0.1, llm_max_retries=0))
    router.post(OPENAI_URL).mock(return_value=scripted_response(2.0, openai_chunk("Too late.")))
    router.post(GEMINI_STREAM_URL).mock(return_value=gemini_stream_response("On time."))

    started = time.perf_counter()
    pieces = await collect(harness.chain.stream_question(question_context()))
    elapsed = time.perf_counter() - started

    assert texts(pieces) == [("gemini", "On time.", False)]
    assert elapsed < 1.0, f"fallback took {elapsed:.2f}s"
    assert harness.chain.status().providers[0].last_error == "no first piece within 0.1s"


async def test_first_piece_timeout_is_retried_on_the_same_provider(
    router: respx.MockRouter, make_harness: Any
) -> None:
    harness = make_harness(llm_settings(llm_first_token_timeout_seconds=0.1, llm_max_retries=1))
    openai = router.post(OPENAI_URL).mock(
        side_effect=[scripted_response(2.0, openai_chunk("Too late.")), openai_stream_response("Quick now.")]
    )

    pieces = await collect(harness.chain.stream_question(question_context()))

    assert texts(pieces) == [("openai", "Quick now.", False)]
    assert openai.call_count == 2
    assert harness.sleep.delays == [0.25]


async def test_stream_cut_midway_restarts_on_the_next_provider(
    router: respx.MockRouter, make_harness: Any
) -> None:
    harness = make_harness()
    openai = router.post(OPENAI_URL).mock(
        return_value=scripted_response(openai_chunk("How would "), openai_chunk("you "), connection_dropped())
    )
    router.post(GEMINI_STREAM_URL).mock(
        return_value=gemini_stream_response("Describe ", "your retry design.")
    )

    pieces = await collect(harness.chain.stream_question(question_context()))

    assert texts(pieces) == [
        ("openai", "How would ", False),
        ("openai", "you ", False),
        ("gemini", "Describe ", True),
        ("gemini", "your retry design.", False),
    ]
    assert openai.call_count == 1  # no retry once text has been shown
    restart_at = next(i for i, piece in enumerate(pieces) if piece.restart)
    assert "".join(piece.text for piece in pieces[restart_at:]) == "Describe your retry design."
    assert harness.chain.status().providers[0].last_error == "connection failed"


async def test_total_timeout_mid_stream_restarts_on_the_next_provider(
    router: respx.MockRouter, make_harness: Any
) -> None:
    harness = make_harness(llm_settings(llm_total_timeout_seconds=0.3))
    router.post(OPENAI_URL).mock(
        return_value=scripted_response(openai_chunk("Start "), 2.0, openai_chunk("end"))
    )
    router.post(GEMINI_STREAM_URL).mock(return_value=gemini_stream_response("Whole question."))

    pieces = await collect(harness.chain.stream_question(question_context()))

    assert texts(pieces) == [("openai", "Start ", False), ("gemini", "Whole question.", True)]
    assert harness.chain.status().providers[0].last_error == "no complete reply within 0.3s"


async def test_every_provider_failing_raises_chain_exhausted(
    router: respx.MockRouter, make_harness: Any
) -> None:
    harness = make_harness()
    router.post(OPENAI_URL).mock(return_value=openai_error(401, f"bad key {OPENAI_KEY}"))
    router.post(GEMINI_STREAM_URL).mock(return_value=gemini_error(400, f"bad key {GEMINI_KEY}"))

    with pytest.raises(ChainExhausted) as caught:
        await collect(harness.chain.stream_question(question_context()))

    message = str(caught.value)
    assert message == (
        "no AI provider could ask the question (openai: HTTP 401: authentication failed (check the API key); "
        "gemini: HTTP 400: bad request)"
    )
    assert OPENAI_KEY not in message
    assert GEMINI_KEY not in message


async def test_unconfigured_providers_are_skipped_and_reported(
    router: respx.MockRouter, make_harness: Any
) -> None:
    settings = llm_settings(openai_api_key="")
    harness = make_harness(settings)
    openai = router.post(OPENAI_URL).mock(return_value=openai_stream_response("never"))
    router.post(GEMINI_STREAM_URL).mock(return_value=gemini_stream_response("Gemini only."))

    pieces = await collect(harness.chain.stream_question(question_context()))

    assert texts(pieces) == [("gemini", "Gemini only.", False)]
    assert openai.call_count == 0
    status = harness.chain.status()
    assert [(p.name, p.configured, p.state) for p in status.providers] == [
        ("openai", False, "unconfigured"),
        ("gemini", True, "ok"),
    ]
    assert status.serving == "gemini"


async def test_providers_that_cannot_speak_the_language_are_skipped(
    router: respx.MockRouter, make_harness: Any
) -> None:
    settings = llm_settings()
    harness = make_harness(settings, [OfflineProvider(tokens_per_second=0), OpenAIProvider(settings)])
    router.post(OPENAI_URL).mock(return_value=openai_stream_response("Wie ", "geht's?"))

    pieces = await collect(harness.chain.stream_question(question_context(language="de")))

    assert texts(pieces) == [("openai", "Wie ", False), ("openai", "geht's?", False)]
    english = await collect(harness.chain.stream_question(question_context(language="en")))
    assert {piece.provider for piece in english} == {"offline"}


def test_language_support_counts_configured_providers_only() -> None:
    settings = llm_settings(openai_api_key="")
    chain = ProviderChain([OfflineProvider(tokens_per_second=0), OpenAIProvider(settings)], settings)
    assert chain.supports_language("en") is True
    assert chain.supports_language("de") is False
    chain_with_key = ProviderChain(
        [OfflineProvider(tokens_per_second=0), OpenAIProvider(llm_settings())], settings
    )
    assert chain_with_key.supports_language("de") is True
    assert chain_with_key.supports_language("not a tag") is False


# ---- evaluation ------------------------------------------------------------------------------


async def test_evaluation_streams_feedback_then_one_evaluation(
    router: respx.MockRouter, make_harness: Any
) -> None:
    harness = make_harness()
    openai = router.post(OPENAI_URL).mock(
        side_effect=[
            openai_stream_response("Clear use of keys. ", "Mention locking."),
            openai_json_response(
                scores_json(relevance=10, depth=10, structure=0, communication=0, specificity=0)
            ),
        ]
    )

    items = await collect(harness.chain.stream_evaluation(evaluation_request()))

    *pieces, evaluation = items
    assert texts(pieces) == [("openai", "Clear use of keys. ", False), ("openai", "Mention locking.", False)]
    assert isinstance(evaluation, Evaluation)
    assert evaluation.feedback == "Clear use of keys. Mention locking."
    assert evaluation.criteria == {
        "relevance": 10.0,
        "depth": 10.0,
        "structure": 0.0,
        "communication": 0.0,
        "specificity": 0.0,
    }
    # The rubric's weighting (relevance and depth 25 % each), not the plain mean of 4.0.
    assert evaluation.score == overall_score(evaluation.criteria) == 5.0
    assert (evaluation.provider, evaluation.model) == ("openai", OPENAI_MODEL)
    assert evaluation.prompt_version == "feedback.v1+scores.v1"
    assert evaluation.covered_points == ["idempotency keys", "stored outcomes"]
    assert openai.call_count == 2


async def test_scoring_failure_restarts_the_whole_evaluation_on_the_next_provider(
    router: respx.MockRouter, make_harness: Any
) -> None:
    harness = make_harness()
    openai = router.post(OPENAI_URL).mock(
        side_effect=[
            openai_stream_response("OpenAI feedback."),
            openai_json_response("not json"),
            openai_json_response("still not json"),
        ]
    )
    router.post(GEMINI_STREAM_URL).mock(return_value=gemini_stream_response("Gemini ", "feedback."))
    router.post(GEMINI_JSON_URL).mock(return_value=gemini_json_response(scores_json()))

    items = await collect(harness.chain.stream_evaluation(evaluation_request()))

    *pieces, evaluation = items
    assert texts(pieces) == [
        ("openai", "OpenAI feedback.", False),
        ("gemini", "Gemini ", True),
        ("gemini", "feedback.", False),
    ]
    assert isinstance(evaluation, Evaluation)
    assert (evaluation.provider, evaluation.model) == ("gemini", GEMINI_MODEL)
    assert evaluation.feedback == "Gemini feedback."
    assert openai.call_count == 3  # feedback, scores, one repair
    assert (
        harness.chain.status().providers[0].last_error
        == "invalid evaluation_scores JSON after one repair attempt"
    )


async def test_offline_provider_completes_an_evaluation_when_models_fail(
    router: respx.MockRouter, make_harness: Any
) -> None:
    settings = llm_settings(llm_max_retries=0)
    harness = make_harness(settings, [OpenAIProvider(settings), OfflineProvider(tokens_per_second=0)])
    router.post(OPENAI_URL).mock(return_value=openai_error(503, "overloaded"))

    items = await collect(harness.chain.stream_evaluation(evaluation_request()))

    *pieces, evaluation = items
    assert {piece.provider for piece in pieces} == {"offline"}
    assert isinstance(evaluation, Evaluation)
    assert evaluation.provider == "offline"
    assert evaluation.feedback == "".join(piece.text for piece in pieces)
    assert evaluation.score == overall_score(evaluation.criteria)


# ---- resumes ---------------------------------------------------------------------------------


async def test_resume_falls_back_and_names_the_provider(router: respx.MockRouter, make_harness: Any) -> None:
    harness = make_harness()
    openai = router.post(OPENAI_URL).mock(return_value=openai_error(502, "bad gateway"))
    router.post(GEMINI_JSON_URL).mock(return_value=gemini_json_response(PROFILE_JSON))

    profile, provider, model = await harness.chain.structure_resume("Ada Example, Leeds. Skills: Go.")

    assert (profile.name, profile.location, profile.skills) == ("Ada Example", "Leeds", ["Go"])
    assert (provider, model) == ("gemini", GEMINI_MODEL)
    assert openai.call_count == 3
    assert harness.sleep.delays == [0.25, 0.5]


async def test_empty_resume_text_is_rejected_before_any_call(
    router: respx.MockRouter, make_harness: Any
) -> None:
    harness = make_harness()
    openai = router.post(OPENAI_URL).mock(return_value=openai_json_response(PROFILE_JSON))
    with pytest.raises(EmptyInputError, match="resume text is empty"):
        await harness.chain.structure_resume("   \n ")
    assert openai.call_count == 0


# ---- circuit breaker and status --------------------------------------------------------------


async def test_breaker_opens_skips_the_provider_and_recovers_after_a_trial(
    router: respx.MockRouter, make_harness: Any
) -> None:
    harness = make_harness(llm_settings(llm_breaker_failure_threshold=2, llm_breaker_reset_seconds=30))
    openai = router.post(OPENAI_URL).mock(return_value=openai_error(401, "bad key"))
    router.post(GEMINI_STREAM_URL).mock(return_value=gemini_stream_response("Gemini."))

    await collect(harness.chain.stream_question(question_context()))
    assert harness.state("openai") == "degraded"
    await collect(harness.chain.stream_question(question_context()))
    assert openai.call_count == 2
    assert harness.state("openai") == "down"
    assert harness.chain.status().serving == "gemini"

    # Open: the provider is not called at all.
    pieces = await collect(harness.chain.stream_question(question_context()))
    assert {piece.provider for piece in pieces} == {"gemini"}
    assert openai.call_count == 2

    # Half-open after the reset period: one trial call goes through and succeeds.
    harness.clock.advance(30)
    assert harness.chain.status().serving == "openai"
    openai.mock(return_value=openai_stream_response("OpenAI is back."))
    pieces = await collect(harness.chain.stream_question(question_context()))
    assert texts(pieces) == [("openai", "OpenAI is back.", False)]
    assert openai.call_count == 3
    assert harness.state("openai") == "degraded"  # closed again, failures still recent

    harness.clock.advance(DEGRADED_WINDOW_SECONDS)
    assert harness.state("openai") == "ok"


async def test_failed_trial_reopens_the_breaker(router: respx.MockRouter, make_harness: Any) -> None:
    harness = make_harness(
        llm_settings(llm_breaker_failure_threshold=2, llm_breaker_reset_seconds=30, llm_max_retries=0)
    )
    openai = router.post(OPENAI_URL).mock(return_value=openai_error(500, "down"))
    router.post(GEMINI_STREAM_URL).mock(return_value=gemini_stream_response("Gemini."))
    for _ in range(2):
        await collect(harness.chain.stream_question(question_context()))
    assert harness.state("openai") == "down"

    harness.clock.advance(30)
    await collect(harness.chain.stream_question(question_context()))
    assert openai.call_count == 3  # the single trial call
    assert harness.state("openai") == "down"

    harness.clock.advance(29)
    await collect(harness.chain.stream_question(question_context()))
    assert openai.call_count == 3  # a fresh reset period started with the failed trial


async def test_a_consumer_leaving_mid_trial_frees_the_trial_without_a_verdict(
    router: respx.MockRouter, make_harness: Any
) -> None:
    harness = make_harness(llm_settings(llm_breaker_failure_threshold=1, llm_max_retries=0))
    openai = router.post(OPENAI_URL).mock(return_value=openai_error(500, "down"))
    router.post(GEMINI_STREAM_URL).mock(return_value=gemini_stream_response("Gemini."))
    await collect(harness.chain.stream_question(question_context()))
    assert harness.state("openai") == "down"
    harness.clock.advance(30)

    openai.mock(return_value=openai_stream_response("First ", "second ", "third."))
    stream = harness.chain.stream_question(question_context())
    first = await anext(stream)
    assert first.provider == "openai"
    assert harness.chain.status().serving == "gemini"  # the only trial slot is taken
    await stream.aclose()

    assert harness.chain.status().serving == "openai"  # freed again
    assert harness.state("openai") == "down"  # and not closed by an unfinished call


def test_breaker_lets_exactly_one_trial_through_when_half_open() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=1, reset_seconds=10, clock=clock)
    permit = breaker.acquire()
    assert permit is not None
    breaker.record_failure(permit)
    assert breaker.state == "open"
    assert breaker.acquire() is None

    clock.advance(10)
    assert breaker.state == "half_open"
    trial = breaker.acquire()
    assert trial is not None
    assert trial.trial
    assert breaker.acquire() is None
    breaker.record_success(trial)
    assert breaker.state == "closed"
    assert breaker.consecutive_failures == 0


def test_breaker_rejects_nonsense_settings() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        CircuitBreaker(failure_threshold=0, reset_seconds=1)
    with pytest.raises(ValueError, match="must not be negative"):
        CircuitBreaker(failure_threshold=1, reset_seconds=-1)


async def test_status_serialises_with_rfc3339_timestamps(router: respx.MockRouter, make_harness: Any) -> None:
    harness = make_harness()
    router.post(OPENAI_URL).mock(side_effect=[openai_error(400, "bad"), openai_stream_response("ok")])
    router.post(GEMINI_STREAM_URL).mock(return_value=gemini_stream_response("Gemini."))
    await collect(harness.chain.stream_question(question_context()))
    harness.clock.advance(5)
    await collect(harness.chain.stream_question(question_context()))

    encoded = msgspec.json.decode(msgspec.json.encode(harness.chain.status()))

    assert encoded["serving"] == "openai"
    first = encoded["providers"][0]
    assert first == {
        "name": "openai",
        "model": OPENAI_MODEL,
        "configured": True,
        "state": "degraded",
        "last_ok_at": "2026-11-21T10:16:45Z",
        "last_error_at": "2026-11-21T10:16:40Z",
        "last_error": "HTTP 400: bad request",
    }


# ---- building from settings ------------------------------------------------------------------


async def test_build_chain_follows_llm_providers_and_keeps_unconfigured_ones() -> None:
    settings = llm_settings(
        llm_providers=["gemini", "openai", "offline"], openai_api_key="", gemini_api_key="", offline_seed=7
    )
    chain = build_chain(settings)
    try:
        assert [type(p) for p in chain.providers] == [GeminiProvider, OpenAIProvider, OfflineProvider]
        offline = chain.providers[2]
        assert isinstance(offline, OfflineProvider)
        assert offline.seed == 7
        status = chain.status()
        assert [(p.name, p.state) for p in status.providers] == [
            ("gemini", "unconfigured"),
            ("openai", "unconfigured"),
            ("offline", "ok"),
        ]
        assert status.serving == "offline"
    finally:
        await chain.aclose()


def test_build_chain_refuses_a_provider_listed_twice() -> None:
    with pytest.raises(SettingsError, match="'openai' more than once"):
        build_chain(llm_settings(llm_providers=["openai", "openai"]))


async def test_an_empty_chain_says_so() -> None:
    chain = ProviderChain([], llm_settings(llm_providers=[]))
    assert chain.status().serving is None
    with pytest.raises(ChainExhausted, match="LLM_PROVIDERS lists none"):
        await chain.structure_resume("Ada Example")
