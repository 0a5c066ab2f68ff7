"""Accounts tables: users, refresh-token families, one-time email tokens, password history and
the audit log. Secrets (refresh tokens, email tokens) are stored only as SHA-256 digests."""

from __future__ import annotations

from piccolo.columns import (
    JSONB,
    UUID,
    Boolean,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class User(Table, tablename="users"):
    # Each process reuses the row authentication reads for a moment (auth.py): whatever changes
    # one of those columns must call revocation.mark_user_changed once it has committed.
    id = UUID(primary_key=True)
    # Normalised (trimmed, lower case) before it is stored, so this index makes emails
    # unique regardless of how they were typed.
    email = Varchar(length=254, unique=True)
    full_name = Varchar(length=200)
    password_hash = Text()
    role = Varchar(length=16, default="user", index=True)
    is_active = Boolean(default=True)
    email_verified = Boolean(default=False)
    # Carried in access tokens as `ver`; raising it invalidates every access token issued so far
    # (password reset, deactivation, role change) without listing them.
    token_version = Integer(default=0)
    preferences = JSONB(default={})
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    updated_at = Timestamptz(default=TimestamptzNow())
    last_login_at = Timestamptz(null=True, default=None)


class RefreshToken(Table, tablename="refresh_tokens"):
    """One row per issued refresh token; the tokens of one login share a family (the session)."""

    id = UUID(primary_key=True)  # the token's `jti`
    user = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    family_id = UUID(index=True)
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz(index=True)
    spent_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class EmailToken(Table, tablename="email_tokens"):
    """Single-use tokens mailed as links: email verification and password reset."""

    id = UUID(primary_key=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    purpose = Varchar(length=32)
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz(index=True)
    used_at = Timestamptz(null=True, default=None)


class PasswordHistory(Table, tablename="password_history"):
    """The hashes of a user's recent passwords (the current one included), to refuse reuse."""

    id = UUID(primary_key=True)
    user = ForeignKey(User, on_delete=OnDelete.cascade, index=True)
    password_hash = Text()
    created_at = Timestamptz(default=TimestamptzNow())


class AuditEntry(Table, tablename="audit_log"):
    """Who did what to whom. Ids are plain values, not foreign keys: entries outlive their users."""

    id = UUID(primary_key=True)
    actor_id = UUID(null=True, default=None, index=True)
    action = Varchar(length=64, index=True)
    target_type = Varchar(length=32, null=True, default=None)
    target_id = Varchar(length=64, null=True, default=None, index=True)
    at = Timestamptz(default=TimestamptzNow(), index=True)
    details = JSONB(default={})
