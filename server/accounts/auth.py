"""Who is calling: access-token authentication for HTTP routes and for websockets.

- `BearerAuthMiddleware` (on the /api/v1 router) requires `Authorization: Bearer <access token>`
  on every route not marked `exclude_from_auth=True` and sets `request.user` to an AuthUser.
- `authenticate_token` does the same checks outside HTTP (the websocket `hello` frame).
- `token_still_in_force` is the cheap Redis-only re-check a long-lived socket repeats every few
  seconds (the socket watch reads `revocation_keys` for many sockets in one pipeline;
  `is_session_valid` does it for one); REVOCATIONS_CHANNEL (revocation.py) tells sockets at once
  when something is revoked.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
import structlog
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult, DefineMiddleware
from redis.asyncio import Redis

from server.accounts.revocation import RevocationState, revocation_state
from server.accounts.schemas import Role
from server.accounts.tokens import InvalidToken, decode_access_token
from server.core import db
from server.core.errors import Unauthorized
from server.core.settings import Settings

__all__ = [
    "AuthUser",
    "BearerAuthMiddleware",
    "InvalidToken",
    "auth_middleware",
    "authenticate_token",
    "is_session_valid",
]

_BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="interviewace"'}


class AuthUser(msgspec.Struct, frozen=True, kw_only=True):
    """The authenticated caller, as of the moment their access token was checked."""

    id: uuid.UUID
    email: str
    full_name: str
    role: Role
    is_active: bool
    email_verified: bool
    session_id: uuid.UUID  # the refresh-token family; claim `sid` of the access token
    jti: str
    expires_at: datetime
    token_version: int  # claim `ver`; a newer version on the user means this token was revoked
    created_at: datetime
    # As stored (JSON text): only /auth/me decodes it, so a bad value fails that route alone.
    preferences_json: str


class _UserRow(msgspec.Struct, frozen=True):
    email: str
    full_name: str
    role: Role
    email_verified: bool
    token_version: int
    created_at: datetime
    preferences_json: str


_USER_QUERY = (
    "SELECT email, full_name, role, is_active, email_verified, token_version, created_at, "
    "preferences::text AS preferences FROM users WHERE id = $1"
)

# How long one process reuses a user row read for authentication. Safe because every change
# that must act at once is seen in Redis before the row is reused: revocation marks (logout,
# password change and reset, reuse detection), a newer token version (reset, deactivation, role
# change) and the row generation (any committed change to these columns, mark_user_changed).
# What no code path signals (an operator's own SQL on `users`) is seen within this bound.
USER_CACHE_SECONDS = 1.0
USER_CACHE_MAX_ENTRIES = 10_000


class _CachedUser(msgspec.Struct, frozen=True):
    row: _UserRow
    generation: bytes | None
    expires: float


class UserRowCache:
    """Active user rows by id, each valid only with the generation that was current in Redis
    before the row was read, and only for a short while."""

    def __init__(self, *, ttl_seconds: float, max_entries: int) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        # Insertion order is expiry order (entries are re-inserted on refresh), so eviction
        # only ever looks at the front.
        self._entries: dict[uuid.UUID, _CachedUser] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, user_id: object) -> bool:
        return user_id in self._entries

    def get(self, user_id: uuid.UUID, generation: bytes | None) -> _UserRow | None:
        entry = self._entries.get(user_id)
        if entry is None or entry.generation != generation or entry.expires <= time.monotonic():
            return None
        return entry.row

    def put(self, user_id: uuid.UUID, generation: bytes | None, row: _UserRow) -> None:
        now = time.monotonic()
        entries = self._entries
        entries.pop(user_id, None)
        entries[user_id] = _CachedUser(row, generation, now + self.ttl_seconds)
        while entries:
            oldest = next(iter(entries))
            if len(entries) <= self.max_entries and entries[oldest].expires > now:
                break
            del entries[oldest]

    def clear(self) -> None:
        self._entries.clear()


user_rows = UserRowCache(ttl_seconds=USER_CACHE_SECONDS, max_entries=USER_CACHE_MAX_ENTRIES)


async def _read_user(user_id: uuid.UUID) -> _UserRow | None:
    """The user if active. A plain prepared query: this runs on every cache miss."""
    row = await db.engine().pool.fetchrow(_USER_QUERY, user_id)
    if row is None or not row["is_active"]:
        return None
    return _UserRow(
        email=row["email"],
        full_name=row["full_name"],
        role=row["role"],
        email_verified=row["email_verified"],
        token_version=row["token_version"],
        created_at=row["created_at"],
        preferences_json=row["preferences"],
    )


async def authenticate_token(token: str, *, settings: Settings, redis: Redis) -> AuthUser:
    """Full check of an access token: signature, claims, type, expiry, revocation, and a user
    who still exists, is active and has not had every token revoked since. Raises InvalidToken."""
    claims = decode_access_token(token, settings)
    state = await revocation_state(redis, jti=claims.jti, session_id=claims.sid, user_id=claims.sub)
    if state.jti_revoked or state.session_revoked:
        raise InvalidToken("The token has been revoked.")
    # The mark only ever holds a version the row has had, and versions only rise: a newer one
    # means the row has moved past this token too.
    if state.token_version is not None and state.token_version > claims.ver:
        raise InvalidToken("The token has been revoked.")
    user = user_rows.get(claims.sub, state.user_generation)
    if user is None or user.token_version != claims.ver:
        user = await _read_user(claims.sub)
        if user is None or user.token_version != claims.ver:
            raise InvalidToken("The token has been revoked.")
        user_rows.put(claims.sub, state.user_generation, user)
    return AuthUser(
        id=claims.sub,
        email=user.email,
        full_name=user.full_name,
        role=user.role,
        is_active=True,
        email_verified=user.email_verified,
        session_id=claims.sid,
        jti=claims.jti,
        expires_at=datetime.fromtimestamp(claims.exp, UTC),
        token_version=claims.ver,
        created_at=user.created_at,
        preferences_json=user.preferences_json,
    )


async def is_session_valid(user: AuthUser, *, redis: Redis) -> bool:
    """Whether the token `user` was authenticated with is still in force, from Redis alone: not
    revoked itself, its session not ended, and no revoke-everything (password reset,
    deactivation, role change) since. Expiry is not checked: a socket outlives its token."""
    state = await revocation_state(redis, jti=user.jti, session_id=user.session_id, user_id=user.id)
    return token_still_in_force(user, state)


def token_still_in_force(user: AuthUser, state: RevocationState) -> bool:
    if state.jti_revoked or state.session_revoked:
        return False
    return state.token_version is None or state.token_version == user.token_version


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


class BearerAuthMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        token = bearer_token(connection)
        if token is None:
            raise Unauthorized(
                "This route needs an access token: Authorization: Bearer <token>.",
                headers=_BEARER_CHALLENGE,
            )
        state = connection.app.state
        try:
            user = await authenticate_token(token, settings=state.settings, redis=state.redis)
        except InvalidToken as exc:
            raise InvalidToken(exc.detail, headers=_BEARER_CHALLENGE) from None
        structlog.contextvars.bind_contextvars(user_id=str(user.id))
        return AuthenticationResult(user=user, auth=token)


def auth_middleware() -> DefineMiddleware:
    # HTTP only: websockets authenticate with their `hello` frame (browsers cannot set headers).
    return DefineMiddleware(
        BearerAuthMiddleware, exclude_from_auth_key="exclude_from_auth", scopes={ScopeType.HTTP}
    )
