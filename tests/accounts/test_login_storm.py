"""50 concurrent logins with production argon2 cost while /health is timed.

A measurement, not a timing assertion: it prints the /health latency percentiles (run with -s)
and checks only that every login and every probe succeeded.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import httpx
import pytest

from tests.accounts.helpers import API, GOOD_PASSWORD, register

CONCURRENT_LOGINS = 50


@pytest.mark.slow
async def test_login_storm_leaves_health_responsive(make_server: Any) -> None:
    production_cost = await make_server(
        rate_limit_enabled="false",
        password_hash_time_cost="3",
        password_hash_memory_kib="65536",
        password_hash_parallelism="4",
    )
    limits = httpx.Limits(max_connections=CONCURRENT_LOGINS + 10)
    async with httpx.AsyncClient(base_url=production_cost.base_url, limits=limits, timeout=60) as http:
        user = await register(http)
        stop = asyncio.Event()
        health_ms: list[float] = []

        async def probe_health() -> None:
            while not stop.is_set():
                started = time.perf_counter()
                response = await http.get("/health")
                health_ms.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200
                await asyncio.sleep(0.005)

        prober = asyncio.create_task(probe_health())
        started = time.perf_counter()
        logins = await asyncio.gather(
            *(
                http.post(f"{API}/auth/login", json={"email": user["email"], "password": GOOD_PASSWORD})
                for _ in range(CONCURRENT_LOGINS)
            )
        )
        storm_seconds = time.perf_counter() - started
        stop.set()
        await prober

    assert [response.status_code for response in logins] == [200] * CONCURRENT_LOGINS
    assert len(health_ms) >= 5
    ordered = sorted(health_ms)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(
        f"\nlogin storm: {CONCURRENT_LOGINS} logins in {storm_seconds:.2f} s; "
        f"/health over {len(ordered)} probes: median {statistics.median(ordered):.1f} ms, "
        f"p99 {p99:.1f} ms, max {ordered[-1]:.1f} ms"
    )
