"""Websocket jobs: fan-out, capacity and idle-socket memory."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from typing import Any

import httpx

from bench.loadgen.api import Api, ApiFailure, User, login_all, make_users, run_tag
from bench.loadgen.control import Control, log
from bench.loadgen.peers import Meter, Script, Session, Slot, latency_ms_summary
from bench.loadgen.setup import SOCKETS_PER_TOKEN, ceiling_slots, interviewace_slots, stored_events
from bench.stats import percentile

CONNECT_CONCURRENCY = 100
QUIET_LIMIT_SECONDS = 40.0
TOKEN_REFRESH_SECONDS = 600.0  # access tokens live 15 minutes


class LoopLag:
    """How late the load generator's own event loop wakes up: if this grows, the clients (not
    the server) are the bottleneck and the latencies they report are inflated."""

    def __init__(self, period: float = 0.05) -> None:
        self.period = period
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(self.period)
            self.samples.append(max(0.0, time.monotonic() - before - self.period))

    async def stop(self) -> dict[str, float | None]:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        p99 = percentile(self.samples, 0.99)
        return {"loop_lag_p99_ms": None if p99 is None else round(p99 * 1000, 1)}


async def _slots_for(job: dict[str, Any], api: Api | None, users: Sequence[User], count: int) -> list[Slot]:
    if job["target"] == "ceiling":
        return ceiling_slots(job["ws_urls"], count, job["observers"])
    assert api is not None
    return await interviewace_slots(api, job["ws_url"], users, count, job["observers"], job["question_count"])


async def _truth(job: dict[str, Any], api: Api | None, slots: Sequence[Slot]) -> Any:
    if job["target"] == "ceiling" or api is None:
        return None
    return await stored_events(api, slots)


async def fanout(job: dict[str, Any], control: Control) -> dict[str, Any]:
    """N interviews, each a candidate that answers at once and M observers, streaming nonstop."""
    count = int(job["interviews"])
    api = Api(job["base_url"]) if job["target"] == "interviewace" else None
    try:
        users: list[User] = []
        if api is not None:
            users = await make_users(api, -(-count // SOCKETS_PER_TOKEN), f"fan-{run_tag()}")
        slots = await _slots_for(job, api, users, count)
        meter = Meter()
        script = Script(think_seconds=0.0)
        session = Session(slots, script, meter)
        try:
            connect_seconds = await session.connect(CONNECT_CONCURRENCY, limit_seconds=300)
            await session.start()
            await asyncio.sleep(float(job["warmup_seconds"]))
            # Only InterviewAce is profiled (--profile); the ceiling has nothing to explain.
            profile = {"profile_seconds": job["seconds"]} if job["target"] == "interviewace" else {}
            await control.checkpoint("phase", {"name": "window", **profile})
            lag = LoopLag()
            lag.start()
            cpu_before = time.process_time()
            window_start = time.monotonic()
            meter.active = True
            await asyncio.sleep(float(job["seconds"]))
            meter.active = False
            window_end = time.monotonic()
            cpu_used = time.process_time() - cpu_before
            await control.checkpoint("phase", {"name": "after"})
            lag_result = await lag.stop()
            script.answering = False
            settled = await session.wait_quiet(QUIET_LIMIT_SECONDS)
            await session.close()  # the server's work for these sockets must not slow the reads below
            truth = await _truth(job, api, slots)
            elapsed = window_end - window_start
            skews = session.skews((window_start, window_end))
            durable = sum(meter.by_type[k] for k in ("question", "answer", "evaluation", "interview.started"))
            return {
                "target": job["target"],
                "interviews": count,
                "observers": job["observers"],
                "sockets": len(session.peers),
                "connect_seconds": round(connect_seconds, 2),
                "window_seconds": round(elapsed, 2),
                "frames_per_s": round(meter.frames / elapsed, 1),
                "bytes_per_s": round(meter.bytes / elapsed, 1),
                "avg_frame_bytes": round(meter.bytes / meter.frames, 1) if meter.frames else None,
                "durable_per_s": round(durable / elapsed, 1),
                "frames_by_type": dict(meter.by_type),
                "skew": {**latency_ms_summary(skews), "count": len(skews)},
                "settled": settled,
                "delivery": session.delivery(truth),
                "health": session.health(),
                "loadgen_cpu_pct": round(100 * cpu_used / elapsed, 1),
                **lag_result,
            }
        finally:
            await session.close()
    finally:
        if api is not None:
            await api.aclose()


async def capacity(job: dict[str, Any], control: Control) -> dict[str, Any]:
    """Realistic interviews at growing counts: answer after `think_seconds`, observers watch."""
    levels = [int(level) for level in job["levels"]]
    api = Api(job["base_url"])
    results: list[dict[str, Any]] = []
    try:
        tag = run_tag()
        users = await make_users(api, -(-max(levels) // SOCKETS_PER_TOKEN), f"cap-{tag}")
        logged_in = time.monotonic()
        for level in levels:
            if time.monotonic() - logged_in > TOKEN_REFRESH_SECONDS:
                tokens = await login_all(api, [u.email for u in users])
                users = [User(u.email, t) for u, t in zip(users, tokens, strict=True)]
                logged_in = time.monotonic()
            log(f"capacity level {level}: creating interviews")
            try:
                result = await _capacity_level(job, control, api, users, level)
            except (ApiFailure, httpx.HTTPError, TimeoutError) as exc:
                # The server failing to set a level up is a result too: this level failed.
                result = {"interviews": level, "passed": False, "error": f"{type(exc).__name__}: {exc}"[:500]}
            results.append(result)
            outcome = result.get("error") or f"{result.get('latency')} {result.get('delivery')}"
            log(f"capacity level {level}: {outcome}")
            if job.get("stop_on_fail", True) and not result["passed"]:
                break
            await asyncio.sleep(2.0)  # let the server finish closing the previous level's sockets
    finally:
        await api.aclose()
    return {"levels": results}


async def _capacity_level(
    job: dict[str, Any], control: Control, api: Api, users: Sequence[User], level: int
) -> dict[str, Any]:
    think = float(job["think_seconds"])
    slots = await interviewace_slots(
        api, job["ws_url"], users, level, int(job["observers"]), int(job["question_count"])
    )
    log(f"capacity level {level}: {len(slots)} interviews created; connecting")
    script = Script(think_seconds=think)
    meter = Meter()
    session = Session(slots, script, meter)
    try:
        connect_seconds = await session.connect(CONNECT_CONCURRENCY, limit_seconds=600)
        log(f"capacity level {level}: {len(session.peers)} sockets open in {connect_seconds:.1f}s")
        await session.start(spread_seconds=think)  # spread the answers over a think time
        window_start = time.monotonic() + think
        window_end = window_start + float(job["seconds"])
        script.window = (window_start, window_end)
        await asyncio.sleep(max(0.0, window_start - time.monotonic()))
        await control.checkpoint("phase", {"name": f"window-{level}", "profile_seconds": job["seconds"]})
        lag = LoopLag()
        lag.start()
        cpu_before = time.process_time()
        meter.active = True
        await asyncio.sleep(max(0.0, window_end - time.monotonic()))
        meter.active = False
        cpu_used = time.process_time() - cpu_before
        await control.checkpoint("phase", {"name": f"after-{level}"})
        lag_result = await lag.stop()
        script.answering = False
        settled = await session.wait_quiet(QUIET_LIMIT_SECONDS)
        log(f"capacity level {level}: window over (settled: {settled}); reading transcripts")
        await session.close()  # the server's work for these sockets must not slow the reads below
        truth = await stored_events(api, slots)
        latencies = session.latencies()
        summary = latency_ms_summary(latencies)
        delivery = session.delivery(truth)
        health = session.health()
        p99 = summary["p99_ms"]
        passed = (
            p99 is not None
            and p99 <= float(job["target_p99_ms"])
            and delivery["lost_events"] == 0
            and delivery["undelivered_at_end"] == 0
            and delivery["duplicated_events"] == 0
            and health["sockets_never_welcomed"] == 0
        )
        elapsed = window_end - window_start
        return {
            "interviews": level,
            "sockets": len(session.peers),
            "connect_seconds": round(connect_seconds, 2),
            "window_seconds": round(elapsed, 1),
            "answers_measured": len(latencies),
            "latency": summary,
            "frames_per_s": round(meter.frames / elapsed, 1),
            "settled": settled,
            "delivery": delivery,
            "health": health,
            "passed": passed,
            "loadgen_cpu_pct": round(100 * cpu_used / elapsed, 1),
            **lag_result,
        }
    finally:
        await session.close()


async def memory(job: dict[str, Any], control: Control) -> dict[str, Any]:
    """Idle observer sockets (10 per interview that was never started) opened in steps; the
    harness reads the server's memory at each checkpoint."""
    per_interview = SOCKETS_PER_TOKEN
    interviews = max(1, round(int(job["sockets"]) / per_interview))
    steps = max(1, min(int(job["steps"]), interviews))
    api = Api(job["base_url"])
    sessions: list[Session] = []
    points: list[dict[str, Any]] = []
    try:
        (owner,) = await make_users(api, 1, f"mem-{run_tag()}")
        slots = await interviewace_slots(
            api,
            job["ws_url"],
            [owner],
            interviews,
            per_interview,
            job["question_count"],
            candidate_sockets=False,
        )
        # Warm the server's code paths and pools so that the baseline is not a cold process.
        warm = Session(slots[:2], Script(), Meter(), with_candidates=False)
        await warm.connect(CONNECT_CONCURRENCY, limit_seconds=120)
        await warm.close()
        await asyncio.sleep(float(job["settle_seconds"]))
        await control.checkpoint("sockets", {"open": 0})
        points.append({"open": 0})
        bounds = [round(interviews * (k + 1) / steps) for k in range(steps)]
        first = 0
        for bound in bounds:
            session = Session(slots[first:bound], Script(), Meter(), with_candidates=False)
            await session.connect(CONNECT_CONCURRENCY, limit_seconds=600)
            sessions.append(session)
            first = bound
            await asyncio.sleep(float(job["settle_seconds"]))
            open_now = sum(1 for s in sessions for p in s.peers if p.got_welcome and not p.finished)
            await control.checkpoint("sockets", {"open": open_now})
            points.append({"open": open_now, "health": session.health()})
        return {"points": points, "sockets": points[-1]["open"]}
    finally:
        for session in sessions:
            await session.close()
        await api.aclose()
