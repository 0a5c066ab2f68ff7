"""The mail senders and actors, and the accounts background jobs, run in-process."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import msgspec
import pytest
from aiosmtpd.controller import Controller

from server.accounts.tables import EmailToken, RefreshToken
from server.accounts.tasks import prune_expired_tokens, send_password_reset
from server.core.embedded import free_tcp_port
from server.mail.senders import OutboxMailSender, OutgoingMail, PermanentMailError, SmtpMailSender
from server.mail.tasks import send_mail
from tests.accounts.conftest import MailCatcher, SmtpServer
from tests.conftest import UserAccount

UserFactory = Callable[..., Awaitable[UserAccount]]


def _mail(**changes: Any) -> OutgoingMail:
    values: dict[str, Any] = {
        "to": "reader@example.com",
        "subject": "Hello",
        "text": "Open http://127.0.0.1:8000/verify-email#token=SECRET-TOKEN-VALUE to continue.\n",
    }
    values.update(changes)
    return OutgoingMail(**values)


def test_smtp_sender_delivers_over_smtp(smtp_server: SmtpServer) -> None:
    sender = SmtpMailSender(
        host="127.0.0.1", port=smtp_server.port, sender="InterviewAce <a@b.example>", starttls=False
    )
    mail = _mail()
    sender.send(mail)
    [received] = smtp_server.catcher.messages
    assert received["To"] == "reader@example.com"
    assert received["Message-ID"] == mail.message_id
    assert "SECRET-TOKEN-VALUE" in received.get_content()


class _Refusing(MailCatcher):
    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        return "550 No such user here"


@pytest.fixture
def refusing_smtp() -> Iterator[int]:
    port = free_tcp_port()
    controller = Controller(_Refusing(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port
    controller.stop()


def test_a_refused_recipient_is_a_permanent_failure(refusing_smtp: int) -> None:
    sender = SmtpMailSender(host="127.0.0.1", port=refusing_smtp, sender="a@b.example", starttls=False)
    with pytest.raises(PermanentMailError):
        sender.send(_mail())


def test_an_unreachable_server_is_left_to_retries() -> None:
    sender = SmtpMailSender(
        host="127.0.0.1", port=free_tcp_port(), sender="a@b.example", starttls=False, timeout=2
    )
    with pytest.raises(OSError):
        sender.send(_mail())


def test_outbox_writes_eml_files(tmp_path: Path) -> None:
    OutboxMailSender(tmp_path / "outbox", sender="a@b.example").send(_mail(subject="Saved"))
    [saved] = list((tmp_path / "outbox").glob("*.eml"))
    parsed = message_from_bytes(saved.read_bytes(), policy=policy.default)
    assert parsed["Subject"] == "Saved"
    assert not list((tmp_path / "outbox").glob("*.tmp"))


def test_a_redelivered_mail_is_sent_once(redis_client: Any, settings: Any) -> None:
    outbox = settings.data_path / "outbox"
    before = set(outbox.glob("*.eml")) if outbox.is_dir() else set()
    mail = _mail(to=f"once-{uuid.uuid4().hex[:6]}@example.com")
    send_mail.fn(msgspec.to_builtins(mail))
    send_mail.fn(msgspec.to_builtins(mail))
    new = [path for path in set(outbox.glob("*.eml")) - before if mail.to in path.read_text()]
    assert len(new) == 1


async def test_prune_removes_only_expired_tokens(user_factory: UserFactory) -> None:
    user = await user_factory()
    past = datetime.now(UTC) - timedelta(minutes=1)
    await RefreshToken.insert(
        RefreshToken(user=user.id, family_id=uuid.uuid4(), token_hash="e" * 64, expires_at=past)
    )
    await EmailToken.insert(
        EmailToken(user=user.id, purpose="reset_password", token_hash="f" * 64, expires_at=past)
    )
    await EmailToken.insert(
        EmailToken(
            user=user.id,
            purpose="verify_email",
            token_hash="a" * 64,
            expires_at=datetime.now(UTC) + timedelta(hours=1),
        )
    )
    await prune_expired_tokens.fn.__wrapped__()  # type: ignore[attr-defined]
    assert await RefreshToken.count().where(RefreshToken.user == user.id) == 1  # the live session's token
    assert [row["token_hash"] for row in await EmailToken.select(EmailToken.token_hash)] == ["a" * 64]


async def test_reset_job_does_nothing_for_unknown_or_inactive_accounts(user_factory: UserFactory) -> None:
    from server.accounts.tables import User

    inactive = await user_factory()
    await User.update({User.is_active: False}).where(User.id == inactive.id)
    await send_password_reset.fn.__wrapped__("nobody@example.com", "127.0.0.1")  # type: ignore[attr-defined]
    await send_password_reset.fn.__wrapped__(inactive.email, "127.0.0.1")  # type: ignore[attr-defined]
    assert await EmailToken.count() == 0
    active = await user_factory()
    await send_password_reset.fn.__wrapped__(active.email, "127.0.0.1")  # type: ignore[attr-defined]
    assert await EmailToken.count().where(EmailToken.user == active.id) == 1
