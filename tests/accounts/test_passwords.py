"""Password policy, hashing, change, forgot/reset over real SMTP, and the development outbox."""

from __future__ import annotations

import asyncio
import itertools
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from typing import Any

import httpx
import pytest

from server.accounts.common_passwords import LIST_PATH, MIN_LENGTH, build_common_passwords, render
from server.accounts.passwords import WeakPassword, check_password_policy, password_hashing
from tests.accounts.conftest import SmtpServer
from tests.accounts.helpers import API, GOOD_PASSWORD, bearer, eventually, login, problem, register
from tests.conftest import UserAccount, WorkerProcess, random_email

UserFactory = Callable[..., Awaitable[UserAccount]]
TOKEN_IN_LINK = re.compile(r"(https?://\S+)#token=([A-Za-z0-9_\-]+)")


def test_the_common_password_list_is_what_its_script_generates() -> None:
    entries = build_common_passwords()
    assert LIST_PATH.read_text(encoding="utf-8") == render(entries)
    assert 3000 <= len(entries) <= 15000
    assert all(len(entry) >= MIN_LENGTH and entry == entry.lower() for entry in entries)
    assert {"password123", "qwertyuiop", "1q2w3e4r5t", "iloveyou2020", "p@$$w0rd123"} <= set(entries)


@pytest.mark.parametrize(
    ("password", "email"),
    [
        ("123456789", "x@example.com"),
        ("Password123", "x@example.com"),
        ("LIVERPOOL2019", "x@example.com"),
        ("my-name-is-Ada.Lovelace", "ada.lovelace@example.com"),
    ],
)
def test_policy_refuses(password: str, email: str) -> None:
    with pytest.raises(WeakPassword):
        check_password_policy(password, email=email)


@pytest.mark.parametrize(
    ("password", "email"),
    [
        ("violet-kettle-harbour-42", "x@example.com"),
        ("contains-jo-but-short-local", "jo@example.com"),  # two-letter local parts are not checked
    ],
)
def test_policy_accepts(password: str, email: str) -> None:
    check_password_policy(password, email=email)


async def test_hashing_is_argon2id_with_the_configured_cost(settings: Any) -> None:
    hashing = password_hashing(settings)
    hashed = await hashing.hash("violet-kettle-harbour-42")
    assert hashed.startswith("$argon2id$")
    assert f"m={settings.password_hash_memory_kib},t={settings.password_hash_time_cost}" in hashed
    assert await hashing.verify(hashed, "violet-kettle-harbour-42")
    assert not await hashing.verify(hashed, "violet-kettle-harbour-43")
    assert not await hashing.verify("not-a-hash", "anything")


async def test_a_login_upgrades_a_hash_made_with_older_parameters(client: httpx.AsyncClient) -> None:
    from argon2 import PasswordHasher

    from server.accounts.tables import User

    user = await register(client)
    weaker = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1).hash(GOOD_PASSWORD)
    await User.update({User.password_hash: weaker}).where(User.id == uuid.UUID(user["id"]))
    await login(client, user["email"])
    stored = await User.select(User.password_hash).where(User.id == uuid.UUID(user["id"])).first()
    assert stored is not None
    assert stored["password_hash"] != weaker
    assert "m=1024,t=1" in stored["password_hash"]
    await login(client, user["email"])


async def test_change_password_ends_other_sessions_and_keeps_this_one(client: httpx.AsyncClient) -> None:
    user = await register(client)
    current = await login(client, user["email"])
    other = await login(client, user["email"])
    new_password = "amber-lantern-meadow-17"
    response = await client.post(
        f"{API}/auth/password/change",
        json={"current_password": GOOD_PASSWORD, "new_password": new_password},
        headers=bearer(current["access_token"]),
    )
    assert response.status_code == 204
    assert (await client.get(f"{API}/auth/me", headers=bearer(current["access_token"]))).status_code == 200
    refreshed = await client.post(f"{API}/auth/refresh", json={"refresh_token": current["refresh_token"]})
    assert refreshed.status_code == 200
    problem(await client.get(f"{API}/auth/me", headers=bearer(other["access_token"])), 401, "invalid_token")
    problem(
        await client.post(f"{API}/auth/refresh", json={"refresh_token": other["refresh_token"]}),
        401,
        "invalid_token",
    )
    problem(
        await client.post(f"{API}/auth/login", json={"email": user["email"], "password": GOOD_PASSWORD}),
        401,
        "invalid_credentials",
    )
    await login(client, user["email"], new_password)


async def test_change_password_refuses_wrong_current_weak_and_reused(client: httpx.AsyncClient) -> None:
    user = await register(client)
    headers = bearer((await login(client, user["email"]))["access_token"])

    async def change(current: str, new: str) -> httpx.Response:
        return await client.post(
            f"{API}/auth/password/change",
            json={"current_password": current, "new_password": new},
            headers=headers,
        )

    body = problem(
        await change("wrong-password-1", "amber-lantern-meadow-17"), 422, "invalid_current_password"
    )
    assert body["errors"][0]["field"] == "current_password"
    body = problem(await change(GOOD_PASSWORD, "password1234"), 422, "weak_password")
    assert body["errors"][0]["field"] == "new_password"
    problem(await change(GOOD_PASSWORD, GOOD_PASSWORD), 422, "password_reused")


async def test_only_the_last_five_passwords_are_refused(client: httpx.AsyncClient) -> None:
    user = await register(client)
    headers = bearer((await login(client, user["email"]))["access_token"])
    passwords = [GOOD_PASSWORD] + [f"rotating-secret-{n}-ocean" for n in range(1, 6)]
    for previous, new in itertools.pairwise(passwords):
        response = await client.post(
            f"{API}/auth/password/change",
            json={"current_password": previous, "new_password": new},
            headers=headers,
        )
        assert response.status_code == 204, response.text
    # The current password and the four before it are remembered; the first one has dropped out.
    for recent in passwords[2:]:
        response = await client.post(
            f"{API}/auth/password/change",
            json={"current_password": passwords[-1], "new_password": recent},
            headers=headers,
        )
        problem(response, 422, "password_reused")
    response = await client.post(
        f"{API}/auth/password/change",
        json={"current_password": passwords[-1], "new_password": passwords[0]},
        headers=headers,
    )
    assert response.status_code == 204


async def test_wrong_current_passwords_count_towards_the_lockout(client: httpx.AsyncClient) -> None:
    user = await register(client)
    headers = bearer((await login(client, user["email"]))["access_token"])
    for _ in range(5):
        await client.post(
            f"{API}/auth/password/change",
            json={"current_password": "guess-number-x", "new_password": "amber-lantern-meadow-17"},
            headers=headers,
        )
    response = await client.post(
        f"{API}/auth/login", json={"email": user["email"], "password": GOOD_PASSWORD}
    )
    problem(response, 423, "account_locked")


async def test_forgot_password_answers_the_same_for_unknown_emails(client: httpx.AsyncClient) -> None:
    user = await register(client)
    known = await client.post(f"{API}/auth/password/forgot", json={"email": user["email"]})
    unknown = await client.post(f"{API}/auth/password/forgot", json={"email": random_email()})
    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content


async def test_reset_by_a_link_mailed_over_smtp(
    client: httpx.AsyncClient, smtp_server: SmtpServer, smtp_worker: WorkerProcess
) -> None:
    user = await register(client)
    other_session = await login(client, user["email"])
    assert (
        await client.post(f"{API}/auth/password/forgot", json={"email": user["email"].upper()})
    ).status_code == 202

    async def reset_mail() -> Any:
        mails = [m for m in smtp_server.catcher.to(user["email"]) if "Reset" in m["Subject"]]
        return mails[0] if mails else None

    mail = await eventually(reset_mail)
    body = mail.get_content()
    match = TOKEN_IN_LINK.search(body)
    assert match is not None, body
    assert match.group(1) == "http://127.0.0.1:8000/reset-password"
    token = match.group(2)

    new_password = "amber-lantern-meadow-17"
    response = await client.post(
        f"{API}/auth/password/reset", json={"token": token, "new_password": new_password}
    )
    assert response.status_code == 204, response.text
    problem(
        await client.get(f"{API}/auth/me", headers=bearer(other_session["access_token"])),
        401,
        "invalid_token",
    )
    problem(
        await client.post(f"{API}/auth/refresh", json={"refresh_token": other_session["refresh_token"]}),
        401,
        "invalid_token",
    )
    await login(client, user["email"], new_password)
    again = await client.post(
        f"{API}/auth/password/reset", json={"token": token, "new_password": "another-fresh-one-99"}
    )
    problem(again, 400, "invalid_token")
    # The verification mail sent at registration travelled the same way.
    assert any("Confirm" in m["Subject"] for m in smtp_server.catcher.to(user["email"]))


async def test_reset_refuses_expired_tokens_weak_and_reused_passwords(client: httpx.AsyncClient) -> None:
    from server.accounts.email_tokens import issue_email_token
    from server.accounts.tables import EmailToken

    user = await register(client)
    token = await issue_email_token(uuid.UUID(user["id"]), "reset_password")
    problem(
        await client.post(f"{API}/auth/password/reset", json={"token": token, "new_password": "short"}),
        422,
        "weak_password",
    )
    problem(
        await client.post(f"{API}/auth/password/reset", json={"token": token, "new_password": GOOD_PASSWORD}),
        422,
        "password_reused",
    )
    await EmailToken.update({EmailToken.expires_at: datetime.now(UTC) - timedelta(seconds=1)}).where(
        EmailToken.user == uuid.UUID(user["id"])
    )
    problem(
        await client.post(
            f"{API}/auth/password/reset", json={"token": token, "new_password": "amber-lantern-meadow-17"}
        ),
        400,
        "invalid_token",
    )


async def test_a_reset_token_works_once_even_when_raced(client: httpx.AsyncClient) -> None:
    from server.accounts.email_tokens import issue_email_token

    user = await register(client)
    token = await issue_email_token(uuid.UUID(user["id"]), "reset_password")
    responses = await asyncio.gather(
        *(
            client.post(
                f"{API}/auth/password/reset", json={"token": token, "new_password": f"parallel-choice-{n}-x"}
            )
            for n in range(4)
        )
    )
    assert sorted(r.status_code for r in responses) == [204, 400, 400, 400]


async def test_development_outbox_holds_the_verification_mail(
    client: httpx.AsyncClient, worker: WorkerProcess, settings: Any
) -> None:
    outbox = settings.data_path / "outbox"
    started = time.time()
    user = await register(client)

    async def saved_mail() -> Any:
        for path in sorted(outbox.glob("*.eml")) if outbox.is_dir() else []:
            if path.stat().st_mtime < started - 1:
                continue
            parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
            if parsed["To"] == user["email"]:
                return parsed
        return None

    mail = await eventually(saved_mail)
    match = TOKEN_IN_LINK.search(mail.get_content())
    assert match is not None
    assert match.group(1) == "http://127.0.0.1:8000/verify-email"
    verified = await client.post(f"{API}/auth/verify-email", json={"token": match.group(2)})
    assert verified.status_code == 200
    assert verified.json()["email_verified"] is True


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"PASSWORD_HASH_MEMORY_KIB": "16", "PASSWORD_HASH_PARALLELISM": "4"}, "PASSWORD_HASH_MEMORY_KIB"),
        ({"PASSWORD_HASH_TIME_COST": "0"}, "PASSWORD_HASH_TIME_COST"),
        ({"PASSWORD_HASH_PARALLELISM": "0"}, "PASSWORD_HASH_PARALLELISM"),
        ({"PASSWORD_HASH_THREADS": "0"}, "PASSWORD_HASH_THREADS"),
    ],
)
def test_impossible_hashing_settings_are_refused(env: dict[str, str], named: str) -> None:
    from server.core.settings import SettingsError
    from tests.conftest import make_settings

    with pytest.raises(SettingsError, match=named):
        make_settings(**{key.lower(): value for key, value in env.items()})
