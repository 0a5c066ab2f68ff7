"""Login lockout: 5 failed logins for one email within 15 minutes lock it for 15 minutes.

Counted per normalised email whether or not an account has it, so that being locked says
nothing about which addresses are registered. Kept in Redis, shared by every process.
"""

from __future__ import annotations

import uuid

from redis.asyncio import Redis

from server.accounts.ratelimit import hashed_identifier
from server.core.errors import ApiError

MAX_FAILED_LOGINS = 5
FAILURE_WINDOW_SECONDS = 15 * 60
LOCK_SECONDS = 15 * 60
_PREFIX = "interviewace:auth"

# Records one failure (sliding window, Redis' clock) and sets the lock when the limit is reached;
# returns 1 when this failure locked the account.
_RECORD_FAILURE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], '1', 'EX', ARGV[4])
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""


class AccountLocked(ApiError):
    status_code = 423
    code = "account_locked"

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(
            "Too many failed logins; this account is locked for a while.",
            headers={"Retry-After": str(retry_after_seconds)},
        )


def _keys(email: str) -> tuple[str, str]:
    ident = hashed_identifier(email)
    return f"{_PREFIX}:login-failures:{ident}", f"{_PREFIX}:locked:{ident}"


async def seconds_locked(redis: Redis, email: str) -> int:
    """0 when the email may try to log in, else the seconds left on its lock."""
    _, lock_key = _keys(email)
    ttl = int(await redis.ttl(lock_key))
    return max(ttl, 0)


async def record_failed_login(redis: Redis, email: str) -> bool:
    """Count a failed login; True when this one locked the email."""
    failures_key, lock_key = _keys(email)
    script = redis.register_script(_RECORD_FAILURE)
    locked = await script(
        keys=[failures_key, lock_key],
        args=[FAILURE_WINDOW_SECONDS * 1000, MAX_FAILED_LOGINS, uuid.uuid4().hex, LOCK_SECONDS],
    )
    return int(locked) == 1


async def clear_login_failures(redis: Redis, email: str) -> None:
    await redis.delete(*_keys(email))
