"""The REST job: template rows for seeding, an open-loop load of authenticated GETs, peak
throughput with wrk, and /health latency during a storm of logins."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import websockets

from bench import wrk
from bench.loadgen.api import PASSWORD, Api, login_all, make_users, run_tag
from bench.loadgen.control import Control, log
from bench.loadgen.peers import ANSWERS, latency_ms_summary

PATHS = ("/api/v1/auth/me", "/api/v1/interviews", "/api/v1/resumes")
SEED_DOMAIN = "bench.example.com"
HEALTH_PROBE_GAP_SECONDS = 0.02


async def rest(job: dict[str, Any], control: Control) -> dict[str, Any]:
    api = Api(job["base_url"])
    try:
        tag = run_tag()
        template = await _templates(api, job["ws_url"], tag)
        prefix = f"rest-{tag}"
        seeded = await control.checkpoint(
            "seed",
            {**template, "users": job["users"], "interviews": job["interviews"], "email_prefix": prefix},
        )
        log(f"seeded: {seeded}")
        chosen = random.Random(7).sample(range(1, int(job["users"]) + 1), int(job["open_users"]))
        emails = [f"{prefix}-{n}@{SEED_DOMAIN}" for n in chosen]
        tokens = await login_all(api, emails)
        result: dict[str, Any] = {"seed": seeded}
        await control.checkpoint("phase", {"name": "open-loop", "profile_seconds": job["open_seconds"]})
        result["open_loop"] = await open_loop(job["base_url"], tokens, float(job["open_seconds"]))
        await control.checkpoint("phase", {"name": "wrk", "profile_seconds": job["wrk_seconds"]})
        result["wrk"] = await run_wrk(job, tokens)
        await control.checkpoint("phase", {"name": "login-storm", "profile_seconds": job["storm_seconds"]})
        result["storm"] = await login_storm(
            job["base_url"], emails, int(job["storm_logins"]), float(job["storm_seconds"])
        )
        return result
    finally:
        await api.aclose()


async def _templates(api: Api, ws_url: str, tag: str) -> dict[str, str]:
    """One account with one finished and one untouched interview, made through the API."""
    (owner,) = await make_users(api, 1, f"template-{tag}")
    finished = await api.create_interview(owner.token, track="backend", question_count=2)
    untouched = await api.create_interview(owner.token, track="system_design", question_count=5)
    await _finish_interview(ws_url, finished["id"], owner.token)
    return {
        "template_email": owner.email,
        "completed_interview": finished["id"],
        "created_interview": untouched["id"],
    }


async def _finish_interview(ws_url: str, interview_id: str, token: str) -> None:
    async with websockets.connect(f"{ws_url}/ws/interviews/{interview_id}", compression=None) as socket:
        await socket.send(json.dumps({"type": "hello", "token": token, "last_seq": 0}))
        await socket.send(json.dumps({"type": "start"}))
        answers = 0
        async with asyncio.timeout(120):
            async for raw in socket:
                frame = json.loads(raw)
                if frame["type"] == "question":
                    await socket.send(
                        json.dumps(
                            {
                                "type": "answer",
                                "client_id": f"template-{answers}",
                                "question_id": frame["question_id"],
                                "text": ANSWERS[answers % len(ANSWERS)],
                            }
                        )
                    )
                    answers += 1
                elif frame["type"] == "interview.completed":
                    return
    raise RuntimeError("the template interview ended without interview.completed")


async def open_loop(base_url: str, tokens: Sequence[str], seconds: float) -> dict[str, Any]:
    """Each user sends one GET per second, on schedule whatever the answers do (no coordinated
    omission: latency counts from the scheduled moment)."""
    users = len(tokens)
    clients = [
        httpx.AsyncClient(base_url=base_url, timeout=30, headers={"Authorization": f"Bearer {t}"})
        for t in tokens
    ]
    samples: list[tuple[str, int, float]] = []
    in_flight: set[asyncio.Task[None]] = set()

    async def one(client: httpx.AsyncClient, path: str, due: float) -> None:
        try:
            response = await client.get(path)
            status = response.status_code
        except httpx.HTTPError:
            status = 0
        samples.append((path, status, time.monotonic() - due))

    begin = time.monotonic() + 0.5
    ticks = int(seconds)
    schedule = sorted((begin + k + u / users, u, k) for u in range(users) for k in range(ticks))
    try:
        for due, user, tick in schedule:
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(one(clients[user], PATHS[(user + tick) % len(PATHS)], due))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        if in_flight:
            await asyncio.wait(in_flight, timeout=60)
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    by_path: dict[str, Any] = {}
    for path in PATHS:
        latencies = [lat for p, _, lat in samples if p == path]
        statuses = Counter(str(s) for p, s, _ in samples if p == path)
        by_path[path] = {**latency_ms_summary(latencies), "count": len(latencies), "statuses": dict(statuses)}
    ok = [lat for _, status, lat in samples if 200 <= status < 300]
    return {
        "users": users,
        "seconds": ticks,
        "requests": len(samples),
        "rate_per_s": round(len(samples) / max(1, ticks), 1),
        "all": latency_ms_summary([lat for _, _, lat in samples]),
        "successful": {**latency_ms_summary(ok), "count": len(ok)},
        "statuses": dict(Counter(str(s) for _, s, _ in samples)),
        "by_path": by_path,
    }


async def run_wrk(job: dict[str, Any], tokens: Sequence[str]) -> dict[str, Any]:
    binary = job.get("wrk")
    if not binary:
        return {"skipped": job.get("wrk_missing", "wrk is not installed")}
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as folder:
        script = Path(folder) / "requests.lua"
        script.write_text(wrk.lua_script(tokens, PATHS), encoding="utf-8")
        args = wrk.command(
            binary,
            script,
            job["base_url"],
            connections=int(job["wrk_connections"]),
            threads=int(job["wrk_threads"]),
            seconds=float(job["wrk_seconds"]),
        )
        process = await asyncio.create_subprocess_exec(
            *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        try:
            output, _ = await asyncio.wait_for(process.communicate(), float(job["wrk_seconds"]) + 60)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            raise
    parsed = wrk.parse_output(output.decode(errors="replace"))
    seconds = parsed["duration_us"] / 1e6
    errors = parsed["errors"]
    return {
        "connections": int(job["wrk_connections"]),
        "threads": int(job["wrk_threads"]),
        "seconds": round(seconds, 1),
        "requests": parsed["requests"],
        "requests_per_s": round(parsed["requests"] / seconds, 1),
        "non_2xx_3xx": errors["status"],
        "socket_errors": {k: v for k, v in errors.items() if k != "status" and v},
        "latency": {k: round(v / 1000, 2) for k, v in parsed["latency_us"].items()},
    }


async def _probe_health(base_url: str, until: float) -> list[float]:
    """GET /health on a new connection every 20 ms, as a load balancer would."""
    latencies: list[float] = []
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, timeout=10, limits=limits) as client:
        while time.monotonic() < until:
            started = time.monotonic()
            with contextlib.suppress(httpx.HTTPError):
                response = await client.get("/health")
                if response.status_code == 200:
                    latencies.append(time.monotonic() - started)
            await asyncio.sleep(HEALTH_PROBE_GAP_SECONDS)
    return latencies


async def login_storm(
    base_url: str, emails: Sequence[str], concurrency: int, seconds: float
) -> dict[str, Any]:
    """`concurrency` clients logging in back to back (argon2id at production cost) while /health
    is probed; /health is also probed alone first, for comparison."""
    calm = await _probe_health(base_url, time.monotonic() + min(5.0, seconds))
    logins: list[float] = []
    statuses: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    until = time.monotonic() + seconds

    async def keep_logging_in(email: str) -> None:
        async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:
            while time.monotonic() < until:
                started = time.monotonic()
                try:
                    response = await client.post(
                        "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
                    )
                    statuses[str(response.status_code)] += 1
                    logins.append(time.monotonic() - started)
                except httpx.HTTPError as exc:
                    statuses[type(exc).__name__] += 1

    users = [emails[i % len(emails)] for i in range(concurrency)]
    storm = asyncio.gather(*(keep_logging_in(email) for email in users))
    await asyncio.sleep(0.5)  # let the logins pile up before probing
    during = await _probe_health(base_url, until)
    await storm
    return {
        "concurrency": concurrency,
        "seconds": seconds,
        "health_alone": {**latency_ms_summary(calm), "count": len(calm)},
        "health_during": {**latency_ms_summary(during), "count": len(during)},
        "logins": {**latency_ms_summary(logins), "count": len(logins)},
        "logins_per_s": round(len(logins) / seconds, 1),
        "login_statuses": dict(statuses),
    }
