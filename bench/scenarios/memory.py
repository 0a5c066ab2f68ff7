"""Scenario 4, memory: resident memory of the API worker processes per idle open socket, with
observers joining interviews that have not started, in steps up to 2,000 sockets. The figure is
the slope of a least-squares line through (sockets, RSS of both uvicorn workers), so the
processes' fixed memory does not count."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.harness import RunContext
from bench.procs import rss_by_role, rss_of_role
from bench.scenarios.base import (
    Goal,
    Option,
    Scenario,
    Summary,
    Table,
    fmt,
    positive_float,
    positive_int,
    pyplot,
    runs_cell,
    save_chart,
    verdict,
)
from bench.stats import linear_fit, median_of
from bench.target import InterviewAceServer

TARGET_KIB = 40.0

OPTIONS = (
    Option("sockets", positive_int, 2000, 60, "idle observer sockets at the end"),
    Option("steps", positive_int, 4, 2, "steps to open them in (one RSS reading after each)"),
    Option("settle_seconds", positive_float, 5.0, 2.0, "wait after each step before reading RSS"),
)


async def run_once(params: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
    server = InterviewAceServer(ctx.run_dir, workers=2)
    points: list[dict[str, Any]] = []
    try:
        await server.start()

        async def on_checkpoint(name: str, data: dict[str, Any]) -> dict[str, Any]:
            roots = server.roots()
            by_role = rss_by_role(roots)
            workers = rss_of_role(roots, "api")
            points.append(
                {
                    "open": data.get("open", 0),
                    "api_workers_kib": workers,
                    "api_kib": by_role.get("api", 0),
                    "redis_kib": by_role.get("redis", 0),
                    "postgres_kib": by_role.get("postgres", 0),
                }
            )
            return {}

        job = {
            "job": "memory",
            "base_url": server.base_url,
            "ws_url": server.ws_url,
            "sockets": params["sockets"],
            "steps": params["steps"],
            "settle_seconds": params["settle_seconds"],
            "question_count": 5,
        }
        result = await ctx.measured(
            "memory",
            server.roots,
            job,
            limit_seconds=600 + params["sockets"] * 0.2,
            died=server.death_notice,
            on_checkpoint=on_checkpoint,
        )
        problems = server.logged_problems()
    finally:
        await server.stop()
    return {"points": points, "loadgen": result, "server_log": problems, **per_socket(points)}


def per_socket(points: list[dict[str, Any]]) -> dict[str, float | None]:
    usable = [p for p in points if isinstance(p.get("open"), int)]
    if len(usable) < 2 or len({p["open"] for p in usable}) < 2:
        return {"api_kib_per_socket": None, "redis_kib_per_socket": None}
    xs = [float(p["open"]) for p in usable]
    api_slope, _ = linear_fit(xs, [float(p["api_kib"]) for p in usable])
    redis_slope, _ = linear_fit(xs, [float(p["redis_kib"]) for p in usable])
    return {"api_kib_per_socket": round(api_slope, 2), "redis_kib_per_socket": round(redis_slope, 3)}


def summarize(params: dict[str, Any], runs: list[dict[str, Any]]) -> Summary:
    good = [run for run in runs if "points" in run]
    slopes = [run.get("api_kib_per_socket") for run in good]
    redis = [run.get("redis_kib_per_socket") for run in good]
    reached = [run["points"][-1]["open"] if run["points"] else None for run in good]
    value = median_of(slopes)
    goals = [
        Goal(
            f"RSS of the API workers per idle open socket ({params['sockets']:,} observers)",
            f"≤ {TARGET_KIB:.0f} KiB",
            f"{fmt(value, 1, ' KiB')} (runs: {runs_cell(slopes, 1)}; "
            f"sockets reached: {runs_cell(reached, 0)})",
            verdict(value, at_most=TARGET_KIB),
        )
    ]
    rows = [
        [
            str(number),
            fmt(point["open"], 0),
            " + ".join(f"{kib / 1024:.1f}" for kib in point["api_workers_kib"]),
            f"{point['api_kib'] / 1024:.1f}",
            f"{point['redis_kib'] / 1024:.1f}",
            f"{point['postgres_kib'] / 1024:.1f}",
        ]
        for number, run in enumerate(good, start=1)
        for point in run["points"]
    ]
    tables = [
        Table(
            "Readings",
            ["run", "open sockets", "each API process MiB", "API total MiB", "Redis MiB", "PostgreSQL MiB"],
            rows,
            "The API total includes uvicorn's supervisor process, which holds no sockets.",
        )
    ]
    notes = [
        f"Redis grows by {fmt(median_of(redis), 2, ' KiB')} per socket (median slope): presence entries and "
        "pub/sub subscriptions, not counted in the target.",
        "Sockets are idle: the interviews were never started, so only presence frames, pings and the "
        "per-socket watch loop run.",
    ]
    return Summary(goals=goals, tables=tables, notes=notes)


def chart(params: dict[str, Any], runs: list[dict[str, Any]], path: Path) -> None:
    plt = pyplot()

    figure, axis = plt.subplots(figsize=(7.5, 4.5))
    for number, run in enumerate([r for r in runs if "points" in r], start=1):
        xs = [p["open"] for p in run["points"]]
        ys = [p["api_kib"] / 1024 for p in run["points"]]
        axis.plot(xs, ys, "o-", label=f"run {number}: {fmt(run.get('api_kib_per_socket'), 1)} KiB/socket")
    axis.set(xlabel="idle open sockets", ylabel="RSS of the API processes (MiB)")
    axis.grid(True, alpha=0.3)
    axis.legend()
    save_chart(figure, path, f"memory per idle socket (target ≤ {TARGET_KIB:.0f} KiB)")


SCENARIO = Scenario(
    name="memory",
    title="Memory per idle socket",
    description=__doc__ or "",
    options=OPTIONS,
    run_once=run_once,
    summarize=summarize,
    chart=chart,
)
