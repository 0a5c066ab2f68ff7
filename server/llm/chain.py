"""The provider chain: fallback across interviewer providers, with timeouts, retries, breakers.

Providers are tried in the configured order. For each call:

- A provider without a key, one that cannot serve the interview language, or one whose circuit
  breaker is open is skipped.
- Before the first piece of text arrives, failures worth retrying (429, 5xx, timeouts, dropped
  connections) are retried on the same provider with exponential backoff and jitter, or after
  the server's `Retry-After` when that is short. Other failures (401, 400, invalid structured
  output) move on to the next provider at once.
- After the first piece, a failure moves to the next provider, which restarts the stream; its
  first piece carries `restart=True` so consumers drop the partial text.
- Every finished call feeds the provider's breaker and health record, which `status()` reports.

Timeouts: the connect timeout is enforced by the SDKs' HTTP client; the first-piece and total
timeouts are enforced here, around each wait for the next piece, never across a `yield`, so a
slow consumer is never mistaken for a slow provider.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Literal, Protocol, TypeVar, runtime_checkable

import msgspec

from server.core.logging import get_logger
from server.core.settings import Settings, SettingsError
from server.llm.gemini_provider import GeminiProvider
from server.llm.model_backed import EmptyInputError, ProviderError
from server.llm.offline import OfflineProvider
from server.llm.openai_provider import OpenAIProvider
from server.llm.provider import InterviewerProvider
from server.llm.schema import StructuredOutputError
from server.llm.types import (
    CRITERIA,
    Evaluation,
    EvaluationRequest,
    EvaluationScores,
    ProviderName,
    QuestionContext,
    StreamPiece,
)
from server.questions.scoring import overall_score
from server.resumes.profile import Profile

logger = get_logger(__name__)

T = TypeVar("T")

ProviderState = Literal["ok", "degraded", "down", "unconfigured"]
BreakerState = Literal["closed", "open", "half_open"]

# A provider that failed within this window is reported "degraded" even after it recovers, so
# the status page does not flip to "ok" between two failures of a flaky provider.
DEGRADED_WINDOW_SECONDS = 300.0
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 8.0
# A longer Retry-After means the provider is saturated: better served by the next provider now.
MAX_HONOURED_RETRY_AFTER_SECONDS = 10.0
MAX_ERROR_CHARS = 160


class ProviderStatus(msgspec.Struct, kw_only=True):
    name: ProviderName
    model: str
    configured: bool
    state: ProviderState
    last_ok_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error: str | None = None


class AIStatus(msgspec.Struct, kw_only=True):
    """api.md "AI status": every provider in preference order and the one serving now."""

    providers: list[ProviderStatus]
    serving: ProviderName | None


class ChainExhausted(Exception):
    """Every provider was skipped or failed for one call."""

    def __init__(self, task: str, attempts: Sequence[tuple[ProviderName, str]]) -> None:
        self.task = task
        self.attempts = list(attempts)
        if attempts:
            reasons = "; ".join(f"{name}: {reason}" for name, reason in attempts)
            message = f"no AI provider could {task} ({reasons})"
        else:
            message = f"no AI provider could {task}: LLM_PROVIDERS lists none"
        super().__init__(message)


@runtime_checkable
class _EvaluationPromptVersioned(Protocol):
    @property
    def evaluation_prompt_version(self) -> str: ...


@runtime_checkable
class _Closable(Protocol):
    async def aclose(self) -> None: ...


@dataclass(slots=True)
class BreakerPermit:
    """Leave to make one call; `trial` marks the single probe call of a half-open breaker."""

    trial: bool
    settled: bool = False


class CircuitBreaker:
    """Closed → open after `failure_threshold` consecutive failed calls → half-open once
    `reset_seconds` have passed, when exactly one trial call is let through: its success closes
    the breaker, its failure opens it again for another `reset_seconds`."""

    def __init__(
        self,
        *,
        failure_threshold: int,
        reset_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("LLM_BREAKER_FAILURE_THRESHOLD must be at least 1")
        if reset_seconds < 0:
            raise ValueError("LLM_BREAKER_RESET_SECONDS must not be negative")
        self.failure_threshold = failure_threshold
        self.reset_seconds = reset_seconds
        self._clock = clock
        self.consecutive_failures = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.reset_seconds:
            return "half_open"
        return "open"

    @property
    def available(self) -> bool:
        """Whether `acquire()` would grant a permit now."""
        state = self.state
        return state == "closed" or (state == "half_open" and not self._trial_in_flight)

    def acquire(self) -> BreakerPermit | None:
        state = self.state
        if state == "closed":
            return BreakerPermit(trial=False)
        if state == "half_open" and not self._trial_in_flight:
            self._trial_in_flight = True
            return BreakerPermit(trial=True)
        return None

    def record_success(self, permit: BreakerPermit) -> None:
        if permit.settled:
            return
        permit.settled = True
        if permit.trial:
            self._trial_in_flight = False
            self._opened_at = None
            self.consecutive_failures = 0
        elif self._opened_at is None:
            self.consecutive_failures = 0
        # A slow call that started before the breaker opened says little about the provider
        # now; only the trial call may close an open breaker.

    def record_failure(self, permit: BreakerPermit) -> None:
        if permit.settled:
            return
        permit.settled = True
        if permit.trial:
            self._trial_in_flight = False
            self._opened_at = self._clock()
            return
        if self._opened_at is not None:
            return
        self.consecutive_failures += 1
        if self.consecutive_failures >= self.failure_threshold:
            self._opened_at = self._clock()

    def release(self, permit: BreakerPermit) -> None:
        """The call ended with no verdict (the consumer went away): free the trial slot."""
        if permit.settled:
            return
        permit.settled = True
        if permit.trial:
            self._trial_in_flight = False


@dataclass(slots=True)
class _Slot:
    provider: InterviewerProvider
    breaker: CircuitBreaker
    last_ok_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error: str | None = None
    last_failure_clock: float | None = None

    @property
    def name(self) -> ProviderName:
        return self.provider.name


class _ProviderFailed(Exception):
    def __init__(self, summary: str, *, emitted: bool) -> None:
        self.summary = summary
        self.emitted = emitted
        super().__init__(summary)


@dataclass(frozen=True, slots=True)
class _Failure:
    summary: str
    retryable: bool
    retry_after: float | None = None


def _describe(exc: Exception) -> _Failure:
    if isinstance(exc, ProviderError):
        return _Failure(exc.summary, exc.retryable, exc.retry_after)
    if isinstance(exc, StructuredOutputError):
        return _Failure(f"invalid {exc.output_name} JSON after one repair attempt", retryable=False)
    return _Failure(f"unexpected error ({type(exc).__name__})", retryable=False)


def _utc_now() -> datetime:
    return datetime.now(UTC)


async def _close_iterator(iterator: AsyncIterator[str]) -> None:
    close = getattr(iterator, "aclose", None)
    if close is not None:
        await close()


def _check_scores(provider: ProviderName, scores: EvaluationScores) -> EvaluationScores:
    missing = [name for name in CRITERIA if name not in scores.criteria]
    if missing:
        raise ProviderError(
            f"scores missing criteria {', '.join(missing)}", provider=provider, retryable=False
        )
    criteria = {name: round(min(10.0, max(0.0, float(scores.criteria[name]))), 1) for name in CRITERIA}
    return EvaluationScores(
        criteria=criteria,
        strengths=scores.strengths,
        improvements=scores.improvements,
        covered_points=scores.covered_points,
        missed_points=scores.missed_points,
    )


class ProviderChain:
    """Serves interviewer calls from the first provider that can, in preference order."""

    def __init__(
        self,
        providers: Sequence[InterviewerProvider],
        settings: Settings,
        *,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = _utc_now,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._slots = [
            _Slot(
                provider=provider,
                breaker=CircuitBreaker(
                    failure_threshold=settings.llm_breaker_failure_threshold,
                    reset_seconds=settings.llm_breaker_reset_seconds,
                    clock=clock,
                ),
            )
            for provider in providers
        ]
        self._first_piece_timeout = settings.llm_first_token_timeout_seconds
        self._total_timeout = settings.llm_total_timeout_seconds
        self._max_retries = max(0, settings.llm_max_retries)
        self._clock = clock
        self._now = now
        self._sleep = sleep
        self._jitter = jitter

    @property
    def providers(self) -> list[InterviewerProvider]:
        return [slot.provider for slot in self._slots]

    # -- status ---------------------------------------------------------------------------

    def _state(self, slot: _Slot) -> ProviderState:
        if not slot.provider.configured:
            return "unconfigured"
        if slot.breaker.state != "closed":
            return "down"
        recently_failed = (
            slot.last_failure_clock is not None
            and self._clock() - slot.last_failure_clock < DEGRADED_WINDOW_SECONDS
        )
        if slot.breaker.consecutive_failures or recently_failed:
            return "degraded"
        return "ok"

    def status(self) -> AIStatus:
        providers = [
            ProviderStatus(
                name=slot.name,
                model=slot.provider.model,
                configured=slot.provider.configured,
                state=self._state(slot),
                last_ok_at=slot.last_ok_at,
                last_error_at=slot.last_error_at,
                last_error=slot.last_error,
            )
            for slot in self._slots
        ]
        serving = next(
            (slot.name for slot in self._slots if slot.provider.configured and slot.breaker.available), None
        )
        return AIStatus(providers=providers, serving=serving)

    def supports_language(self, language: str) -> bool:
        """Whether any configured provider can hold an interview in `language` (BCP 47)."""
        return any(
            slot.provider.configured and slot.provider.supports_language(language) for slot in self._slots
        )

    # -- bookkeeping ----------------------------------------------------------------------

    def _admit(
        self, slot: _Slot, language: str | None, skipped: list[tuple[ProviderName, str]]
    ) -> BreakerPermit | None:
        if not slot.provider.configured:
            skipped.append((slot.name, "unconfigured"))
            return None
        if language is not None and not slot.provider.supports_language(language):
            skipped.append((slot.name, f"does not support language {language!r}"))
            return None
        permit = slot.breaker.acquire()
        if permit is None:
            skipped.append((slot.name, "circuit breaker open"))
        return permit

    def _succeeded(self, slot: _Slot, permit: BreakerPermit) -> None:
        slot.breaker.record_success(permit)
        slot.last_ok_at = self._now()

    def _failed(
        self, slot: _Slot, permit: BreakerPermit, task: str, failure: _Failure, *, emitted: bool
    ) -> None:
        slot.breaker.record_failure(permit)
        slot.last_error_at = self._now()
        slot.last_error = failure.summary[:MAX_ERROR_CHARS]
        slot.last_failure_clock = self._clock()
        logger.warning(
            "llm_provider_failed",
            provider=slot.name,
            task=task,
            error=slot.last_error,
            after_first_piece=emitted,
            breaker=slot.breaker.state,
        )

    async def _back_off_or_fail(
        self, slot: _Slot, permit: BreakerPermit, task: str, exc: Exception, attempt: int, deadline: float
    ) -> None:
        """Before anything was emitted: wait before retrying the same provider, or record the
        failure and raise so that the next provider takes over."""
        failure = _describe(exc)
        delay = self._retry_delay(failure, attempt, deadline)
        if delay is None:
            self._failed(slot, permit, task, failure, emitted=False)
            raise _ProviderFailed(failure.summary, emitted=False) from exc
        logger.info(
            "llm_retrying", provider=slot.name, task=task, error=failure.summary, delay=round(delay, 2)
        )
        await self._sleep(delay)

    def _retry_delay(self, failure: _Failure, attempt: int, deadline: float) -> float | None:
        if not failure.retryable or attempt >= self._max_retries:
            return None
        if failure.retry_after is not None:
            if failure.retry_after > MAX_HONOURED_RETRY_AFTER_SECONDS:
                return None
            delay = failure.retry_after
        else:
            ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)
            delay = ceiling / 2 + self._jitter() * ceiling / 2
        if asyncio.get_running_loop().time() + delay >= deadline:
            return None
        return delay

    async def _next_piece(
        self, slot: _Slot, iterator: AsyncIterator[str], deadline: float, timeout_summary: str
    ) -> str | None:
        """The next non-empty piece, or None at the end of the stream."""
        while True:
            timer = asyncio.timeout_at(deadline)
            try:
                async with timer:
                    piece = await anext(iterator)
            except StopAsyncIteration:
                return None
            except TimeoutError:
                if timer.expired():
                    raise ProviderError(timeout_summary, provider=slot.name, retryable=True) from None
                raise
            if piece:
                return piece

    # -- one provider ---------------------------------------------------------------------

    async def _run_stream(
        self,
        slot: _Slot,
        permit: BreakerPermit,
        task: str,
        open_stream: Callable[[], AsyncIterator[str]],
    ) -> AsyncGenerator[str, None]:
        """Stream one provider's text, retrying before the first piece; raise `_ProviderFailed`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._total_timeout
        total_summary = f"no complete reply within {self._total_timeout:g}s"
        attempt = 0
        try:
            while True:
                first_deadline = min(deadline, loop.time() + self._first_piece_timeout)
                first_summary = (
                    f"no first piece within {self._first_piece_timeout:g}s"
                    if first_deadline < deadline
                    else total_summary
                )
                iterator: AsyncIterator[str] | None = None
                try:
                    iterator = open_stream()
                    first = await self._next_piece(slot, iterator, first_deadline, first_summary)
                    if first is None:
                        raise ProviderError("empty reply", provider=slot.name, retryable=False)
                except Exception as exc:
                    if iterator is not None:
                        await _close_iterator(iterator)
                    await self._back_off_or_fail(slot, permit, task, exc, attempt, deadline)
                    attempt += 1
                    continue
                break
            try:
                yield first
                while (piece := await self._next_piece(slot, iterator, deadline, total_summary)) is not None:
                    yield piece
            except Exception as exc:
                failure = _describe(exc)
                self._failed(slot, permit, task, failure, emitted=True)
                raise _ProviderFailed(failure.summary, emitted=True) from exc
            finally:
                await _close_iterator(iterator)
            self._succeeded(slot, permit)
        finally:
            slot.breaker.release(permit)

    async def _run_call(
        self, slot: _Slot, permit: BreakerPermit, task: str, make_call: Callable[[], Awaitable[T]]
    ) -> T:
        """One provider's non-streamed call with retries and the total timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._total_timeout
        attempt = 0
        try:
            while True:
                timer = asyncio.timeout_at(deadline)
                try:
                    async with timer:
                        result = await make_call()
                except Exception as exc:
                    if isinstance(exc, TimeoutError) and timer.expired():
                        exc = ProviderError(
                            f"no complete reply within {self._total_timeout:g}s",
                            provider=slot.name,
                            retryable=False,
                        )
                    await self._back_off_or_fail(slot, permit, task, exc, attempt, deadline)
                    attempt += 1
                    continue
                self._succeeded(slot, permit)
                return result
        finally:
            slot.breaker.release(permit)

    # -- public calls ---------------------------------------------------------------------

    async def stream_question(self, ctx: QuestionContext) -> AsyncIterator[StreamPiece]:
        """Stream the question text; on a mid-stream failure the next provider restarts it."""
        attempts: list[tuple[ProviderName, str]] = []
        emitted_before = False
        for slot in self._slots:
            permit = self._admit(slot, ctx.language, attempts)
            if permit is None:
                continue
            first_of_run = True
            try:
                run = self._run_stream(slot, permit, "question", partial(slot.provider.stream_question, ctx))
                async with aclosing(run):
                    async for text in run:
                        yield StreamPiece(
                            text=text,
                            provider=slot.name,
                            model=slot.provider.model,
                            restart=first_of_run and emitted_before,
                        )
                        first_of_run = False
                return
            except _ProviderFailed as failed:
                attempts.append((slot.name, failed.summary))
                emitted_before = emitted_before or not first_of_run
        raise ChainExhausted("ask the question", attempts)

    async def stream_evaluation(self, request: EvaluationRequest) -> AsyncIterator[StreamPiece | Evaluation]:
        """Stream feedback prose, then yield exactly one `Evaluation` from the same provider.

        When scoring fails after the feedback streamed, the whole evaluation restarts on the
        next provider, so feedback and scores always come from one provider."""
        attempts: list[tuple[ProviderName, str]] = []
        emitted_before = False
        for slot in self._slots:
            permit = self._admit(slot, request.language, attempts)
            if permit is None:
                continue
            first_of_run = True
            pieces: list[str] = []
            try:
                run = self._run_stream(
                    slot, permit, "feedback", partial(slot.provider.stream_feedback, request)
                )
                async with aclosing(run):
                    async for text in run:
                        yield StreamPiece(
                            text=text,
                            provider=slot.name,
                            model=slot.provider.model,
                            restart=first_of_run and emitted_before,
                        )
                        first_of_run = False
                        pieces.append(text)
                feedback = "".join(pieces)
                scoring_permit = slot.breaker.acquire()
                if scoring_permit is None:
                    raise _ProviderFailed("circuit breaker open before scoring", emitted=True)
                scores = await self._run_call(
                    slot, scoring_permit, "scores", partial(self._scores, slot, request, feedback)
                )
            except _ProviderFailed as failed:
                attempts.append((slot.name, failed.summary))
                emitted_before = emitted_before or not first_of_run
                continue
            provider = slot.provider
            yield Evaluation(
                score=overall_score(scores.criteria),
                criteria=scores.criteria,
                feedback=feedback,
                strengths=scores.strengths,
                improvements=scores.improvements,
                covered_points=scores.covered_points,
                missed_points=scores.missed_points,
                provider=slot.name,
                model=provider.model,
                prompt_version=(
                    provider.evaluation_prompt_version
                    if isinstance(provider, _EvaluationPromptVersioned)
                    else ""
                ),
            )
            return
        raise ChainExhausted("evaluate the answer", attempts)

    async def _scores(self, slot: _Slot, request: EvaluationRequest, feedback: str) -> EvaluationScores:
        return _check_scores(slot.name, await slot.provider.score_answer(request, feedback))

    async def structure_resume(self, text: str) -> tuple[Profile, ProviderName, str]:
        """Structure resume text with the first provider that succeeds: (profile, provider, model)."""
        if not text.strip():
            raise EmptyInputError("resume text is empty")
        attempts: list[tuple[ProviderName, str]] = []
        for slot in self._slots:
            permit = self._admit(slot, None, attempts)
            if permit is None:
                continue
            try:
                profile = await self._run_call(
                    slot, permit, "resume", partial(slot.provider.structure_resume, text)
                )
            except _ProviderFailed as failed:
                attempts.append((slot.name, failed.summary))
                continue
            return profile, slot.name, slot.provider.model
        raise ChainExhausted("structure the resume", attempts)

    async def aclose(self) -> None:
        for slot in self._slots:
            if isinstance(slot.provider, _Closable):
                await slot.provider.aclose()


def build_chain(settings: Settings) -> ProviderChain:
    """The chain `LLM_PROVIDERS` describes; providers without a key stay in it as unconfigured."""
    providers: list[InterviewerProvider] = []
    seen: set[str] = set()
    for name in settings.llm_providers:
        if name in seen:
            raise SettingsError(f"LLM_PROVIDERS lists {name!r} more than once")
        seen.add(name)
        if name == "openai":
            providers.append(OpenAIProvider(settings))
        elif name == "gemini":
            providers.append(GeminiProvider(settings))
        elif name == "offline":
            providers.append(
                OfflineProvider(
                    tokens_per_second=settings.offline_tokens_per_second, seed=settings.offline_seed
                )
            )
        else:
            raise SettingsError(f"LLM_PROVIDERS names an unknown provider: {name!r}")
    return ProviderChain(providers, settings)
