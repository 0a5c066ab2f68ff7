"""Fixtures for driving the web client in Debian's Chromium through Playwright (async API).

Without Chromium the browser tests skip, unless CI=true: there they must run, so a missing
browser fails them. No browser is ever downloaded; .ci/run installs Debian's package.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import re
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningServer, WorkerProcess, make_settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true, so the browser tests must run, but {reason}")
    pytest.skip(f"{reason}; install it (apt-get install chromium) or set CI=true to make this a failure")


def _require_chromium() -> None:
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        _unavailable("the playwright package is not installed (uv sync installs the dev group)")
    if not CHROMIUM.exists():
        _unavailable(f"Chromium is not installed at {CHROMIUM}")


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    _require_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def web_server(database: None, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[RunningServer]:
    """The app on its own port, with that origin allowed for websockets, mail links pointing at
    it, and the offline provider streaming slowly enough for a connection cut to land mid-stream."""
    from server.core.app import create_asgi_app
    from server.core.embedded import free_tcp_port

    port = free_tcp_port()
    origin = f"http://127.0.0.1:{port}"
    # The worker composes the mail links from its own environment (see web_worker).
    monkeypatch.setenv("PUBLIC_BASE_URL", origin)
    settings = make_settings(allowed_origins=origin, public_base_url=origin, offline_tokens_per_second="60")
    running = RunningServer(create_asgi_app(settings), port)
    await running.start()
    yield running
    await running.stop()


@pytest.fixture
def web_worker(web_server: RunningServer) -> Iterator[WorkerProcess]:
    """A real Dramatiq worker started after web_server, so its mail links point at that server."""
    process = WorkerProcess()
    process.start()
    yield process
    process.stop()


class PageWatch:
    """Everything a page does that a test wants to assert on afterwards."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.csp_violations: list[str] = []
        self.request_urls: list[str] = []

    def attach(self, page: Any) -> Any:
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", self._console)
        page.on("request", lambda request: self.request_urls.append(request.url))
        return page

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.csp_violations.append(message.text)
        elif message.type == "error" and "Failed to load resource" not in message.text:
            # Failed API calls (4xx shown to the user) log "Failed to load resource"; those are
            # expected in error-path steps. Anything else logged as an error is a bug.
            self.errors.append(message.text)

    def assert_clean(self) -> None:
        assert self.errors == [], self.errors
        assert self.csp_violations == [], self.csp_violations


async def screenshot(page: Any, name: str) -> None:
    """A full-page screenshot under test-artifacts/web/, from the top of the page."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True, animations="disabled")


async def outbox_link(data_dir: Path, recipient: str, page: str, *, timeout: float = 30.0) -> str:
    """The link to `page` in the newest dev-outbox mail to `recipient` (written by the worker)."""
    outbox = data_dir / "outbox"
    pattern = re.compile(rf"https?://\S+/{re.escape(page)}#token=[\w\-.~%]+")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found: list[tuple[float, str]] = []
        for path in outbox.glob("*.eml") if outbox.is_dir() else []:
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if recipient.lower() not in str(message["To"]).lower():
                continue
            body = message.get_body(preferencelist=("plain",))
            match = pattern.search(body.get_content() if body is not None else "")
            if match:
                found.append((path.stat().st_mtime, match.group(0)))
        if found:
            return max(found)[1]
        await asyncio.sleep(0.2)
    raise AssertionError(f"no mail to {recipient} with a /{page} link in {outbox}")
