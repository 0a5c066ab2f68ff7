"""A small real websocket client for the interview protocol (the `websockets` library)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import defaultdict
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

DURABLE = {
    "interview.started",
    "question",
    "answer",
    "evaluation",
    "interview.completed",
    "interview.abandoned",
}


class InterviewSocket:
    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.frames: list[dict[str, Any]] = []
        self._cursor = 0  # frames before it were matched (or passed over) by recv_until

    @classmethod
    async def open(
        cls,
        ws_url: str,
        interview_id: Any,
        token: str | None,
        *,
        last_seq: int = 0,
        origin: str | None = None,
        hello: bool = True,
    ) -> InterviewSocket:
        headers = {"Origin": origin} if origin else None
        connection = await websockets.connect(
            f"{ws_url}/ws/interviews/{interview_id}",
            additional_headers=headers,
            compression=None,
            max_size=2**22,
            open_timeout=10,
        )
        socket = cls(connection)
        if hello:
            await socket.send({"type": "hello", "token": token, "last_seq": last_seq})
        return socket

    async def send(self, frame: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(frame))

    async def recv(self, timeout: float = 15.0) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.connection.recv(), timeout)
        frame: dict[str, Any] = json.loads(raw)
        self.frames.append(frame)
        return frame

    async def recv_until(self, kind: str, timeout: float = 20.0, **match: Any) -> dict[str, Any]:
        """The next frame of this kind after the last one matched, whether already received or not."""

        def matches(frame: dict[str, Any]) -> bool:
            return frame["type"] == kind and all(frame.get(k) == v for k, v in match.items())

        for index in range(self._cursor, len(self.frames)):
            if matches(self.frames[index]):
                self._cursor = index + 1
                return self.frames[index]
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"no {kind} frame; got {[f['type'] for f in self.frames[-10:]]}")
            frame = await self.recv(remaining)
            if matches(frame):
                self._cursor = len(self.frames)
                return frame

    async def closed_with(self, timeout: float = 15.0) -> int | None:
        """Read until the server closes; the close code."""
        try:
            while True:
                await self.recv(timeout)
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None

    async def close(self) -> None:
        await self.connection.close()

    def durable(self) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["type"] in DURABLE]

    def streamed_text(self, delta_type: str, key: str) -> dict[str, str]:
        """Each stream's text as a client must rebuild it: the latest run starting at offset 0."""
        texts: dict[str, str] = defaultdict(str)
        for frame in self.frames:
            if frame["type"] != delta_type:
                continue
            ref = frame[key]
            if frame["offset"] == 0:
                texts[ref] = frame["text"]
            else:
                assert frame["offset"] == len(texts[ref]), (
                    f"delta offset {frame['offset']} != {len(texts[ref])}"
                )
                texts[ref] += frame["text"]
        return dict(texts)


async def answer_current(socket: InterviewSocket, text: str, client_id: str | None = None) -> dict[str, Any]:
    """Wait for the next question, answer it; returns the question frame."""
    question = await socket.recv_until("question")
    await socket.send(
        {
            "type": "answer",
            "client_id": client_id or uuid.uuid4().hex,
            "question_id": question["question_id"],
            "text": text,
        }
    )
    return question


STRONG_ANSWER = (
    "I would start by clarifying the requirements and the constraints, then walk through the design "
    "step by step. For example, in my last role we reduced p99 latency from 900 ms to 120 ms by adding "
    "a cache in front of PostgreSQL, measuring the hit rate, and handling invalidation with versioned "
    "keys. The trade-off was extra memory and some complexity, which we accepted because the result "
    "was a 40% cost reduction."
)
