"""The OpenAI interviewer: streamed chat completions, strict JSON-schema structured output."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

import httpx
import openai
from openai.types.chat import ChatCompletionMessageParam

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

REFUSAL_SUMMARY = "the model refused to answer"


class OpenAIProvider(ModelBackedProvider):
    name: ProviderName = "openai"

    def __init__(self, settings: Settings, *, http_client: httpx.AsyncClient | None = None) -> None:
        super().__init__(api_key=settings.openai_api_key, model=settings.openai_model)
        self._settings = settings
        self._injected_http_client = http_client
        self._client: openai.AsyncOpenAI | None = None

    def _sdk(self) -> openai.AsyncOpenAI:
        self._require_configured()
        if self._client is None:
            http_client = self._injected_http_client or build_http_client(self._settings)
            self._client = openai.AsyncOpenAI(
                api_key=self._api_key,
                base_url=self._settings.openai_base_url or None,
                max_retries=0,
                # The SDK is annotated for httpx2 but accepts a classic httpx client at runtime
                # (see openai._httpx2.is_legacy_httpx_async_client); its timeouts are used.
                http_client=cast(Any, http_client),
            )
        return self._client

    def _messages(self, system: str, turns: Sequence[ChatTurn]) -> list[ChatCompletionMessageParam]:
        messages: list[ChatCompletionMessageParam] = []
        if system:
            messages.append({"role": "system", "content": system})
        for turn in turns:
            if turn.role == "user":
                messages.append({"role": "user", "content": turn.text})
            else:
                messages.append({"role": "assistant", "content": turn.text})
        return messages

    def _translate(self, exc: Exception) -> ProviderError:
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            return ProviderError(
                status_summary(status),
                provider=self.name,
                retryable=is_retryable_status(status),
                status=status,
                retry_after=parse_retry_after(exc.response.headers),
            )
        if isinstance(exc, openai.APITimeoutError):
            return ProviderError("request timed out", provider=self.name, retryable=True)
        if isinstance(exc, openai.APIConnectionError):
            return ProviderError("connection failed", provider=self.name, retryable=True)
        if isinstance(exc, openai.APIError):
            # An error event inside an otherwise successful stream: a server-side failure.
            return ProviderError("error event in the response stream", provider=self.name, retryable=True)
        if isinstance(exc, httpx.TimeoutException):
            return ProviderError("request timed out", provider=self.name, retryable=True)
        if isinstance(exc, httpx.HTTPError):
            return ProviderError(
                f"connection failed ({type(exc).__name__})", provider=self.name, retryable=True
            )
        return ProviderError(
            f"unexpected SDK error ({type(exc).__name__})", provider=self.name, retryable=False
        )

    async def _stream_text(self, prompt: RenderedPrompt) -> AsyncIterator[str]:
        client = self._sdk()
        try:
            stream = await client.chat.completions.create(
                model=self.model,
                messages=self._messages(prompt.system, [ChatTurn("user", prompt.user)]),
                stream=True,
            )
            async with stream:
                async for chunk in stream:
                    for choice in chunk.choices:
                        if choice.index != 0:
                            continue
                        if choice.delta.refusal:
                            raise ProviderError(REFUSAL_SUMMARY, provider=self.name, retryable=False)
                        if choice.finish_reason == "content_filter":
                            raise ProviderError(
                                "the reply was stopped by the content filter",
                                provider=self.name,
                                retryable=False,
                            )
                        if choice.delta.content:
                            yield choice.delta.content
        except (openai.OpenAIError, httpx.HTTPError) as exc:
            raise self._translate(exc) from exc

    async def _complete_json(
        self, system: str, turns: Sequence[ChatTurn], output: StructuredOutput[Any]
    ) -> str:
        client = self._sdk()
        try:
            completion = await client.chat.completions.create(
                model=self.model,
                messages=self._messages(system, turns),
                response_format=cast(Any, output.openai_response_format()),
            )
        except (openai.OpenAIError, httpx.HTTPError) as exc:
            raise self._translate(exc) from exc
        if not completion.choices:
            raise ProviderError("the reply had no choices", provider=self.name, retryable=False)
        message = completion.choices[0].message
        if message.refusal:
            raise ProviderError(REFUSAL_SUMMARY, provider=self.name, retryable=False)
        return message.content or ""

    async def aclose(self) -> None:
        # An injected HTTP client belongs to whoever injected it.
        if self._client is not None and self._injected_http_client is None:
            await self._client.close()
        self._client = None
