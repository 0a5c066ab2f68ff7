"""User rows: lookups, the public representation, creation and password changes."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec

from server.accounts.auth import AuthUser
from server.accounts.passwords import PASSWORD_HISTORY_SIZE
from server.accounts.schemas import Preferences, Role, UserOut
from server.accounts.tables import PasswordHistory, User
from server.core.db import engine
from server.core.errors import Conflict, NotFound, ValidationFailed

USER_COLUMNS = (
    User.id,
    User.email,
    User.full_name,
    User.role,
    User.is_active,
    User.email_verified,
    User.token_version,
    User.preferences,
    User.created_at,
)


class EmailTaken(Conflict):
    code = "email_taken"


# Deliberately loose: one "@", no spaces, a dot in the domain. Whether the address works is
# what the verification mail finds out.
_EMAIL_SHAPE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


def normalize_email(raw: str) -> str:
    return raw.strip().lower()


def valid_email(raw: str, *, field: str = "email") -> str:
    """The normalised address, or ValidationFailed (422) naming `field`."""
    email = normalize_email(raw)
    if not _EMAIL_SHAPE.match(email):
        raise ValidationFailed(field, "is not a valid email address")
    return email


def to_user_out(row: dict[str, Any]) -> UserOut:
    return UserOut(
        id=row["id"],
        email=row["email"],
        full_name=row["full_name"],
        role=row["role"],
        email_verified=row["email_verified"],
        is_active=row["is_active"],
        created_at=row["created_at"],
        preferences=msgspec.convert(row["preferences"] or {}, Preferences),
    )


def auth_user_out(user: AuthUser) -> UserOut:
    """The caller's account from the row authentication read for this request."""
    return to_user_out(
        {
            "id": user.id,
            "email": user.email,
            "full_name": user.full_name,
            "role": user.role,
            "email_verified": user.email_verified,
            "is_active": user.is_active,
            "created_at": user.created_at,
            "preferences": msgspec.json.decode(user.preferences_json),
        }
    )


async def find_user(user_id: uuid.UUID) -> dict[str, Any] | None:
    row: dict[str, Any] | None = (
        await User.select(*USER_COLUMNS).where(User.id == user_id).output(load_json=True).first()
    )
    return row


async def get_user(user_id: uuid.UUID) -> dict[str, Any]:
    row = await find_user(user_id)
    if row is None:
        raise NotFound("No user with this id.")
    return row


async def find_user_by_email(email: str) -> dict[str, Any] | None:
    row: dict[str, Any] | None = (
        await User.select(*USER_COLUMNS, User.password_hash)
        .where(User.email == normalize_email(email))
        .output(load_json=True)
        .first()
    )
    return row


async def create_user(
    *, email: str, full_name: str, password_hash: str, role: Role = "user", email_verified: bool = False
) -> dict[str, Any]:
    """Insert a user (and the first entry of their password history); EmailTaken if the
    normalised address exists, decided by the unique index so that concurrent sign-ups agree."""
    user_id = uuid.uuid4()
    try:
        async with engine().transaction():
            await User.insert(
                User(
                    id=user_id,
                    email=normalize_email(email),
                    full_name=full_name.strip(),
                    password_hash=password_hash,
                    role=role,
                    email_verified=email_verified,
                    preferences={},
                )
            )
            await PasswordHistory.insert(PasswordHistory(user=user_id, password_hash=password_hash))
    except asyncpg.UniqueViolationError:
        raise EmailTaken("An account with this email address already exists.") from None
    return await get_user(user_id)


async def recent_password_hashes(user_id: uuid.UUID) -> list[str]:
    rows = (
        await PasswordHistory.select(PasswordHistory.password_hash)
        .where(PasswordHistory.user == user_id)
        .order_by(PasswordHistory.created_at, ascending=False)
        .limit(PASSWORD_HISTORY_SIZE)
    )
    return [row["password_hash"] for row in rows]


async def store_password(user_id: uuid.UUID, password_hash: str, *, revoke_all_tokens: bool) -> int:
    """Set a new password hash, keep it in the history (trimmed to the last few) and, when asked,
    raise the token version so every access token issued so far stops working. Call inside a
    transaction. Returns the user's token version afterwards."""
    values: dict[Any, Any] = {User.password_hash: password_hash, User.updated_at: datetime.now(UTC)}
    if revoke_all_tokens:
        values[User.token_version] = User.token_version + 1
    rows = await User.update(values).where(User.id == user_id).returning(User.token_version)
    await PasswordHistory.insert(PasswordHistory(user=user_id, password_hash=password_hash))
    keep = (
        PasswordHistory.select(PasswordHistory.id)
        .where(PasswordHistory.user == user_id)
        .order_by(PasswordHistory.created_at, ascending=False)
        .limit(PASSWORD_HISTORY_SIZE)
    )
    await PasswordHistory.delete().where((PasswordHistory.user == user_id) & PasswordHistory.id.not_in(keep))
    version: int = rows[0]["token_version"]
    return version


async def rehash_password(user_id: uuid.UUID, old_hash: str, new_hash: str) -> None:
    """Upgrade a hash made with older cost parameters (same password, so history is untouched
    except for replacing the old hash there too)."""
    await User.update({User.password_hash: new_hash}).where(
        (User.id == user_id) & (User.password_hash == old_hash)
    )
    await PasswordHistory.update({PasswordHistory.password_hash: new_hash}).where(
        (PasswordHistory.user == user_id) & (PasswordHistory.password_hash == old_hash)
    )
