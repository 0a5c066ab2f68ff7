"""The `interviewace` command: serve, migrate, worker and the operator's tools."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from server.core.settings import Settings, SettingsError, get_settings, reset_settings

SHUTDOWN_GRACE_SECONDS = 6.0
READY_TIMEOUT_SECONDS = 60.0


class CommandError(Exception):
    """A command cannot proceed; the message is printed as one line."""


# --------------------------------------------------------------------------------------------
# Data directory lock: one `serve` per data dir.


@contextlib.contextmanager
def data_dir_lock(data_path: Path) -> Iterator[None]:
    data_path.mkdir(parents=True, exist_ok=True)
    lock_path = data_path / "serve.lock"
    handle: IO[str] = lock_path.open("a+")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise CommandError(
            f"another `interviewace serve` (pid {holder}) is already running on data dir {data_path}; "
            "stop it first or choose another --data-dir"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            lock_path.unlink()
        handle.close()


# --------------------------------------------------------------------------------------------
# Embedded services: started only for what DATABASE_URL / REDIS_URL do not provide.


class EmbeddedServices:
    def __init__(self, settings: Settings) -> None:
        from server.core.embedded import EmbeddedPostgres, EmbeddedRedis

        self.postgres = None if settings.database_url else EmbeddedPostgres(settings.data_path / "postgres")
        self.redis = None if settings.redis_url else EmbeddedRedis(settings.data_path / "redis")

    def start(self) -> None:
        if self.postgres is not None:
            self.postgres.start()
            os.environ["DATABASE_URL"] = self.postgres.url
        if self.redis is not None:
            self.redis.start()
            os.environ["REDIS_URL"] = self.redis.url
        reset_settings()

    def stop(self) -> None:
        if self.redis is not None:
            self.redis.stop()
        if self.postgres is not None:
            self.postgres.stop()


def _die_with_parent() -> None:
    # If the supervisor is killed outright, its children must not live on as orphans.
    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _spawn(args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, preexec_fn=_die_with_parent)


def _stop_children(children: Sequence[subprocess.Popen[bytes]]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + SHUTDOWN_GRACE_SECONDS
    for child in children:
        remaining = max(0.1, deadline - time.monotonic())
        try:
            child.wait(remaining)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _wait_ready(url: str, stop: threading.Event, children: Sequence[subprocess.Popen[bytes]]) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline and not stop.is_set():
        if any(child.poll() is not None for child in children):
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own loopback URL)
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        stop.wait(0.25)
    return False


def _run_migrations(settings: Settings) -> None:
    from server.core.db import migrate_forwards
    from server.core.startup import run_startup_tasks

    asyncio.run(migrate_forwards(settings.database_url))
    asyncio.run(run_startup_tasks(settings))


def cmd_serve(args: argparse.Namespace) -> int:
    from server.core.logging import configure_logging, get_logger

    settings = get_settings()
    configure_logging(json_logs=settings.json_logs, level=settings.log_level)
    log = get_logger("interviewace.serve")
    stop = threading.Event()
    received: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        received.append(signum)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    with data_dir_lock(settings.data_path):
        services = EmbeddedServices(settings)
        children: list[subprocess.Popen[bytes]] = []
        try:
            services.start()
            settings = get_settings()
            _run_migrations(settings)
            if stop.is_set():
                return 0
            if not args.no_worker:
                children.append(_spawn([sys.executable, "-m", "server.cli", "worker"]))
            children.append(
                _spawn(
                    [
                        sys.executable,
                        "-m",
                        "uvicorn",
                        "--factory",
                        "server.core.app:create_server_process_app",
                        "--host",
                        args.host,
                        "--port",
                        str(args.port),
                        "--workers",
                        str(args.workers),
                        "--ws-per-message-deflate",
                        "false",
                        "--ws-max-size",
                        "65536",
                        "--no-access-log",
                        "--timeout-graceful-shutdown",
                        "4",
                        "--log-level",
                        "warning",
                    ]
                )
            )
            probe_host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host  # noqa: S104
            base = f"http://{probe_host}:{args.port}"
            if _wait_ready(f"{base}/ready", stop, children):
                log.info("serving", url=base)
                print(f"\nInterviewAce is ready: open {base} in your browser (Ctrl-C stops everything).\n")
            elif not stop.is_set():
                raise CommandError(f"the server did not become ready within {READY_TIMEOUT_SECONDS:.0f}s")
            while not stop.wait(0.5):
                exited = [child for child in children if child.poll() is not None]
                if exited:
                    raise CommandError(f"a server process exited unexpectedly (code {exited[0].returncode})")
            log.info("shutting_down", signal=signal.Signals(received[0]).name if received else None)
            return 0
        finally:
            _stop_children(children)
            services.stop()


def cmd_migrate(args: argparse.Namespace) -> int:
    from server.core.logging import configure_logging

    settings = get_settings()
    configure_logging(json_logs=settings.json_logs, level=settings.log_level)
    with contextlib.ExitStack() as stack:
        services = EmbeddedServices(settings)
        if services.postgres is not None or services.redis is not None:
            stack.enter_context(data_dir_lock(settings.data_path))
            stack.callback(services.stop)
            services.start()
        _run_migrations(get_settings())
    print("migrations applied")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from dramatiq.cli import main as dramatiq_main
    from dramatiq.cli import make_argument_parser

    settings = get_settings()
    if not settings.redis_url or not settings.database_url:
        raise CommandError(
            "the worker needs DATABASE_URL and REDIS_URL (or run it through `interviewace serve`)"
        )
    processes = args.processes or settings.worker_processes
    threads = args.threads or settings.worker_threads
    dramatiq_args = make_argument_parser().parse_args(
        ["server.core.worker", "--processes", str(processes), "--threads", str(threads), "--skip-logging"]
    )
    result: int = dramatiq_main(dramatiq_args)
    return result


def cmd_questions_validate(args: argparse.Namespace) -> int:
    from server.questions.bank import DEFAULT_BANK_DIR, validate_command

    directory: Path = args.dir or DEFAULT_BANK_DIR
    return validate_command(directory)


def _read_new_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        import getpass

        password = getpass.getpass("Password for the admin account: ")
        if getpass.getpass("Repeat it: ") != password:
            raise CommandError("the two passwords differ")
    if not password:
        raise CommandError("no password given")
    return password


def cmd_create_admin(args: argparse.Namespace) -> int:
    from server.core.logging import configure_logging

    settings = get_settings()
    configure_logging(json_logs=settings.json_logs, level=settings.log_level)
    password = _read_new_password(args.password_stdin)
    with contextlib.ExitStack() as stack:
        services = EmbeddedServices(settings)
        if services.postgres is not None or services.redis is not None:
            stack.enter_context(data_dir_lock(settings.data_path))
            stack.callback(services.stop)
            services.start()
        try:
            outcome = asyncio.run(_create_admin(get_settings(), args.email, password))
        except SettingsError as exc:  # from the account rules, not from the configuration
            raise CommandError(str(exc)) from None
    messages = {
        "created": f"admin account created for {args.email}",
        "promoted": f"the existing account {args.email} is now an admin (its password is unchanged)",
        "unchanged": f"{args.email} is already an active admin; nothing changed",
    }
    print(messages[outcome])
    return 0


async def _create_admin(settings: Settings, email: str, password: str) -> str:
    from server.accounts.admin import ensure_admin
    from server.core.db import close_pool, migrate_forwards, start_pool

    await migrate_forwards(settings.database_url)
    await start_pool(settings)
    try:
        return await ensure_admin(settings, email, password)
    finally:
        await close_pool()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="interviewace",
        description="InterviewAce: a real-time AI interview practice server.",
    )
    parser.add_argument(
        "--data-dir", help="where embedded PostgreSQL/Redis and local files live (env DATA_DIR)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # --data-dir is accepted before or after the command name.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", dest="data_dir_sub", help=argparse.SUPPRESS)

    serve = sub.add_parser(
        "serve", parents=[common], help="run everything: embedded services, migrations, API and a worker"
    )
    serve.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    serve.add_argument("--workers", type=int, default=1, help="API worker processes (default 1)")
    serve.add_argument("--no-worker", action="store_true", help="do not start a background-job worker")
    serve.set_defaults(handler=cmd_serve)

    migrate = sub.add_parser("migrate", parents=[common], help="apply database migrations (forwards)")
    migrate.set_defaults(handler=cmd_migrate)

    worker = sub.add_parser("worker", parents=[common], help="run background-job worker processes (Dramatiq)")
    worker.add_argument(
        "--processes", type=int, default=0, help="worker processes (default WORKER_PROCESSES)"
    )
    worker.add_argument("--threads", type=int, default=0, help="threads per process (default WORKER_THREADS)")
    worker.set_defaults(handler=cmd_worker)

    create_admin = sub.add_parser(
        "create-admin", parents=[common], help="create an admin account, or make an existing account admin"
    )
    create_admin.add_argument("--email", required=True, help="the admin's email address")
    create_admin.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input instead of a prompt",
    )
    create_admin.set_defaults(handler=cmd_create_admin)

    questions = sub.add_parser("questions", help="question bank tools")
    questions_sub = questions.add_subparsers(dest="questions_action", required=True, metavar="ACTION")
    validate = questions_sub.add_parser(
        "validate", help="check the question bank files and print every problem (exit code 1 if any)"
    )
    validate.add_argument(
        "--dir", type=Path, default=None, help="bank directory to check (default: the shipped bank)"
    )
    # Checking files must work anywhere, even where the server's settings (database...) are absent.
    validate.set_defaults(handler=cmd_questions_validate, needs_settings=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    data_dir = getattr(args, "data_dir_sub", None) or args.data_dir
    if data_dir:
        os.environ["DATA_DIR"] = data_dir
    try:
        reset_settings()
        if getattr(args, "needs_settings", True):
            get_settings()
        handler = args.handler
        code: int = handler(args)
        return code
    except SettingsError as exc:
        print(f"interviewace: configuration error: {exc}", file=sys.stderr)
        return 2
    except CommandError as exc:
        print(f"interviewace: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
