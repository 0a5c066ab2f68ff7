"""How mail leaves the system: SMTP when SMTP_HOST is set, otherwise a local outbox.

The outbox writes each mail as an .eml file under `<DATA_DIR>/outbox/` (open it in any mail
client, or read the link from it) and logs that it did, without the body: mails carry
single-use tokens, which must never reach a log.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import tempfile
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Protocol

import msgspec

from server.core.logging import get_logger
from server.core.settings import Settings

log = get_logger(__name__)

SMTP_TIMEOUT_SECONDS = 30.0


class OutgoingMail(msgspec.Struct, frozen=True, kw_only=True):
    to: str
    subject: str
    text: str
    # Fixed when the mail is composed, so a retried delivery is recognisably the same mail.
    message_id: str = msgspec.field(default_factory=lambda: make_msgid(domain="interviewace"))


class PermanentMailError(Exception):
    """Delivery can never succeed (the server refuses the recipient or sender): do not retry."""


class MailSender(Protocol):
    def send(self, mail: OutgoingMail) -> None: ...


def build_message(mail: OutgoingMail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = mail.message_id
    message.set_content(mail.text)
    return message


class SmtpMailSender:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str = "",
        password: str = "",
        starttls: bool = True,
        timeout: float = SMTP_TIMEOUT_SECONDS,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.username = username
        self.password = password
        self.starttls = starttls
        self.timeout = timeout

    def send(self, mail: OutgoingMail) -> None:
        message = build_message(mail, self.sender)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(message)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
            raise PermanentMailError(f"the SMTP server refused the message: {type(exc).__name__}") from None
        log.info("mail_sent", to=mail.to, subject=mail.subject, via="smtp")


class OutboxMailSender:
    def __init__(self, outbox: Path, *, sender: str) -> None:
        self.outbox = outbox
        self.sender = sender

    def send(self, mail: OutgoingMail) -> None:
        self.outbox.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = self.outbox / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        data = build_message(mail, self.sender).as_bytes()
        # Written under a temporary name and renamed, so a reader never sees half a mail.
        fd, tmp_name = tempfile.mkstemp(dir=self.outbox, suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp_name, path)
        log.info("mail_saved_to_outbox", to=mail.to, subject=mail.subject, path=str(path))


def mail_sender(settings: Settings) -> MailSender:
    if settings.smtp_host:
        return SmtpMailSender(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_tls,
        )
    if settings.is_production:
        log.warning("mail_not_configured", hint="set SMTP_HOST; mails are kept in the outbox meanwhile")
    return OutboxMailSender(settings.data_path / "outbox", sender=settings.smtp_from)
