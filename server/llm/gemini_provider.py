"""The Gemini interviewer: `generate_content_stream` for prose, JSON mode with a schema for scores."""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from typing import Any

import httpx
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types

from server.core.settings import Settings
from server.llm.model_backed import (
    ChatTurn,
    ModelBackedProvider,
    ProviderError,
    build_http_client,
    is_retryable_status,
    parse_retry_after,
    status_summary,
)
from server.llm.prompts import RenderedPrompt
from server.llm.schema import StructuredOutput
from server.llm.types import ProviderName

_RETRY_DELAY = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)s\s*$")


def _retry_info_delay(details: Any) -> float | None:
    """Gemini puts the server's suggested wait in a `google.rpc.RetryInfo` error detail."""
    error = details.get("error", details) if isinstance(details, Mapping) else None
    entries = error.get("details") if isinstance(error, Mapping) else None
    if not isinstance(entries, list):
        return None
    for entry in entries:
        if isinstance(entry, Mapping) and str(entry.get("@type", "")).endswith("RetryInfo"):
            match = _RETRY_DELAY.match(str(entry.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    return None


class GeminiProvider(ModelBackedProvider):
    name: ProviderName = "gemini"

    def __init__(self, settings: Settings, *, http_client: httpx.AsyncClient | None = None) -> None:
        super().__init__(api_key=settings.gemini_api_key, model=settings.gemini_model)
        self._settings = settings
        self._injected_http_client = http_client
        self._owned_http_client: httpx.AsyncClient | None = None
        self._client: genai.Client | None = None

    def _sdk(self) -> genai.client.AsyncClient:
        self._require_configured()
        if self._client is None:
            http_client = self._injected_http_client
            if http_client is None:
                http_client = self._owned_http_client = build_http_client(self._settings)
            self._client = genai.Client(
                api_key=self._api_key,
                http_options=genai_types.HttpOptions(
                    httpx_async_client=http_client,
                    retry_options=genai_types.HttpRetryOptions(attempts=1),
                ),
            )
        return self._client.aio

    @staticmethod
    def _contents(turns: Sequence[ChatTurn]) -> list[genai_types.Content]:
        return [
            genai_types.Content(role=turn.role, parts=[genai_types.Part(text=turn.text)]) for turn in turns
        ]

    def _translate(self, exc: Exception) -> ProviderError:
        if isinstance(exc, genai_errors.APIError):
            status = int(exc.code) if exc.code else 0
            headers = getattr(exc.response, "headers", None)
            retry_after = parse_retry_after(headers) if isinstance(headers, Mapping) else None
            if retry_after is None:
                retry_after = _retry_info_delay(exc.details)
            return ProviderError(
                status_summary(status) if status else "API error without a status code",
                provider=self.name,
                retryable=is_retryable_status(status) if status else True,
                status=status or None,
                retry_after=retry_after,
            )
        if isinstance(exc, httpx.TimeoutException):
            return ProviderError("request timed out", provider=self.name, retryable=True)
        if isinstance(exc, httpx.HTTPError):
            return ProviderError(
                f"connection failed ({type(exc).__name__})", provider=self.name, retryable=True
            )
        if isinstance(exc, genai_errors.UnknownApiResponseError):
            return ProviderError("unreadable response from the API", provider=self.name, retryable=True)
        return ProviderError(
            f"unexpected SDK error ({type(exc).__name__})", provider=self.name, retryable=False
        )

    def _check_blocked(self, response: genai_types.GenerateContentResponse) -> None:
        feedback = response.prompt_feedback
        if feedback is not None and feedback.block_reason is not None:
            raise ProviderError(
                f"prompt blocked by the safety filter ({feedback.block_reason.value})",
                provider=self.name,
                retryable=False,
            )

    async def _stream_text(self, prompt: RenderedPrompt) -> AsyncIterator[str]:
        client = self._sdk()
        stream: AsyncIterator[genai_types.GenerateContentResponse] | None = None
        try:
            stream = await client.models.generate_content_stream(
                model=self.model,
                contents=self._contents([ChatTurn("user", prompt.user)]),
                config=genai_types.GenerateContentConfig(system_instruction=prompt.system or None),
            )
            async for chunk in stream:
                self._check_blocked(chunk)
                text = chunk.text
                if text:
                    yield text
        except (genai_errors.APIError, genai_errors.UnknownApiResponseError, httpx.HTTPError) as exc:
            raise self._translate(exc) from exc
        finally:
            # Closing the SDK's generator releases the HTTP response when we stop early.
            if isinstance(stream, AsyncGenerator):
                await stream.aclose()

    async def _complete_json(
        self, system: str, turns: Sequence[ChatTurn], output: StructuredOutput[Any]
    ) -> str:
        client = self._sdk()
        try:
            response = await client.models.generate_content(
                model=self.model,
                contents=self._contents(turns),
                config=genai_types.GenerateContentConfig(
                    system_instruction=system or None,
                    response_mime_type="application/json",
                    response_json_schema=output.gemini_schema,
                ),
            )
        except (genai_errors.APIError, genai_errors.UnknownApiResponseError, httpx.HTTPError) as exc:
            raise self._translate(exc) from exc
        self._check_blocked(response)
        return response.text or ""

    async def aclose(self) -> None:
        if self._client is not None:
            # The SDK also builds a synchronous client we never use; release its pool.
            self._client.close()
        if self._owned_http_client is not None:
            await self._owned_http_client.aclose()
        self._owned_http_client = None
        self._client = None
