"""REST calls the load generator makes (api.md), with bounded concurrency."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import httpx

# Long, not common and free of the e-mail's name part, so it passes the password policy.
PASSWORD = "Bench-Runner-Passphrase-2026"
API_PREFIX = "/api/v1"
SETUP_CONCURRENCY = 16
TRANSPORT_RETRIES = 2
# Logins and registrations hash a password (argon2id, 64 MiB); more at once only queues them.
HASHING_CONCURRENCY = 8

T = TypeVar("T")


class ApiFailure(RuntimeError):
    """The server answered a set-up call with something other than success."""

    def __init__(self, what: str, response: httpx.Response) -> None:
        super().__init__(f"{what}: HTTP {response.status_code} {response.text[:300]}")
        self.status_code = response.status_code


async def bounded(limit: int, factories: Iterable[Callable[[], Awaitable[T]]]) -> list[T]:
    """Run the coroutines the factories make, at most `limit` at a time, results in order."""
    gate = asyncio.Semaphore(limit)

    async def one(factory: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await factory()

    return list(await asyncio.gather(*(one(f) for f in factories)))


@dataclass(frozen=True)
class User:
    email: str
    token: str


class Api:
    def __init__(self, base_url: str, *, connections: int = 64, timeout: float = 120.0) -> None:
        self.base_url = base_url
        self.client = httpx.AsyncClient(
            base_url=base_url + API_PREFIX,
            timeout=timeout,
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One call, tried again when a pooled keep-alive connection turns out to be closed by
        the server (uvicorn closes idle ones after 5 s: a race httpx surfaces as ReadError)."""
        for attempt in range(TRANSPORT_RETRIES + 1):
            try:
                return await self.client.request(method, url, **kwargs)
            except (httpx.ReadError, httpx.RemoteProtocolError, httpx.ConnectError):
                if attempt == TRANSPORT_RETRIES:
                    raise
                await asyncio.sleep(0.2 * (attempt + 1))
        raise AssertionError("the loop above returns or raises")

    @staticmethod
    def auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    async def register(self, email: str, full_name: str) -> None:
        response = await self.request(
            "POST", "/auth/register", json={"email": email, "password": PASSWORD, "full_name": full_name}
        )
        if response.status_code not in (201, 409):
            raise ApiFailure(f"register {email}", response)

    async def login(self, email: str) -> str:
        response = await self.request("POST", "/auth/login", json={"email": email, "password": PASSWORD})
        if response.status_code != 200:
            raise ApiFailure(f"login {email}", response)
        token: str = response.json()["access_token"]
        return token

    async def create_interview(self, token: str, **body: Any) -> dict[str, Any]:
        response = await self.request("POST", "/interviews", json=body, headers=self.auth(token))
        if response.status_code != 201:
            raise ApiFailure("create interview", response)
        created: dict[str, Any] = response.json()
        return created

    async def invite_observer(self, token: str, interview_id: str) -> str:
        response = await self.request(
            "POST",
            f"/interviews/{interview_id}/observers",
            json={"expires_in": 86_400},
            headers=self.auth(token),
        )
        if response.status_code != 201:
            raise ApiFailure("invite observer", response)
        observer_token: str = response.json()["observer_token"]
        return observer_token

    async def transcript(self, token: str, interview_id: str) -> list[dict[str, Any]]:
        response = await self.request(
            "GET", f"/interviews/{interview_id}/transcript", headers=self.auth(token)
        )
        if response.status_code != 200:
            raise ApiFailure("transcript", response)
        items: list[dict[str, Any]] = response.json()["items"]
        return items


def run_tag() -> str:
    """Distinguishes this run's accounts from earlier runs' on the same server."""
    return secrets.token_hex(4)


async def make_users(api: Api, count: int, prefix: str) -> list[User]:
    emails = [f"{prefix}-{i}@bench.example.com" for i in range(count)]
    await bounded(
        HASHING_CONCURRENCY, [partial(api.register, e, f"Bench User {i}") for i, e in enumerate(emails)]
    )
    tokens = await login_all(api, emails)
    return [User(email=e, token=t) for e, t in zip(emails, tokens, strict=True)]


async def login_all(api: Api, emails: Sequence[str]) -> list[str]:
    return await bounded(HASHING_CONCURRENCY, [partial(api.login, e) for e in emails])
