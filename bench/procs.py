"""What the processes on this machine are doing, read from /proc (Linux only).

The harness knows the root pid of everything it started (the `serve` supervisor, PostgreSQL's
postmaster, the ceiling server, the load generator). Every process is given the role of its
nearest classified ancestor, so CPU and memory can be split into "api workers", "postgres",
"load generator"... and whatever else the machine is busy with counts as "other".
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
CORES = os.cpu_count() or 1

# Sub-roles inside the server's process tree, recognised by command line.
_SERVER_PATTERNS: tuple[tuple[str, str], ...] = (
    ("uvicorn", "api"),
    ("server.cli worker", "worker"),
    ("dramatiq", "worker"),
    ("redis-server", "redis"),
)


@dataclass(frozen=True)
class ProcessInfo:
    pid: int
    ppid: int
    cpu_ticks: int
    rss_kib: int
    cmdline: str
    children_ticks: int = 0  # CPU of children this process has reaped (cutime + cstime)


def read_process(pid: int) -> ProcessInfo | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        raw_cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name is in parentheses and may itself contain spaces or parentheses.
    fields = stat[stat.rindex(")") + 2 :].split()
    return ProcessInfo(
        pid=pid,
        ppid=int(fields[1]),
        cpu_ticks=int(fields[11]) + int(fields[12]),
        rss_kib=int(fields[21]) * PAGE_KIB,
        cmdline=raw_cmdline.replace(b"\0", b" ").decode(errors="replace").strip(),
        children_ticks=int(fields[13]) + int(fields[14]),
    )


def process_table() -> dict[int, ProcessInfo]:
    table: dict[int, ProcessInfo] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            info = read_process(int(entry.name))
            if info is not None:
                table[info.pid] = info
    return table


def descendants(table: Mapping[int, ProcessInfo], root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for info in table.values():
        children.setdefault(info.ppid, []).append(info.pid)
    found: set[int] = set()
    stack = [root] if root in table else []
    while stack:
        pid = stack.pop()
        if pid in found:
            continue
        found.add(pid)
        stack.extend(children.get(pid, ()))
    return found


Roots = Sequence[tuple[str, int]]  # (role, root pid); a role may have several roots


def assign_roles(table: Mapping[int, ProcessInfo], roots: Roots) -> dict[int, str]:
    """pid -> role for every process under one of `roots`. Inside the tree of a root named
    "server", processes are split further into api/worker/redis/supervisor."""
    roles: dict[int, str] = {}
    for role, root in roots:
        members = descendants(table, root)
        for pid in members:
            roles[pid] = role
        if role != "server":
            continue
        # Parents before children, so that a child without a pattern of its own (uvicorn's
        # worker processes, the parser subprocesses of the job worker) takes its parent's role.
        for pid in sorted(members, key=lambda p: _depth(table, p)):
            sub = next((name for pattern, name in _SERVER_PATTERNS if pattern in table[pid].cmdline), None)
            if sub is not None:
                roles[pid] = sub
            elif pid == root:
                roles[pid] = "supervisor"
            else:
                roles[pid] = roles.get(table[pid].ppid, "supervisor")
    return roles


def _depth(table: Mapping[int, ProcessInfo], pid: int) -> int:
    depth = 0
    seen: set[int] = set()
    while pid in table and pid not in seen and depth < 64:
        seen.add(pid)
        pid = table[pid].ppid
        depth += 1
    return depth


def rss_by_role(roots: Roots) -> dict[str, int]:
    """Resident memory (KiB) summed per role, right now."""
    table = process_table()
    totals: dict[str, int] = {}
    for pid, role in assign_roles(table, roots).items():
        totals[role] = totals.get(role, 0) + table[pid].rss_kib
    return totals


def rss_of_role(roots: Roots, role: str) -> list[int]:
    """Resident memory (KiB) of each process with `role`, largest first."""
    table = process_table()
    return sorted(
        (table[pid].rss_kib for pid, r in assign_roles(table, roots).items() if r == role), reverse=True
    )


def machine_cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine since boot."""
    first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in first[:8]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values)
    return total - idle, total


def load_average() -> tuple[float, float, float]:
    one, five, fifteen = Path("/proc/loadavg").read_text().split()[:3]
    return float(one), float(five), float(fifteen)


@dataclass
class LoadSummary:
    """CPU use during a sampled period, in percent of one core (a 2-core machine tops at 200)."""

    seconds: float
    cores: int
    machine_busy_pct: float
    by_role_pct: dict[str, float]
    other_pct: float
    loadavg_start: tuple[float, float, float]
    loadavg_end: tuple[float, float, float]
    loadavg_1m_mean: float
    peak_rss_kib: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "seconds": round(self.seconds, 1),
            "cores": self.cores,
            "machine_busy_pct": round(self.machine_busy_pct, 1),
            "by_role_pct": {k: round(v, 1) for k, v in sorted(self.by_role_pct.items())},
            "other_pct": round(self.other_pct, 1),
            "loadavg_start": list(self.loadavg_start),
            "loadavg_end": list(self.loadavg_end),
            "loadavg_1m_mean": round(self.loadavg_1m_mean, 2),
            "peak_rss_kib": dict(sorted(self.peak_rss_kib.items())),
        }


class LoadSampler:
    """Samples /proc once per `interval` while it runs; `stop()` returns a LoadSummary."""

    def __init__(self, roots: Callable[[], Roots], interval: float = 1.0) -> None:
        self._roots = roots
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        self._role_ticks: dict[str, int] = {}
        # pid -> (own ticks, reaped children's ticks, role, ppid) at the last sample / the first one
        self._last: dict[int, tuple[int, int, str, int]] = {}
        self._first: dict[int, tuple[int, int]] = {}
        self._peak_rss: dict[str, int] = {}
        self._loadavg_samples: list[float] = []
        self._started = 0.0
        self._machine_start = (0, 0)
        self._loadavg_start = (0.0, 0.0, 0.0)

    def start(self) -> None:
        self._started = time.monotonic()
        self._machine_start = machine_cpu_ticks()
        self._loadavg_start = load_average()
        self._sample()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            self._sample()

    def _sample(self) -> None:
        table = process_table()
        roles = assign_roles(table, self._roots())
        rss: dict[str, int] = {}
        for pid, role in roles.items():
            info = table[pid]
            previous = self._last.get(pid)
            if previous is not None:
                delta = (info.cpu_ticks - previous[0]) + (info.children_ticks - previous[1])
                self._role_ticks[role] = self._role_ticks.get(role, 0) + max(0, delta)
            else:
                self._first[pid] = (info.cpu_ticks, info.children_ticks)
            self._last[pid] = (info.cpu_ticks, info.children_ticks, role, info.ppid)
            rss[role] = rss.get(role, 0) + info.rss_kib
        # Short-lived processes (parser children) often live and die between two samples: their
        # CPU shows up in their parent's reaped-children ticks, counted above. A process we did
        # see will be counted there too once reaped, so what we counted of it is taken back out.
        for pid in [pid for pid in self._last if pid not in roles]:
            own, reaped, role, ppid = self._last.pop(pid)
            first_own, first_reaped = self._first.pop(pid, (own, reaped))
            if ppid in roles:
                watched = (own - first_own) + (reaped - first_reaped)
                self._role_ticks[role] = self._role_ticks.get(role, 0) - watched
        for role, kib in rss.items():
            self._peak_rss[role] = max(self._peak_rss.get(role, 0), kib)
        self._loadavg_samples.append(load_average()[0])

    async def stop(self) -> LoadSummary:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._sample()
        seconds = max(1e-6, time.monotonic() - self._started)
        busy_end, total_end = machine_cpu_ticks()
        busy_start, total_start = self._machine_start
        total_delta = max(1, total_end - total_start)
        machine_busy = 100.0 * CORES * (busy_end - busy_start) / total_delta
        by_role = {role: 100.0 * ticks / CLOCK_TICKS / seconds for role, ticks in self._role_ticks.items()}
        return LoadSummary(
            seconds=seconds,
            cores=CORES,
            machine_busy_pct=machine_busy,
            by_role_pct=by_role,
            other_pct=max(0.0, machine_busy - sum(by_role.values())),
            loadavg_start=self._loadavg_start,
            loadavg_end=load_average(),
            loadavg_1m_mean=sum(self._loadavg_samples) / max(1, len(self._loadavg_samples)),
            peak_rss_kib=dict(self._peak_rss),
        )
