"""Test fixtures: one embedded PostgreSQL and Redis per session, clean state for every test.

The environment is set in `pytest_configure`, before any test module imports the app, because
Piccolo binds its engine from settings at import time. TEST_DATABASE_URL / TEST_REDIS_URL point
the suite at existing servers instead.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import uvicorn

TEST_SECRET_KEY = "test-secret-key-" + "x" * 40

_embedded: list[Any] = []
_tmp_root: Path | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _tmp_root
    _tmp_root = Path(tempfile.mkdtemp(prefix="interviewace-tests-"))
    os.environ.update(
        {
            "ENVIRONMENT": "test",
            "DATA_DIR": str(_tmp_root / "data"),
            "SECRET_KEY": TEST_SECRET_KEY,
            "LLM_PROVIDERS": "offline",
            "OFFLINE_TOKENS_PER_SECOND": "0",
            "LOG_LEVEL": "WARNING",
            "OPENAI_API_KEY": "",
            "GEMINI_API_KEY": "",
            "SENTRY_DSN": "",
            "SMTP_HOST": "",
            "WORKER_HEARTBEAT_TIMEOUT_SECONDS": "5",
            # Cheap argon2 so the suite stays fast; the login-storm measurement overrides these.
            "PASSWORD_HASH_TIME_COST": "1",
            "PASSWORD_HASH_MEMORY_KIB": "1024",
            "PASSWORD_HASH_PARALLELISM": "1",
            "INITIAL_ADMIN_EMAIL": "",
            "INITIAL_ADMIN_PASSWORD": "",
            "REQUIRE_EMAIL_VERIFICATION": "false",
            "RATE_LIMIT_ENABLED": "true",
        }
    )
    from server.core.embedded import EmbeddedPostgres, EmbeddedRedis

    database_url = os.environ.get("TEST_DATABASE_URL")
    if not database_url:
        postgres = EmbeddedPostgres(_tmp_root / "postgres", database="postgres")
        postgres.start()
        _embedded.append(postgres)
        database_url = postgres.create_database("interviewace_test", drop_existing=True)
    redis_url = os.environ.get("TEST_REDIS_URL")
    if not redis_url:
        redis_server = EmbeddedRedis(_tmp_root / "redis", persistent=False)
        redis_server.start()
        _embedded.append(redis_server)
        redis_url = redis_server.url
    os.environ["DATABASE_URL"] = database_url
    os.environ["REDIS_URL"] = redis_url

    from server.core.logging import configure_logging
    from server.core.settings import reset_settings

    reset_settings()
    # Before anything logs: migrations print through the log (db._LogWriter), and structlog left
    # unconfigured would print back into that redirected stdout, endlessly.
    configure_logging(json_logs=False, level=os.environ["LOG_LEVEL"])


def pytest_unconfigure(config: pytest.Config) -> None:
    for service in reversed(_embedded):
        service.stop()
    if _tmp_root is not None:
        shutil.rmtree(_tmp_root, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Settings, database and Redis


def make_settings(**overrides: str) -> Any:
    """Settings as the app would load them, with environment-style overrides."""
    from server.core.settings import load_settings

    env = dict(os.environ)
    env.update({key.upper(): value for key, value in overrides.items()})
    return load_settings(env, dotenv_path=None)


@pytest.fixture(scope="session")
def settings() -> Any:
    from server.core.settings import get_settings

    return get_settings()


@pytest.fixture(scope="session")
async def _database_session(settings: Any) -> AsyncIterator[None]:
    from server.core import db

    await db.migrate_forwards(settings.database_url)
    await db.start_pool(settings)
    yield
    await db.close_pool()


@pytest.fixture(scope="session")
async def _redis_session(settings: Any) -> AsyncIterator[Any]:
    from server.core.redis import create_redis

    client = create_redis(settings)
    yield client
    await client.aclose()


@pytest.fixture
async def database(_database_session: None, _redis_session: Any) -> None:
    """Empty application tables and a flushed Redis for this test."""
    from server.core.db import application_tables, engine

    tables = [table for table in application_tables() if not getattr(table, "keep_between_tests", False)]
    if tables:
        names = ", ".join(f'"{table._meta.tablename}"' for table in tables)
        await engine().run_ddl(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    await _redis_session.flushdb()


@pytest.fixture
def redis_client(database: None, _redis_session: Any) -> Any:
    return _redis_session


# ---------------------------------------------------------------------------------------------
# A real server on a loopback port, for real HTTP and websocket clients


class RunningServer:
    def __init__(self, app: Any, port: int) -> None:
        self.app = app
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}"
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            lifespan="on",
            ws_per_message_deflate=False,
            ws_max_size=65536,
            log_config=None,
            access_log=False,
        )
        self._server = uvicorn.Server(config)
        self._server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self._task: asyncio.Task[None] | None = None

    @property
    def litestar(self) -> Any:
        return getattr(self.app, "litestar", self.app)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve())
        deadline = time.monotonic() + 20
        while not self._server.started:
            if self._task.done():
                self._task.result()
            if time.monotonic() > deadline:
                raise RuntimeError("test server did not start")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await asyncio.wait_for(self._task, 15)


async def start_server(**overrides: str) -> RunningServer:
    from server.core.app import create_asgi_app
    from server.core.embedded import free_tcp_port

    running = RunningServer(create_asgi_app(make_settings(**overrides)), free_tcp_port())
    await running.start()
    return running


@pytest.fixture(scope="session")
async def server(_database_session: None, _redis_session: Any) -> AsyncIterator[RunningServer]:
    running = await start_server()
    yield running
    await running.stop()


@pytest.fixture
async def make_server(database: None) -> AsyncIterator[Callable[..., Awaitable[RunningServer]]]:
    """Start extra app instances with their own settings (e.g. REQUIRE_EMAIL_VERIFICATION=true)."""
    started: list[RunningServer] = []

    async def factory(**overrides: str) -> RunningServer:
        running = await start_server(**overrides)
        started.append(running)
        return running

    yield factory
    for running in started:
        await running.stop()


@pytest.fixture
async def client(server: RunningServer, database: None) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=20) as http:
        yield http


# ---------------------------------------------------------------------------------------------
# A real Dramatiq worker process


class WorkerProcess:
    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "worker", "--processes", "1", "--threads", "2"],
            env=dict(os.environ),
            start_new_session=True,
        )

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """Kill the whole process group at once, as a crashed machine would."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, 9)
            self.process.wait()


@pytest.fixture
def worker(database: None) -> Iterator[WorkerProcess]:
    process = WorkerProcess()
    process.start()
    yield process
    process.stop()


def decode(response: httpx.Response) -> Any:
    return msgspec.json.decode(response.content)


def random_email() -> str:
    return f"user-{secrets.token_hex(4)}@example.com"


# ---------------------------------------------------------------------------------------------
# Accounts: users with live tokens, for every feature's tests


class UserAccount(msgspec.Struct, kw_only=True):
    id: Any  # uuid.UUID
    email: str
    password: str
    full_name: str
    role: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


@pytest.fixture
def user_factory(database: None, settings: Any) -> Callable[..., Awaitable[UserAccount]]:
    """`await user_factory(role="admin")`: a user created through the accounts service (not the
    API, so that rate limits on registration and login never get in the way) with a session."""

    async def create(
        *,
        role: str = "user",
        email: str | None = None,
        password: str | None = None,
        full_name: str = "Test User",
        email_verified: bool = True,
    ) -> UserAccount:
        from server.accounts.passwords import password_hashing
        from server.accounts.sessions import start_session
        from server.accounts.users import create_user

        email = email or random_email()
        password = password or f"Pw-{secrets.token_hex(8)}!"
        row = await create_user(
            email=email,
            full_name=full_name,
            password_hash=await password_hashing(settings).hash(password),
            role=role,  # type: ignore[arg-type]
            email_verified=email_verified,
        )
        pair = await start_session(settings, user_id=row["id"], token_version=row["token_version"])
        return UserAccount(
            id=row["id"],
            email=row["email"],
            password=password,
            full_name=full_name,
            role=role,
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
        )

    return create


@pytest.fixture
async def admin_user(user_factory: Callable[..., Awaitable[UserAccount]]) -> UserAccount:
    return await user_factory(role="admin", full_name="Test Admin")


@pytest.fixture
async def moderator_user(user_factory: Callable[..., Awaitable[UserAccount]]) -> UserAccount:
    return await user_factory(role="moderator", full_name="Test Moderator")
