"""What each account route does: registration, login, refresh, logout, passwords, profile.

Route handlers (routes.py) only translate HTTP to these calls. Every function that changes
something commits first and only then touches Redis or enqueues jobs, so a job never runs
against rows that were rolled back.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from msgspec import UNSET
from redis.asyncio import Redis

from server.accounts import audit, lockout
from server.accounts.audit import record_audit
from server.accounts.auth import AuthUser
from server.accounts.email_tokens import peek_email_token, spend_email_token
from server.accounts.passwords import (
    PasswordReused,
    check_password_policy,
    password_hashing,
)
from server.accounts.ratelimit import FORGOT_PASSWORD_PER_EMAIL, enforce, hashed_identifier
from server.accounts.revocation import mark_user_changed, record_token_version, revoke_access_token
from server.accounts.schemas import (
    ChangePasswordRequest,
    LoginRequest,
    RegisterRequest,
    ResetPasswordRequest,
    TokenPair,
    UpdateMeRequest,
    UserOut,
)
from server.accounts.sessions import revoke_session, revoke_user_sessions, start_session
from server.accounts.tables import User
from server.accounts.tasks import send_password_reset, send_verification_email
from server.accounts.tokens import InvalidToken, decode_refresh_token
from server.accounts.users import (
    create_user,
    find_user_by_email,
    get_user,
    normalize_email,
    recent_password_hashes,
    rehash_password,
    store_password,
    to_user_out,
    valid_email,
)
from server.core.broker import enqueue
from server.core.db import engine
from server.core.errors import Forbidden, Unauthorized, ValidationFailed
from server.core.logging import get_logger
from server.core.settings import Settings

log = get_logger(__name__)


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"


class AccountDisabled(Forbidden):
    code = "account_disabled"


class EmailNotVerified(Forbidden):
    code = "email_not_verified"


class IncorrectCurrentPassword(ValidationFailed):
    code = "invalid_current_password"


async def register(settings: Settings, data: RegisterRequest, *, client: str) -> UserOut:
    email = valid_email(data.email)
    check_password_policy(data.password, email=email)
    full_name = data.full_name.strip()
    if not full_name:
        raise ValidationFailed("full_name", "must not be blank")
    password_hash = await password_hashing(settings).hash(data.password)
    async with engine().transaction():
        user = await create_user(email=email, full_name=full_name, password_hash=password_hash)
        await record_audit(user["id"], audit.USER_REGISTERED, "user", user["id"], {"client": client})
    await enqueue(send_verification_email, str(user["id"]))
    return to_user_out(user)


async def verify_email(redis: Redis, token: str) -> UserOut:
    async with engine().transaction():
        user_id = await spend_email_token(token, "verify_email")
        await User.update({User.email_verified: True, User.updated_at: datetime.now(UTC)}).where(
            User.id == user_id
        )
        await record_audit(user_id, audit.USER_EMAIL_VERIFIED, "user", user_id)
    await mark_user_changed(redis, user_id)
    return to_user_out(await get_user(user_id))


async def _failed_login(
    redis: Redis, email: str, user_id: uuid.UUID | None, *, reason: str, client: str
) -> None:
    locked_now = await lockout.record_failed_login(redis, email)
    details = {"email": email, "reason": reason, "client": client}
    await record_audit(None, audit.USER_LOGIN_FAILED, "user", user_id, details)
    if locked_now:
        await record_audit(None, audit.USER_LOCKED, "user", user_id, {"email": email, "client": client})
        log.warning("login_locked", user_id=None if user_id is None else str(user_id), client=client)


async def login(settings: Settings, redis: Redis, data: LoginRequest, *, client: str) -> TokenPair:
    email = normalize_email(data.email)
    locked_for = await lockout.seconds_locked(redis, email)
    if locked_for:
        raise lockout.AccountLocked(locked_for)
    hashing = password_hashing(settings)
    user = await find_user_by_email(email)
    if user is None:
        await hashing.verify_dummy(data.password)
        await _failed_login(redis, email, None, reason="unknown_email", client=client)
        raise InvalidCredentials("The email or password is incorrect.")
    if not await hashing.verify(user["password_hash"], data.password):
        await _failed_login(redis, email, user["id"], reason="wrong_password", client=client)
        raise InvalidCredentials("The email or password is incorrect.")
    if not user["is_active"]:
        raise AccountDisabled("This account has been deactivated.")
    if settings.require_email_verification and not user["email_verified"]:
        raise EmailNotVerified("Confirm your email address first: follow the link in the mail we sent.")
    await lockout.clear_login_failures(redis, email)
    if hashing.needs_rehash(user["password_hash"]):
        await rehash_password(user["id"], user["password_hash"], await hashing.hash(data.password))
    async with engine().transaction():
        pair = await start_session(settings, user_id=user["id"], token_version=user["token_version"])
        await User.update({User.last_login_at: datetime.now(UTC)}).where(User.id == user["id"])
        await record_audit(user["id"], audit.USER_LOGIN, "user", user["id"], {"client": client})
    return pair


async def logout(settings: Settings, redis: Redis, user: AuthUser, refresh_token: str | None) -> None:
    """End the caller's session: this access token and every token of its session stop working.
    A refresh token of another session of the same user, if given, ends that session too."""
    await revoke_access_token(redis, jti=user.jti, expires_at=int(user.expires_at.timestamp()))
    await revoke_session(redis, settings, user_id=user.id, session_id=user.session_id, reason="logout")
    if refresh_token is not None:
        try:
            claims = decode_refresh_token(refresh_token, settings)
        except InvalidToken:
            claims = None
        if claims is not None and claims.sub == user.id and claims.sid != user.session_id:
            await revoke_session(redis, settings, user_id=user.id, session_id=claims.sid, reason="logout")
    await record_audit(user.id, audit.USER_LOGOUT, "user", user.id, {"session_id": str(user.session_id)})


async def update_me(redis: Redis, user: AuthUser, data: UpdateMeRequest) -> UserOut:
    values: dict[Any, Any] = {}
    if data.full_name is not UNSET:
        full_name = data.full_name.strip()
        if not full_name:
            raise ValidationFailed("full_name", "must not be blank")
        values[User.full_name] = full_name
    if data.preferences is not UNSET:
        merged = dict((await get_user(user.id))["preferences"] or {})
        for name in data.preferences.__struct_fields__:
            value = getattr(data.preferences, name)
            if value is None:
                merged.pop(name, None)
            elif value is not UNSET:
                merged[name] = value
        values[User.preferences] = merged
    if not values:
        raise ValidationFailed("body", "give full_name and/or preferences")
    values[User.updated_at] = datetime.now(UTC)
    await User.update(values).where(User.id == user.id)
    await mark_user_changed(redis, user.id)
    return to_user_out(await get_user(user.id))


async def change_password(
    settings: Settings, redis: Redis, user: AuthUser, data: ChangePasswordRequest, *, client: str
) -> None:
    """Set a new password; every other session of the user ends, the caller's keeps working."""
    locked_for = await lockout.seconds_locked(redis, user.email)
    if locked_for:
        raise lockout.AccountLocked(locked_for)
    hashing = password_hashing(settings)
    row = await User.select(User.password_hash).where(User.id == user.id).first()
    if row is None or not await hashing.verify(row["password_hash"], data.current_password):
        # Guessing the current password here is as good as guessing it at login: count it.
        await _failed_login(redis, user.email, user.id, reason="wrong_current_password", client=client)
        raise IncorrectCurrentPassword("current_password", "is not your current password")
    check_password_policy(data.new_password, email=user.email, field="new_password")
    await _refuse_recent_password(settings, user.id, data.new_password)
    new_hash = await hashing.hash(data.new_password)
    async with engine().transaction():
        await store_password(user.id, new_hash, revoke_all_tokens=False)
        await record_audit(user.id, audit.USER_PASSWORD_CHANGED, "user", user.id)
    await revoke_user_sessions(
        redis, settings, user_id=user.id, reason="password_changed", keep_session=user.session_id
    )


async def _refuse_recent_password(settings: Settings, user_id: uuid.UUID, password: str) -> None:
    if await password_hashing(settings).matches_any(password, await recent_password_hashes(user_id)):
        raise PasswordReused("new_password", "was used recently; choose one you have not used before")


async def forgot_password(settings: Settings, redis: Redis, email: str, *, client: str) -> None:
    """Always the same quick answer: whether the account exists is decided in the worker, so
    neither the response nor its timing tells."""
    normalized = normalize_email(email)
    await enforce(redis, settings, FORGOT_PASSWORD_PER_EMAIL, hashed_identifier(normalized))
    await enqueue(send_password_reset, normalized, client)


async def reset_password(settings: Settings, redis: Redis, data: ResetPasswordRequest) -> None:
    """Set a new password from a mailed link; every session and token of the user ends."""
    user_id = await peek_email_token(data.token, "reset_password")
    user = await get_user(user_id)
    check_password_policy(data.new_password, email=user["email"], field="new_password")
    await _refuse_recent_password(settings, user_id, data.new_password)
    new_hash = await password_hashing(settings).hash(data.new_password)
    async with engine().transaction():
        await spend_email_token(data.token, "reset_password")
        version = await store_password(user_id, new_hash, revoke_all_tokens=True)
        # Following a link mailed to the address proves the address works.
        await User.update({User.email_verified: True}).where(User.id == user_id)
        await record_audit(user_id, audit.USER_PASSWORD_RESET, "user", user_id)
    await record_token_version(redis, settings, user_id, version)
    await mark_user_changed(redis, user_id)
    await revoke_user_sessions(redis, settings, user_id=user_id, reason="password_reset")
    await lockout.clear_login_failures(redis, user["email"])
