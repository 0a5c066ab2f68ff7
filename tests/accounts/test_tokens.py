"""Tampered and stale tokens, and the websocket-facing checks (authenticate_token, is_session_valid)."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import httpx
import jwt
import pytest

from server.accounts import tokens
from server.accounts.auth import AuthUser, InvalidToken, authenticate_token, is_session_valid
from server.accounts.tokens import (
    ALGORITHM,
    CLOCK_SKEW_SECONDS,
    decode_access_token,
    issue_access_token,
    signing_key,
)
from tests.accounts.helpers import API, bearer, problem
from tests.conftest import UserAccount, make_settings

UserFactory = Callable[..., Awaitable[UserAccount]]


def _claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _resign(claims: dict[str, Any], settings: Any, **changes: Any) -> str:
    updated = {**claims, **changes}
    for name, value in changes.items():
        if value is None:
            del updated[name]
    return jwt.encode(updated, signing_key(settings), algorithm=ALGORITHM)


async def _me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get(f"{API}/auth/me", headers=bearer(token))


async def test_a_fresh_token_is_accepted(client: httpx.AsyncClient, user_factory: UserFactory) -> None:
    user = await user_factory()
    assert (await _me(client, user.access_token)).status_code == 200


async def test_alg_none_is_refused(client: httpx.AsyncClient, user_factory: UserFactory) -> None:
    user = await user_factory()
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(user.access_token))}."
    problem(await _me(client, unsigned), 401, "invalid_token")


async def test_edited_claims_break_the_signature(
    client: httpx.AsyncClient, user_factory: UserFactory
) -> None:
    victim = await user_factory()
    attacker = await user_factory()
    header, _, signature = attacker.access_token.split(".")
    forged_claims = {**_claims(attacker.access_token), "sub": str(victim.id)}
    problem(await _me(client, f"{header}.{_b64(forged_claims)}.{signature}"), 401, "invalid_token")


async def test_another_key_is_refused(client: httpx.AsyncClient, user_factory: UserFactory) -> None:
    user = await user_factory()
    forged = jwt.encode(
        _claims(user.access_token), "some-other-key-of-enough-length-1234567", algorithm=ALGORITHM
    )
    problem(await _me(client, forged), 401, "invalid_token")


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
async def test_hs512_with_the_right_key_is_still_refused(
    client: httpx.AsyncClient, user_factory: UserFactory, settings: Any
) -> None:
    user = await user_factory()
    other_alg = jwt.encode(_claims(user.access_token), signing_key(settings), algorithm="HS512")
    problem(await _me(client, other_alg), 401, "invalid_token")


@pytest.mark.parametrize(
    "changes",
    [
        {"exp": int(time.time()) - 60},
        {"exp": None},
        {"iat": None},
        {"jti": None},
        {"sub": None},
        {"sid": None},
        {"ver": None},
        {"typ": None},
        {"typ": "refresh"},
        {"iss": "someone-else"},
        {"aud": "another-api"},
        {"aud": ["interviewace-api", "another-api"]},
        {"iat": int(time.time()) + 3600},
        {"sub": "not-a-uuid"},
        {"ver": 7},
    ],
)
async def test_properly_signed_but_wrong_claims_are_refused(
    client: httpx.AsyncClient, user_factory: UserFactory, settings: Any, changes: dict[str, Any]
) -> None:
    user = await user_factory()
    token = _resign(_claims(user.access_token), settings, **changes)
    problem(await _me(client, token), 401, "invalid_token")


async def test_refresh_refuses_an_expired_or_retyped_refresh_token(
    client: httpx.AsyncClient, user_factory: UserFactory, settings: Any
) -> None:
    user = await user_factory()
    claims = _claims(user.refresh_token)
    for changes in ({"exp": int(time.time()) - 60}, {"typ": "access"}, {"exp": None}):
        token = _resign(claims, settings, **changes)
        response = await client.post(f"{API}/auth/refresh", json={"refresh_token": token})
        problem(response, 401, "invalid_token")


async def test_authenticate_token_outside_http(
    user_factory: UserFactory, settings: Any, redis_client: Any
) -> None:
    user = await user_factory(role="moderator")
    authenticated = await authenticate_token(user.access_token, settings=settings, redis=redis_client)
    assert isinstance(authenticated, AuthUser)
    assert authenticated.id == user.id
    assert authenticated.role == "moderator"
    assert authenticated.session_id == uuid.UUID(_claims(user.access_token)["sid"])
    assert authenticated.jti == _claims(user.access_token)["jti"]
    assert authenticated.expires_at.timestamp() == _claims(user.access_token)["exp"]
    with pytest.raises(InvalidToken) as raised:
        await authenticate_token(user.refresh_token, settings=settings, redis=redis_client)
    assert raised.value.code == "invalid_token"


async def test_session_checks_follow_logout(
    client: httpx.AsyncClient, user_factory: UserFactory, settings: Any, redis_client: Any
) -> None:
    user = await user_factory()
    authenticated = await authenticate_token(user.access_token, settings=settings, redis=redis_client)
    assert await is_session_valid(authenticated, redis=redis_client)
    assert (await client.post(f"{API}/auth/logout", headers=user.headers)).status_code == 204
    assert not await is_session_valid(authenticated, redis=redis_client)
    with pytest.raises(InvalidToken):
        await authenticate_token(user.access_token, settings=settings, redis=redis_client)


async def test_session_checks_follow_role_change_and_deactivation(
    client: httpx.AsyncClient,
    user_factory: UserFactory,
    admin_user: UserAccount,
    settings: Any,
    redis_client: Any,
) -> None:
    user = await user_factory()
    authenticated = await authenticate_token(user.access_token, settings=settings, redis=redis_client)
    response = await client.patch(
        f"{API}/admin/users/{user.id}", json={"role": "moderator"}, headers=admin_user.headers
    )
    assert response.status_code == 200
    assert not await is_session_valid(authenticated, redis=redis_client)

    refreshed = await client.post(f"{API}/auth/refresh", json={"refresh_token": user.refresh_token})
    assert refreshed.status_code == 200
    token = refreshed.json()["access_token"]
    again = await authenticate_token(token, settings=settings, redis=redis_client)
    assert again.role == "moderator"
    assert await is_session_valid(again, redis=redis_client)

    await client.patch(f"{API}/admin/users/{user.id}", json={"is_active": False}, headers=admin_user.headers)
    assert not await is_session_valid(again, redis=redis_client)
    with pytest.raises(InvalidToken):
        await authenticate_token(token, settings=settings, redis=redis_client)


# Access tokens PyJWT has accepted are remembered by their text (tokens.py); what depends on the
# clock or on the settings must still be decided afresh on every use.


async def test_a_remembered_token_still_expires(
    user_factory: UserFactory, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await user_factory()
    claims = decode_access_token(user.access_token, settings)
    assert decode_access_token(user.access_token, settings) is claims
    # The same boundary as PyJWT's: expired once `exp` is CLOCK_SKEW_SECONDS in the past.
    clock = [claims.exp + CLOCK_SKEW_SECONDS - 1.0]
    monkeypatch.setattr(tokens, "time", SimpleNamespace(time=lambda: clock[0]))
    assert decode_access_token(user.access_token, settings) is claims
    clock[0] += 1.0
    with pytest.raises(InvalidToken) as raised:
        decode_access_token(user.access_token, settings)
    assert raised.value.detail == "The token has expired."


async def test_a_remembered_token_is_checked_again_under_other_settings(
    user_factory: UserFactory, settings: Any
) -> None:
    user = await user_factory()
    decode_access_token(user.access_token, settings)
    for other in (
        make_settings(secret_key="another-secret-key-" + "y" * 40),
        make_settings(jwt_issuer="someone-else"),
        make_settings(jwt_audience="another-api"),
    ):
        with pytest.raises(InvalidToken):
            decode_access_token(user.access_token, other)


def test_remembered_tokens_are_bounded(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "VERIFIED_TOKENS_MAX_ENTRIES", 3)
    tokens.forget_verified_tokens()
    now = int(time.time())
    issued = [
        issue_access_token(settings, user_id=uuid.uuid4(), session_id=uuid.uuid4(), token_version=0, now=now)[
            0
        ]
        for _ in range(5)
    ]
    for token in issued:
        decode_access_token(token, settings)
    remembered = {key[0] for key in tokens._verified_tokens}
    assert remembered == set(issued[2:])


async def test_refused_tokens_are_not_remembered(
    client: httpx.AsyncClient, user_factory: UserFactory, settings: Any
) -> None:
    user = await user_factory()
    forged = _resign(_claims(user.access_token), settings, exp=int(time.time()) - 60)
    tokens.forget_verified_tokens()
    problem(await _me(client, forged), 401, "invalid_token")
    problem(await _me(client, f"{user.access_token}x"), 401, "invalid_token")
    assert all(key[0] not in (forged, f"{user.access_token}x") for key in tokens._verified_tokens)
