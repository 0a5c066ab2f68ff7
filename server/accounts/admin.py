"""Administration of users: listing, role and activation changes, and the first admin."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from msgspec import UNSET
from redis.asyncio import Redis

from server.accounts import audit
from server.accounts.audit import record_audit
from server.accounts.auth import AuthUser
from server.accounts.passwords import check_password_policy, password_hashing
from server.accounts.revocation import mark_user_changed, publish_revocation, record_token_version
from server.accounts.schemas import AdminUserUpdate, UserOut
from server.accounts.sessions import revoke_user_sessions
from server.accounts.tables import User
from server.accounts.users import (
    USER_COLUMNS,
    EmailTaken,
    create_user,
    find_user_by_email,
    get_user,
    to_user_out,
    valid_email,
)
from server.core.db import engine
from server.core.errors import Conflict, ValidationFailed
from server.core.logging import get_logger
from server.core.pagination import Page, PageParams
from server.core.redis import create_redis
from server.core.settings import Settings, SettingsError

log = get_logger(__name__)

# Serialises changes that could remove the last active admin (two admins demoting each other).
_ADMIN_CHANGE_LOCK = 0x1A7E_0A01


class LastAdmin(Conflict):
    code = "last_admin"


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def list_users(params: PageParams, query: str | None) -> Page[UserOut]:
    condition: Any = None
    if query and query.strip():
        pattern = _like_pattern(query.strip())
        condition = User.email.ilike(pattern) | User.full_name.ilike(pattern)
    select = User.select(*USER_COLUMNS).output(load_json=True)
    count = User.count()
    if condition is not None:
        select = select.where(condition)
        count = count.where(condition)
    rows = await select.order_by(User.created_at, ascending=False).offset(params.skip).limit(params.limit)
    return Page.of([to_user_out(row) for row in rows], total=await count, params=params)


async def update_user(
    settings: Settings, redis: Redis, actor: AuthUser, user_id: uuid.UUID, data: AdminUserUpdate
) -> UserOut:
    """Change a user's role and/or activation. A role change or a deactivation revokes the
    user's access tokens (a deactivation ends their sessions too) and closes their sockets."""
    if data.role is UNSET and data.is_active is UNSET:
        raise ValidationFailed("body", "give role and/or is_active")
    async with engine().transaction():
        await User.raw("SELECT pg_advisory_xact_lock({})", _ADMIN_CHANGE_LOCK)
        row = await get_user(user_id)
        new_role = row["role"] if data.role is UNSET else data.role
        new_active = row["is_active"] if data.is_active is UNSET else data.is_active
        role_changed = new_role != row["role"]
        activation_changed = new_active != row["is_active"]
        if not role_changed and not activation_changed:
            return to_user_out(row)
        if row["role"] == "admin" and row["is_active"] and (new_role != "admin" or not new_active):
            others = await User.count().where(
                (User.role == "admin") & (User.is_active == True) & (User.id != user_id)  # noqa: E712
            )
            if others == 0:
                raise LastAdmin("This is the last active admin; promote someone else first.")
        deactivated = activation_changed and not new_active
        values: dict[Any, Any] = {
            User.role: new_role,
            User.is_active: new_active,
            User.updated_at: datetime.now(UTC),
        }
        if role_changed or deactivated:
            values[User.token_version] = User.token_version + 1
        updated = await User.update(values).where(User.id == user_id).returning(User.token_version)
        if role_changed:
            await record_audit(
                actor.id, audit.USER_ROLE_CHANGED, "user", user_id, {"from": row["role"], "to": new_role}
            )
        if activation_changed:
            action = audit.USER_ACTIVATED if new_active else audit.USER_DEACTIVATED
            await record_audit(actor.id, action, "user", user_id)
    if role_changed or deactivated:
        await record_token_version(redis, settings, user_id, updated[0]["token_version"])
    await mark_user_changed(redis, user_id)
    if deactivated:
        await revoke_user_sessions(redis, settings, user_id=user_id, reason="deactivated")
    elif role_changed:
        await publish_revocation(redis, user_id=user_id, session_id=None, reason="role_changed")
    return to_user_out(await get_user(user_id))


async def ensure_admin(
    settings: Settings, email: str, password: str, *, full_name: str = "Administrator"
) -> Literal["created", "promoted", "unchanged"]:
    """Create an admin account, or make the existing account with this email an active admin.
    Its password is only used when creating; an existing account keeps its own. Idempotent and
    safe to run from several processes at once."""
    try:
        normalized = valid_email(email)
    except ValidationFailed:
        raise SettingsError(f"not an email address: {email!r}") from None
    existing = await find_user_by_email(normalized)
    if existing is None:
        try:
            check_password_policy(password, email=normalized)
        except ValidationFailed as exc:
            raise SettingsError(f"the admin password {exc.detail}") from None
        password_hash = await password_hashing(settings).hash(password)
        try:
            async with engine().transaction():
                user = await create_user(
                    email=normalized,
                    full_name=full_name,
                    password_hash=password_hash,
                    role="admin",
                    email_verified=True,
                )
                await record_audit(
                    None, audit.USER_REGISTERED, "user", user["id"], {"role": "admin", "via": "operator"}
                )
            log.info("admin_created", user_id=str(user["id"]))
            return "created"
        except EmailTaken:
            existing = await find_user_by_email(normalized)  # another process created it just now
            assert existing is not None
    if existing["role"] == "admin" and existing["is_active"]:
        return "unchanged"
    async with engine().transaction():
        await User.update(
            {User.role: "admin", User.is_active: True, User.updated_at: datetime.now(UTC)}
        ).where(User.id == existing["id"])
        await record_audit(
            None,
            audit.USER_ROLE_CHANGED,
            "user",
            existing["id"],
            {"from": existing["role"], "to": "admin", "via": "operator"},
        )
    redis = create_redis(settings)
    try:
        await mark_user_changed(redis, existing["id"])
    finally:
        await redis.aclose()
    log.info("admin_promoted", user_id=str(existing["id"]))
    return "promoted"


async def ensure_initial_admin(settings: Settings) -> None:
    """Start-up task: INITIAL_ADMIN_EMAIL + INITIAL_ADMIN_PASSWORD name the first admin."""
    if not settings.initial_admin_email:
        return
    if not settings.initial_admin_password:
        raise SettingsError("INITIAL_ADMIN_PASSWORD must be set together with INITIAL_ADMIN_EMAIL")
    await ensure_admin(settings, settings.initial_admin_email, settings.initial_admin_password)
