"""The live page's channel under a hostile network, in Chromium: Playwright sits between the page
and the server's websocket to refuse connections, duplicate every frame, or swallow pings."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

import httpx
import pytest
from playwright.async_api import expect

from tests.conftest import RunningServer
from tests.web.conftest import DESKTOP, PageWatch
from tests.web.transcripts import ANSWER, expected_transcript, page_transcript

pytestmark = pytest.mark.browser

SOCKETS = "**/ws/interviews/**"
# The page waits [c/2, c] before attempt n+1, c = 0.5 s × 2^n (live.js); measured gaps also
# carry connection set-up, hence the slack above each band.
BACKOFF_BANDS = [(0.25, 0.5), (0.5, 1.0), (1.0, 2.0), (2.0, 4.0)]
SLACK = 0.6


async def signed_in_page(browser: Any, server: RunningServer, user: Any, watch: PageWatch) -> Any:
    context = await browser.new_context(viewport=DESKTOP)
    page = watch.attach(await context.new_page())
    await page.goto(f"{server.base_url}/login")
    await page.get_by_label("Email").fill(user.email)
    await page.get_by_label("Password").fill(user.password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{server.base_url}/")
    return page


async def new_interview(server: RunningServer, user: Any, questions: int) -> str:
    async with httpx.AsyncClient(base_url=server.base_url, headers=user.headers) as http:
        body = {"track": "backend", "question_count": questions}
        response = await http.post("/api/v1/interviews", json=body)
    assert response.status_code == 201, response.text
    interview_id: str = response.json()["id"]
    return interview_id


async def server_transcript(server: RunningServer, user: Any, interview_id: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=server.base_url, headers=user.headers) as http:
        response = await http.get(f"/api/v1/interviews/{interview_id}/transcript")
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def answer_until_report(page: Any) -> int:
    answered = 0
    while True:
        report = page.locator("#report")
        ready = page.locator("#answer-text:not([disabled])")
        await expect(report.or_(ready)).to_be_visible(timeout=30_000)
        if await report.count():
            return answered
        await page.get_by_label("Your answer").fill(ANSWER)
        await page.get_by_label("Your answer").press("Control+Enter")
        answered += 1
        await expect(page.locator("[data-type=answer]")).to_have_count(answered, timeout=20_000)
        assert answered < 12


async def test_refused_connections_back_off_exponentially_and_doubled_frames_show_once(
    browser: Any,
    web_server: RunningServer,
    user_factory: Any,
) -> None:
    user = await user_factory(full_name="Alan Turing")
    interview_id = await new_interview(web_server, user, questions=2)
    watch = PageWatch()
    page = await signed_in_page(browser, web_server, user, watch)
    attempts: list[float] = []
    hellos: list[dict[str, Any]] = []

    async def route(socket: Any) -> None:
        attempts.append(time.monotonic())
        if len(attempts) <= len(BACKOFF_BANDS):

            async def refuse(message: str | bytes) -> None:
                hellos.append(json.loads(message))
                await socket.close(code=1012, reason="restarting")

            socket.on_message(refuse)
            return
        upstream = socket.connect_to_server()

        def doubled(message: str | bytes) -> None:
            # Every frame twice: durable events must be kept once (by seq), and a repeated
            # delta piece no longer matches the text's length, so it is dropped.
            socket.send(message)
            socket.send(message)

        upstream.on_message(doubled)

    await page.route_web_socket(SOCKETS, route)
    await page.goto(f"{web_server.base_url}/interviews/{interview_id}")
    connection = page.locator(".conn")
    await expect(connection).to_have_attribute("data-state", "reconnecting")
    await expect(connection).to_contain_text("reconnecting in")
    await expect(connection.get_by_role("button", name="Reconnect now")).to_be_visible()
    await expect(connection).to_have_attribute("data-state", "live", timeout=20_000)
    assert len(attempts) == len(BACKOFF_BANDS) + 1
    gaps = [later - earlier for earlier, later in itertools.pairwise(attempts)]
    for gap, (low, high) in zip(gaps, BACKOFF_BANDS, strict=True):
        assert low <= gap <= high + SLACK, f"backoff gaps {gaps} outside {BACKOFF_BANDS}"
    assert all(hello["type"] == "hello" and hello["last_seq"] == 0 for hello in hellos)

    await page.get_by_role("button", name="Start interview").click()
    answered = await answer_until_report(page)
    items = await server_transcript(web_server, user, interview_id)
    assert await page_transcript(page) == expected_transcript(items)
    assert sum(1 for item in items if item["type"] == "answer") == answered
    assert await page.locator("[data-stream], [data-pending]").count() == 0
    watch.assert_clean()


async def test_a_silent_connection_is_found_by_the_ping_and_resumed(
    browser: Any,
    web_server: RunningServer,
    user_factory: Any,
) -> None:
    user = await user_factory(full_name="Katherine Johnson")
    interview_id = await new_interview(web_server, user, questions=1)
    watch = PageWatch()
    page = await signed_in_page(browser, web_server, user, watch)
    pings: list[dict[str, Any]] = []
    hellos: list[dict[str, Any]] = []
    connections = 0

    async def route(socket: Any) -> None:
        nonlocal connections
        connections += 1
        swallow_pings = connections == 1
        upstream = socket.connect_to_server()

        def from_page(message: str | bytes) -> None:
            frame = json.loads(message)
            if frame["type"] == "hello":
                hellos.append(frame)
            if frame["type"] == "ping":
                pings.append(frame)
                if swallow_pings:
                    return  # the network ate it: no pong will come
            upstream.send(message)

        socket.on_message(from_page)

    await page.clock.install()
    await page.route_web_socket(SOCKETS, route)
    await page.goto(f"{web_server.base_url}/interviews/{interview_id}")
    connection = page.locator(".conn")
    await expect(connection).to_have_attribute("data-state", "live")
    await page.get_by_role("button", name="Start interview").click()
    await expect(page.locator("[data-type=question]")).to_have_count(1, timeout=20_000)
    held = max(entry["seq"] for entry in await page_transcript(page))

    await page.clock.run_for(19_000)
    assert pings == [], "no ping before 20 s"
    await page.clock.run_for(1_500)
    await asyncio.sleep(0.2)
    assert len(pings) == 1, "a ping every 20 s keeps the socket from the server's 60 s idle close"
    await page.clock.run_for(10_500)
    await expect(connection).to_have_attribute("data-state", "reconnecting")
    await page.clock.run_for(1_000)
    await expect(connection).to_have_attribute("data-state", "live")
    assert connections == 2
    assert hellos[-1]["last_seq"] == held, "the new socket resumes from the last event held"

    await page.clock.run_for(20_500)
    for _ in range(50):
        if len(pings) == 2:
            break
        await asyncio.sleep(0.1)
    assert len(pings) == 2
    await expect(connection).to_have_attribute("data-state", "live")
    answered = await answer_until_report(page)
    items = await server_transcript(web_server, user, interview_id)
    assert await page_transcript(page) == expected_transcript(items)
    assert sum(1 for item in items if item["type"] == "answer") == answered
    watch.assert_clean()
