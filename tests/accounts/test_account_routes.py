"""Registration, login, refresh rotation, logout and the profile, through real HTTP."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import msgspec
import pytest

from tests.accounts.helpers import API, GOOD_PASSWORD, bearer, login, next_pubsub_message, problem, register
from tests.conftest import decode, random_email


async def test_register_returns_the_user_and_normalises_the_email(client: httpx.AsyncClient) -> None:
    user = await register(client, email="  Grace.Hopper@Example.COM ", full_name=" Grace Hopper ")
    assert user["email"] == "grace.hopper@example.com"
    assert user["full_name"] == "Grace Hopper"
    assert user["role"] == "user"
    assert user["email_verified"] is False
    assert user["is_active"] is True
    uuid.UUID(user["id"])
    assert user["created_at"].endswith("Z")
    assert set(user) >= {"id", "email", "full_name", "role", "email_verified", "is_active", "created_at"}


async def test_duplicate_email_in_any_case_is_refused(client: httpx.AsyncClient) -> None:
    await register(client, email="dup@example.com")
    response = await client.post(
        f"{API}/auth/register",
        json={"email": "DUP@example.com", "password": GOOD_PASSWORD, "full_name": "Someone Else"},
    )
    problem(response, 409, "email_taken")


async def test_concurrent_registrations_of_one_email_create_one_account(client: httpx.AsyncClient) -> None:
    payload = {"email": random_email(), "password": GOOD_PASSWORD, "full_name": "Twin"}
    responses = await asyncio.gather(*(client.post(f"{API}/auth/register", json=payload) for _ in range(3)))
    assert sorted(r.status_code for r in responses) == [201, 409, 409]


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short1!", "at least 10"),
        ("password123", "too common"),
        ("Sunshine2024!", "too common"),
        ("qwertyuiop", "too common"),
        ("xx-marguerite-xx", "name part"),
        ("a" * 300, "at most 256"),
    ],
)
async def test_weak_passwords_are_refused(client: httpx.AsyncClient, password: str, reason: str) -> None:
    response = await client.post(
        f"{API}/auth/register",
        json={"email": "marguerite@example.com", "password": password, "full_name": "Marguerite"},
    )
    body = problem(response, 422, "weak_password")
    assert body["errors"][0]["field"] == "password"
    assert reason in body["errors"][0]["message"]


@pytest.mark.parametrize(
    "payload",
    [
        {"email": "not-an-email", "password": GOOD_PASSWORD, "full_name": "X"},
        {"email": "a@example.com", "password": GOOD_PASSWORD},
        {"email": "a@example.com", "password": GOOD_PASSWORD, "full_name": ""},
        {"email": "a@example.com", "password": GOOD_PASSWORD, "full_name": "X", "role": "admin"},
    ],
)
async def test_malformed_registrations_are_validation_errors(
    client: httpx.AsyncClient, payload: dict[str, Any]
) -> None:
    body = problem(await client.post(f"{API}/auth/register", json=payload), 422, "validation_error")
    assert body["errors"]


async def test_login_returns_a_token_pair_that_opens_me(client: httpx.AsyncClient) -> None:
    user = await register(client)
    pair = await login(client, user["email"].upper())
    assert pair["token_type"] == "bearer"
    assert pair["expires_in"] == 900
    me = await client.get(f"{API}/auth/me", headers=bearer(pair["access_token"]))
    assert me.status_code == 200
    assert decode(me) == user


async def test_unknown_email_and_wrong_password_get_the_same_answer(client: httpx.AsyncClient) -> None:
    user = await register(client)
    wrong = await client.post(
        f"{API}/auth/login", json={"email": user["email"], "password": "not-the-password"}
    )
    unknown = await client.post(
        f"{API}/auth/login", json={"email": random_email(), "password": "not-the-password"}
    )
    malformed = await client.post(f"{API}/auth/login", json={"email": "nobody", "password": "x"})
    for response in (wrong, unknown, malformed):
        problem(response, 401, "invalid_credentials")
    assert wrong.content == unknown.content == malformed.content


async def test_me_needs_a_token(client: httpx.AsyncClient) -> None:
    missing = problem(await client.get(f"{API}/auth/me"), 401, "not_authenticated")
    assert missing["detail"]
    problem(
        await client.get(f"{API}/auth/me", headers={"Authorization": "Basic abc"}), 401, "not_authenticated"
    )
    problem(await client.get(f"{API}/auth/me", headers=bearer("garbage")), 401, "invalid_token")


async def test_refresh_rotates_and_a_spent_token_ends_the_session(client: httpx.AsyncClient) -> None:
    user = await register(client)
    first = await login(client, user["email"])
    response = await client.post(f"{API}/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert response.status_code == 200
    second = decode(response)
    assert second["refresh_token"] != first["refresh_token"]
    assert (await client.get(f"{API}/auth/me", headers=bearer(second["access_token"]))).status_code == 200

    replay = await client.post(f"{API}/auth/refresh", json={"refresh_token": first["refresh_token"]})
    problem(replay, 401, "token_reused")
    # Every token of that login is dead now, including the newest pair.
    problem(
        await client.post(f"{API}/auth/refresh", json={"refresh_token": second["refresh_token"]}),
        401,
        "invalid_token",
    )
    problem(await client.get(f"{API}/auth/me", headers=bearer(second["access_token"])), 401, "invalid_token")
    problem(await client.get(f"{API}/auth/me", headers=bearer(first["access_token"])), 401, "invalid_token")


async def test_reuse_ends_only_that_session(client: httpx.AsyncClient) -> None:
    user = await register(client)
    stolen = await login(client, user["email"])
    other = await login(client, user["email"])
    await client.post(f"{API}/auth/refresh", json={"refresh_token": stolen["refresh_token"]})
    await client.post(f"{API}/auth/refresh", json={"refresh_token": stolen["refresh_token"]})
    assert (await client.get(f"{API}/auth/me", headers=bearer(other["access_token"]))).status_code == 200


async def test_tokens_cannot_stand_in_for_each_other(client: httpx.AsyncClient) -> None:
    user = await register(client)
    pair = await login(client, user["email"])
    problem(
        await client.post(f"{API}/auth/refresh", json={"refresh_token": pair["access_token"]}),
        401,
        "invalid_token",
    )
    problem(await client.get(f"{API}/auth/me", headers=bearer(pair["refresh_token"])), 401, "invalid_token")


async def test_logout_kills_access_and_refresh_token_at_once(
    client: httpx.AsyncClient, redis_client: Any
) -> None:
    user = await register(client)
    pair = await login(client, user["email"])
    pubsub = redis_client.pubsub()
    await pubsub.subscribe("interviewace:auth:revocations")
    try:
        response = await client.post(
            f"{API}/auth/logout",
            json={"refresh_token": pair["refresh_token"]},
            headers=bearer(pair["access_token"]),
        )
        assert response.status_code == 204
        message = await next_pubsub_message(pubsub)
    finally:
        await pubsub.aclose()
    problem(await client.get(f"{API}/auth/me", headers=bearer(pair["access_token"])), 401, "invalid_token")
    problem(
        await client.post(f"{API}/auth/refresh", json={"refresh_token": pair["refresh_token"]}),
        401,
        "invalid_token",
    )
    announced = msgspec.json.decode(message["data"])
    assert announced["user_id"] == user["id"]
    assert announced["reason"] == "logout"
    assert announced["session_id"]


async def test_logout_without_a_body_and_with_another_sessions_refresh_token(
    client: httpx.AsyncClient,
) -> None:
    user = await register(client)
    here = await login(client, user["email"])
    elsewhere = await login(client, user["email"])
    untouched = await login(client, user["email"])
    response = await client.post(
        f"{API}/auth/logout",
        json={"refresh_token": elsewhere["refresh_token"]},
        headers=bearer(here["access_token"]),
    )
    assert response.status_code == 204
    problem(
        await client.get(f"{API}/auth/me", headers=bearer(elsewhere["access_token"])), 401, "invalid_token"
    )
    assert (await client.get(f"{API}/auth/me", headers=bearer(untouched["access_token"]))).status_code == 200
    bare = await client.post(f"{API}/auth/logout", headers=bearer(untouched["access_token"]))
    assert bare.status_code == 204
    problem(
        await client.get(f"{API}/auth/me", headers=bearer(untouched["access_token"])), 401, "invalid_token"
    )


async def test_patch_me_changes_name_and_merges_preferences(client: httpx.AsyncClient) -> None:
    user = await register(client)
    headers = bearer((await login(client, user["email"]))["access_token"])
    response = await client.patch(
        f"{API}/auth/me",
        json={"full_name": "Ada King", "preferences": {"language": "fr", "default_difficulty": 3}},
        headers=headers,
    )
    assert response.status_code == 200
    body = decode(response)
    assert body["full_name"] == "Ada King"
    assert body["preferences"] == {"language": "fr", "default_track": None, "default_difficulty": 3}

    response = await client.patch(
        f"{API}/auth/me",
        json={"preferences": {"default_track": "backend", "language": None}},
        headers=headers,
    )
    assert decode(response)["preferences"] == {
        "language": None,
        "default_track": "backend",
        "default_difficulty": 3,
    }
    assert decode(await client.get(f"{API}/auth/me", headers=headers))["full_name"] == "Ada King"


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"full_name": "   "},
        {"preferences": {"theme": "dark"}},
        {"preferences": {"default_difficulty": 9}},
        {"preferences": {"language": "not a language"}},
        {"preferences": {"default_track": "Back End!"}},
        {"email": "new@example.com"},
    ],
)
async def test_patch_me_refuses_bad_input(client: httpx.AsyncClient, payload: dict[str, Any]) -> None:
    user = await register(client)
    headers = bearer((await login(client, user["email"]))["access_token"])
    problem(await client.patch(f"{API}/auth/me", json=payload, headers=headers), 422, "validation_error")


async def test_email_verification_gates_login_when_required(make_server: Any) -> None:
    from server.accounts.email_tokens import issue_email_token

    gated = await make_server(require_email_verification="true")
    async with httpx.AsyncClient(base_url=gated.base_url) as http:
        user = await register(http)
        problem(
            await http.post(f"{API}/auth/login", json={"email": user["email"], "password": GOOD_PASSWORD}),
            403,
            "email_not_verified",
        )
        token = await issue_email_token(uuid.UUID(user["id"]), "verify_email")
        verified = await http.post(f"{API}/auth/verify-email", json={"token": token})
        assert verified.status_code == 200
        assert decode(verified)["email_verified"] is True
        await login(http, user["email"])
        problem(await http.post(f"{API}/auth/verify-email", json={"token": token}), 400, "invalid_token")
        problem(await http.post(f"{API}/auth/verify-email", json={"token": "made-up"}), 400, "invalid_token")


async def test_a_newer_verification_token_retires_the_older(client: httpx.AsyncClient) -> None:
    from server.accounts.email_tokens import issue_email_token

    user = await register(client)
    older = await issue_email_token(uuid.UUID(user["id"]), "verify_email")
    newer = await issue_email_token(uuid.UUID(user["id"]), "verify_email")
    problem(await client.post(f"{API}/auth/verify-email", json={"token": older}), 400, "invalid_token")
    assert (await client.post(f"{API}/auth/verify-email", json={"token": newer})).status_code == 200


async def test_openapi_documents_the_account_routes_and_their_errors(client: httpx.AsyncClient) -> None:
    schema = decode(await client.get("/schema/openapi.json"))
    expected = {
        ("post", "/api/v1/auth/register"): {"201", "409", "422", "429"},
        ("post", "/api/v1/auth/login"): {"200", "401", "403", "423", "429"},
        ("post", "/api/v1/auth/refresh"): {"200", "401"},
        ("post", "/api/v1/auth/logout"): {"204", "401"},
        ("get", "/api/v1/auth/me"): {"200", "401"},
        ("patch", "/api/v1/auth/me"): {"200", "401", "422"},
        ("post", "/api/v1/auth/password/change"): {"204", "401", "422", "423"},
        ("post", "/api/v1/auth/password/forgot"): {"202", "429"},
        ("post", "/api/v1/auth/password/reset"): {"204", "400", "422"},
        ("post", "/api/v1/auth/verify-email"): {"200", "400"},
        ("get", "/api/v1/admin/users"): {"200", "401", "403"},
        ("patch", "/api/v1/admin/users/{user_id}"): {"200", "403", "404", "409", "422"},
        ("get", "/api/v1/admin/stats"): {"200", "403"},
        ("get", "/api/v1/admin/audit-log"): {"200", "403"},
    }
    for (method, path), statuses in expected.items():
        operation = schema["paths"][path][method]
        assert operation["summary"], path
        assert statuses <= set(operation["responses"]), (path, sorted(operation["responses"]))
        for status in statuses - {"200", "201", "202", "204"}:
            assert "application/problem+json" in operation["responses"][status]["content"], (path, status)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "bad_request"),
        (b"[1, 2]", 422, "validation_error"),
        (b'{"email": 5, "password": "x"}', 422, "validation_error"),
        (b'{"email": "a@example.com", "password": "' + b"x" * 2000 + b'"}', 422, "validation_error"),
    ],
)
async def test_hostile_login_bodies_get_problem_details(
    client: httpx.AsyncClient, body: bytes, status: int, code: str
) -> None:
    headers = {"content-type": "application/json"}
    problem(await client.post(f"{API}/auth/login", content=body, headers=headers), status, code)


async def test_an_oversized_bearer_token_is_just_invalid(client: httpx.AsyncClient) -> None:
    problem(await client.get(f"{API}/auth/me", headers=bearer("a" * 50_000)), 401, "invalid_token")
