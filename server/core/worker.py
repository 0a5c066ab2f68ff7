"""Entry module for Dramatiq worker processes: the broker, then every feature's tasks.

`interviewace worker` runs `dramatiq server.core.worker`; each feature that has background
work lists its tasks module in TASK_MODULES.
"""

from __future__ import annotations

import importlib

from server.core.broker import broker
from server.core.logging import configure_logging
from server.core.settings import get_settings

TASK_MODULES: tuple[str, ...] = (
    "server.mail.tasks",
    "server.accounts.tasks",
    "server.resumes.tasks",
    "server.interviews.tasks",
)

_settings = get_settings()
configure_logging(json_logs=_settings.json_logs, level=_settings.log_level)

for module in TASK_MODULES:
    imported = importlib.import_module(module)
    # Runs before Dramatiq starts its worker threads: the place for process-wide set-up.
    prepare = getattr(imported, "prepare_worker_process", None)
    if prepare is not None:
        prepare()

__all__ = ["broker"]
