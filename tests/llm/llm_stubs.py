"""Stand-ins for the OpenAI and Gemini HTTP APIs, built from what the real endpoints send.

The SDKs run unmodified; respx intercepts their requests at the httpcore layer, so these helpers
only shape HTTP responses: server-sent event streams, JSON bodies, slow or broken streams.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any
from uuid import UUID

import httpx

from server.core.settings import Settings
from server.llm.types import EvaluationRequest, KeyPoint, QuestionBrief, QuestionContext

OPENAI_KEY = "sk-test-openai-0123456789abcdef"
GEMINI_KEY = "gm-test-gemini-0123456789abcdef"
OPENAI_MODEL = "gpt-4o-mini"
GEMINI_MODEL = "gemini-2.0-flash"
OPENAI_URL = "https://api.openai.com/v1/chat/completions"
GEMINI_BASE = f"https://generativelanguage.googleapis.com/v1/models/{GEMINI_MODEL}"
GEMINI_STREAM_URL = f"{GEMINI_BASE}:streamGenerateContent"
GEMINI_JSON_URL = f"{GEMINI_BASE}:generateContent"
SSE_HEADERS = {"content-type": "text/event-stream"}


def llm_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "llm_providers": ["openai", "gemini"],
        "openai_api_key": OPENAI_KEY,
        "openai_model": OPENAI_MODEL,
        "gemini_api_key": GEMINI_KEY,
        "gemini_model": GEMINI_MODEL,
        "llm_connect_timeout_seconds": 3.0,
        "llm_first_token_timeout_seconds": 5.0,
        "llm_total_timeout_seconds": 20.0,
        "llm_max_retries": 2,
        "llm_breaker_failure_threshold": 3,
        "llm_breaker_reset_seconds": 30.0,
    }
    values.update(overrides)
    return Settings(**values)


# ---- OpenAI ----------------------------------------------------------------------------------


def openai_chunk(text: str | None, *, finish: str | None = None) -> bytes:
    delta: dict[str, Any] = {} if text is None else {"content": text}
    body = {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 1_790_000_000,
        "model": OPENAI_MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n".encode()


def openai_sse(*texts: str) -> bytes:
    return (
        b"".join(openai_chunk(text) for text in texts)
        + openai_chunk(None, finish="stop")
        + b"data: [DONE]\n\n"
    )


def openai_stream_response(*texts: str) -> httpx.Response:
    return httpx.Response(200, headers=SSE_HEADERS, content=openai_sse(*texts))


def openai_json_response(content: str, *, refusal: str | None = None) -> httpx.Response:
    body = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_790_000_000,
        "model": OPENAI_MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": None if refusal else content, "refusal": refusal},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }
    return httpx.Response(200, json=body)


def openai_error(
    status: int, message: str = "error", headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(
        status, json={"error": {"message": message, "type": "test_error", "code": None}}, headers=headers
    )


# ---- Gemini ----------------------------------------------------------------------------------


def gemini_chunk(text: str, *, finish: str | None = None) -> bytes:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    return f"data: {json.dumps({'candidates': [candidate], 'modelVersion': GEMINI_MODEL})}\r\n\r\n".encode()


def gemini_sse(*texts: str) -> bytes:
    return b"".join(
        gemini_chunk(text, finish="STOP" if i == len(texts) - 1 else None) for i, text in enumerate(texts)
    )


def gemini_stream_response(*texts: str) -> httpx.Response:
    return httpx.Response(200, headers=SSE_HEADERS, content=gemini_sse(*texts))


def gemini_json_response(text: str) -> httpx.Response:
    body = {
        "candidates": [
            {"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP", "index": 0}
        ],
        "modelVersion": GEMINI_MODEL,
    }
    return httpx.Response(200, json=body)


def gemini_error(status: int, message: str = "error", details: Sequence[Any] = ()) -> httpx.Response:
    statuses = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL"}
    body = {"error": {"code": status, "message": message, "status": statuses.get(status, "UNKNOWN")}}
    if details:
        body["error"]["details"] = list(details)
    return httpx.Response(status, json=body)


# ---- streams that misbehave ------------------------------------------------------------------


class ScriptedStream(httpx.AsyncByteStream):
    """A response body played step by step: bytes are sent, floats are pauses (seconds), an
    exception is raised where it stands, as when the connection drops mid-body."""

    def __init__(self, steps: Sequence[bytes | float | Exception]) -> None:
        self.steps = list(steps)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for step in self.steps:
            if isinstance(step, Exception):
                raise step
            if isinstance(step, float):
                await asyncio.sleep(step)
            else:
                yield step

    async def aclose(self) -> None:
        return None


def scripted_response(*steps: bytes | float | Exception) -> httpx.Response:
    return httpx.Response(200, headers=SSE_HEADERS, stream=ScriptedStream(steps))


def connection_dropped() -> httpx.ReadError:
    return httpx.ReadError("peer closed connection without sending complete message body")


# ---- clock and sleep -------------------------------------------------------------------------


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RecordedSleep:
    """Records the delays the chain asks for instead of waiting them out."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


# ---- task inputs -----------------------------------------------------------------------------

BRIEF = QuestionBrief(
    id=UUID("0b6f7d4e-2c1a-4f3e-9d8b-7a6c5e4d3b2a"),
    slug="idempotent-payments",
    track="backend",
    difficulty=3,
    topic="api-design",
    tags=["payments", "http"],
    style="technical",
    text="How would you make a payment endpoint safe to retry?",
    key_points=[
        KeyPoint(label="idempotency keys", terms=["idempotency key", "idempotent"]),
        KeyPoint(label="stored outcomes", terms=["store the result", "replay"]),
        KeyPoint(label="concurrent duplicates", terms=["lock", "unique constraint"]),
    ],
    model_answer=["Client sends an idempotency key", "Server stores the outcome per key"],
)


def question_context(**overrides: Any) -> QuestionContext:
    values: dict[str, Any] = {"brief": BRIEF, "kind": "core", "index": 2, "total": 5, "language": "en"}
    values.update(overrides)
    return QuestionContext(**values)


def evaluation_request(**overrides: Any) -> EvaluationRequest:
    values: dict[str, Any] = {
        "brief": BRIEF,
        "question_text": BRIEF.text,
        "answer": "I would require an idempotency key and store the result for each key.",
    }
    values.update(overrides)
    return EvaluationRequest(**values)


def scores_json(**criteria: float) -> str:
    values = {"relevance": 8, "depth": 6, "structure": 7, "communication": 8, "specificity": 5}
    values.update(criteria)
    return json.dumps(
        {
            "criteria": values,
            "strengths": ["Named idempotency keys"],
            "improvements": ["Explain concurrent duplicates"],
            "covered_points": ["idempotency keys", "stored outcomes"],
            "missed_points": ["concurrent duplicates"],
        }
    )


def request_json(request: httpx.Request) -> Any:
    return json.loads(request.content)
