"""Small statistics helpers shared by the load generator and the report."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Linear-interpolated percentile (`fraction` in 0..1); None for no values."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"percentile fraction must be within 0..1, not {fraction}")
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = math.ceil(position)
    if low == high:
        return float(ordered[low])
    weight = position - low
    return float(ordered[low] * (1 - weight) + ordered[high] * weight)


def summarize(values: Sequence[float]) -> dict[str, float | int | None]:
    """Count, mean and the percentiles the reports use."""
    return {
        "count": len(values),
        "mean": statistics.fmean(values) if values else None,
        "p50": percentile(values, 0.50),
        "p95": percentile(values, 0.95),
        "p99": percentile(values, 0.99),
        "max": max(values) if values else None,
    }


def median_of(values: Iterable[float | int | None]) -> float | None:
    """Median of the runs that produced a number (a run that could not measure gives None)."""
    present = [float(v) for v in values if v is not None]
    return statistics.median(present) if present else None


def linear_fit(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    """Least-squares slope and intercept."""
    if len(xs) != len(ys) or len(xs) < 2:
        raise ValueError("a linear fit needs at least two (x, y) points")
    mean_x = statistics.fmean(xs)
    mean_y = statistics.fmean(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        raise ValueError("a linear fit needs at least two distinct x values")
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    return slope, mean_y - slope * mean_x
