"""Scenario 5, parsing: 200 resumes (PDF and DOCX, half each) uploaded at once, parsed by one
job-worker process with the offline structurer. Resumes parsed per second, from the first
upload to the last resume's `parsed_at`."""

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
    positive_float,
    positive_int,
    pyplot,
    runs_cell,
    save_chart,
    verdict,
)
from bench.stats import median_of
from bench.target import InterviewAceServer

TARGET_PER_SECOND = 20.0

OPTIONS = (
    Option("resumes", positive_int, 200, 20, "resumes uploaded at once"),
    Option("wait_seconds", positive_float, 600.0, 120.0, "how long to wait for the parses to finish"),
)


async def run_once(params: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
    server = InterviewAceServer(ctx.run_dir, workers=2, env={"WORKER_PROCESSES": "1"})
    try:
        await server.start()
        job = {"job": "parsing", "base_url": server.base_url, **params}
        result = await ctx.measured(
            "parsing", server.roots, job, limit_seconds=params["wait_seconds"] + 300, died=server.death_notice
        )
        result["server_log"] = server.logged_problems()
    finally:
        await server.stop()
    return result


def summarize(params: dict[str, Any], runs: list[dict[str, Any]]) -> Summary:
    good = [run for run in runs if "parsed" in run]
    rates = [run.get("parsed_per_s") for run in good]
    unavailable = next((run["unavailable"] for run in runs if "unavailable" in run), None)
    value = median_of(rates)
    goals = [
        Goal(
            f"resumes parsed per second ({params['resumes']} uploaded at once, one worker process)",
            f"≥ {TARGET_PER_SECOND:.0f}/s",
            unavailable or f"{fmt(value, 1, '/s')} (runs: {runs_cell(rates)})",
            verdict(value, at_least=TARGET_PER_SECOND),
        ),
        Goal(
            "resumes not parsed (failed or unfinished)",
            "0",
            runs_cell([(run.get("failed") or 0) + (run.get("unfinished") or 0) for run in good], 0) or "n/a",
            verdict(
                median_of((run.get("failed") or 0) + (run.get("unfinished") or 0) for run in good), at_most=0
            ),
        ),
    ]
    rows = [
        [
            str(number),
            f"{run.get('accepted')} / {run.get('resumes')}",
            str(run.get("upload_statuses")),
            fmt(run.get("upload_seconds"), 1),
            str(run.get("parsed")),
            f"{run.get('failed')} {run.get('failures') or ''}",
            str(run.get("unfinished")),
            fmt(run.get("seconds_to_last"), 1),
            fmt(run.get("parsed_per_s"), 2),
            fmt(run.get("steady_parsed_per_s"), 2),
            fmt(dig(run, "time_to_parsed", "p50_ms"), 0),
            fmt(dig(run, "time_to_parsed", "p99_ms"), 0),
        ]
        for number, run in enumerate(good, start=1)
    ]
    tables = [
        Table(
            "Runs",
            [
                "run",
                "accepted",
                "upload statuses",
                "uploads took s",
                "parsed",
                "failed",
                "unfinished",
                "first upload → last parsed s",
                "parsed/s",
                "steady parsed/s",
                "time to parsed p50 ms",
                "p99 ms",
            ],
            rows,
            "parsed/s: parsed resumes ÷ time from the first upload to the last `parsed_at`. Steady: "
            "between the first and the last `parsed_at`.",
        )
    ]
    notes = [
        "Parsing runs in the job worker (WORKER_PROCESSES=1, default threads) with the offline structurer."
    ]
    if unavailable:
        notes.append(f"Not measured: {unavailable}")
    return Summary(goals=goals, tables=tables, notes=notes)


def chart(params: dict[str, Any], runs: list[dict[str, Any]], path: Path) -> None:
    plt = pyplot()

    figure, axis = plt.subplots(figsize=(7.5, 4.5))
    for number, run in enumerate([r for r in runs if r.get("timeline")], start=1):
        timeline = sorted(run["timeline"])
        axis.step(
            timeline,
            range(1, len(timeline) + 1),
            where="post",
            label=f"run {number}: {run['parsed_per_s']}/s",
        )
    if params["resumes"]:
        horizon = params["resumes"] / TARGET_PER_SECOND
        axis.plot([0, horizon], [0, params["resumes"]], "r:", label=f"target {TARGET_PER_SECOND:.0f}/s")
    axis.set(xlabel="seconds since the first upload", ylabel="resumes parsed")
    axis.grid(True, alpha=0.3)
    axis.legend()
    save_chart(figure, path, f"parsing: {params['resumes']} resumes uploaded at once, one worker process")


SCENARIO = Scenario(
    name="parsing",
    title="Resume parsing throughput",
    description=__doc__ or "",
    options=OPTIONS,
    run_once=run_once,
    summarize=summarize,
    chart=chart,
)
