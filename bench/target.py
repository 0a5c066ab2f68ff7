"""Starting and stopping what the benchmarks measure: InterviewAce exactly as `interviewace serve`
runs it (embedded PostgreSQL and Redis, migrations, uvicorn workers, a job worker), and the
ceiling server's processes. Only processes started here are ever signalled, by pid."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from bench.procs import Roots, descendants, process_table, read_process
from server.core.settings import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 30.0


class TargetError(RuntimeError):
    """A server under test could not be started; the message carries the end of its log."""


def _die_with_parent() -> None:
    # Runs in the child before exec: if the harness is killed outright (SIGKILL, OOM), the servers
    # it started get SIGTERM instead of living on unattended.
    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def server_environment(overrides: dict[str, str]) -> dict[str, str]:
    """The calling environment without any InterviewAce setting (a test run's DATABASE_URL must
    not leak in), plus production-like values and `overrides`."""
    setting_names = {name.upper() for name in Settings.__struct_fields__}
    env = {k: v for k, v in os.environ.items() if k not in setting_names and not k.startswith("TEST_")}
    env.update(
        {
            "ENVIRONMENT": "development",  # production refuses the embedded services by design
            "SECRET_KEY": secrets.token_urlsafe(48),
            "LOG_LEVEL": "INFO",
            "LOG_JSON": "true",
            "LLM_PROVIDERS": "offline",
            "RATE_LIMIT_ENABLED": "false",
            "WORKER_PROCESSES": "1",
        }
    )
    env.update(overrides)
    return env


class InterviewAceServer:
    """`python -m server.cli serve --workers N` on a fresh data directory and a free port."""

    def __init__(self, run_dir: Path, *, workers: int = 2, env: dict[str, str] | None = None) -> None:
        self.run_dir = run_dir
        self.workers = workers
        self.overrides = dict(env or {})
        self.port = free_port()
        # BENCH_DATA_PARENT lets a caller (the smoke test) tell its own servers from anyone else's.
        self.data_dir = Path(
            tempfile.mkdtemp(prefix="interviewace-bench-", dir=os.environ.get("BENCH_DATA_PARENT"))
        )
        self.log_path = run_dir / f"serve-{self.port}.log"
        self.process: asyncio.subprocess.Process | None = None
        self.environment: dict[str, str] = {}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        if self.process is None:
            raise TargetError("the server is not started")
        return self.process.pid

    def postmaster(self) -> tuple[int, str, int] | None:
        """(pid, socket directory, port) of the embedded PostgreSQL, from its pid file."""
        try:
            lines = (self.data_dir / "postgres" / "postmaster.pid").read_text().splitlines()
            return int(lines[0]), lines[4], int(lines[3])
        except (OSError, IndexError, ValueError):
            return None

    def roots(self) -> Roots:
        roots: list[tuple[str, int]] = []
        if self.process is not None and self.process.returncode is None:
            roots.append(("server", self.process.pid))
        postmaster = self.postmaster()
        if postmaster is not None:
            roots.append(("postgres", postmaster[0]))
        return roots

    def database_connect_args(self) -> dict[str, object]:
        postmaster = self.postmaster()
        if postmaster is None:
            raise TargetError("the embedded PostgreSQL is not running")
        _, socket_dir, port = postmaster
        return {"host": socket_dir, "port": port, "user": "postgres", "database": "interviewace"}

    def death_notice(self) -> str | None:
        """Why the server is gone, if it exited while it was being measured."""
        if self.process is None or self.process.returncode is None:
            return None
        return f"`serve` exited with code {self.process.returncode} during the run:\n{_tail(self.log_path)}"

    def logged_problems(self) -> dict[str, dict[str, int]]:
        """How many error and warning lines the server logged, by event name (JSON log lines)."""
        counts: dict[str, Counter[str]] = {"error": Counter(), "warning": Counter()}
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return {}
        for line in lines:
            if not line.startswith("{"):
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            level = str(entry.get("level", "")).lower()
            bucket = "error" if level in ("error", "critical", "exception") else level
            if bucket in counts:
                counts[bucket][str(entry.get("event", "?"))] += 1
        return {level: dict(counter.most_common()) for level, counter in counts.items() if counter}

    async def start(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.environment = server_environment(self.overrides)
        log = self.log_path.open("ab")
        try:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "server.cli",
                "serve",
                "--workers",
                str(self.workers),
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
                cwd=REPO_ROOT,
                env=self.environment,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        finally:
            log.close()
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        async with httpx.AsyncClient(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.returncode is not None:
                    raise TargetError(
                        f"`serve` exited with {self.process.returncode}:\n{_tail(self.log_path)}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    response = await client.get(f"{self.base_url}/ready")
                    if response.status_code == 200 and self._workers_up():
                        return
                await asyncio.sleep(0.25)
        await self.stop()
        raise TargetError(
            f"the server was not ready within {READY_TIMEOUT_SECONDS:.0f}s:\n{_tail(self.log_path)}"
        )

    def _workers_up(self) -> bool:
        # /ready answers as soon as one uvicorn worker listens; measure only once all of them do.
        table = process_table()
        api_children = [
            pid
            for pid in descendants(table, self.pid)
            if "spawn_main" in table[pid].cmdline and "uvicorn" in table[table[pid].ppid].cmdline
        ]
        return len(api_children) >= self.workers

    async def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        table = process_table()
        ours = {pid: table[pid].cmdline for pid in descendants(table, process.pid)}
        postmaster = self.postmaster()
        if postmaster is not None:
            ours.update({pid: table[pid].cmdline for pid in descendants(table, postmaster[0])})
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT_SECONDS)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        await _kill_leftovers(ours)
        shutil.rmtree(self.data_dir, ignore_errors=True)


async def _kill_leftovers(pids: dict[int, str]) -> None:
    """SIGKILL whatever of `pids` (recorded with its command line) still runs a few seconds later."""
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        alive = [pid for pid, cmdline in pids.items() if _same_process(pid, cmdline)]
        if not alive:
            return
        await asyncio.sleep(0.2)
    for pid, cmdline in pids.items():
        if _same_process(pid, cmdline):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _same_process(pid: int, cmdline: str) -> bool:
    # A pid can be reused: only a process with the recorded command line is still ours.
    info = read_process(pid)
    return info is not None and info.cmdline == cmdline


class CeilingServer:
    """`python -m bench.ceiling`, one process per port."""

    def __init__(
        self,
        run_dir: Path,
        *,
        processes: int,
        tokens_per_second: float,
        question_count: int,
        question_words: int,
        feedback_words: int,
    ) -> None:
        self.run_dir = run_dir
        self.ports = [free_port() for _ in range(processes)]
        self.options = [
            "--tokens-per-second",
            str(tokens_per_second),
            "--question-count",
            str(question_count),
            "--question-words",
            str(question_words),
            "--feedback-words",
            str(feedback_words),
        ]
        self.processes: list[asyncio.subprocess.Process] = []

    @property
    def ws_urls(self) -> list[str]:
        return [f"ws://127.0.0.1:{port}" for port in self.ports]

    def roots(self) -> Roots:
        return [("ceiling", p.pid) for p in self.processes if p.returncode is None]

    async def start(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        for port in self.ports:
            log = (self.run_dir / f"ceiling-{port}.log").open("ab")
            try:
                process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bench.ceiling",
                    "--port",
                    str(port),
                    *self.options,
                    cwd=REPO_ROOT,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    start_new_session=True,
                    preexec_fn=_die_with_parent,
                )
            finally:
                log.close()
            self.processes.append(process)
        deadline = time.monotonic() + 30.0
        pending = list(self.ports)
        while pending and time.monotonic() < deadline:
            for port in list(pending):
                with contextlib.suppress(OSError):
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.close()
                    pending.remove(port)
            if any(p.returncode is not None for p in self.processes):
                break
            await asyncio.sleep(0.1)
        if pending:
            await self.stop()
            raise TargetError(f"the ceiling server did not listen on ports {pending}")

    async def stop(self) -> None:
        processes, self.processes = self.processes, []
        for process in processes:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                await asyncio.wait_for(process.wait(), 10.0)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
