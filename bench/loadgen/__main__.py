"""Entry point of the load-generator process: `python -m bench.loadgen` (job on stdin)."""

from __future__ import annotations

import asyncio
import importlib
import resource
import sys
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from bench.loadgen.control import Control, log

Job = Callable[[dict[str, Any], Control], Awaitable[dict[str, Any]]]


JOBS = {
    "fanout": "bench.loadgen.live:fanout",
    "capacity": "bench.loadgen.live:capacity",
    "memory": "bench.loadgen.live:memory",
    "rest": "bench.loadgen.rest:rest",
    "parsing": "bench.loadgen.parsing:parsing",
}


def load_job(kind: str) -> Job:
    module_name, _, function = JOBS[kind].partition(":")
    job: Job = getattr(importlib.import_module(module_name), function)
    return job


def raise_open_files_limit() -> int:
    """Thousands of sockets need thousands of descriptors: lift the soft limit to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


async def main_async() -> int:
    control = await Control.from_stdin()
    job = await control.read()
    kind = str(job.get("job"))
    if kind not in JOBS:
        Control.emit("result", {"error": f"unknown job {kind!r}; known: {sorted(JOBS)}"})
        return 2
    log(f"{kind} job starting (open files limit {raise_open_files_limit()})")
    try:
        run = load_job(kind)
        result = await asyncio.wait_for(run(job, control), float(job.get("limit_seconds", 3600)))
    except Exception as exc:
        traceback.print_exc()
        Control.emit("result", {"error": f"{type(exc).__name__}: {exc}"})
        return 1
    Control.emit("result", result)
    return 0


def main() -> int:
    try:
        import uvloop

        return uvloop.run(main_async())
    except ImportError:
        return asyncio.run(main_async())


if __name__ == "__main__":
    sys.exit(main())
