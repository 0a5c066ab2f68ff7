"""What a scenario is made of: its scale options, one measured run, and the summary of K runs."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.harness import RunContext
from bench.stats import median_of


def int_list(raw: str) -> list[int]:
    try:
        values = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {raw!r}") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive integers, got {raw!r}")
    return values


def positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {raw!r}")
    return value


def positive_float(raw: str) -> float:
    value = float(raw)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {raw!r}")
    return value


@dataclass(frozen=True)
class Option:
    """A scale parameter: `--<scenario>-<name>`, with the issue's value and a --quick value."""

    name: str
    parse: Callable[[str], Any]
    full: Any
    quick: Any
    help: str


@dataclass
class Goal:
    """One target of the issue and whether the median met it."""

    metric: str
    goal: str
    value: str
    met: bool | None  # None: could not be measured


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[str]]
    note: str = ""


@dataclass
class Summary:
    goals: list[Goal]
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


RunOnce = Callable[[dict[str, Any], RunContext], Awaitable[dict[str, Any]]]
Summarize = Callable[[dict[str, Any], list[dict[str, Any]]], Summary]
Chart = Callable[[dict[str, Any], list[dict[str, Any]], Path], None]


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    description: str
    options: Sequence[Option]
    run_once: RunOnce
    summarize: Summarize
    chart: Chart

    def flag(self, option: Option) -> str:
        return f"--{self.name}-{option.name.replace('_', '-')}"

    def dest(self, option: Option) -> str:
        return f"{self.name}_{option.name}"

    def parameters(self, args: argparse.Namespace, quick: bool) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for option in self.options:
            given = getattr(args, self.dest(option), None)
            values[option.name] = given if given is not None else (option.quick if quick else option.full)
        return values


# ---- formatting helpers shared by the scenarios ------------------------------------------------


def fmt(value: float | int | None, digits: int = 1, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, int) or (float(value).is_integer() and abs(value) >= 100):
        text = f"{round(value):,}"
    else:
        text = f"{value:,.{digits}f}"
    return f"{text}{unit}"


def runs_cell(values: Sequence[float | int | None], digits: int = 1) -> str:
    return ", ".join(fmt(v, digits) for v in values)


def dig(data: dict[str, Any] | None, *path: str) -> Any:
    """data[path[0]][path[1]]...; None when any step is missing."""
    current: Any = data
    for key in path:
        if not isinstance(current, dict) or key not in current:
            return None
        current = current[key]
    return current


def medians(runs: Sequence[dict[str, Any]], *path: str) -> float | None:
    return median_of(dig(run, *path) for run in runs)


def verdict(
    value: float | None, *, at_most: float | None = None, at_least: float | None = None
) -> bool | None:
    if value is None:
        return None
    if at_most is not None and value > at_most:
        return False
    return not (at_least is not None and value < at_least)


def pyplot() -> Any:
    """matplotlib's pyplot on the file-only backend (imported on demand: charts are optional)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_chart(figure: Any, path: Path, title: str) -> None:
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot().close(figure)
