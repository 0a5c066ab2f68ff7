"""Login lockout and rate limits: answers, Retry-After, sharing across processes, the off switch."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from litestar import concurrency

from server.accounts.audit import USER_LOCKED, USER_LOGIN_FAILED
from server.accounts.tables import AuditEntry
from tests.accounts.helpers import API, GOOD_PASSWORD, login, problem, register
from tests.conftest import UserAccount, random_email


def _retry_after(response: httpx.Response, most: int) -> int:
    seconds = int(response.headers["retry-after"])
    assert 1 <= seconds <= most
    return seconds


async def test_five_failures_lock_the_account_for_fifteen_minutes(client: httpx.AsyncClient) -> None:
    user = await register(client)
    for _ in range(5):
        response = await client.post(
            f"{API}/auth/login", json={"email": user["email"], "password": "wrong-guess-1"}
        )
        problem(response, 401, "invalid_credentials")
    locked = await client.post(f"{API}/auth/login", json={"email": user["email"], "password": GOOD_PASSWORD})
    problem(locked, 423, "account_locked")
    assert _retry_after(locked, 15 * 60) > 14 * 60
    actions = [
        row["action"]
        for row in await AuditEntry.select(AuditEntry.action).where(AuditEntry.target_id == user["id"])
    ]
    assert actions.count(USER_LOGIN_FAILED) == 5
    assert actions.count(USER_LOCKED) == 1


async def test_unknown_emails_lock_the_same_way(client: httpx.AsyncClient) -> None:
    email = random_email()
    for _ in range(5):
        problem(
            await client.post(f"{API}/auth/login", json={"email": email, "password": "x-guess-1"}),
            401,
            "invalid_credentials",
        )
    problem(
        await client.post(f"{API}/auth/login", json={"email": email, "password": "x-guess-1"}),
        423,
        "account_locked",
    )


async def test_a_success_clears_earlier_failures(client: httpx.AsyncClient) -> None:
    user = await register(client)
    for _ in range(4):
        await client.post(f"{API}/auth/login", json={"email": user["email"], "password": "wrong-guess-1"})
    await login(client, user["email"])
    for _ in range(4):
        await client.post(f"{API}/auth/login", json={"email": user["email"], "password": "wrong-guess-1"})
    await login(client, user["email"])


async def test_login_is_limited_to_ten_a_minute_per_address(client: httpx.AsyncClient) -> None:
    for _ in range(10):
        response = await client.post(f"{API}/auth/login", json={"email": random_email(), "password": "x"})
        assert response.status_code == 401
    limited = await client.post(f"{API}/auth/login", json={"email": random_email(), "password": "x"})
    problem(limited, 429, "rate_limited")
    _retry_after(limited, 60)


async def test_register_is_limited_to_five_a_minute_per_address(client: httpx.AsyncClient) -> None:
    for _ in range(5):
        await register(client)
    limited = await client.post(
        f"{API}/auth/register",
        json={"email": random_email(), "password": GOOD_PASSWORD, "full_name": "Sixth"},
    )
    problem(limited, 429, "rate_limited")
    _retry_after(limited, 60)


async def test_forgot_password_is_limited_to_three_an_hour_per_email(client: httpx.AsyncClient) -> None:
    email = random_email()
    for _ in range(3):
        assert (await client.post(f"{API}/auth/password/forgot", json={"email": email})).status_code == 202
    limited = await client.post(f"{API}/auth/password/forgot", json={"email": email.upper()})
    problem(limited, 429, "rate_limited")
    assert _retry_after(limited, 3600) > 59 * 60
    assert (
        await client.post(f"{API}/auth/password/forgot", json={"email": random_email()})
    ).status_code == 202


async def test_other_routes_allow_120_a_minute_per_user(client: httpx.AsyncClient, user_factory: Any) -> None:
    busy: UserAccount = await user_factory()
    calm: UserAccount = await user_factory()
    responses = await asyncio.gather(
        *(client.get(f"{API}/auth/me", headers=busy.headers) for _ in range(120))
    )
    assert all(response.status_code == 200 for response in responses)
    limited = await client.get(f"{API}/auth/me", headers=busy.headers)
    problem(limited, 429, "rate_limited")
    _retry_after(limited, 60)
    assert (await client.get(f"{API}/auth/me", headers=calm.headers)).status_code == 200


async def test_limits_are_shared_by_every_server_process(make_server: Any) -> None:
    first, second = await make_server(), await make_server()
    async with (
        httpx.AsyncClient(base_url=first.base_url) as one,
        httpx.AsyncClient(base_url=second.base_url) as two,
    ):
        attempts = [one, two] * 5
        results = await asyncio.gather(
            *(
                http.post(f"{API}/auth/login", json={"email": random_email(), "password": "x"})
                for http in attempts
            )
        )
        assert [r.status_code for r in results] == [401] * 10
        problem(
            await one.post(f"{API}/auth/login", json={"email": random_email(), "password": "x"}),
            429,
            "rate_limited",
        )
        problem(
            await two.post(f"{API}/auth/login", json={"email": random_email(), "password": "x"}),
            429,
            "rate_limited",
        )


async def test_limits_can_be_turned_off(make_server: Any) -> None:
    unlimited = await make_server(rate_limit_enabled="false")
    async with httpx.AsyncClient(base_url=unlimited.base_url) as http:
        for _ in range(12):
            response = await http.post(f"{API}/auth/login", json={"email": random_email(), "password": "x"})
            assert response.status_code == 401
        for _ in range(4):
            assert (
                await http.post(f"{API}/auth/password/forgot", json={"email": "same@example.com"})
            ).status_code == 202


async def test_health_and_ready_are_never_limited(client: httpx.AsyncClient) -> None:
    responses = await asyncio.gather(*(client.get("/health") for _ in range(150)))
    assert all(response.status_code == 200 for response in responses)
    assert (await client.get("/ready")).status_code == 200


async def test_the_limit_check_never_hops_to_a_thread(
    make_server: Any, user_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Litestar runs a sync throttle check in its thread pool: a hop on every request, limits on or off.
    hops: list[Any] = []
    run_in_thread = concurrency._run_sync_asyncio

    async def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(fn)
        return await run_in_thread(fn, *args, **kwargs)

    monkeypatch.setattr(concurrency, "_run_sync_asyncio", counted)
    user: UserAccount = await user_factory()
    for enabled in ("true", "false"):
        running = await make_server(rate_limit_enabled=enabled)
        async with httpx.AsyncClient(base_url=running.base_url) as http:
            for path in ("/auth/me", "/interviews", "/resumes"):
                assert (await http.get(f"{API}{path}", headers=user.headers)).status_code == 200
    assert hops == []
