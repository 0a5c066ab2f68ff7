"""Scenario 2, capacity: realistic interviews (a candidate who thinks 10 s before each answer,
2 observers, 50-words-per-second streams) at growing counts. The measure is the time from
sending an `answer` to the first evaluation piece arriving, and whether every socket got every
durable event; the result is the largest count that keeps p99 within 250 ms with nothing lost."""

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
    int_list,
    medians,
    positive_float,
    positive_int,
    pyplot,
    runs_cell,
    save_chart,
    verdict,
)
from bench.stats import median_of
from bench.target import InterviewAceServer

TARGET_P99_MS = 250.0
TARGET_INTERVIEWS = 1000

OPTIONS = (
    Option(
        "levels",
        int_list,
        [100, 250, 500, 1000, 1500, 2000],
        [4, 8],
        "concurrent interviews to try, in order",
    ),
    Option("observers", positive_int, 2, 2, "observers per interview"),
    Option("think_seconds", positive_float, 10.0, 2.0, "candidate's think time before each answer"),
    Option("seconds", positive_float, 60.0, 5.0, "measurement window per level"),
    Option("tokens_per_second", positive_float, 50.0, 50.0, "offline provider's words per second"),
    Option("question_count", positive_int, 20, 20, "questions per interview (enough to outlast the window)"),
)


async def run_once(params: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
    server = InterviewAceServer(
        ctx.run_dir, workers=2, env={"OFFLINE_TOKENS_PER_SECOND": str(params["tokens_per_second"])}
    )
    try:
        await server.start()
        job = {
            "job": "capacity",
            "base_url": server.base_url,
            "ws_url": server.ws_url,
            "levels": params["levels"],
            "observers": params["observers"],
            "think_seconds": params["think_seconds"],
            "seconds": params["seconds"],
            "question_count": params["question_count"],
            "target_p99_ms": TARGET_P99_MS,
            "stop_on_fail": True,
        }
        per_level = 240 + params["seconds"] + params["think_seconds"] + max(params["levels"]) * 0.2
        result = await ctx.measured(
            "capacity",
            server.roots,
            job,
            limit_seconds=per_level * len(params["levels"]),
            died=server.death_notice,
        )
        result["server_log"] = server.logged_problems()
    finally:
        await server.stop()
    return result


def largest_passing(run: dict[str, Any]) -> int | None:
    """The largest level reached with every level up to it passing."""
    best: int | None = None
    for level in run.get("levels", []):
        if not level.get("passed"):
            break
        best = level["interviews"]
    return best


def summarize(params: dict[str, Any], runs: list[dict[str, Any]]) -> Summary:
    good = [run for run in runs if "levels" in run]
    best = [largest_passing(run) for run in good]
    best_median = median_of(best)
    at_target = [
        next((lv for lv in run["levels"] if lv["interviews"] == TARGET_INTERVIEWS), None) for run in good
    ]
    p99_at_target = median_of(dig(lv, "latency", "p99_ms") for lv in at_target)
    lost = [
        sum(
            (dig(lv, "delivery", "lost_events") or 0) + (dig(lv, "delivery", "undelivered_at_end") or 0)
            for lv in run["levels"]
        )
        for run in good
    ]
    goals = [
        Goal(
            "largest number of concurrent interviews with p99 answer → first evaluation piece ≤ 250 ms "
            "and no lost events",
            f"≥ {TARGET_INTERVIEWS:,} ({TARGET_INTERVIEWS * (1 + params['observers']):,} sockets)",
            f"{fmt(best_median, 0)} (runs: {runs_cell(best, 0)}; levels tried: {params['levels']})",
            verdict(best_median if best_median is not None else 0.0, at_least=TARGET_INTERVIEWS)
            if good
            else None,
        ),
        Goal(
            f"p99 answer → first evaluation piece at {TARGET_INTERVIEWS:,} interviews",
            f"≤ {TARGET_P99_MS:.0f} ms",
            fmt(p99_at_target, 1, " ms") if p99_at_target is not None else "level not reached",
            verdict(p99_at_target, at_most=TARGET_P99_MS),
        ),
        Goal(
            "lost or undelivered durable events, all levels",
            "0",
            f"{fmt(median_of(lost), 0)} (runs: {runs_cell(lost, 0)})",
            verdict(median_of(lost), at_most=0),
        ),
    ]
    rows: list[list[str]] = []
    for number, run in enumerate(good, start=1):
        for level in run["levels"]:
            health = level.get("health", {})
            rows.append(
                [
                    str(number),
                    fmt(level["interviews"], 0),
                    fmt(level.get("sockets"), 0),
                    fmt(level.get("connect_seconds"), 1),
                    fmt(level.get("answers_measured"), 0),
                    fmt(dig(level, "latency", "p50_ms"), 1),
                    fmt(dig(level, "latency", "p95_ms"), 1),
                    fmt(dig(level, "latency", "p99_ms"), 1),
                    fmt(dig(level, "latency", "max_ms"), 1),
                    " / ".join(
                        str(dig(level, "delivery", key))
                        for key in ("lost_events", "undelivered_at_end", "duplicated_events")
                    ),
                    str(health.get("unexpected_closes") or {}),
                    str(health.get("connect_failures") or {}),
                    fmt(level.get("frames_per_s"), 0),
                    fmt(level.get("loadgen_cpu_pct"), 0),
                    fmt(level.get("loop_lag_p99_ms"), 1),
                    "pass" if level.get("passed") else f"FAIL {level.get('error', '')}".strip(),
                ]
            )
    tables = [
        Table(
            "Levels of every run",
            [
                "run",
                "interviews",
                "sockets",
                "connect s",
                "answers measured",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "max ms",
                "lost / late / dup",
                "unexpected closes",
                "connect failures",
                "frames/s",
                "loadgen CPU %",
                "loadgen loop lag p99 ms",
                "result",
            ],
            rows,
            "Latency: from the moment the candidate's `answer` frame is sent to the first "
            "`evaluation.delta` of that answer (answers sent inside the window). Lost / late / dup: durable "
            "events missing before a later one a socket got / still missing at the end / received twice on "
            "one connection, against the stored transcripts. A run stops at its first failing level.",
        )
    ]
    notes = [
        "Starts are spread over one think time so that answers arrive evenly, as they would from "
        "independent people; each interview has its own account slot (≤ 10 sockets per account).",
    ]
    return Summary(goals=goals, tables=tables, notes=notes)


def chart(params: dict[str, Any], runs: list[dict[str, Any]], path: Path) -> None:
    plt = pyplot()

    good = [run for run in runs if "levels" in run]
    figure, axis = plt.subplots(figsize=(8, 4.5))
    for number, run in enumerate(good, start=1):
        xs = [lv["interviews"] for lv in run["levels"]]
        color = f"C{number - 1}"
        for key, style in (("p99_ms", "o-"), ("p50_ms", "^:")):
            ys = [dig(lv, "latency", key) for lv in run["levels"]]
            axis.plot(
                xs,
                [y if y is not None else float("nan") for y in ys],
                style,
                color=color,
                label=f"run {number} {key[:3]}",
            )
    axis.axhline(TARGET_P99_MS, color="red", linestyle=":", linewidth=1, label="target p99 250 ms")
    axis.axvline(
        TARGET_INTERVIEWS, color="grey", linestyle="--", linewidth=1, label="target 1,000 interviews"
    )
    axis.set(xlabel="concurrent interviews", ylabel="answer → first evaluation piece (ms)")
    axis.set_yscale("log")
    axis.grid(True, alpha=0.3)
    axis.legend(fontsize=8)
    save_chart(
        figure,
        path,
        f"capacity: {params['observers']} observers each, think {params['think_seconds']:g} s, "
        f"{params['tokens_per_second']:g} words/s; "
        f"median best {fmt(median_of(largest_passing(r) for r in good), 0)}",
    )


SCENARIO = Scenario(
    name="capacity",
    title="Capacity: concurrent realistic interviews",
    description=__doc__ or "",
    options=OPTIONS,
    run_once=run_once,
    summarize=summarize,
    chart=chart,
)


__all__ = ["SCENARIO", "medians"]
