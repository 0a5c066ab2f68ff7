"""Idempotent start-up tasks run after migrations (by `serve` and `migrate`).

Features register coroutines here (seeding reference data, creating the first admin); each
must be safe to run any number of times and from several processes at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from server.core.db import close_pool, start_pool
from server.core.logging import get_logger
from server.core.settings import Settings

log = get_logger(__name__)

StartupTask = Callable[[Settings], Awaitable[None]]

STARTUP_TASKS: list[str] = [  # "module:function" names, imported lazily
    "server.accounts.admin:ensure_initial_admin",
    "server.questions.seed:seed_question_bank",
]


async def run_startup_tasks(settings: Settings) -> None:
    import importlib

    if not STARTUP_TASKS:
        return
    await start_pool(settings)
    try:
        for name in STARTUP_TASKS:
            module_name, _, func_name = name.partition(":")
            task: StartupTask = getattr(importlib.import_module(module_name), func_name)
            await task(settings)
            log.info("startup_task_done", task=name)
    finally:
        await close_pool()
