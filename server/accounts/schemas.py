"""Request and response bodies of the account and admin routes (api.md "Auth and account")."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

Role = Literal["user", "moderator", "admin"]
ROLES: tuple[Role, ...] = ("user", "moderator", "admin")

EMAIL_MAX_LENGTH = 254
Email = Annotated[str, Meta(min_length=1, max_length=EMAIL_MAX_LENGTH)]
FullName = Annotated[str, Meta(min_length=1, max_length=200)]
# Long enough for any password the policy accepts; the policy itself gives the precise error.
PasswordInput = Annotated[str, Meta(min_length=1, max_length=1024)]
TokenInput = Annotated[str, Meta(min_length=1, max_length=4096)]

LanguageTag = Annotated[str, Meta(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$", max_length=35)]
TrackId = Annotated[str, Meta(pattern=r"^[a-z0-9_]{1,40}$")]
Difficulty = Annotated[int, Meta(ge=1, le=5)]


class Preferences(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What the client remembers for the user: interview language and usual track/difficulty."""

    language: LanguageTag | None = None
    default_track: TrackId | None = None
    default_difficulty: Difficulty | None = None


class PreferencesPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Keys left out stay as they are; a key set to null is cleared."""

    language: LanguageTag | UnsetType | None = UNSET
    default_track: TrackId | UnsetType | None = UNSET
    default_difficulty: Difficulty | UnsetType | None = UNSET


class UserOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    email: str
    full_name: str
    role: Role
    email_verified: bool
    is_active: bool
    created_at: datetime
    preferences: Preferences


class TokenPair(msgspec.Struct, kw_only=True):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (the OAuth token type, not a secret)
    expires_in: int


class RegisterRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: Email
    password: PasswordInput
    full_name: FullName


class LoginRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # Not checked for shape: a malformed address must get the same 401 as an unknown one.
    email: Email
    password: PasswordInput


class RefreshRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    refresh_token: TokenInput


class LogoutRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    refresh_token: TokenInput | None = None


class VerifyEmailRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    token: TokenInput


class UpdateMeRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    full_name: FullName | UnsetType = UNSET
    preferences: PreferencesPatch | UnsetType = UNSET


class ChangePasswordRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    current_password: PasswordInput
    new_password: PasswordInput


class ForgotPasswordRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: Email


class ResetPasswordRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    token: TokenInput
    new_password: PasswordInput


class AdminUserUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    role: Role | UnsetType = UNSET
    is_active: bool | UnsetType = UNSET


class AuditEntryOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    actor_id: uuid.UUID | None
    action: str
    target_type: str | None
    target_id: str | None
    at: datetime
    details: dict[str, Any]


class UserCounts(msgspec.Struct, kw_only=True):
    total: int
    active: int
    inactive: int
    by_role: dict[str, int]


class AdminStats(msgspec.Struct, kw_only=True):
    users: UserCounts
    # "<table>_by_status" → {status: count}, one entry per feature that registers a count.
    by_status: dict[str, dict[str, int]]
    live_sockets: int
    queue_depth: dict[str, int]
