"""The `mail.send` actor: deliver one mail, retrying transient failures with backoff.

Dramatiq delivers at least once; a mark in Redis after a successful delivery makes a redelivered
message (a worker killed between sending and acknowledging) a no-op instead of a second mail.
"""

from __future__ import annotations

from typing import Any

import dramatiq
import msgspec
import redis

from server.core.broker import enqueue
from server.core.settings import get_settings
from server.mail.senders import OutgoingMail, PermanentMailError, mail_sender

SENT_MARK_TTL_SECONDS = 3 * 24 * 3600
_SENT_MARK_PREFIX = "interviewace:mail:sent:"


@dramatiq.actor(
    actor_name="mail.send",
    queue_name="mail",
    max_retries=8,
    min_backoff=5_000,
    max_backoff=30 * 60_000,
    time_limit=90_000,
    max_age=2 * 24 * 3600_000,
    throws=(PermanentMailError, msgspec.ValidationError),
)
def send_mail(mail: dict[str, Any]) -> None:
    outgoing = msgspec.convert(mail, OutgoingMail)
    settings = get_settings()
    marks = redis.Redis.from_url(settings.redis_url)
    try:
        mark = _SENT_MARK_PREFIX + outgoing.message_id
        if marks.exists(mark):
            return
        mail_sender(settings).send(outgoing)
        marks.set(mark, b"1", ex=SENT_MARK_TTL_SECONDS)
    finally:
        marks.close()


async def enqueue_mail(mail: OutgoingMail) -> None:
    """Queue a mail for delivery. Call after the transaction that created what it links to."""
    await enqueue(send_mail, msgspec.to_builtins(mail))
