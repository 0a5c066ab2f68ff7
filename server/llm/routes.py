"""`GET /ai/status`: which AI providers are configured, healthy, and serving (api.md "AI status")."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example

from server.llm.chain import AIStatus, ProviderChain, ProviderStatus

_EXAMPLE_STATUS = AIStatus(
    providers=[
        ProviderStatus(
            name="openai",
            model="gpt-4o-mini",
            configured=True,
            state="down",
            last_ok_at=datetime(2026, 11, 21, 9, 58, 12, tzinfo=UTC),
            last_error_at=datetime(2026, 11, 21, 10, 0, 3, tzinfo=UTC),
            last_error="HTTP 503: server error",
        ),
        ProviderStatus(
            name="gemini",
            model="gemini-2.0-flash",
            configured=True,
            state="ok",
            last_ok_at=datetime(2026, 11, 21, 10, 0, 4, tzinfo=UTC),
        ),
        ProviderStatus(name="offline", model="offline-heuristic-v1", configured=True, state="ok"),
    ],
    serving="gemini",
)


class AIStatusController(Controller):
    path = "/ai"
    tags = ["AI"]

    @get(
        "/status",
        summary="AI provider status",
        description=(
            "Every AI provider in preference order (`LLM_PROVIDERS`) with its health: `ok`; "
            "`degraded` (failed recently, still in use); `down` (its circuit breaker is open after "
            "repeated failures, so calls skip it until a trial call succeeds); `unconfigured` (no API "
            "key). `last_error` is a short description without secrets. `serving` names the provider "
            "the next call would use, or null when none can serve."
        ),
        responses={
            200: ResponseSpec(
                data_container=AIStatus,
                description="Provider health, in preference order",
                examples=[
                    Example(
                        summary="OpenAI failing, Gemini serving",
                        value=msgspec.to_builtins(_EXAMPLE_STATUS),
                    )
                ],
            )
        },
        raises=[NotAuthorizedException],
        sync_to_thread=False,
    )
    def status(self, llm: NamedDependency[ProviderChain]) -> AIStatus:
        return llm.status()
