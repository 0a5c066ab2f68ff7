"""The line protocol between the harness and the load generator (one JSON object per line).

harness -> loadgen (stdin):  the job, then one reply per checkpoint.
loadgen -> harness (stdout): {"event": "checkpoint", "name": ..., "data": {...}} lines, each
                             answered before the load generator goes on, then one
                             {"event": "result", "data": {...}} line.
Everything else the load generator prints goes to stderr.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

CHECKPOINT_TIMEOUT_SECONDS = 600.0


class ControlError(RuntimeError):
    """The harness went away or answered something unexpected."""


class Control:
    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    @classmethod
    async def from_stdin(cls) -> Control:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=2**24)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        return cls(reader)

    async def read(self, wait_seconds: float = CHECKPOINT_TIMEOUT_SECONDS) -> dict[str, Any]:
        line = await asyncio.wait_for(self._reader.readline(), wait_seconds)
        if not line:
            raise ControlError("the harness closed the control channel")
        message = json.loads(line)
        if not isinstance(message, dict):
            raise ControlError(f"expected a JSON object from the harness, got {line[:80]!r}")
        return message

    @staticmethod
    def emit(event: str, data: dict[str, Any], name: str | None = None) -> None:
        message: dict[str, Any] = {"event": event, "data": data}
        if name is not None:
            message["name"] = name
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    async def checkpoint(self, name: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        """Tell the harness where we are and wait for its answer (it measures, seeds...)."""
        self.emit("checkpoint", data or {}, name=name)
        return await self.read()


def log(message: str) -> None:
    print(f"[loadgen] {message}", file=sys.stderr, flush=True)
