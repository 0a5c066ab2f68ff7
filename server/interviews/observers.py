"""Observer invitations: random tokens, stored as SHA-256 hashes, expiring and revocable.

An invitation token only ever opens one interview's live stream, read-only; it is useless as an
API credential (it is not a JWT and the REST authentication never looks at it).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import msgspec

from server.core.db import engine

TOKEN_PREFIX = "obs_"  # noqa: S105 (a prefix, not a secret)
MIN_EXPIRES_IN = 60
MAX_EXPIRES_IN = 7 * 24 * 3600
DEFAULT_EXPIRES_IN = 24 * 3600


class Invitation(msgspec.Struct, kw_only=True, frozen=True):
    id: uuid.UUID
    interview_id: uuid.UUID
    expires_at: datetime


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_invitation(token: str) -> bool:
    return token.startswith(TOKEN_PREFIX)


async def create_invitation(
    interview_id: uuid.UUID, created_by: uuid.UUID, expires_in: int
) -> tuple[str, datetime]:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = datetime.now(UTC) + timedelta(seconds=expires_in)
    await engine().pool.execute(
        """
        INSERT INTO observer_invitations (id, interview, token_hash, created_by, expires_at, created_at)
        VALUES ($1, $2, $3, $4, $5, $6)
        """,
        uuid.uuid4(),
        interview_id,
        hash_token(token),
        created_by,
        expires_at,
        datetime.now(UTC),
    )
    return token, expires_at


async def find_invitation(token: str) -> Invitation | None:
    """A live (unexpired, unrevoked) invitation for this token, or None."""
    if not looks_like_invitation(token) or len(token) > 100:
        return None
    row = await engine().pool.fetchrow(
        """
        SELECT id, interview, expires_at FROM observer_invitations
        WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now()
        """,
        hash_token(token),
    )
    if row is None:
        return None
    return Invitation(id=row["id"], interview_id=row["interview"], expires_at=row["expires_at"])


async def live_invitations(invitation_ids: Sequence[uuid.UUID | None]) -> set[uuid.UUID]:
    """Which of these invitations are neither revoked nor expired (one query for many sockets)."""
    ids = [invitation_id for invitation_id in invitation_ids if invitation_id is not None]
    if not ids:
        return set()
    rows = await engine().pool.fetch(
        "SELECT id FROM observer_invitations "
        "WHERE id = ANY($1::uuid[]) AND revoked_at IS NULL AND expires_at > now()",
        ids,
    )
    return {row["id"] for row in rows}


async def invitation_is_live(invitation_id: uuid.UUID) -> bool:
    value = await engine().pool.fetchval(
        "SELECT 1 FROM observer_invitations WHERE id = $1 AND revoked_at IS NULL AND expires_at > now()",
        invitation_id,
    )
    return value is not None


async def revoke_invitations(interview_id: uuid.UUID) -> int:
    result: str = await engine().pool.execute(
        "UPDATE observer_invitations SET revoked_at = now() WHERE interview = $1 AND revoked_at IS NULL",
        interview_id,
    )
    return int(result.split()[-1])
