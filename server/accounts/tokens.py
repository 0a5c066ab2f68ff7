"""Signed tokens (PyJWT, HS256 pinned) and the digests under which secrets are stored.

Access and refresh tokens are both JWTs with every registered claim required and checked
(`exp`, `iat`, `jti`, `sub`, `iss`, `aud`) plus `typ` and `sid` (the session: the refresh
token family). `typ` keeps one kind from standing in for the other. The signing key is derived
from SECRET_KEY for this purpose only, so other features signing with SECRET_KEY (or a key
derived for another purpose) can never mint something these checks accept.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import time
import uuid
from typing import Any, Literal

import jwt
import msgspec

from server.core.errors import Unauthorized
from server.core.settings import Settings

ALGORITHM = "HS256"
TokenType = Literal["access", "refresh"]
_COMMON_CLAIMS = ("exp", "iat", "jti", "sub", "iss", "aud", "typ", "sid")
# Several server processes may disagree on the time by a moment; more than this is an error.
CLOCK_SKEW_SECONDS = 5


class InvalidToken(Unauthorized):
    """A token is malformed, forged, expired, of the wrong type or revoked (401)."""

    code = "invalid_token"


class AccessClaims(msgspec.Struct, frozen=True, kw_only=True):
    sub: uuid.UUID
    sid: uuid.UUID
    jti: str
    typ: Literal["access"]
    iat: int
    exp: int
    iss: str
    aud: str
    ver: int


class RefreshClaims(msgspec.Struct, frozen=True, kw_only=True):
    sub: uuid.UUID
    sid: uuid.UUID
    jti: uuid.UUID
    typ: Literal["refresh"]
    iat: int
    exp: int
    iss: str
    aud: str


def signing_key(settings: Settings) -> bytes:
    return _derive_signing_key(settings.secret_key)


@functools.lru_cache(maxsize=8)
def _derive_signing_key(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode(), b"interviewace:auth-tokens:v1", hashlib.sha256).digest()


def digest(secret_value: str) -> str:
    """How high-entropy secrets (refresh and email tokens) are stored: a plain SHA-256 is enough,
    as nobody can enumerate 256-bit random values."""
    return hashlib.sha256(secret_value.encode()).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def _encode(claims: msgspec.Struct, settings: Settings) -> str:
    return jwt.encode(msgspec.to_builtins(claims), signing_key(settings), algorithm=ALGORITHM)


def issue_access_token(
    settings: Settings, *, user_id: uuid.UUID, session_id: uuid.UUID, token_version: int, now: int
) -> tuple[str, AccessClaims]:
    claims = AccessClaims(
        sub=user_id,
        sid=session_id,
        jti=uuid.uuid4().hex,
        typ="access",
        iat=now,
        exp=now + settings.access_token_ttl_seconds,
        iss=settings.jwt_issuer,
        aud=settings.jwt_audience,
        ver=token_version,
    )
    return _encode(claims, settings), claims


def issue_refresh_token(
    settings: Settings, *, user_id: uuid.UUID, session_id: uuid.UUID, now: int
) -> tuple[str, RefreshClaims]:
    claims = RefreshClaims(
        sub=user_id,
        sid=session_id,
        jti=uuid.uuid4(),
        typ="refresh",
        iat=now,
        exp=now + settings.refresh_token_ttl_seconds,
        iss=settings.jwt_issuer,
        aud=settings.jwt_audience,
    )
    return _encode(claims, settings), claims


def _decode(token: str, settings: Settings, expected: TokenType, required: tuple[str, ...]) -> dict[str, Any]:
    try:
        payload: dict[str, Any] = jwt.decode(
            token,
            signing_key(settings),
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": list(required), "strict_aud": True},
        )
    except jwt.ExpiredSignatureError:
        raise InvalidToken("The token has expired.") from None
    except jwt.InvalidTokenError:
        raise InvalidToken("The token is not valid.") from None
    if payload.get("typ") != expected:
        raise InvalidToken(f"This is not a valid {expected} token.")
    return payload


# Checking an access token (PyJWT: signature, then every claim) was a tenth of a worker's time,
# and a client presents the same token for up to its whole lifetime. Apart from the clock, the
# outcome depends only on the token's exact text and on the key, issuer and audience, which are
# part of the cache key; what depends on the clock is checked again on every use. Only tokens
# that passed every check are kept, so nobody without the key can fill this.
VERIFIED_TOKENS_MAX_ENTRIES = 10_000
_VerifiedKey = tuple[str, bytes, str, str]
_verified_tokens: dict[_VerifiedKey, AccessClaims] = {}


def _check_clock(claims: AccessClaims, now: float) -> None:
    """PyJWT's time checks, for a token it has already accepted once."""
    if claims.exp <= now - CLOCK_SKEW_SECONDS:
        raise InvalidToken("The token has expired.")
    if claims.iat > now + CLOCK_SKEW_SECONDS:
        raise InvalidToken("The token is not valid.")


def _remember_verified(key: _VerifiedKey, claims: AccessClaims, now: float) -> None:
    cache = _verified_tokens
    cache[key] = claims
    # Tokens arrive roughly in expiry order, so the expired ones gather at the front.
    while cache:
        oldest = next(iter(cache))
        if len(cache) <= VERIFIED_TOKENS_MAX_ENTRIES and cache[oldest].exp > now - CLOCK_SKEW_SECONDS:
            break
        del cache[oldest]


def forget_verified_tokens() -> None:
    _verified_tokens.clear()


def decode_access_token(token: str, settings: Settings) -> AccessClaims:
    key = (token, signing_key(settings), settings.jwt_issuer, settings.jwt_audience)
    now = time.time()
    known = _verified_tokens.get(key)
    if known is not None:
        _check_clock(known, now)
        return known
    payload = _decode(token, settings, "access", (*_COMMON_CLAIMS, "ver"))
    try:
        claims = msgspec.convert(payload, AccessClaims)
    except msgspec.ValidationError:
        raise InvalidToken("The token is not valid.") from None
    # `nbf` is not among the claims kept, so its check could not be repeated.
    if "nbf" not in payload:
        _remember_verified(key, claims, now)
    return claims


def decode_refresh_token(token: str, settings: Settings) -> RefreshClaims:
    payload = _decode(token, settings, "refresh", _COMMON_CLAIMS)
    try:
        return msgspec.convert(payload, RefreshClaims)
    except msgspec.ValidationError:
        raise InvalidToken("The token is not valid.") from None
