"""The Dramatiq broker, built once and shared by the API (which enqueues) and the workers.

Import this module before any `tasks.py`: actors bind to the global broker when declared.
Middleware is listed explicitly so that what runs around every message is visible here.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import (
    AgeLimit,
    AsyncIO,
    Callbacks,
    CurrentMessage,
    Middleware,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

from server.core.logging import get_logger
from server.core.settings import Settings, get_settings

log = get_logger(__name__)

# Defaults for every actor; each actor states its own retries, time limit and max age anyway.
DEFAULT_MAX_RETRIES = 3
DEFAULT_TIME_LIMIT_MS = 60_000
DEFAULT_MAX_AGE_MS = 24 * 3600 * 1000


class WorkerLifecycle(Middleware):
    """Starts the database pool on the worker's event-loop thread and runs the periodic jobs."""

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        from dramatiq.asyncio import get_event_loop_thread

        from server.core.db import start_pool

        loop_thread = get_event_loop_thread()
        if loop_thread is not None:
            loop_thread.run_coroutine(start_pool(get_settings()))
        _scheduler.start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        from dramatiq.asyncio import get_event_loop_thread

        from server.core.db import close_pool

        _scheduler.stop()
        loop_thread = get_event_loop_thread()
        if loop_thread is not None:
            loop_thread.run_coroutine(close_pool())


class PeriodicScheduler:
    """Enqueues registered periodic actors. Every worker process runs one; a Redis `SET NX` per
    time slot makes sure each slot is enqueued once across all of them."""

    def __init__(self) -> None:
        self._jobs: list[tuple[float, dramatiq.Actor[Any, Any]]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def register(self, interval_seconds: float, actor: dramatiq.Actor[Any, Any]) -> None:
        self._jobs.append((interval_seconds, actor))

    def start(self) -> None:
        if self._thread is not None or not self._jobs:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="periodic-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

    def run_due(self, now: float | None = None) -> list[str]:
        """Enqueue every job whose current slot nobody has claimed yet; returns their names."""
        import redis

        now = time.time() if now is None else now
        client = redis.Redis.from_url(get_settings().redis_url)
        enqueued: list[str] = []
        try:
            for interval, actor in self._jobs:
                slot = int(now // interval)
                key = f"interviewace:periodic:{actor.actor_name}:{slot}"
                if client.set(key, b"1", nx=True, ex=int(interval) + 60):
                    actor.send()
                    enqueued.append(actor.actor_name)
        finally:
            client.close()
        return enqueued

    def _run(self) -> None:
        while not self._stop.wait(5.0):
            try:
                self.run_due()
            except Exception:  # a Redis blip must not kill the scheduler thread
                log.exception("periodic_scheduler_error")


_scheduler = PeriodicScheduler()


def periodic(interval_seconds: float) -> Callable[[dramatiq.Actor[Any, Any]], dramatiq.Actor[Any, Any]]:
    """Decorator for an actor (applied above @dramatiq.actor) that must run every interval."""

    def register(actor: dramatiq.Actor[Any, Any]) -> dramatiq.Actor[Any, Any]:
        _scheduler.register(interval_seconds, actor)
        return actor

    return register


def build_broker(settings: Settings) -> RedisBroker:
    middleware: list[Middleware] = [
        AgeLimit(max_age=DEFAULT_MAX_AGE_MS),
        TimeLimit(time_limit=DEFAULT_TIME_LIMIT_MS),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        Retries(max_retries=DEFAULT_MAX_RETRIES, min_backoff=1_000, max_backoff=300_000),
        CurrentMessage(),
        AsyncIO(),
        WorkerLifecycle(),
    ]
    return RedisBroker(
        url=settings.redis_url,
        middleware=middleware,
        namespace="interviewace-tasks",
        heartbeat_timeout=int(settings.worker_heartbeat_timeout_seconds * 1000),
        maintenance_chance=settings.worker_maintenance_chance,
    )


def _install_broker() -> dramatiq.Broker:
    settings = get_settings()
    if not settings.redis_url:
        # Importing task modules without Redis (e.g. `--help`, linters) must not fail; nothing can
        # be enqueued in that state and the first send() says so.
        from dramatiq.brokers.stub import StubBroker

        stub = StubBroker()
        dramatiq.set_broker(stub)
        return stub
    real = build_broker(settings)
    dramatiq.set_broker(real)
    return real


broker = _install_broker()


def scheduler() -> PeriodicScheduler:
    return _scheduler


async def enqueue(actor: dramatiq.Actor[Any, Any], *args: Any, **kwargs: Any) -> dramatiq.Message[Any]:
    """Send a message without blocking the event loop (the Redis broker client is synchronous).
    Call it only after the transaction that wrote what the job reads has committed."""
    message: dramatiq.Message[Any] = await asyncio.to_thread(actor.send, *args, **kwargs)
    return message
