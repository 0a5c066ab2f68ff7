"""Scenario 1, fan-out: N interviews, each a candidate who answers at once and M observers,
the offline provider streaming nonstop. InterviewAce and the ceiling server are driven by the
same clients, one offered load after the other, in the same run."""

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
from bench.target import CeilingServer, InterviewAceServer

SKEW_LIMIT_MS = 50.0
RATIO_TARGET = 0.6
TARGETS = ("interviewace", "ceiling")
SERVER_ROLES = {"interviewace": ("api", "worker", "redis", "postgres", "supervisor"), "ceiling": ("ceiling",)}


def window_cpu(run: dict[str, Any], target: str, count: int) -> tuple[float | None, float | None]:
    """(server CPU % of one core, load generator CPU %) during the measurement window of a step."""
    load = run.get("load", {}).get(f"{target}-{count}/window")
    if not load:
        return None, None
    by_role = load.get("by_role_pct", {})
    return sum(by_role.get(role, 0.0) for role in SERVER_ROLES[target]), by_role.get("loadgen")


def frames_per_core_second(run: dict[str, Any], step: dict[str, Any], target: str) -> float | None:
    server_cpu, _ = window_cpu(run, target, step["interviews"])
    rate = dig(step, target, "frames_per_s")
    if not server_cpu or rate is None:
        return None
    return float(rate) / (server_cpu / 100.0)


OPTIONS = (
    Option(
        "interviews",
        int_list,
        [10, 20, 40, 60, 80, 100, 120, 160],
        [3, 6],
        "offered loads: interviews at once (a ladder)",
    ),
    Option("observers", positive_int, 10, 3, "observers per interview"),
    Option("seconds", positive_float, 15.0, 4.0, "measurement window per load"),
    Option("warmup", positive_float, 2.0, 1.0, "seconds of streaming before the window opens"),
    Option("tokens_per_second", positive_float, 100.0, 100.0, "offline provider's words per second"),
    Option(
        "question_count", positive_int, 20, 20, "InterviewAce questions per interview (the API's maximum)"
    ),
    Option("ceiling_processes", positive_int, 2, 2, "ceiling server processes (InterviewAce runs 2 workers)"),
    Option(
        "ceiling_question_count",
        positive_int,
        1000,
        1000,
        "ceiling questions per interview (never ends in a run)",
    ),
    Option("question_words", positive_int, 26, 26, "ceiling: words per question, like the offline texts"),
    Option("feedback_words", positive_int, 38, 38, "ceiling: words per feedback, like the offline texts"),
)


async def run_once(params: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
    tps = params["tokens_per_second"]
    server = InterviewAceServer(ctx.run_dir, workers=2, env={"OFFLINE_TOKENS_PER_SECOND": str(tps)})
    ceiling = CeilingServer(
        ctx.run_dir,
        processes=params["ceiling_processes"],
        tokens_per_second=tps,
        question_count=params["ceiling_question_count"],
        question_words=params["question_words"],
        feedback_words=params["feedback_words"],
    )
    steps: list[dict[str, Any]] = []
    try:
        await server.start()
        await ceiling.start()

        def roots() -> list[tuple[str, int]]:
            return [*server.roots(), *ceiling.roots()]

        for count in params["interviews"]:
            common = {
                "job": "fanout",
                "interviews": count,
                "observers": params["observers"],
                "seconds": params["seconds"],
                "warmup_seconds": params["warmup"],
                "question_count": params["question_count"],
            }
            limit = 300 + params["seconds"] * 2 + count * 2
            step: dict[str, Any] = {"interviews": count}
            step["interviewace"] = await ctx.measured(
                f"interviewace-{count}",
                roots,
                {**common, "target": "interviewace", "base_url": server.base_url, "ws_url": server.ws_url},
                limit_seconds=limit,
                died=server.death_notice,
            )
            step["ceiling"] = await ctx.measured(
                f"ceiling-{count}",
                roots,
                {**common, "target": "ceiling", "ws_urls": ceiling.ws_urls},
                limit_seconds=limit,
                died=server.death_notice,
            )
            steps.append(step)
        problems = server.logged_problems()
    finally:
        await ceiling.stop()
        await server.stop()
    return {"steps": steps, "server_log": problems}


def _clean(result: dict[str, Any] | None) -> bool:
    delivery = dig(result, "delivery") or {}
    return all(delivery.get(key) == 0 for key in ("lost_events", "undelivered_at_end", "duplicated_events"))


def sustainable(run: dict[str, Any], target: str) -> tuple[float | None, int | None]:
    """The most frames/s a target delivered at a load where p99 skew stayed within the limit and
    no event was lost or duplicated; and that load's interview count."""
    best: tuple[float | None, int | None] = (None, None)
    for step in run.get("steps", []):
        result = step.get(target)
        skew = dig(result, "skew", "p99_ms")
        rate = dig(result, "frames_per_s")
        if rate is None or skew is None or skew > SKEW_LIMIT_MS or not _clean(result):
            continue
        if best[0] is None or rate > best[0]:
            best = (rate, step["interviews"])
    return best


def summarize(params: dict[str, Any], runs: list[dict[str, Any]]) -> Summary:
    good = [run for run in runs if "steps" in run]
    ia_best = [sustainable(run, "interviewace") for run in good]
    ceiling_best = [sustainable(run, "ceiling") for run in good]
    ratios = [
        ia[0] / ce[0] if ia[0] is not None and ce[0] else None
        for ia, ce in zip(ia_best, ceiling_best, strict=True)
    ]
    ratio = median_of(ratios)
    ia_rate = median_of(v for v, _ in ia_best)
    lost = [
        sum((dig(step, t, "delivery", "lost_events") or 0) for step in run["steps"] for t in TARGETS)
        for run in good
    ]
    duplicated = [
        sum((dig(step, t, "delivery", "duplicated_events") or 0) for step in run["steps"] for t in TARGETS)
        for run in good
    ]
    ia_lost = [
        sum(
            (dig(step, "interviewace", "delivery", key) or 0)
            for step in run["steps"]
            for key in ("lost_events", "undelivered_at_end", "duplicated_events")
        )
        for run in good
    ]
    goals = [
        Goal(
            "InterviewAce frames/s ÷ ceiling frames/s (each at its best load with p99 skew ≤ 50 ms)",
            f"≥ {RATIO_TARGET}",
            f"{fmt(ratio, 2)} (runs: {runs_cell(ratios, 2)}; InterviewAce {fmt(ia_rate, 0)} frames/s)",
            verdict(ratio, at_least=RATIO_TARGET),
        ),
        Goal(
            "lost + undelivered + duplicated durable events, InterviewAce, all loads",
            "0",
            f"{fmt(median_of(ia_lost), 0)} (runs: {runs_cell(ia_lost, 0)})",
            verdict(median_of(ia_lost), at_most=0),
        ),
    ]
    ladder_rows: list[list[str]] = []
    for count in params["interviews"]:
        per_run = [next((s for s in run["steps"] if s["interviews"] == count), None) for run in good]
        present = [s for s in per_run if s is not None]
        row = [str(count), fmt(medians(present, "interviewace", "sockets"), 0)]
        for target in TARGETS:
            cpu = median_of(window_cpu(run, target, count)[0] for run in good)
            efficiency = median_of(
                frames_per_core_second(run, step, target)
                for run in good
                for step in run["steps"]
                if step["interviews"] == count
            )
            row += [
                fmt(medians(present, target, "frames_per_s"), 0),
                fmt(_mib(medians(present, target, "bytes_per_s")), 2),
                fmt(medians(present, target, "skew", "p50_ms"), 1),
                fmt(medians(present, target, "skew", "p99_ms"), 1),
                " / ".join(
                    fmt(medians(present, target, "delivery", key), 0)
                    for key in ("lost_events", "undelivered_at_end", "duplicated_events")
                ),
                fmt(cpu, 0),
                fmt(efficiency, 0),
                fmt(medians(present, target, "loadgen_cpu_pct"), 0),
            ]
        ladder_rows.append(row)
    headers = ["interviews", "sockets"]
    for label in ("IA", "ceiling"):
        headers += [
            f"{label} frames/s",
            f"{label} MiB/s",
            f"{label} skew p50 ms",
            f"{label} skew p99 ms",
            f"{label} lost / late / dup",
            f"{label} server CPU %",
            f"{label} frames per server core-second",
            f"{label} loadgen CPU %",
        ]
    detail_rows: list[list[str]] = []
    for number, run in enumerate(good, start=1):
        for step in run["steps"]:
            for target in TARGETS:
                result = step.get(target) or {}
                health = result.get("health", {})
                detail_rows.append(
                    [
                        str(number),
                        str(step["interviews"]),
                        target,
                        fmt(result.get("frames_per_s"), 0),
                        fmt(result.get("avg_frame_bytes"), 0),
                        fmt(result.get("durable_per_s"), 1),
                        fmt(dig(result, "skew", "p99_ms"), 1),
                        fmt(dig(result, "skew", "max_ms"), 1),
                        str(result.get("delivery", {})),
                        str(health.get("unexpected_closes") or {}),
                        str(health.get("reconnects", "")),
                        str(health.get("delta_offset_errors", "")),
                        fmt(result.get("loop_lag_p99_ms"), 1),
                        "yes" if result.get("settled") else "no",
                    ]
                )
    tables = [
        Table(
            "Offered load ladder (medians of the runs)",
            headers,
            ladder_rows,
            "Skew: |observer arrival − candidate arrival| of the same durable event, per observer. "
            "Lost / late / dup: durable events missing before a later one a socket got / still missing at "
            "the end / received twice on one connection (InterviewAce: checked against the stored "
            "transcript). Server CPU: percent of one core during the window (InterviewAce: API "
            "workers + PostgreSQL + Redis + job worker; ceiling: its processes).",
        ),
        Table(
            "Every step of every run",
            [
                "run",
                "interviews",
                "target",
                "frames/s",
                "avg frame B",
                "durable/s",
                "skew p99 ms",
                "skew max ms",
                "delivery",
                "unexpected closes",
                "reconnects",
                "delta offset errors",
                "loadgen loop lag p99 ms",
                "settled",
            ],
            detail_rows,
        ),
    ]
    notes = [
        "Both servers stream at the same words per second, coalesced into one delta frame per 50 ms, so "
        "below saturation they deliver the same frames/s; the comparison that matters is where each "
        "stops keeping up (skew grows, frames/s stops growing).",
        "The load generator is one Python process on the same 2 cores: when its CPU nears 100 % or its "
        "loop lag grows, it is the bottleneck, for both servers alike.",
    ]
    ended = sorted(
        {
            f"{target} at {step['interviews']}"
            for run in good
            for step in run["steps"]
            for target in TARGETS
            if dig(step, target, "frames_by_type", "interview.completed")
        }
    )
    if ended:
        notes.append(
            "Some interviews ended inside the window (fewer streams than offered), at: " + ", ".join(ended)
        )
    best_ceiling = [ce for ce in ceiling_best if ce[1] is not None]
    if best_ceiling and all(ce[1] == max(params["interviews"]) for ce in best_ceiling):
        notes.append(
            "The ceiling kept p99 skew within 50 ms at the largest offered load, so its real limit is "
            "higher than measured here (the load generator shares the 2 cores): the ratio above is an "
            "upper bound; the frames per server core-second columns compare efficiency directly."
        )
    if len(good) < len(runs):
        notes.append(f"{len(runs) - len(good)} run(s) failed; see the errors below.")
    if (duplicated and any(duplicated)) or (lost and any(lost)):
        notes.append(f"Lost events per run (both targets): {lost}; duplicated: {duplicated}.")
    return Summary(goals=goals, tables=tables, notes=notes)


def _mib(value: float | None) -> float | None:
    return None if value is None else value / 1024 / 1024


def chart(params: dict[str, Any], runs: list[dict[str, Any]], path: Path) -> None:
    plt = pyplot()

    good = [run for run in runs if "steps" in run]
    loads = params["interviews"]
    figure, (rate_axis, skew_axis) = plt.subplots(1, 2, figsize=(11, 4.2))
    for target, label, style in (
        ("interviewace", "InterviewAce", "o-"),
        ("ceiling", "ceiling (websockets)", "s--"),
    ):
        rates, skews = [], []
        for count in loads:
            present = [s for run in good for s in run["steps"] if s["interviews"] == count]
            rates.append(medians(present, target, "frames_per_s"))
            skews.append(medians(present, target, "skew", "p99_ms"))
        rate_axis.plot(loads, [r if r is not None else float("nan") for r in rates], style, label=label)
        skew_axis.plot(loads, [s if s is not None else float("nan") for s in skews], style, label=label)
    skew_axis.axhline(SKEW_LIMIT_MS, color="red", linewidth=1, linestyle=":", label="target 50 ms")
    rate_axis.set(xlabel="interviews", ylabel="frames delivered / s", title="Delivered frames per second")
    skew_axis.set(xlabel="interviews", ylabel="ms", title="p99 skew candidate → observers")
    skew_axis.set_yscale("log")
    for axis in (rate_axis, skew_axis):
        axis.grid(True, alpha=0.3)
        axis.legend()
    save_chart(
        figure, path, f"fanout: {params['observers']} observers per interview, medians of {len(good)} run(s)"
    )


SCENARIO = Scenario(
    name="fanout",
    title="Fan-out: InterviewAce against a minimal websockets server",
    description=__doc__ or "",
    options=OPTIONS,
    run_once=run_once,
    summarize=summarize,
    chart=chart,
)
