"""Fixtures of the accounts tests: a real SMTP server on loopback and workers configured for it."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from server.core.embedded import free_tcp_port
from tests.conftest import WorkerProcess


class MailCatcher:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.messages if message["To"] == address]


class SmtpServer:
    def __init__(self, catcher: MailCatcher, port: int) -> None:
        self.catcher = catcher
        self.port = port


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    catcher = MailCatcher()
    port = free_tcp_port()
    controller = Controller(catcher, hostname="127.0.0.1", port=port)
    controller.start()
    yield SmtpServer(catcher, port)
    controller.stop()


@pytest.fixture
def smtp_worker(
    database: None, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[WorkerProcess]:
    """A real Dramatiq worker process whose mails go over SMTP to `smtp_server`."""
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("SMTP_TLS", "false")
    process = WorkerProcess()
    process.start()
    yield process
    process.stop()
