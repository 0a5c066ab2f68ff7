"""The harness side of a run: the load-generator process, the load sampler around it, and
what every scenario gets to work with."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.procs import LoadSampler, Roots
from bench.profiling import Profiler, target_pids

REPO_ROOT = Path(__file__).resolve().parent.parent

CheckpointHandler = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


class LoadGeneratorError(RuntimeError):
    """The load generator failed, answered nonsense or ran past its time limit."""


class TargetDied(RuntimeError):
    """The server under test exited in the middle of a measurement."""


class LoadGenerator:
    """One `python -m bench.loadgen` process running one job."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None and self.process.returncode is None else None

    async def run(
        self, job: dict[str, Any], *, limit_seconds: float, on_checkpoint: CheckpointHandler | None = None
    ) -> dict[str, Any]:
        log = self.log_path.open("ab")
        try:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.loadgen",
                cwd=REPO_ROOT,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                limit=2**26,
            )
        finally:
            log.close()
        process = self.process
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.write((json.dumps({**job, "limit_seconds": limit_seconds}) + "\n").encode())
        await process.stdin.drain()
        deadline = time.monotonic() + limit_seconds + 30
        finished = False
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise LoadGeneratorError(f"the load generator ran past {limit_seconds:.0f}s")
                line = await asyncio.wait_for(process.stdout.readline(), remaining)
                if not line:
                    raise LoadGeneratorError(
                        f"the load generator exited without a result (see {self.log_path})"
                    )
                message = json.loads(line)
                if message.get("event") == "result":
                    data: dict[str, Any] = message["data"]
                    finished = True
                    if "error" in data:
                        raise LoadGeneratorError(f"{data['error']} (see {self.log_path})")
                    return data
                if message.get("event") == "checkpoint":
                    reply = await on_checkpoint(message["name"], message["data"]) if on_checkpoint else {}
                    process.stdin.write((json.dumps(reply) + "\n").encode())
                    await process.stdin.drain()
        except TimeoutError:
            raise LoadGeneratorError(f"the load generator ran past {limit_seconds:.0f}s") from None
        finally:
            await self._finish(stop_now=not finished)

    async def _finish(self, *, stop_now: bool) -> None:
        """Let a finished load generator exit; stop one that was interrupted mid-job."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        if stop_now and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGKILL)
            await process.wait()


@dataclass
class RunContext:
    """What a scenario's run gets: a folder for logs and a way to run measured phases."""

    run_dir: Path
    number: int
    profile: bool = False
    load: dict[str, dict[str, Any]] = field(default_factory=dict)
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)

    async def measured(
        self,
        phase: str,
        roots: Callable[[], Roots],
        job: dict[str, Any],
        *,
        limit_seconds: float,
        on_checkpoint: CheckpointHandler | None = None,
        died: Callable[[], str | None] | None = None,
    ) -> dict[str, Any]:
        """Run a load-generator job while sampling the machine. `died` tells whether the target
        exited meanwhile, so that a failure is blamed on the right process. The CPU summary is kept under
        `phase`; a job that announces sub-phases (checkpoint "phase" with a "name") gets one
        summary per sub-phase, under `phase/name`."""
        generator = LoadGenerator(self.run_dir / f"loadgen-{phase}.log")

        def all_roots() -> Roots:
            ours = list(roots())
            if generator.pid is not None:
                ours.append(("loadgen", generator.pid))
            return ours

        samplers = PhaseSamplers(all_roots, self.load)
        samplers.switch_to(phase)
        profiler = Profiler(self.run_dir)

        async def handle(name: str, data: dict[str, Any]) -> dict[str, Any]:
            if name == "phase":
                await samplers.finish()
                label = f"{phase}/{data.get('name', 'next')}"
                await self._keep_profile(profiler)
                samplers.switch_to(label)
                if self.profile and data.get("profile_seconds"):
                    roles = data.get("profile_roles") or ["api"]
                    await profiler.start(
                        label,
                        target_pids(roots(), roles),
                        float(data["profile_seconds"]),
                        follow_children="worker" in roles,
                    )
                return {}
            return await on_checkpoint(name, data) if on_checkpoint is not None else {}

        try:
            return await generator.run(job, limit_seconds=limit_seconds, on_checkpoint=handle)
        except LoadGeneratorError:
            notice = died() if died is not None else None
            if notice is not None:
                raise TargetDied(notice) from None
            raise
        finally:
            await samplers.finish()
            await self._keep_profile(profiler)

    async def _keep_profile(self, profiler: Profiler) -> None:
        label = profiler.label
        summary = await profiler.finish()
        if summary is not None:
            self.profiles[label] = summary


class PhaseSamplers:
    """One LoadSampler per phase, the summaries kept in `store` under the phase's label."""

    def __init__(self, roots: Callable[[], Roots], store: dict[str, dict[str, Any]]) -> None:
        self.roots = roots
        self.store = store
        self.label = ""
        self.sampler: LoadSampler | None = None

    def switch_to(self, label: str) -> None:
        self.label = label
        self.sampler = LoadSampler(self.roots)
        self.sampler.start()

    async def finish(self) -> None:
        sampler, self.sampler = self.sampler, None
        if sampler is not None:
            self.store[self.label] = (await sampler.stop()).as_dict()
