"""OpenAPI descriptions of the error answers routes can give (RFC 9457 problem details)."""

from __future__ import annotations

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example

from server.core.errors import PROBLEM_TYPE_BASE


class ProblemFieldError(msgspec.Struct):
    field: str
    message: str


class Problem(msgspec.Struct, kw_only=True):
    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[ProblemFieldError] | msgspec.UnsetType = msgspec.UNSET


def problems(described: dict[int, str]) -> dict[int, ResponseSpec]:
    """`{401: "invalid_token: ...", ...}` → response specs; the text before ":" is the code."""
    specs: dict[int, ResponseSpec] = {}
    for status, text in described.items():
        code = text.partition(":")[0].strip()
        specs[status] = ResponseSpec(
            data_container=Problem,
            description=text,
            media_type="application/problem+json",
            generate_examples=False,
            examples=[
                Example(
                    summary=code,
                    value={
                        "type": PROBLEM_TYPE_BASE + code.replace("_", "-"),
                        "status": status,
                        "code": code,
                        "detail": text.partition(":")[2].strip(),
                    },
                )
            ],
        )
    return specs


AUTH_REQUIRED = {
    401: "not_authenticated: no bearer access token; or invalid_token: bad, expired or revoked token",
    429: "rate_limited: more than 120 requests a minute; see Retry-After",
}
STAFF_ONLY = {**AUTH_REQUIRED, 403: "forbidden: your role may not do this"}
