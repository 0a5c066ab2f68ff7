"""Rate limits shared by every server process, answering 429 problem details with Retry-After.

Built on Litestar's RateLimitMiddleware and its config (route exclusion through `opt`, the
per-request identifier), with the off switch (RATE_LIMIT_ENABLED) and the counting replaced:
Litestar reads and writes a history under a lock that only serialises requests within one
process, so processes sharing a Redis store overwrite each other's counts, and it sends no
Retry-After. Here one Lua script checks and records each request atomically in Redis (a
sliding window), and the same function serves limits keyed by something only the handler knows
(the email of a forgot-password request).
"""

from __future__ import annotations

import hashlib
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from litestar.middleware.rate_limit import (
    DURATION_VALUES,
    DurationUnit,
    RateLimitConfig,
    RateLimitMiddleware,
)

from server.core.errors import ApiError

if TYPE_CHECKING:
    from litestar import Request
    from litestar.types import Receive, Scope, Send
    from redis.asyncio import Redis

    from server.core.settings import Settings

_KEY_PREFIX = "interviewace:ratelimit"

# Sliding window log: one sorted-set member per accepted request, scored by Redis' own clock so
# that processes with skewed clocks agree. Refused requests are not recorded, so a client that
# keeps hammering is let in again as soon as its oldest accepted request leaves the window.
_SLIDING_WINDOW = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
"""


class RateLimited(ApiError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(
            f"Too many requests; try again in {retry_after_seconds} s.",
            headers={"Retry-After": str(retry_after_seconds)},
        )


@dataclass(frozen=True)
class RateRule:
    name: str
    unit: DurationUnit
    limit: int

    @property
    def window_seconds(self) -> int:
        return DURATION_VALUES[self.unit]


LOGIN_PER_IP = RateRule("login", "minute", 10)
REGISTER_PER_IP = RateRule("register", "minute", 5)
FORGOT_PASSWORD_PER_EMAIL = RateRule("forgot-password", "hour", 3)
API_PER_USER = RateRule("api", "minute", 120)


async def consume(redis: Redis, rule: RateRule, identifier: str) -> int | None:
    """Count one request against `rule` for `identifier`: None when allowed, else the seconds to
    wait before the next one would be."""
    key = f"{_KEY_PREFIX}:{rule.name}:{identifier}"
    script = redis.register_script(_SLIDING_WINDOW)
    wait_ms = int(await script(keys=[key], args=[rule.window_seconds * 1000, rule.limit, uuid.uuid4().hex]))
    return None if wait_ms == 0 else math.ceil(wait_ms / 1000)


async def enforce(redis: Redis, settings: Settings, rule: RateRule, identifier: str) -> None:
    if not settings.rate_limit_enabled:
        return
    retry_after = await consume(redis, rule, identifier)
    if retry_after is not None:
        raise RateLimited(retry_after)


def hashed_identifier(value: str) -> str:
    """For identifiers that are personal data (emails): Redis keys should not spell them out."""
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def client_address(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


def user_or_address(request: Request[Any, Any, Any]) -> str:
    user = request.scope.get("user")
    user_id = getattr(user, "id", None)
    return f"user:{user_id}" if user_id is not None else f"ip:{client_address(request)}"


class SharedRateLimitMiddleware(RateLimitMiddleware):
    config: SharedRateLimitConfig

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = scope["litestar_app"]
        # The switch is read here rather than through Litestar's `check_throttle_handler`: that
        # needs a Request built first, and a sync handler there runs in a worker thread, a thread
        # hop on every request even with limits off.
        settings: Settings = app.state.settings
        if settings.rate_limit_enabled:
            request: Request[Any, Any, Any] = app.request_class(scope)
            identifier = self.get_identifier_for_request(request)
            retry_after = await consume(app.state.redis, self.config.rule, identifier)
            if retry_after is not None:
                raise RateLimited(retry_after)
        await self.app(scope, receive, send)


@dataclass
class SharedRateLimitConfig(RateLimitConfig):
    rule: RateRule = API_PER_USER


def rate_limit(
    rule: RateRule,
    identify: Callable[[Request[Any, Any, Any]], str],
    *,
    exclude_opt_key: str | None = None,
) -> SharedRateLimitConfig:
    return SharedRateLimitConfig(
        rate_limit=(rule.unit, rule.limit),
        rule=rule,
        identifier_for_request=identify,
        exclude_opt_key=exclude_opt_key,
        middleware_class=SharedRateLimitMiddleware,
        set_rate_limit_headers=False,
    )


# Routes with a limit of their own set this opt so the general per-user limit skips them.
OWN_RATE_LIMIT_OPT = "own_rate_limit"
login_rate_limit = rate_limit(LOGIN_PER_IP, client_address)
register_rate_limit = rate_limit(REGISTER_PER_IP, client_address)
api_rate_limit = rate_limit(API_PER_USER, user_or_address, exclude_opt_key=OWN_RATE_LIMIT_OPT)
