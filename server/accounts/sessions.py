"""Sessions: one per login, made of a family of refresh tokens of which only the newest works.

Each refresh spends the presented token and issues the next one of the same family. A spent
token presented again means two parties hold the session (a stolen token or a replay), so the
whole family is revoked and answered 401 `token_reused`.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from redis.asyncio import Redis

from server.accounts.audit import SESSION_TOKEN_REUSED, record_audit
from server.accounts.revocation import (
    RevocationReason,
    publish_revocation,
    revoke_sessions,
)
from server.accounts.schemas import TokenPair
from server.accounts.tables import RefreshToken, User
from server.accounts.tokens import (
    InvalidToken,
    decode_refresh_token,
    digest,
    issue_access_token,
    issue_refresh_token,
)
from server.core.db import engine
from server.core.settings import Settings


class TokenReused(InvalidToken):
    code = "token_reused"


async def _issue_pair(
    settings: Settings, *, user_id: uuid.UUID, session_id: uuid.UUID, token_version: int
) -> TokenPair:
    now = int(time.time())
    access_token, _ = issue_access_token(
        settings, user_id=user_id, session_id=session_id, token_version=token_version, now=now
    )
    refresh_token, refresh_claims = issue_refresh_token(
        settings, user_id=user_id, session_id=session_id, now=now
    )
    await RefreshToken.insert(
        RefreshToken(
            id=refresh_claims.jti,
            user=user_id,
            family_id=session_id,
            token_hash=digest(refresh_token),
            expires_at=datetime.fromtimestamp(refresh_claims.exp, UTC),
        )
    )
    return TokenPair(
        access_token=access_token,
        refresh_token=refresh_token,
        expires_in=settings.access_token_ttl_seconds,
    )


async def start_session(settings: Settings, *, user_id: uuid.UUID, token_version: int) -> TokenPair:
    return await _issue_pair(settings, user_id=user_id, session_id=uuid.uuid4(), token_version=token_version)


async def rotate_refresh_token(settings: Settings, redis: Redis, refresh_token: str) -> TokenPair:
    claims = decode_refresh_token(refresh_token, settings)
    token_hash = digest(refresh_token)
    now = datetime.now(UTC)
    async with engine().transaction():
        spent = (
            await RefreshToken.update({RefreshToken.spent_at: now})
            .where(
                (RefreshToken.token_hash == token_hash)
                & RefreshToken.spent_at.is_null()
                & RefreshToken.revoked_at.is_null()
                & (RefreshToken.expires_at > now)
            )
            .returning(RefreshToken.user, RefreshToken.family_id)
        )
        if spent:
            user_id, session_id = spent[0]["user"], spent[0]["family_id"]
            user = await User.select(User.is_active, User.token_version).where(User.id == user_id).first()
            if user is None or not user["is_active"]:
                raise InvalidToken("The account is deactivated.")
            return await _issue_pair(
                settings, user_id=user_id, session_id=session_id, token_version=user["token_version"]
            )
    # Nothing was spent: either the token is unknown or revoked, or it was spent before.
    known = (
        await RefreshToken.select(RefreshToken.spent_at).where(RefreshToken.token_hash == token_hash).first()
    )
    if known is not None and known["spent_at"] is not None:
        await revoke_session(
            redis, settings, user_id=claims.sub, session_id=claims.sid, reason="token_reused"
        )
        await record_audit(
            claims.sub,
            SESSION_TOKEN_REUSED,
            "session",
            claims.sid,
            {"detail": "spent refresh token presented"},
        )
        raise TokenReused("This refresh token was already used; the session has been ended for safety.")
    raise InvalidToken("The refresh token is not valid.")


async def revoke_session(
    redis: Redis,
    settings: Settings,
    *,
    user_id: uuid.UUID,
    session_id: uuid.UUID,
    reason: RevocationReason,
) -> None:
    """End one session: its refresh tokens stop working, and so do its access tokens."""
    await RefreshToken.update({RefreshToken.revoked_at: datetime.now(UTC)}).where(
        (RefreshToken.family_id == session_id)
        & (RefreshToken.user == user_id)
        & RefreshToken.revoked_at.is_null()
    )
    await revoke_sessions(redis, settings, [session_id])
    await publish_revocation(redis, user_id=user_id, session_id=session_id, reason=reason)


async def revoke_user_sessions(
    redis: Redis,
    settings: Settings,
    *,
    user_id: uuid.UUID,
    reason: RevocationReason,
    keep_session: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """End every session of a user except `keep_session`; returns the sessions ended."""
    condition = (RefreshToken.user == user_id) & RefreshToken.revoked_at.is_null()
    if keep_session is not None:
        condition &= RefreshToken.family_id != keep_session
    rows = (
        await RefreshToken.update({RefreshToken.revoked_at: datetime.now(UTC)})
        .where(condition)
        .returning(RefreshToken.family_id)
    )
    ended = sorted({row["family_id"] for row in rows})
    await revoke_sessions(redis, settings, ended)
    if keep_session is None:
        await publish_revocation(redis, user_id=user_id, session_id=None, reason=reason)
    else:
        for session_id in ended:
            await publish_revocation(redis, user_id=user_id, session_id=session_id, reason=reason)
    return ended
