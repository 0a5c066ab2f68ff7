"""`wrk` (Debian package `wrk`) for peak HTTP throughput: finding or installing it, the Lua
script that spreads requests over accounts and routes, and reading its result."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

INSTALL_HINT = "install it with `sudo apt-get install wrk` (Debian/Ubuntu package `wrk`)"
RESULT_MARKER = "WRK_JSON "


class WrkUnavailable(RuntimeError):
    """wrk is not installed and could not be installed here."""


def wrk_version() -> str | None:
    path = shutil.which("wrk")
    if path is None:
        return None
    # `wrk -v` prints its version and exits with 1.
    result = subprocess.run([path, "-v"], capture_output=True, text=True, timeout=10, check=False)
    first = (result.stdout or result.stderr).strip().splitlines()
    return first[0] if first else "unknown"


def ensure_wrk() -> str:
    """The path to wrk, installing the Debian package first when running as root."""
    path = shutil.which("wrk")
    if path is not None:
        return path
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise WrkUnavailable(f"wrk is not installed: {INSTALL_HINT}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "-o", "DPkg::Lock::Timeout=300", "wrk"]
    if subprocess.run(install, env=env, capture_output=True, timeout=600, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=600, check=False)
        subprocess.run(install, env=env, capture_output=True, timeout=600, check=False)
    path = shutil.which("wrk")
    if path is None:
        raise WrkUnavailable(f"wrk could not be installed with apt-get: {INSTALL_HINT}")
    return path


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string of ASCII text is a valid Lua string literal


def lua_script(tokens: Sequence[str], paths: Sequence[str]) -> str:
    """Each request goes to the next route with the next account's token; `done` prints the
    latency percentiles as one JSON line."""
    token_list = ", ".join(_lua_string(t) for t in tokens)
    path_list = ", ".join(_lua_string(p) for p in paths)
    return f"""
local tokens = {{{token_list}}}
local paths = {{{path_list}}}
local counter = 0

request = function()
  counter = counter + 1
  local token = tokens[(counter % #tokens) + 1]
  local path = paths[(counter % #paths) + 1]
  return wrk.format("GET", path, {{["Authorization"] = "Bearer " .. token}})
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{RESULT_MARKER}{{"requests": %d, "duration_us": %d, "bytes": %d, '
    .. '"errors": {{"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}, '
    .. '"latency_us": {{"p50": %d, "p90": %d, "p95": %d, "p99": %d, "max": %d, "mean": %.1f}}}}\\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99),
    latency.max, latency.mean))
end
"""


def parse_output(output: str) -> dict[str, Any]:
    for line in output.splitlines():
        if line.startswith(RESULT_MARKER):
            parsed: dict[str, Any] = json.loads(line[len(RESULT_MARKER) :])
            return parsed
    raise ValueError(f"wrk printed no result line:\n{output[-2000:]}")


def command(wrk: str, script: Path, url: str, *, connections: int, threads: int, seconds: float) -> list[str]:
    return [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
    ]
