"""Single-use tokens sent by mail (email verification, password reset) and the mails carrying them.

Only the SHA-256 of a token is stored; a token is spent by one conditional UPDATE, so two
concurrent uses cannot both succeed. Links put the token in the URL fragment (`#token=`), which
browsers never send to a server, so it cannot land in an access log.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Literal

from server.accounts.tables import EmailToken
from server.accounts.tokens import digest, new_secret
from server.core.errors import ApiError
from server.core.settings import Settings
from server.mail.senders import OutgoingMail

Purpose = Literal["verify_email", "reset_password"]
LIFETIMES: dict[Purpose, timedelta] = {
    "verify_email": timedelta(hours=48),
    "reset_password": timedelta(minutes=30),
}


class InvalidEmailToken(ApiError):
    status_code = 400
    code = "invalid_token"


async def issue_email_token(user_id: uuid.UUID, purpose: Purpose) -> str:
    """Create a token, retiring any unused one of the same purpose (only the newest link works)."""
    now = datetime.now(UTC)
    await EmailToken.update({EmailToken.used_at: now}).where(
        (EmailToken.user == user_id) & (EmailToken.purpose == purpose) & EmailToken.used_at.is_null()
    )
    token = new_secret()
    await EmailToken.insert(
        EmailToken(
            user=user_id, purpose=purpose, token_hash=digest(token), expires_at=now + LIFETIMES[purpose]
        )
    )
    return token


async def peek_email_token(token: str, purpose: Purpose) -> uuid.UUID:
    """The user a usable token belongs to, without spending it (to validate the rest first)."""
    row = (
        await EmailToken.select(EmailToken.user)
        .where(
            (EmailToken.token_hash == digest(token))
            & (EmailToken.purpose == purpose)
            & EmailToken.used_at.is_null()
            & (EmailToken.expires_at > datetime.now(UTC))
        )
        .first()
    )
    if row is None:
        raise InvalidEmailToken("This link is invalid, was already used, or has expired.")
    user_id: uuid.UUID = row["user"]
    return user_id


async def spend_email_token(token: str, purpose: Purpose) -> uuid.UUID:
    now = datetime.now(UTC)
    rows = (
        await EmailToken.update({EmailToken.used_at: now})
        .where(
            (EmailToken.token_hash == digest(token))
            & (EmailToken.purpose == purpose)
            & EmailToken.used_at.is_null()
            & (EmailToken.expires_at > now)
        )
        .returning(EmailToken.user)
    )
    if not rows:
        raise InvalidEmailToken("This link is invalid, was already used, or has expired.")
    user_id: uuid.UUID = rows[0]["user"]
    return user_id


def _link(settings: Settings, page: str, token: str) -> str:
    return f"{settings.public_base_url.rstrip('/')}/{page}#token={token}"


def verification_mail(settings: Settings, *, to: str, full_name: str, token: str) -> OutgoingMail:
    link = _link(settings, "verify-email", token)
    return OutgoingMail(
        to=to,
        subject="Confirm your email address for InterviewAce",
        text=(
            f"Hello {full_name},\n\n"
            "Welcome to InterviewAce. Please confirm that this is your email address by opening\n"
            "this link within 48 hours:\n\n"
            f"{link}\n\n"
            "If you did not create an InterviewAce account, ignore this message.\n"
        ),
    )


def password_reset_mail(settings: Settings, *, to: str, full_name: str, token: str) -> OutgoingMail:
    link = _link(settings, "reset-password", token)
    return OutgoingMail(
        to=to,
        subject="Reset your InterviewAce password",
        text=(
            f"Hello {full_name},\n\n"
            "Someone (hopefully you) asked to reset the password of your InterviewAce account.\n"
            "Choose a new password by opening this link within 30 minutes; it works once:\n\n"
            f"{link}\n\n"
            "If you did not ask for this, ignore this message: your password stays as it is.\n"
            "Resetting it signs you out everywhere.\n"
        ),
    )
