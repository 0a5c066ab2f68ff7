"""Admin routes and roles: guards, user changes, pagination, audit log, stats, the first admin."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import msgspec
import pytest

from server.accounts.admin import ensure_admin, ensure_initial_admin
from server.accounts.admin_stats import STATUS_COUNTS, count_by, forget_socket, mark_socket_live
from server.accounts.tables import User
from server.core.settings import SettingsError
from tests.accounts.helpers import API, GOOD_PASSWORD, login, next_pubsub_message, problem, register
from tests.conftest import UserAccount, decode, make_settings, random_email

UserFactory = Callable[..., Awaitable[UserAccount]]


async def test_plain_users_cannot_reach_admin_routes(
    client: httpx.AsyncClient, user_factory: UserFactory
) -> None:
    user = await user_factory()
    for path in ("/admin/users", "/admin/stats", "/admin/audit-log"):
        problem(await client.get(f"{API}{path}", headers=user.headers), 403, "forbidden")
    problem(
        await client.patch(f"{API}/admin/users/{user.id}", json={"role": "admin"}, headers=user.headers),
        403,
        "forbidden",
    )
    problem(await client.get(f"{API}/admin/users"), 401, "not_authenticated")


async def test_moderators_read_but_do_not_change(
    client: httpx.AsyncClient, moderator_user: UserAccount, user_factory: UserFactory
) -> None:
    target = await user_factory()
    for path in ("/admin/users", "/admin/stats", "/admin/audit-log"):
        assert (await client.get(f"{API}{path}", headers=moderator_user.headers)).status_code == 200
    response = await client.patch(
        f"{API}/admin/users/{target.id}", json={"role": "moderator"}, headers=moderator_user.headers
    )
    problem(response, 403, "forbidden")


async def test_user_list_is_paginated_and_searchable(
    client: httpx.AsyncClient, admin_user: UserAccount, user_factory: UserFactory
) -> None:
    for n in range(4):
        await user_factory(full_name=f"Searchable Person {n}")
    await user_factory(email="needle_100%@example.com", full_name="Someone")
    page = decode(await client.get(f"{API}/admin/users", params={"limit": 2}, headers=admin_user.headers))
    assert page["total"] == 6
    assert page["skip"] == 0
    assert page["limit"] == 2
    assert page["has_more"] is True
    assert len(page["items"]) == 2
    last = decode(
        await client.get(f"{API}/admin/users", params={"skip": 4, "limit": 2}, headers=admin_user.headers)
    )
    assert len(last["items"]) == 2
    assert last["has_more"] is False
    seen = {item["id"] for item in page["items"]} | {item["id"] for item in last["items"]}
    assert len(seen) == 4

    found = decode(
        await client.get(f"{API}/admin/users", params={"q": "SEARCHABLE"}, headers=admin_user.headers)
    )
    assert found["total"] == 4
    # Wildcards in the search are matched literally.
    literal = decode(
        await client.get(f"{API}/admin/users", params={"q": "_100%"}, headers=admin_user.headers)
    )
    assert [item["email"] for item in literal["items"]] == ["needle_100%@example.com"]
    assert (
        decode(await client.get(f"{API}/admin/users", params={"q": "%"}, headers=admin_user.headers))["total"]
        == 1
    )


@pytest.mark.parametrize("params", [{"limit": 101}, {"limit": 0}, {"skip": -1}, {"limit": "ten"}])
async def test_pagination_bounds(
    client: httpx.AsyncClient, admin_user: UserAccount, params: dict[str, Any]
) -> None:
    for path in ("/admin/users", "/admin/audit-log"):
        body = problem(
            await client.get(f"{API}{path}", params=params, headers=admin_user.headers),
            422,
            "validation_error",
        )
        assert body["errors"][0]["field"] in params


async def test_role_change_revokes_access_tokens_and_announces_it(
    client: httpx.AsyncClient, admin_user: UserAccount, user_factory: UserFactory, redis_client: Any
) -> None:
    user = await user_factory()
    pubsub = redis_client.pubsub()
    await pubsub.subscribe("interviewace:auth:revocations")
    try:
        response = await client.patch(
            f"{API}/admin/users/{user.id}", json={"role": "moderator"}, headers=admin_user.headers
        )
        message = await next_pubsub_message(pubsub)
    finally:
        await pubsub.aclose()
    assert response.status_code == 200
    assert decode(response)["role"] == "moderator"
    assert msgspec.json.decode(message["data"]) == {
        "user_id": str(user.id),
        "session_id": None,
        "reason": "role_changed",
    }
    problem(await client.get(f"{API}/auth/me", headers=user.headers), 401, "invalid_token")
    refreshed = decode(await client.post(f"{API}/auth/refresh", json={"refresh_token": user.refresh_token}))
    staff = {"Authorization": f"Bearer {refreshed['access_token']}"}
    assert (await client.get(f"{API}/admin/users", headers=staff)).status_code == 200


async def test_deactivation_ends_everything_until_reactivated(
    client: httpx.AsyncClient, admin_user: UserAccount
) -> None:
    user = await register(client)
    pair = await login(client, user["email"])
    response = await client.patch(
        f"{API}/admin/users/{user['id']}", json={"is_active": False}, headers=admin_user.headers
    )
    assert response.status_code == 200
    assert decode(response)["is_active"] is False
    bearer = {"Authorization": f"Bearer {pair['access_token']}"}
    problem(await client.get(f"{API}/auth/me", headers=bearer), 401, "invalid_token")
    problem(
        await client.post(f"{API}/auth/refresh", json={"refresh_token": pair["refresh_token"]}),
        401,
        "invalid_token",
    )
    problem(
        await client.post(f"{API}/auth/login", json={"email": user["email"], "password": GOOD_PASSWORD}),
        403,
        "account_disabled",
    )
    problem(
        await client.post(f"{API}/auth/login", json={"email": user["email"], "password": "wrong-password-1"}),
        401,
        "invalid_credentials",
    )
    await client.patch(
        f"{API}/admin/users/{user['id']}", json={"is_active": True}, headers=admin_user.headers
    )
    await login(client, user["email"])

    log = decode(
        await client.get(
            f"{API}/admin/audit-log", params={"target_id": user["id"]}, headers=admin_user.headers
        )
    )
    actions = [entry["action"] for entry in log["items"]]
    assert actions[:2] == ["user.login", "user.activated"]
    assert "user.deactivated" in actions
    deactivation = next(entry for entry in log["items"] if entry["action"] == "user.deactivated")
    assert deactivation["actor_id"] == str(admin_user.id)
    assert deactivation["target_type"] == "user"


async def test_the_last_admin_cannot_step_down(
    client: httpx.AsyncClient, admin_user: UserAccount, user_factory: UserFactory
) -> None:
    problem(
        await client.patch(
            f"{API}/admin/users/{admin_user.id}", json={"role": "user"}, headers=admin_user.headers
        ),
        409,
        "last_admin",
    )
    problem(
        await client.patch(
            f"{API}/admin/users/{admin_user.id}", json={"is_active": False}, headers=admin_user.headers
        ),
        409,
        "last_admin",
    )
    second = await user_factory(role="admin")
    response = await client.patch(
        f"{API}/admin/users/{admin_user.id}", json={"role": "user"}, headers=second.headers
    )
    assert response.status_code == 200


@pytest.mark.parametrize("payload", [{}, {"role": "owner"}, {"is_active": "no"}, {"email": "x@example.com"}])
async def test_user_changes_are_validated(
    client: httpx.AsyncClient, admin_user: UserAccount, payload: dict[str, Any]
) -> None:
    problem(
        await client.patch(f"{API}/admin/users/{admin_user.id}", json=payload, headers=admin_user.headers),
        422,
        "validation_error",
    )


async def test_unknown_user_is_404(client: httpx.AsyncClient, admin_user: UserAccount) -> None:
    response = await client.patch(
        f"{API}/admin/users/{uuid.uuid4()}", json={"role": "user"}, headers=admin_user.headers
    )
    problem(response, 404, "not_found")


async def test_audit_log_records_the_account_lifecycle(
    client: httpx.AsyncClient, admin_user: UserAccount
) -> None:
    user = await register(client)
    pair = await login(client, user["email"])
    await client.post(f"{API}/auth/login", json={"email": user["email"], "password": "wrong-password-1"})
    await client.post(
        f"{API}/auth/password/change",
        json={"current_password": GOOD_PASSWORD, "new_password": "amber-lantern-meadow-17"},
        headers={"Authorization": f"Bearer {pair['access_token']}"},
    )
    await client.post(f"{API}/auth/logout", headers={"Authorization": f"Bearer {pair['access_token']}"})
    log = decode(
        await client.get(
            f"{API}/admin/audit-log", params={"target_id": user["id"]}, headers=admin_user.headers
        )
    )
    assert [entry["action"] for entry in log["items"]] == [
        "user.logout",
        "user.password_changed",
        "user.login_failed",
        "user.login",
        "user.registered",
    ]
    failed = log["items"][2]
    assert failed["actor_id"] is None
    assert failed["details"]["reason"] == "wrong_password"
    assert set(failed) == {"id", "actor_id", "action", "target_type", "target_id", "at", "details"}
    only_logins = decode(
        await client.get(
            f"{API}/admin/audit-log", params={"action": "user.login"}, headers=admin_user.headers
        )
    )
    assert {entry["action"] for entry in only_logins["items"]} == {"user.login"}


async def test_stats_count_users_sockets_and_queues(
    client: httpx.AsyncClient, admin_user: UserAccount, user_factory: UserFactory, redis_client: Any
) -> None:
    await user_factory()
    inactive = await user_factory(role="moderator")
    await User.update({User.is_active: False}).where(User.id == inactive.id)
    await register(client)  # queues its verification mail; no worker runs in this test
    await mark_socket_live(redis_client, "socket-a")
    await mark_socket_live(redis_client, "socket-b")
    await mark_socket_live(redis_client, "socket-stale", ttl_seconds=-1)
    await forget_socket(redis_client, "socket-b")
    STATUS_COUNTS["users_by_verification"] = lambda: count_by(User.email_verified)
    try:
        stats = decode(await client.get(f"{API}/admin/stats", headers=admin_user.headers))
    finally:
        del STATUS_COUNTS["users_by_verification"]
    assert stats["users"] == {
        "total": 4,
        "active": 3,
        "inactive": 1,
        "by_role": {"user": 2, "moderator": 1, "admin": 1},
    }
    assert stats["by_status"]["users_by_verification"] == {"True": 3, "False": 1}
    assert stats["live_sockets"] == 1
    assert stats["queue_depth"]["mail"] == 1


async def test_initial_admin_is_created_once_then_left_alone(database: None) -> None:
    email = random_email()
    settings = make_settings(
        initial_admin_email=email.upper(), initial_admin_password="first-admin-password-7"
    )
    await ensure_initial_admin(settings)
    await ensure_initial_admin(settings)
    rows = await User.select(User.role, User.email_verified, User.is_active).where(User.email == email)
    assert rows == [{"role": "admin", "email_verified": True, "is_active": True}]


async def test_an_existing_account_is_promoted(client: httpx.AsyncClient, settings: Any) -> None:
    user = await register(client)
    assert await ensure_admin(settings, user["email"], "ignored-for-existing-1") == "promoted"
    assert await ensure_admin(settings, user["email"], "ignored-for-existing-1") == "unchanged"
    await login(client, user["email"])  # the account kept its own password


@pytest.mark.parametrize(
    ("email", "password"), [("not-an-email", "first-admin-password-7"), ("boss@example.com", "password123")]
)
async def test_bad_initial_admin_settings_stop_start_up(database: None, email: str, password: str) -> None:
    with pytest.raises(SettingsError):
        await ensure_initial_admin(make_settings(initial_admin_email=email, initial_admin_password=password))


async def _create_admin_command(email: str, password: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli",
        "create-admin",
        "--email",
        email,
        "--password-stdin",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=dict(os.environ),
    )
    out, err = await asyncio.wait_for(process.communicate(f"{password}\n".encode()), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_create_admin_command(database: None) -> None:
    email = random_email()
    code, out, err = await _create_admin_command(email, "cli-admin-password-7")
    assert code == 0, err
    assert "created" in out
    rows = await User.select(User.role, User.is_active).where(User.email == email)
    assert rows == [{"role": "admin", "is_active": True}]
    code, _, err = await _create_admin_command(random_email(), "password123")
    assert code == 1
    assert "too common" in err
