"""Small helpers shared by the accounts tests: talking to the API as a client would."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

from tests.conftest import decode, random_email

API = "/api/v1"
GOOD_PASSWORD = "violet-kettle-harbour-42"
T = TypeVar("T")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def register(
    client: httpx.AsyncClient,
    *,
    email: str | None = None,
    password: str = GOOD_PASSWORD,
    full_name: str = "Ada Lovelace",
) -> dict[str, Any]:
    response = await client.post(
        f"{API}/auth/register",
        json={"email": email or random_email(), "password": password, "full_name": full_name},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = decode(response)
    return body


async def login(client: httpx.AsyncClient, email: str, password: str = GOOD_PASSWORD) -> dict[str, Any]:
    response = await client.post(f"{API}/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = decode(response)
    return body


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Assert the response is problem details with this status and code; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = decode(response)
    assert body["status"] == status
    assert body["code"] == code, body
    return body


async def eventually(probe: Callable[[], Awaitable[T | None]], *, timeout: float = 20.0) -> T:
    """Poll `probe` until it returns something other than None (work done by another process)."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing happened within {timeout} s")
        await asyncio.sleep(0.1)


async def next_pubsub_message(pubsub: Any, *, timeout: float = 5.0) -> dict[str, Any]:
    """The next published message (redis-py answers None for subscribe confirmations)."""

    async def probe() -> dict[str, Any] | None:
        message: dict[str, Any] | None = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
        return message

    return await eventually(probe, timeout=timeout)
