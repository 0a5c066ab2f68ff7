"""Liveness and readiness probes (public, outside /api/v1)."""

from __future__ import annotations

import asyncio
from typing import Literal

import msgspec
from litestar import Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from redis.asyncio import Redis

from server import __version__
from server.core.db import check_database
from server.core.logging import get_logger

log = get_logger(__name__)
CHECK_TIMEOUT_SECONDS = 2.0

CheckState = Literal["ok", "error"]


class Health(msgspec.Struct):
    status: Literal["ok"]
    version: str


class Readiness(msgspec.Struct):
    status: Literal["ready", "unavailable"]
    checks: dict[str, CheckState]


@get(
    "/health",
    summary="Liveness probe",
    description="Answers 200 while the process runs. Does not touch the database or Redis.",
    tags=["health"],
    exclude_from_auth=True,
    opt={"skip_rate_limit": True},
)
async def health() -> Health:
    return Health(status="ok", version=__version__)


@get(
    "/ready",
    summary="Readiness probe",
    description=(
        "Checks PostgreSQL and Redis with a short timeout. 200 when both answer; 503 with the "
        "failing check named otherwise."
    ),
    tags=["health"],
    exclude_from_auth=True,
    opt={"skip_rate_limit": True},
    responses={503: ResponseSpec(data_container=Readiness, description="A dependency is down")},
)
async def ready(redis: NamedDependency[Redis]) -> Response[Readiness]:
    async def database() -> CheckState:
        try:
            await check_database(CHECK_TIMEOUT_SECONDS)
        except Exception as exc:
            log.warning("readiness_database_failed", error=type(exc).__name__)
            return "error"
        return "ok"

    async def redis_check() -> CheckState:
        try:
            await asyncio.wait_for(redis.ping(), CHECK_TIMEOUT_SECONDS)
        except Exception as exc:
            log.warning("readiness_redis_failed", error=type(exc).__name__)
            return "error"
        return "ok"

    db_state, redis_state = await asyncio.gather(database(), redis_check())
    checks: dict[str, CheckState] = {"database": db_state, "redis": redis_state}
    healthy = all(state == "ok" for state in checks.values())
    return Response(
        Readiness(status="ready" if healthy else "unavailable", checks=checks),
        status_code=200 if healthy else 503,
    )
