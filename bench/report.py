"""Writing `<results>/<scenario>.md` and `<scenario>.png`."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

from bench.scenarios.base import Scenario, Summary, Table

VERDICTS = {True: "met", False: "**missed**", None: "not measured"}


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    def clean(cell: str) -> str:
        return cell.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(clean(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(clean(c) for c in row) + " |" for row in rows]
    return lines


def _load_rows(runs: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    roles: list[str] = []
    for run in runs:
        for load in run.get("load", {}).values():
            for role in load.get("by_role_pct", {}):
                if role not in roles:
                    roles.append(role)
    headers = ["run", "phase", "seconds", "machine busy %", "other processes %", *[f"{r} %" for r in roles]]
    headers += ["load avg (1 min, mean)"]
    rows: list[list[str]] = []
    for number, run in enumerate(runs, start=1):
        for phase, load in run.get("load", {}).items():
            by_role = load.get("by_role_pct", {})
            rows.append(
                [
                    str(number),
                    phase,
                    f"{load.get('seconds', 0):.0f}",
                    f"{load.get('machine_busy_pct', 0):.0f}",
                    f"{load.get('other_pct', 0):.0f}",
                    *[f"{by_role[r]:.0f}" if r in by_role else "" for r in roles],
                    f"{load.get('loadavg_1m_mean', 0):.2f}",
                ]
            )
    return headers, rows


def write_markdown(
    path: Path,
    scenario: Scenario,
    parameters: dict[str, Any],
    runs: list[dict[str, Any]],
    summary: Summary,
    *,
    machine: dict[str, str],
    versions: dict[str, str],
    chart_name: str | None,
    runs_requested: int,
) -> None:
    command = "uv run python -m bench " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    lines = [f"# {scenario.title}", "", scenario.description.strip(), ""]
    lines += [f"Measured with `{command}` ({runs_requested} run(s); medians reported).", ""]
    lines += ["## Targets", ""]
    lines += _table(
        ["metric", "target", "measured (median)", "verdict"],
        [[g.metric, g.goal, g.value, VERDICTS[g.met]] for g in summary.goals],
    )
    lines.append("")
    if chart_name:
        lines += [f"![{scenario.name} chart]({chart_name})", ""]
    for table in summary.tables:
        lines += [f"## {table.title}", ""]
        if table.note:
            lines += [table.note, ""]
        lines += [*_table(table.headers, table.rows), ""]
    if summary.notes:
        lines += ["## Notes", ""]
        lines += [f"- {note}" for note in summary.notes]
        lines.append("")
    logged = [(n, run["server_log"]) for n, run in enumerate(runs, start=1) if run.get("server_log")]
    if logged:
        lines += ["## What the server logged as errors and warnings", ""]
        lines += [
            "Counts of log lines by event name over the whole run (set-up included). They are part of "
            "the result: an error here is a request or a socket that failed under load.",
            "",
        ]
        lines += _table(
            ["run", "level", "events"],
            [
                [str(n), level, ", ".join(f"{event} × {count}" for event, count in events.items())]
                for n, problems in logged
                for level, events in problems.items()
            ],
        )
        lines.append("")
    profiled = [(n, run["profiles"]) for n, run in enumerate(runs, start=1) if run.get("profiles")]
    if profiled:
        lines += ["## Where the time goes (py-spy, `--profile`)", ""]
        lines += [
            "Share of the samples of the server processes during each phase, by the innermost frame of "
            "our own code (`server/`) on the stack, and by the innermost frame of all.",
            "",
        ]
        for n, profiles in profiled:
            for label, profile in profiles.items():
                lines += [f"### Run {n}, {label} ({profile['samples']} samples)", ""]
                rows = [
                    [f"{ours[0]} %", f"`{ours[1]}`", f"{leaf[0]} %", f"`{leaf[1]}`"]
                    for ours, leaf in zip(
                        profile["innermost_server_frame"], profile["innermost_frame"], strict=False
                    )
                ]
                lines += [*_table(["share", "innermost server/ frame", "share", "innermost frame"], rows), ""]
    errors = [(n, run["error"]) for n, run in enumerate(runs, start=1) if "error" in run]
    if errors:
        lines += ["## Failed runs", ""]
        lines += [f"- run {n}: `{message}`" for n, message in errors]
        lines.append("")
    lines += ["## Parameters", ""]
    lines += _table(
        ["option", "value"],
        [[f"--{scenario.name}-{k.replace('_', '-')}", json.dumps(v)] for k, v in parameters.items()],
    )
    lines += ["", "## Machine load during the runs", ""]
    lines += [
        "CPU in percent of one core (this machine has "
        f"{machine.get('cores', '?')}): what the processes started for the benchmark used, and what "
        "everything else on the machine used at the same time (other engineers' test suites: noise).",
        "",
    ]
    headers, rows = _load_rows(runs)
    lines += [*_table(headers, rows), ""]
    lines += ["## Machine", ""]
    lines += [*_table(["", ""], [[k, v] for k, v in machine.items()]), ""]
    lines += ["## Versions", ""]
    lines += [*_table(["package", "version"], [[k, v] for k, v in versions.items()]), ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def write_raw(path: Path, parameters: dict[str, Any], runs: list[dict[str, Any]]) -> None:
    """Every number the runs produced, for anyone who wants to look further."""
    path.write_text(
        json.dumps({"parameters": parameters, "runs": runs}, indent=1, default=str), encoding="utf-8"
    )


__all__ = ["Table", "write_markdown", "write_raw"]
