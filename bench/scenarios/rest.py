"""Scenario 3, REST: authenticated GETs (/auth/me, /interviews, /resumes) against a database of
10,000 users and 100,000 interviews, seeded in SQL by cloning rows the API created. (a) an open
loop of 100 users sending one request per second each; (b) peak throughput with wrk at 100
connections; and /health latency while 50 clients log in back to back (argon2id at production
cost)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.harness import RunContext
from bench.scenarios.base import (
    Goal,
    Option,
    Scenario,
    Summary,
    Table,
    dig,
    fmt,
    medians,
    positive_float,
    positive_int,
    pyplot,
    runs_cell,
    save_chart,
    verdict,
)
from bench.seed import seed_rest_data
from bench.stats import median_of
from bench.target import InterviewAceServer
from bench.wrk import WrkUnavailable, ensure_wrk

OPEN_LOOP_P95_MS = 50.0
WRK_RATE = 1500.0
WRK_P95_MS = 500.0
HEALTH_P99_MS = 25.0
PATHS = ("/api/v1/auth/me", "/api/v1/interviews", "/api/v1/resumes")

OPTIONS = (
    Option("users", positive_int, 10_000, 200, "accounts in the database"),
    Option("interviews", positive_int, 100_000, 2_000, "interviews in the database"),
    Option("open_users", positive_int, 100, 20, "open loop: users, one request per second each"),
    Option("open_seconds", positive_float, 60.0, 5.0, "open loop: duration"),
    Option("wrk_connections", positive_int, 100, 20, "wrk: connections"),
    Option("wrk_threads", positive_int, 2, 2, "wrk: threads"),
    Option("wrk_seconds", positive_float, 30.0, 3.0, "wrk: duration"),
    Option("storm_logins", positive_int, 50, 10, "login storm: concurrent clients logging in"),
    Option("storm_seconds", positive_float, 15.0, 3.0, "login storm: duration"),
)


async def run_once(params: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
    try:
        wrk_path: str | None = ensure_wrk()
        wrk_missing = ""
    except WrkUnavailable as exc:
        wrk_path, wrk_missing = None, str(exc)
    # Instant offline streams: the template interview finishes in a moment.
    server = InterviewAceServer(ctx.run_dir, workers=2, env={"OFFLINE_TOKENS_PER_SECOND": "0"})
    try:
        await server.start()

        async def on_checkpoint(name: str, data: dict[str, Any]) -> dict[str, Any]:
            if name != "seed":
                return {}
            return await seed_rest_data(
                server.database_connect_args(),
                template_email=data["template_email"],
                completed_interview=data["completed_interview"],
                created_interview=data["created_interview"],
                users=int(data["users"]),
                interviews=int(data["interviews"]),
                email_prefix=data["email_prefix"],
            )

        job = {
            "job": "rest",
            "base_url": server.base_url,
            "ws_url": server.ws_url,
            "wrk": wrk_path,
            "wrk_missing": wrk_missing,
            **params,
        }
        limit = 900 + params["open_seconds"] + params["wrk_seconds"] + params["storm_seconds"]
        result = await ctx.measured(
            "rest",
            server.roots,
            job,
            limit_seconds=limit,
            died=server.death_notice,
            on_checkpoint=on_checkpoint,
        )
        result["server_log"] = server.logged_problems()
    finally:
        await server.stop()
    return result


def summarize(params: dict[str, Any], runs: list[dict[str, Any]]) -> Summary:
    good = [run for run in runs if "open_loop" in run]
    open_p95 = [dig(run, "open_loop", "all", "p95_ms") for run in good]
    wrk_rate = [dig(run, "wrk", "requests_per_s") for run in good]
    wrk_p95 = [dig(run, "wrk", "latency", "p95") for run in good]
    health = [dig(run, "storm", "health_during", "p99_ms") for run in good]
    skipped = next((dig(run, "wrk", "skipped") for run in good if dig(run, "wrk", "skipped")), None)
    goals = [
        Goal(
            f"open loop, {params['open_users']} users × 1 request/s for {params['open_seconds']:g} s: p95",
            f"≤ {OPEN_LOOP_P95_MS:.0f} ms",
            f"{fmt(median_of(open_p95), 1, ' ms')} (runs: {runs_cell(open_p95)})",
            verdict(median_of(open_p95), at_most=OPEN_LOOP_P95_MS),
        ),
        Goal(
            f"wrk, {params['wrk_connections']} connections: throughput",
            f"≥ {WRK_RATE:,.0f} req/s",
            skipped or f"{fmt(median_of(wrk_rate), 0, ' req/s')} (runs: {runs_cell(wrk_rate, 0)})",
            verdict(median_of(wrk_rate), at_least=WRK_RATE),
        ),
        Goal(
            f"wrk, {params['wrk_connections']} connections: p95",
            f"≤ {WRK_P95_MS:.0f} ms",
            skipped or f"{fmt(median_of(wrk_p95), 1, ' ms')} (runs: {runs_cell(wrk_p95)})",
            verdict(median_of(wrk_p95), at_most=WRK_P95_MS),
        ),
        Goal(
            f"/health p99 during {params['storm_logins']} concurrent logins",
            f"≤ {HEALTH_P99_MS:.0f} ms",
            f"{fmt(median_of(health), 1, ' ms')} (runs: {runs_cell(health)})",
            verdict(median_of(health), at_most=HEALTH_P99_MS),
        ),
    ]
    open_rows = [
        [
            path,
            fmt(medians(good, "open_loop", "by_path", path, "count"), 0),
            fmt(medians(good, "open_loop", "by_path", path, "p50_ms"), 1),
            fmt(medians(good, "open_loop", "by_path", path, "p95_ms"), 1),
            fmt(medians(good, "open_loop", "by_path", path, "p99_ms"), 1),
            "; ".join(str(dig(run, "open_loop", "by_path", path, "statuses")) for run in good),
        ]
        for path in PATHS
    ]
    open_rows.append(
        [
            "all",
            fmt(medians(good, "open_loop", "requests"), 0),
            fmt(medians(good, "open_loop", "all", "p50_ms"), 1),
            fmt(medians(good, "open_loop", "all", "p95_ms"), 1),
            fmt(medians(good, "open_loop", "all", "p99_ms"), 1),
            "; ".join(str(dig(run, "open_loop", "statuses")) for run in good),
        ]
    )
    wrk_rows = [
        [
            str(number),
            fmt(dig(run, "wrk", "requests_per_s"), 0),
            fmt(dig(run, "wrk", "latency", "p50"), 1),
            fmt(dig(run, "wrk", "latency", "p90"), 1),
            fmt(dig(run, "wrk", "latency", "p95"), 1),
            fmt(dig(run, "wrk", "latency", "p99"), 1),
            fmt(dig(run, "wrk", "latency", "max"), 1),
            str(dig(run, "wrk", "non_2xx_3xx")),
            str(dig(run, "wrk", "socket_errors") or {}),
        ]
        for number, run in enumerate(good, start=1)
    ]
    storm_rows = [
        [
            str(number),
            fmt(dig(run, "storm", "health_alone", "p50_ms"), 1),
            fmt(dig(run, "storm", "health_alone", "p99_ms"), 1),
            fmt(dig(run, "storm", "health_during", "p50_ms"), 1),
            fmt(dig(run, "storm", "health_during", "p99_ms"), 1),
            fmt(dig(run, "storm", "health_during", "max_ms"), 1),
            fmt(dig(run, "storm", "logins_per_s"), 1),
            fmt(dig(run, "storm", "logins", "p50_ms"), 0),
            fmt(dig(run, "storm", "logins", "p99_ms"), 0),
            str(dig(run, "storm", "login_statuses")),
        ]
        for number, run in enumerate(good, start=1)
    ]
    seed_rows = [
        [
            str(number),
            fmt(dig(run, "seed", "users_total"), 0),
            fmt(dig(run, "seed", "interviews_total"), 0),
            fmt(dig(run, "seed", "seed_seconds"), 1),
        ]
        for number, run in enumerate(good, start=1)
    ]
    tables = [
        Table(
            "Open loop by route (medians)",
            ["route", "requests", "p50 ms", "p95 ms", "p99 ms", "statuses per run"],
            open_rows,
            "Latency counts from each request's scheduled moment, so a slow answer cannot hide later ones.",
        ),
        Table(
            "wrk",
            [
                "run",
                "req/s",
                "p50 ms",
                "p90 ms",
                "p95 ms",
                "p99 ms",
                "max ms",
                "non-2xx/3xx",
                "socket errors",
            ],
            wrk_rows,
            "Requests rotate over the routes above and over the open loop's accounts.",
        ),
        Table(
            "Login storm",
            [
                "run",
                "/health alone p50",
                "/health alone p99",
                "/health in storm p50",
                "/health in storm p99",
                "/health in storm max",
                "logins/s",
                "login p50 ms",
                "login p99 ms",
                "login statuses",
            ],
            storm_rows,
            "/health is probed every 20 ms on a new connection each time (so both workers are sampled).",
        ),
        Table("Seeded database", ["run", "users", "interviews", "seconds to seed"], seed_rows),
    ]
    notes = [
        "Seeded interviews are 60 % completed (with report and full engine state) and 40 % not started; "
        "their event streams are not seeded because none of the measured routes reads them.",
    ]
    if skipped:
        notes.append(f"wrk was skipped: {skipped}")
    return Summary(goals=goals, tables=tables, notes=notes)


def chart(params: dict[str, Any], runs: list[dict[str, Any]], path: Path) -> None:
    plt = pyplot()

    good = [run for run in runs if "open_loop" in run]
    groups = [
        ("open loop\n/auth/me", ("open_loop", "by_path", PATHS[0]), ("p50_ms", "p95_ms", "p99_ms")),
        ("open loop\n/interviews", ("open_loop", "by_path", PATHS[1]), ("p50_ms", "p95_ms", "p99_ms")),
        ("open loop\n/resumes", ("open_loop", "by_path", PATHS[2]), ("p50_ms", "p95_ms", "p99_ms")),
        (f"wrk {params['wrk_connections']} conns", ("wrk", "latency"), ("p50", "p95", "p99")),
        ("/health in\nlogin storm", ("storm", "health_during"), ("p50_ms", "p95_ms", "p99_ms")),
    ]
    figure, axis = plt.subplots(figsize=(10, 4.5))
    width = 0.25
    for offset, label in enumerate(("p50", "p95", "p99")):
        values = []
        for _, prefix, keys in groups:
            value = medians(good, *prefix, keys[offset])
            values.append(value if value is not None else 0.0)
        axis.bar([i + (offset - 1) * width for i in range(len(groups))], values, width, label=label)
    axis.set_xticks(range(len(groups)), [g[0] for g in groups])
    axis.set_ylabel("ms (log scale)")
    axis.set_yscale("log")
    axis.axhline(OPEN_LOOP_P95_MS, color="orange", linestyle=":", linewidth=1, label="open-loop p95 target")
    axis.axhline(HEALTH_P99_MS, color="red", linestyle=":", linewidth=1, label="/health p99 target")
    axis.grid(True, axis="y", alpha=0.3)
    axis.legend(fontsize=8)
    rate = medians(good, "wrk", "requests_per_s")
    save_chart(
        figure, path, f"rest: latency percentiles (medians of {len(good)} run(s)); wrk {fmt(rate, 0)} req/s"
    )


SCENARIO = Scenario(
    name="rest",
    title="REST: authenticated reads, peak throughput and health under a login storm",
    description=__doc__ or "",
    options=OPTIONS,
    run_once=run_once,
    summarize=summarize,
    chart=chart,
)
