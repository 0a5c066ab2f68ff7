"""Sampling the server with py-spy while a measurement window runs (`--profile`), and reading
the samples back as "where the time goes": the innermost frame of our own code (server/...) of
each sample, and the innermost frame of all."""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.procs import Roots, assign_roles, process_table

SAMPLES_PER_SECOND = 50
TOP = 15
_LINE = re.compile(r":\d+\)$")
# Leaves that are threads parked waiting for work (py-spy can report them as active): not load.
IDLE_LEAVES = ("_worker (concurrent/futures/thread.py:81)", "Condition.wait (threading.py:")


def py_spy() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.is_file() else shutil.which("py-spy")


def target_pids(roots: Roots, roles: Sequence[str]) -> list[int]:
    """The processes to sample: each API worker (not uvicorn's supervisor), or the job worker's
    top process (its children are followed)."""
    table = process_table()
    wanted: list[int] = []
    for pid, role in assign_roles(table, roots).items():
        cmdline = table[pid].cmdline
        parent = table[table[pid].ppid].cmdline if table[pid].ppid in table else ""
        api_worker = role == "api" and "spawn_main" in cmdline and "uvicorn" in parent
        job_worker = role == "worker" and "server.cli worker" in cmdline
        if role in roles and (api_worker or job_worker):
            wanted.append(pid)
    return sorted(wanted)


def summarize(paths: Sequence[Path]) -> dict[str, Any]:
    """Top frames over py-spy's raw (collapsed) stacks: `frame;frame;... count` lines."""
    total = 0
    ours: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    for path in paths:
        with contextlib.suppress(OSError):
            for line in path.read_text(errors="replace").splitlines():
                stack, _, count_text = line.rpartition(" ")
                if not stack or not count_text.isdigit():
                    continue
                count = int(count_text)
                frames = stack.split(";")
                if frames[-1].startswith(IDLE_LEAVES):
                    continue
                total += count
                leaves[_LINE.sub(")", frames[-1])] += count
                own = [frame for frame in frames if "(server/" in frame]
                ours[own[-1] if own else "(outside server/: libraries, the event loop, idle)"] += count

    def top(counter: Counter[str]) -> list[list[Any]]:
        return [[round(100 * n / total, 1), frame] for frame, n in counter.most_common(TOP)] if total else []

    return {"samples": total, "innermost_server_frame": top(ours), "innermost_frame": top(leaves)}


class Profiler:
    """py-spy processes started for one phase; `finish()` waits for them and summarizes."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.running: list[tuple[asyncio.subprocess.Process, Path]] = []
        self.label = ""

    async def start(self, label: str, pids: Sequence[int], seconds: float, *, follow_children: bool) -> None:
        binary = py_spy()
        if binary is None or not pids:
            return
        self.label = label
        for pid in pids:
            output = self.folder / f"profile-{label.replace('/', '-')}-{pid}.txt"
            args = [
                binary,
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(max(1, round(seconds))),
                "--rate",
                str(SAMPLES_PER_SECOND),
                "--format",
                "raw",
                "--nonblocking",
                "--output",
                str(output),
            ]
            if follow_children:
                args.append("--subprocesses")
            process = await asyncio.create_subprocess_exec(
                *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
            )
            self.running.append((process, output))

    async def finish(self) -> dict[str, Any] | None:
        running, self.running = self.running, []
        if not running:
            return None
        for process, _ in running:
            try:
                await asyncio.wait_for(process.wait(), 120)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        return summarize([output for _, output in running])
