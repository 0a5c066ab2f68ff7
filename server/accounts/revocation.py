"""Token revocation state in Redis, shared by every process and kept across restarts.

Four kinds of marks, each a key with a TTL so Redis forgets it once it can no longer matter:
- a revoked access token (`jti`), until the token would have expired anyway;
- a revoked session (refresh family), for as long as any token of the session could live;
- the user's current token version (mirrors `users.token_version`), so a socket can re-check
  cheaply that nothing revoked every token of its user (reset, deactivation, role change);
- the user's row generation, a fresh random value written after every committed change to the
  user columns authentication reads, so that each process's short-lived copy of the row
  (auth.py) is read again on the very next request (`mark_user_changed`).

Every revocation is also announced on REVOCATIONS_CHANNEL so that open websockets of that user or
session are closed at once, on every process.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from typing import Literal

import msgspec
from redis.asyncio import Redis

from server.core.settings import Settings

REVOCATIONS_CHANNEL = "interviewace:auth:revocations"
_PREFIX = "interviewace:auth"

RevocationReason = Literal[
    "logout", "password_changed", "password_reset", "deactivated", "role_changed", "token_reused"
]


class Revocation(msgspec.Struct, frozen=True):
    """The message on REVOCATIONS_CHANNEL. `session_id` None means every session of the user."""

    user_id: str
    session_id: str | None
    reason: RevocationReason


class RevocationState(msgspec.Struct, frozen=True):
    jti_revoked: bool
    session_revoked: bool
    token_version: int | None  # None: no change recorded within the mark's lifetime
    user_generation: bytes | None  # None: no change recorded within USER_GENERATION_TTL_SECONDS


def _jti_key(jti: str) -> str:
    return f"{_PREFIX}:revoked-jti:{jti}"


def _session_key(session_id: uuid.UUID) -> str:
    return f"{_PREFIX}:revoked-session:{session_id}"


def _version_key(user_id: uuid.UUID) -> str:
    return f"{_PREFIX}:token-version:{user_id}"


def _generation_key(user_id: uuid.UUID) -> str:
    return f"{_PREFIX}:user-generation:{user_id}"


# Must outlive any cached copy of a user row by far: a copy taken while the mark was absent must
# be gone before the mark can expire and be absent again.
USER_GENERATION_TTL_SECONDS = 3600


def _session_lifetime(settings: Settings) -> int:
    # A session lives at most as long as a refresh token, plus one access token minted at its end.
    return settings.refresh_token_ttl_seconds + settings.access_token_ttl_seconds


async def revoke_access_token(redis: Redis, *, jti: str, expires_at: int) -> None:
    remaining = expires_at - int(time.time())
    if remaining > 0:
        await redis.set(_jti_key(jti), b"1", ex=remaining)


async def revoke_sessions(redis: Redis, settings: Settings, session_ids: Iterable[uuid.UUID]) -> None:
    lifetime = _session_lifetime(settings)
    async with redis.pipeline(transaction=False) as pipe:
        for session_id in session_ids:
            pipe.set(_session_key(session_id), b"1", ex=lifetime)
        await pipe.execute()


async def record_token_version(redis: Redis, settings: Settings, user_id: uuid.UUID, version: int) -> None:
    await redis.set(_version_key(user_id), str(version).encode(), ex=_session_lifetime(settings))


async def mark_user_changed(redis: Redis, user_id: uuid.UUID) -> None:
    """Call after the change has committed: a process that read the generation first and the row
    after must never pair the old row with the new generation."""
    await redis.set(_generation_key(user_id), uuid.uuid4().bytes, ex=USER_GENERATION_TTL_SECONDS)


def revocation_keys(*, jti: str, session_id: uuid.UUID, user_id: uuid.UUID) -> list[str]:
    """The keys to MGET for `read_revocation_state` (so that callers can batch them)."""
    return [_jti_key(jti), _session_key(session_id), _version_key(user_id), _generation_key(user_id)]


async def revocation_state(
    redis: Redis, *, jti: str, session_id: uuid.UUID, user_id: uuid.UUID
) -> RevocationState:
    return read_revocation_state(
        await redis.mget(revocation_keys(jti=jti, session_id=session_id, user_id=user_id))
    )


def read_revocation_state(values: list[bytes | None]) -> RevocationState:
    jti_mark, session_mark, version, generation = values
    return RevocationState(
        jti_revoked=jti_mark is not None,
        session_revoked=session_mark is not None,
        token_version=None if version is None else int(version),
        user_generation=generation,
    )


async def publish_revocation(
    redis: Redis, *, user_id: uuid.UUID, session_id: uuid.UUID | None, reason: RevocationReason
) -> None:
    message = Revocation(
        user_id=str(user_id), session_id=None if session_id is None else str(session_id), reason=reason
    )
    await redis.publish(REVOCATIONS_CHANNEL, msgspec.json.encode(message))
