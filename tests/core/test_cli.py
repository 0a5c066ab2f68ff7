"""The `interviewace` command as a user runs it: serve, a second serve, shutdown, bad settings."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from server.core.embedded import free_tcp_port


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "DATA_DIR", "SECRET_KEY")
    }
    env.update({"ENVIRONMENT": "development", "LOG_LEVEL": "WARNING"})
    env.update(extra)
    return env


def _run(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        try:
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            if child not in found:
                found.add(child)
                frontier.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


def test_help_lists_the_commands() -> None:
    result = _run("--help", env=_env())
    assert result.returncode == 0
    for command in ("serve", "migrate", "worker"):
        assert command in result.stdout


def test_production_with_a_placeholder_key_stops_with_one_line(tmp_path: Path) -> None:
    result = _run("serve", env=_env(ENVIRONMENT="production", SECRET_KEY="changeme", DATA_DIR=str(tmp_path)))
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "SECRET_KEY" in lines[0]


def test_worker_refuses_to_start_without_services(tmp_path: Path) -> None:
    result = _run("worker", env=_env(DATA_DIR=str(tmp_path)))
    assert result.returncode == 1
    assert "DATABASE_URL" in result.stderr


@pytest.mark.slow
def test_serve_runs_everything_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_tcp_port()
    data_dir = tmp_path / "data"
    env = _env()
    serve = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--data-dir", str(data_dir), "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        ready = False
        while time.monotonic() < deadline and serve.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=1) as response:
                    ready = response.status == 200
                    break
            except OSError:
                time.sleep(0.25)
        assert ready, "serve did not become ready"
        assert (data_dir / "postgres" / "PG_VERSION").is_file()
        assert (data_dir / "secret_key").is_file()
        children = _descendants(serve.pid)
        assert len(children) >= 3  # API, worker, redis (postgres is daemonised by pg_ctl)
        postmaster_pid = int((data_dir / "postgres" / "postmaster.pid").read_text().splitlines()[0])

        second = _run(
            "serve", "--data-dir", str(data_dir), "--port", str(free_tcp_port()), env=env, timeout=30
        )
        assert second.returncode == 1
        assert "already running" in second.stderr

        serve.send_signal(signal.SIGINT)
        serve.wait(10)
        assert serve.returncode == 0
        time.sleep(0.2)
        leftovers = [pid for pid in [*children, postmaster_pid] if _alive(pid)]
        assert leftovers == []
        output = serve.stdout.read() if serve.stdout else ""
        assert f"open http://127.0.0.1:{port}" in output
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()


@pytest.mark.slow
def test_migrate_command_on_embedded_services(tmp_path: Path) -> None:
    result = _run("migrate", "--data-dir", str(tmp_path / "data"), env=_env(), timeout=90)
    assert result.returncode == 0, result.stderr
    assert "migrations applied" in result.stdout
