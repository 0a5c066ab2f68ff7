"""Who is calling: access-token authentication for HTTP routes and for websockets.

- `BearerAuthMiddleware` (on the /api/v1 router) requires `Authorization: Bearer <access token>`
  on every route not marked `exclude_from_auth=True` and sets `request.user` to an AuthUser.
- `authenticate_token` does the same checks outside HTTP (the websocket `hello` frame).
- `is_session_valid` is the cheap Redis-only re-check a long-lived socket repeats every few
  seconds; REVOCATIONS_CHANNEL (revocation.py) tells sockets at once when something is revoked.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
import structlog
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult, DefineMiddleware
from redis.asyncio import Redis

from server.accounts.revocation import revocation_state
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


_USER_QUERY = (
    "SELECT email, full_name, role, is_active, email_verified, token_version FROM users WHERE id = $1"
)


async def authenticate_token(token: str, *, settings: Settings, redis: Redis) -> AuthUser:
    """Full check of an access token: signature, claims, type, expiry, revocation, and a user
    who still exists, is active and has not had every token revoked since. Raises InvalidToken."""
    claims = decode_access_token(token, settings)
    state = await revocation_state(redis, jti=claims.jti, session_id=claims.sid, user_id=claims.sub)
    if state.jti_revoked or state.session_revoked:
        raise InvalidToken("The token has been revoked.")
    # A plain prepared query: this runs on every authenticated request.
    row = await db.engine().pool.fetchrow(_USER_QUERY, claims.sub)
    if row is None or not row["is_active"] or row["token_version"] != claims.ver:
        raise InvalidToken("The token has been revoked.")
    return AuthUser(
        id=claims.sub,
        email=row["email"],
        full_name=row["full_name"],
        role=row["role"],
        is_active=row["is_active"],
        email_verified=row["email_verified"],
        session_id=claims.sid,
        jti=claims.jti,
        expires_at=datetime.fromtimestamp(claims.exp, UTC),
        token_version=claims.ver,
    )


async def is_session_valid(user: AuthUser, *, redis: Redis) -> bool:
    """Whether the token `user` was authenticated with is still in force, from Redis alone: not
    revoked itself, its session not ended, and no revoke-everything (password reset,
    deactivation, role change) since. Expiry is not checked: a socket outlives its token."""
    state = await revocation_state(redis, jti=user.jti, session_id=user.session_id, user_id=user.id)
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
