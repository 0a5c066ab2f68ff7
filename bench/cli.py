"""`uv run python -m bench [scenario ...]`: run benchmark scenarios and write their results."""

from __future__ import annotations

import argparse
import asyncio
import resource
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from bench.harness import RunContext
from bench.machine import machine_facts, package_versions
from bench.report import write_markdown, write_raw
from bench.scenarios import SCENARIOS
from bench.scenarios.base import Scenario, positive_int
from bench.wrk import wrk_version

DEFAULT_RESULTS = Path(__file__).resolve().parent / "results"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=(
            "Measure InterviewAce (serve --workers 2, embedded PostgreSQL and Redis, offline provider) "
            "from a separate load-generator process and write bench/results/<scenario>.md and .png."
        ),
    )
    parser.add_argument(
        "scenarios",
        nargs="*",
        metavar="scenario",
        help=f"which to run: {', '.join(SCENARIOS)} (default: all)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="small, short runs (defaults: the issue's scale)"
    )
    parser.add_argument("--runs", type=positive_int, default=None, help="runs per scenario (median reported)")
    parser.add_argument("--results-dir", type=Path, default=DEFAULT_RESULTS, help="where results are written")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="sample the server with py-spy during measurement windows and report where the time goes "
        "(adds some load: use it for diagnosis, not for the numbers)",
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=None,
        help="where server and load-generator logs go (default: temporary)",
    )
    for scenario in SCENARIOS.values():
        group = parser.add_argument_group(f"{scenario.name} scale")
        for option in scenario.options:
            default = option.full if not isinstance(option.full, list) else ",".join(map(str, option.full))
            group.add_argument(
                scenario.flag(option),
                dest=scenario.dest(option),
                type=option.parse,
                default=None,
                help=f"{option.help} (default {default}; --quick {option.quick})",
            )
    return parser


def raise_open_files_limit() -> int:
    """Children inherit the limit: the server and the load generator each hold thousands of sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


async def run_scenario(
    scenario: Scenario, parameters: dict[str, Any], runs: int, work_dir: Path, *, profile: bool = False
) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    for number in range(1, runs + 1):
        ctx = RunContext(run_dir=work_dir / scenario.name / f"run-{number}", number=number, profile=profile)
        ctx.run_dir.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        print(f"[bench] {scenario.name}: run {number}/{runs} (logs in {ctx.run_dir})", flush=True)
        try:
            data = await scenario.run_once(parameters, ctx)
        except Exception as exc:
            traceback.print_exc()
            data = {"error": f"{type(exc).__name__}: {exc}"}
        data["load"] = ctx.load
        if ctx.profiles:
            data["profiles"] = ctx.profiles
        data["seconds"] = round(time.monotonic() - started, 1)
        results.append(data)
        print(f"[bench] {scenario.name}: run {number} done in {data['seconds']:.0f}s", flush=True)
    return results


def write_results(
    scenario: Scenario,
    parameters: dict[str, Any],
    runs: list[dict[str, Any]],
    results_dir: Path,
    machine: dict[str, str],
    versions: dict[str, str],
) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    summary = scenario.summarize(parameters, runs)
    chart_path = results_dir / f"{scenario.name}.png"
    chart_name: str | None = chart_path.name
    try:
        scenario.chart(parameters, runs, chart_path)
    except Exception:
        traceback.print_exc()
        chart_name = None
    markdown = results_dir / f"{scenario.name}.md"
    write_markdown(
        markdown,
        scenario,
        parameters,
        runs,
        summary,
        machine=machine,
        versions=versions,
        chart_name=chart_name,
        runs_requested=len(runs),
    )
    write_raw(results_dir / f"{scenario.name}.json", parameters, runs)
    return markdown


async def main_async(args: argparse.Namespace) -> int:
    names = args.scenarios or list(SCENARIOS)
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown:
        print(
            f"unknown scenario(s): {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}", file=sys.stderr
        )
        return 2
    runs = args.runs or (1 if args.quick else 3)
    main_task = asyncio.current_task()
    if main_task is not None:
        # SIGTERM cancels the run like Ctrl-C does, so that every server started is stopped.
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    print(f"[bench] open files limit: {raise_open_files_limit()}", flush=True)
    temporary = args.work_dir is None
    work_dir = args.work_dir or Path(tempfile.mkdtemp(prefix="interviewace-bench-logs-"))
    failed = False
    try:
        for name in names:
            scenario = SCENARIOS[name]
            parameters = scenario.parameters(args, args.quick)
            machine = machine_facts()
            versions = package_versions()
            if name == "rest":
                versions["wrk"] = wrk_version() or "not installed"
            results = await run_scenario(scenario, parameters, runs, work_dir, profile=args.profile)
            failed = failed or any("error" in run for run in results)
            markdown = write_results(scenario, parameters, results, args.results_dir, machine, versions)
            print(f"[bench] {name}: results in {markdown}", flush=True)
    finally:
        if temporary and not failed:
            shutil.rmtree(work_dir, ignore_errors=True)
        elif failed:
            print(f"[bench] logs kept in {work_dir}", flush=True)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return asyncio.run(main_async(args))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("[bench] interrupted: the servers it started are stopped", file=sys.stderr)
        return 130
