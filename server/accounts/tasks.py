"""Background jobs of the accounts feature.

The mail jobs create their single-use token in the worker and hand the composed mail to
`mail.send`. For a reset request that also means the API answers before anyone has looked the
email up, so neither the answer nor its timing says whether an account exists.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import dramatiq

from server.accounts import audit
from server.accounts.audit import record_audit
from server.accounts.email_tokens import issue_email_token, password_reset_mail, verification_mail
from server.accounts.tables import EmailToken, RefreshToken, User
from server.core.broker import periodic
from server.core.db import engine
from server.core.logging import get_logger
from server.core.settings import get_settings
from server.mail.tasks import enqueue_mail

log = get_logger(__name__)

PRUNE_INTERVAL_SECONDS = 3600


@dramatiq.actor(
    actor_name="accounts.send_verification_email",
    queue_name="mail",
    max_retries=5,
    min_backoff=5_000,
    max_backoff=10 * 60_000,
    time_limit=30_000,
    max_age=24 * 3600_000,
)
async def send_verification_email(user_id: str) -> None:
    user = (
        await User.select(User.id, User.email, User.full_name, User.email_verified)
        .where(User.id == uuid.UUID(user_id))
        .first()
    )
    if user is None or user["email_verified"]:
        return
    async with engine().transaction():
        token = await issue_email_token(user["id"], "verify_email")
    await enqueue_mail(
        verification_mail(get_settings(), to=user["email"], full_name=user["full_name"], token=token)
    )


@dramatiq.actor(
    actor_name="accounts.send_password_reset",
    queue_name="mail",
    max_retries=5,
    min_backoff=5_000,
    max_backoff=10 * 60_000,
    time_limit=30_000,
    # A reset link that arrives an hour late is no help; the user will have asked again.
    max_age=3600_000,
)
async def send_password_reset(email: str, client: str) -> None:
    user = (
        await User.select(User.id, User.email, User.full_name)
        .where((User.email == email) & (User.is_active == True))  # noqa: E712 (Piccolo builds SQL)
        .first()
    )
    if user is None:
        log.info("password_reset_for_unknown_email")
        return
    async with engine().transaction():
        token = await issue_email_token(user["id"], "reset_password")
        await record_audit(None, audit.USER_PASSWORD_RESET_REQUESTED, "user", user["id"], {"client": client})
    await enqueue_mail(
        password_reset_mail(get_settings(), to=user["email"], full_name=user["full_name"], token=token)
    )


@periodic(PRUNE_INTERVAL_SECONDS)
@dramatiq.actor(
    actor_name="accounts.prune_expired_tokens",
    max_retries=2,
    time_limit=5 * 60_000,
    max_age=PRUNE_INTERVAL_SECONDS * 1000,
)
async def prune_expired_tokens() -> None:
    """Delete refresh and email tokens past their expiry: an expired token fails its own checks,
    so its row (kept until then for reuse detection) has no use left."""
    now = datetime.now(UTC)
    refresh = await RefreshToken.delete().where(RefreshToken.expires_at < now).returning(RefreshToken.id)
    mailed = await EmailToken.delete().where(EmailToken.expires_at < now).returning(EmailToken.id)
    log.info("expired_tokens_pruned", refresh_tokens=len(refresh), email_tokens=len(mailed))
