"""The benchmark harness runs end to end at tiny scale. It checks that the pieces work together
(servers start and stop, the load generator drives both targets, results are written); the
numbers themselves are reported by `python -m bench`, never asserted here."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _bench_processes(marker: str) -> set[int]:
    """Pids of processes whose command line names this test's own data directory (other
    benchmark runs on the machine have their own)."""
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if marker.encode() in cmdline:
                found.add(int(entry.name))
    return found


def test_fanout_runs_end_to_end_and_writes_results(tmp_path: Path) -> None:
    # A short parent: PostgreSQL's socket lives in the data directory and paths are capped at 107.
    data_parent = tempfile.mkdtemp(prefix="ia-smoke-")
    results = tmp_path / "results"
    command = [
        sys.executable,
        "-m",
        "bench",
        "fanout",
        "--quick",
        "--runs",
        "1",
        "--fanout-interviews",
        "2",
        "--fanout-observers",
        "2",
        "--fanout-seconds",
        "1.5",
        "--fanout-warmup",
        "0.5",
        "--fanout-tokens-per-second",
        "300",
        "--results-dir",
        str(results),
        "--work-dir",
        str(tmp_path / "work"),
    ]
    environment = {**os.environ, "BENCH_DATA_PARENT": data_parent}
    with subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment
    ) as harness:
        try:
            output, _ = harness.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            # SIGTERM lets the harness stop the servers it started before it exits.
            harness.send_signal(signal.SIGTERM)
            output, _ = harness.communicate(timeout=60)
            pytest.fail(f"the harness ran past 120 s:\n{output[-3000:]}")
    assert harness.returncode == 0, output[-3000:]

    markdown = (results / "fanout.md").read_text(encoding="utf-8")
    for section in ("## Targets", "## Offered load ladder", "## Machine load during the runs", "## Versions"):
        assert section in markdown
    assert (results / "fanout.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")

    run = json.loads((results / "fanout.json").read_text(encoding="utf-8"))["runs"][0]
    assert "error" not in run
    (step,) = run["steps"]
    for target in ("interviewace", "ceiling"):
        result = step[target]
        assert result["sockets"] == 2 * (1 + 2)
        # Frames really went through: streamed deltas and durable events reached the clients.
        assert result["frames_by_type"].get("question.delta", 0) > 0
        assert result["skew"]["count"] > 0
    assert {"interviewace-2", "ceiling-2"} <= set(run["load"])

    # Everything the harness started for the server is gone: API, worker, embedded services.
    assert not _bench_processes(data_parent)
    shutil.rmtree(data_parent, ignore_errors=True)
