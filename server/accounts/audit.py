"""The audit log: who did what to whom, written for every security-relevant change.

`record_audit` joins the caller's transaction when there is one, so an audited change and its
entry are committed (or rolled back) together. Other features call it too (e.g. deletions).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from server.accounts.schemas import AuditEntryOut
from server.accounts.tables import AuditEntry
from server.core.pagination import Page, PageParams

# The actions this feature writes; other features add their own "<thing>.<verb>" names.
USER_REGISTERED = "user.registered"
USER_EMAIL_VERIFIED = "user.email_verified"
USER_LOGIN = "user.login"
USER_LOGIN_FAILED = "user.login_failed"
USER_LOCKED = "user.locked"
USER_LOGOUT = "user.logout"
USER_PASSWORD_CHANGED = "user.password_changed"  # noqa: S105 (an action name)
USER_PASSWORD_RESET_REQUESTED = "user.password_reset_requested"  # noqa: S105 (an action name)
USER_PASSWORD_RESET = "user.password_reset"  # noqa: S105 (an action name)
USER_ROLE_CHANGED = "user.role_changed"
USER_ACTIVATED = "user.activated"
USER_DEACTIVATED = "user.deactivated"
SESSION_TOKEN_REUSED = "session.token_reused"  # noqa: S105 (an action name)


async def record_audit(
    actor_id: uuid.UUID | None,
    action: str,
    target_type: str | None,
    target_id: uuid.UUID | str | None,
    details: Mapping[str, Any] | None = None,
) -> None:
    await AuditEntry.insert(
        AuditEntry(
            actor_id=actor_id,
            action=action,
            target_type=target_type,
            target_id=None if target_id is None else str(target_id),
            details=dict(details or {}),
        )
    )


async def list_audit_entries(
    params: PageParams,
    *,
    action: str | None = None,
    actor_id: uuid.UUID | None = None,
    target_id: str | None = None,
) -> Page[AuditEntryOut]:
    conditions = []
    if action is not None:
        conditions.append(AuditEntry.action == action)
    if actor_id is not None:
        conditions.append(AuditEntry.actor_id == actor_id)
    if target_id is not None:
        conditions.append(AuditEntry.target_id == target_id)
    rows = (
        await AuditEntry.select()
        .where(*conditions)
        .order_by(AuditEntry.at, ascending=False)
        .offset(params.skip)
        .limit(params.limit)
        .output(load_json=True)
    )
    total = await AuditEntry.count().where(*conditions)
    items = [
        AuditEntryOut(
            id=row["id"],
            actor_id=row["actor_id"],
            action=row["action"],
            target_type=row["target_type"],
            target_id=row["target_id"],
            at=row["at"],
            details=row["details"] or {},
        )
        for row in rows
    ]
    return Page.of(items, total=total, params=params)
