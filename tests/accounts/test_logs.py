"""No password or token ever reaches a log line, whatever the flow."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import msgspec
import pytest

from server.accounts.email_tokens import issue_email_token, password_reset_mail
from server.core.settings import get_settings
from server.mail.tasks import send_mail
from tests.accounts.helpers import API, GOOD_PASSWORD, bearer, login, register


class _Collect(logging.Handler):
    def __init__(self, formatter: logging.Formatter | None) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(formatter)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    """Every log line, rendered as the app renders them, at DEBUG level."""
    root = logging.getLogger()
    collector = _Collect(root.handlers[0].formatter if root.handlers else None)
    level = root.level
    root.addHandler(collector)
    root.setLevel(logging.DEBUG)
    yield collector.lines
    root.setLevel(level)
    root.removeHandler(collector)


async def test_no_password_or_token_in_logs(
    client: httpx.AsyncClient, log_lines: list[str], settings: Any
) -> None:
    secrets: list[str] = [GOOD_PASSWORD]
    user = await register(client)
    await client.post(f"{API}/auth/login", json={"email": user["email"], "password": "a-wrong-password-9"})
    secrets.append("a-wrong-password-9")
    pair = await login(client, user["email"])
    secrets += [pair["access_token"], pair["refresh_token"]]
    refreshed = (
        await client.post(f"{API}/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    ).json()
    secrets += [refreshed["access_token"], refreshed["refresh_token"]]
    await client.post(f"{API}/auth/refresh", json={"refresh_token": pair["refresh_token"]})  # reuse
    again = await login(client, user["email"])
    new_password = "amber-lantern-meadow-17"
    secrets += [again["access_token"], again["refresh_token"], new_password]
    await client.post(
        f"{API}/auth/password/change",
        json={"current_password": GOOD_PASSWORD, "new_password": new_password},
        headers=bearer(again["access_token"]),
    )
    await client.post(f"{API}/auth/password/forgot", json={"email": user["email"]})
    reset_token = await issue_email_token(uuid.UUID(user["id"]), "reset_password")
    secrets.append(reset_token)
    # The mail carrying the token goes through the development outbox, which logs that it did.
    mail = password_reset_mail(get_settings(), to=user["email"], full_name="Ada", token=reset_token)
    send_mail.fn(msgspec.to_builtins(mail))
    final_password = "quiet-orchard-lamp-58"
    secrets.append(final_password)
    await client.post(
        f"{API}/auth/password/reset", json={"token": reset_token, "new_password": final_password}
    )
    await client.post(f"{API}/auth/logout", headers=bearer(again["access_token"]))

    text = "\n".join(log_lines)
    assert "mail_saved_to_outbox" in text
    assert "/api/v1/auth/login" in text  # the access log saw every request
    leaked = [secret for secret in secrets if secret in text]
    assert leaked == []
    # Nor do the signatures of tokens, in case a token were logged in pieces.
    assert not any(token.rsplit(".", 1)[-1] in text for token in secrets if token.count(".") == 2)
