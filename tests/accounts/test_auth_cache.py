"""The per-process copy of user rows that authentication reuses (auth.py `user_rows`).

Every change that must act at once is made here while the caller's row is cached with a lifetime
far longer than any test takes, so a refusal on the next request can only come from the signal
in Redis, never from the copy running out.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from server.accounts import auth
from server.accounts.admin import ensure_admin
from server.accounts.auth import UserRowCache, user_rows
from server.accounts.email_tokens import issue_email_token
from server.accounts.revocation import mark_user_changed, record_token_version
from server.accounts.sessions import start_session
from server.accounts.tables import User
from tests.accounts.helpers import API, bearer, problem
from tests.conftest import UserAccount, decode

UserFactory = Callable[..., Awaitable[UserAccount]]


@pytest.fixture
def long_lived_copies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(user_rows, "ttl_seconds", 300.0)


async def _me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get(f"{API}/auth/me", headers=bearer(token))


async def _cached(client: httpx.AsyncClient, user: UserAccount, token: str | None = None) -> None:
    """Authenticate once so that the user's row is held, and check it is."""
    assert (await _me(client, token or user.access_token)).status_code == 200
    assert user.id in user_rows


async def _second_session(settings: Any, user: UserAccount) -> str:
    version = (await User.select(User.token_version).where(User.id == user.id).first())["token_version"]
    pair = await start_session(settings, user_id=user.id, token_version=version)
    return pair.access_token


pytestmark = pytest.mark.usefixtures("long_lived_copies")


async def test_the_copy_is_used_and_a_change_signal_replaces_it(
    client: httpx.AsyncClient, user_factory: UserFactory, redis_client: Any
) -> None:
    user = await user_factory(full_name="Before")
    await _cached(client, user)
    # Written behind the application's back: nothing tells the processes, so the copy answers.
    await User.update({User.full_name: "After"}).where(User.id == user.id)
    assert decode(await _me(client, user.access_token))["full_name"] == "Before"
    await mark_user_changed(redis_client, user.id)
    assert decode(await _me(client, user.access_token))["full_name"] == "After"


async def test_deactivation_refuses_the_next_request(
    client: httpx.AsyncClient, user_factory: UserFactory, admin_user: UserAccount
) -> None:
    user = await user_factory()
    await _cached(client, user)
    response = await client.patch(
        f"{API}/admin/users/{user.id}", json={"is_active": False}, headers=admin_user.headers
    )
    assert response.status_code == 200
    problem(await _me(client, user.access_token), 401, "invalid_token")


async def test_reactivation_lets_a_new_login_in_at_once(
    client: httpx.AsyncClient, user_factory: UserFactory, admin_user: UserAccount, settings: Any
) -> None:
    user = await user_factory()
    await _cached(client, user)
    for active in (False, True):
        response = await client.patch(
            f"{API}/admin/users/{user.id}", json={"is_active": active}, headers=admin_user.headers
        )
        assert response.status_code == 200
    problem(await _me(client, user.access_token), 401, "invalid_token")
    assert (await _me(client, await _second_session(settings, user))).status_code == 200


async def test_a_role_change_refuses_old_tokens_and_shows_in_new_ones_at_once(
    client: httpx.AsyncClient, user_factory: UserFactory, admin_user: UserAccount
) -> None:
    user = await user_factory()
    await _cached(client, user)
    problem(await client.get(f"{API}/admin/users", headers=user.headers), 403, "forbidden")
    response = await client.patch(
        f"{API}/admin/users/{user.id}", json={"role": "moderator"}, headers=admin_user.headers
    )
    assert response.status_code == 200
    problem(await _me(client, user.access_token), 401, "invalid_token")
    refreshed = decode(await client.post(f"{API}/auth/refresh", json={"refresh_token": user.refresh_token}))
    assert decode(await _me(client, refreshed["access_token"]))["role"] == "moderator"
    assert (
        await client.get(f"{API}/admin/users", headers=bearer(refreshed["access_token"]))
    ).status_code == 200

    # And back: the demoted moderator loses the staff routes on the very next request.
    await _cached(client, user, refreshed["access_token"])
    response = await client.patch(
        f"{API}/admin/users/{user.id}", json={"role": "user"}, headers=admin_user.headers
    )
    assert response.status_code == 200
    problem(
        await client.get(f"{API}/admin/users", headers=bearer(refreshed["access_token"])),
        401,
        "invalid_token",
    )


async def test_a_password_change_refuses_the_other_sessions_next_request(
    client: httpx.AsyncClient, user_factory: UserFactory, settings: Any
) -> None:
    user = await user_factory()
    other = await _second_session(settings, user)
    await _cached(client, user)
    await _cached(client, user, other)
    response = await client.post(
        f"{API}/auth/password/change",
        json={"current_password": user.password, "new_password": "amber-lantern-meadow-17"},
        headers=user.headers,
    )
    assert response.status_code == 204
    problem(await _me(client, other), 401, "invalid_token")
    assert (await _me(client, user.access_token)).status_code == 200


async def test_a_password_reset_refuses_every_token_on_the_next_request(
    client: httpx.AsyncClient, user_factory: UserFactory, settings: Any
) -> None:
    user = await user_factory()
    other = await _second_session(settings, user)
    await _cached(client, user)
    await _cached(client, user, other)
    token = await issue_email_token(user.id, "reset_password")
    response = await client.post(
        f"{API}/auth/password/reset", json={"token": token, "new_password": "amber-lantern-meadow-17"}
    )
    assert response.status_code == 204
    problem(await _me(client, user.access_token), 401, "invalid_token")
    problem(await _me(client, other), 401, "invalid_token")


async def test_logout_refuses_the_next_request(client: httpx.AsyncClient, user_factory: UserFactory) -> None:
    user = await user_factory()
    await _cached(client, user)
    assert (await client.post(f"{API}/auth/logout", headers=user.headers)).status_code == 204
    problem(await _me(client, user.access_token), 401, "invalid_token")


async def test_a_deleted_account_is_refused_on_the_next_request(
    client: httpx.AsyncClient, user_factory: UserFactory, redis_client: Any
) -> None:
    # The API has no account deletion; whatever deletes one must signal it like any change.
    user = await user_factory()
    await _cached(client, user)
    await User.delete().where(User.id == user.id)
    await mark_user_changed(redis_client, user.id)
    problem(await _me(client, user.access_token), 401, "invalid_token")


async def test_an_unsignalled_change_is_seen_once_the_copy_runs_out(
    client: httpx.AsyncClient, user_factory: UserFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(user_rows, "ttl_seconds", auth.USER_CACHE_SECONDS)
    user = await user_factory()
    await _cached(client, user)
    await User.delete().where(User.id == user.id)  # an operator's own SQL
    await asyncio.sleep(auth.USER_CACHE_SECONDS + 0.1)
    problem(await _me(client, user.access_token), 401, "invalid_token")


async def test_a_newer_token_version_in_redis_refuses_a_cached_user(
    client: httpx.AsyncClient, user_factory: UserFactory, redis_client: Any, settings: Any
) -> None:
    user = await user_factory()
    await _cached(client, user)
    await record_token_version(redis_client, settings, user.id, 1)
    problem(await _me(client, user.access_token), 401, "invalid_token")


async def test_profile_changes_show_on_the_next_request(
    client: httpx.AsyncClient, user_factory: UserFactory
) -> None:
    user = await user_factory(email_verified=False)
    await _cached(client, user)
    response = await client.patch(
        f"{API}/auth/me",
        json={"full_name": "Grace Hopper", "preferences": {"language": "fr"}},
        headers=user.headers,
    )
    assert response.status_code == 200
    me = decode(await _me(client, user.access_token))
    assert me["full_name"] == "Grace Hopper"
    assert me["preferences"]["language"] == "fr"
    assert me["email_verified"] is False

    token = await issue_email_token(user.id, "verify_email")
    assert (await client.post(f"{API}/auth/verify-email", json={"token": token})).status_code == 200
    assert decode(await _me(client, user.access_token))["email_verified"] is True


async def test_me_answers_what_the_database_holds(
    client: httpx.AsyncClient, user_factory: UserFactory
) -> None:
    user = await user_factory()
    me = decode(await _me(client, user.access_token))
    row = await User.select().where(User.id == user.id).output(load_json=True).first()
    assert me == {
        "id": str(user.id),
        "email": row["email"],
        "full_name": row["full_name"],
        "role": row["role"],
        "email_verified": row["email_verified"],
        "is_active": True,
        "created_at": row["created_at"].isoformat().replace("+00:00", "Z"),
        "preferences": {"language": None, "default_track": None, "default_difficulty": None},
    }


async def test_an_operator_promotion_shows_on_the_next_request(
    client: httpx.AsyncClient, user_factory: UserFactory, settings: Any
) -> None:
    user = await user_factory()
    await _cached(client, user)
    problem(await client.get(f"{API}/admin/users", headers=user.headers), 403, "forbidden")
    assert await ensure_admin(settings, user.email, "ignored-for-existing-1") == "promoted"
    assert (await client.get(f"{API}/admin/users", headers=user.headers)).status_code == 200


def _row(name: str) -> Any:
    return auth._UserRow(
        email=f"{name}@example.com",
        full_name=name,
        role="user",
        email_verified=True,
        token_version=0,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        preferences_json="{}",
    )


def test_a_copy_only_answers_for_the_generation_it_was_read_under() -> None:
    cache = UserRowCache(ttl_seconds=60, max_entries=10)
    user_id = uuid.uuid4()
    cache.put(user_id, None, _row("a"))
    assert cache.get(user_id, None) is not None
    assert cache.get(user_id, b"changed") is None
    cache.put(user_id, b"changed", _row("b"))
    assert cache.get(user_id, None) is None
    assert cache.get(user_id, b"changed") == _row("b")


def test_a_copy_runs_out(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(auth.time, "monotonic", lambda: clock[0])
    cache = UserRowCache(ttl_seconds=1.0, max_entries=10)
    user_id = uuid.uuid4()
    cache.put(user_id, None, _row("a"))
    clock[0] += 0.9
    assert cache.get(user_id, None) is not None
    clock[0] += 0.1
    assert cache.get(user_id, None) is None


def test_the_cache_is_bounded_and_drops_the_oldest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(auth.time, "monotonic", lambda: clock[0])
    cache = UserRowCache(ttl_seconds=5.0, max_entries=3)
    ids = [uuid.uuid4() for _ in range(5)]
    for user_id in ids:
        cache.put(user_id, None, _row("x"))
    assert len(cache) == 3
    assert [user_id in cache for user_id in ids] == [False, False, True, True, True]
    # Expired entries leave at the next insertion even below the bound.
    clock[0] += 6
    cache.put(ids[0], None, _row("x"))
    assert len(cache) == 1
