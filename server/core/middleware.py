"""ASGI middleware for every HTTP request and websocket: request id, access log, security headers.

Plain ASGI rather than Litestar's middleware classes because it has to see the final status
of every response, including the problem-details answers produced by exception handlers.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from server.core.logging import get_logger

REQUEST_ID_HEADER = "x-request-id"
# The server's own `send` of a websocket, for the live channel's hot path (see socket.py).
SERVER_SEND_SCOPE_KEY = "interviewace.server_send"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{8,128}$")

# Strict by default: no inline script or style, nothing from other origins. The OpenAPI UIs under
# /schema load their bundles from a CDN and use inline bootstrapping, so they get their own policy.
STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://unpkg.com; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://unpkg.com "
    "https://fonts.googleapis.com; "
    "img-src 'self' data: https:; font-src 'self' https://fonts.gstatic.com; connect-src 'self'; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)

access_log = get_logger("interviewace.access")


def incoming_request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            if _VALID_REQUEST_ID.match(candidate):
                return candidate
            break
    return uuid.uuid4().hex


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in (ScopeType.HTTP, ScopeType.WEBSOCKET):
            await self.app(scope, receive, send)
            return
        request_id = incoming_request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        if scope["type"] == ScopeType.WEBSOCKET:
            # Not wrapped: every frame of a live interview would pass through here. The socket
            # handler puts the request id on its handshake response itself.
            scope[SERVER_SEND_SCOPE_KEY] = send  # type: ignore[literal-required]
            await self.app(scope, receive, send)
            return

        started = time.perf_counter()
        status = 500
        path: str = scope.get("path", "")
        csp = DOCS_CSP if path.startswith("/schema") else STRICT_CSP

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableScopeHeaders.from_message(message)
                headers["X-Request-ID"] = request_id
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                headers["Referrer-Policy"] = "no-referrer"
                headers["Cross-Origin-Opener-Policy"] = "same-origin"
                if "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = csp
                if self.hsts:
                    headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            access_log.info(
                "request",
                method=scope.get("method"),
                path=path,
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
                client=_client(scope),
            )
            structlog.contextvars.clear_contextvars()


def _client(scope: Scope) -> Any:
    client = scope.get("client")
    return client[0] if client else None
