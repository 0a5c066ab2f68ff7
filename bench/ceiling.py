"""The ceiling: the least a Python server must do to serve the fan-out scenario's traffic.

Written directly on the `websockets` library: no framework, no Redis, no database, no auth.
It speaks the subset of the interview protocol (websocket.md) that the fan-out clients use, so
the same load-generator code drives it and InterviewAce: `hello` -> `welcome` and a replay,
`start`, streamed `question.delta` / `evaluation.delta` frames coalesced every 50 ms at the
configured words per second, durable `question` / `answer` / `evaluation` /
`interview.completed` events with `seq`, `presence`, `ping` -> `pong`. Each frame is encoded
once and handed to every socket of the interview with `websockets.broadcast`.

Run one process per port: `python -m bench.ceiling --port 9001`. The load generator spreads
interviews over the ports, so N processes use N cores like N uvicorn workers would.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed

COALESCE_SECONDS = 0.05
PATH_PREFIX = "/ws/interviews/"
HELLO_TIMEOUT_SECONDS = 10.0

# Filler vocabulary for streamed text; only the sizes and the pacing matter here.
_WORDS = (
    "design",
    "latency",
    "cache",
    "trade-off",
    "service",
    "database",
    "request",
    "throughput",
    "queue",
    "consistency",
    "index",
    "deploy",
    "measure",
    "client",
    "retry",
    "budget",
    "failure",
    "review",
    "schema",
    "rollout",
)
CRITERIA = ("relevance", "depth", "structure", "communication", "accuracy")


def words(count: int, salt: int) -> str:
    picked = (_WORDS[(salt * 7 + i * 3) % len(_WORDS)] for i in range(count))
    return " ".join(picked) + "."


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Settings:
    tokens_per_second: float
    question_words: int
    feedback_words: int
    question_count: int


@dataclass(eq=False)
class Room:
    interview_id: str
    settings: Settings
    sockets: set[ServerConnection] = field(default_factory=set)
    candidate: ServerConnection | None = None
    events: list[str] = field(default_factory=list)
    status: str = "created"
    awaiting: str | None = None  # question_id waiting for an answer
    answers: asyncio.Queue[tuple[str, str, str]] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None
    streaming: str = ""  # text streamed so far in the current stream, for late joiners
    stream_frame: dict[str, Any] = field(default_factory=dict)

    def send_all(self, frame: dict[str, Any]) -> None:
        broadcast(self.sockets, json.dumps(frame, separators=(",", ":")))

    def record(self, event_type: str, **payload: Any) -> None:
        frame = {"type": event_type, "seq": len(self.events) + 1, **payload}
        text = json.dumps(frame, separators=(",", ":"))
        self.events.append(text)
        broadcast(self.sockets, text)

    def presence(self) -> None:
        self.send_all(
            {
                "type": "presence",
                "candidate_connected": self.candidate is not None,
                "observers": len(self.sockets) - (1 if self.candidate is not None else 0),
            }
        )

    async def stream(self, base: dict[str, Any], text: str) -> None:
        """Deltas of `text` at the configured pace, one frame per 50 ms with what accumulated."""
        pieces = text.split(" ")
        pieces = [p + " " for p in pieces[:-1]] + pieces[-1:]
        rate = self.settings.tokens_per_second
        self.streaming, self.stream_frame = "", base
        sent = 0
        started = time.monotonic()
        while sent < len(pieces):
            if rate > 0:
                await asyncio.sleep(COALESCE_SECONDS)
                due = min(len(pieces), int((time.monotonic() - started) * rate) + 1)
            else:
                due = len(pieces)
            if due <= sent:
                continue
            chunk = "".join(pieces[sent:due])
            self.send_all({**base, "offset": len(self.streaming), "text": chunk})
            self.streaming += chunk
            sent = due
        self.streaming, self.stream_frame = "", {}

    async def run(self) -> None:
        settings = self.settings
        self.status = "in_progress"
        self.record("interview.started", at=now_iso())
        scores: list[int] = []
        for index in range(1, settings.question_count + 1):
            question_id = str(uuid.uuid4())
            run = uuid.uuid4().hex[:12]
            question_text = words(settings.question_words, index)
            await self.stream(
                {"type": "question.delta", "question_id": question_id, "index": index, "run": run},
                question_text,
            )
            self.record(
                "question",
                question_id=question_id,
                index=index,
                total=settings.question_count,
                text=question_text,
                difficulty=2,
                topic="system-design",
                kind="core",
                provider="offline",
            )
            self.awaiting = question_id
            client_id, answered_id, answer_text = await self.answers.get()
            self.awaiting = None
            answer_id = str(uuid.uuid4())
            self.record(
                "answer",
                question_id=answered_id,
                answer_id=answer_id,
                client_id=client_id,
                text=answer_text,
                at=now_iso(),
            )
            feedback = words(settings.feedback_words, index + 11)
            await self.stream(
                {"type": "evaluation.delta", "answer_id": answer_id, "run": uuid.uuid4().hex[:12]}, feedback
            )
            score = 5 + index % 4
            scores.append(score)
            self.record(
                "evaluation",
                answer_id=answer_id,
                question_id=question_id,
                score=score,
                criteria=dict.fromkeys(CRITERIA, score),
                feedback=feedback,
                strengths=["Clear structure", "Concrete numbers"],
                improvements=["Discuss failure modes"],
                provider="offline",
            )
        overall = sum(scores) / len(scores)
        self.status = "completed"
        self.record(
            "interview.completed",
            overall_score=overall,
            reason="finished",
            report={
                "interview_id": self.interview_id,
                "overall_score": overall,
                "questions": [{"index": i + 1, "score": s} for i, s in enumerate(scores)],
            },
        )
        for socket in list(self.sockets):
            with contextlib.suppress(Exception):
                await socket.close(1000, "interview over")


def _report_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        traceback.print_exception(task.exception(), file=sys.stderr)


class CeilingServer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.rooms: dict[str, Room] = {}

    async def handle(self, socket: ServerConnection) -> None:
        path = socket.request.path if socket.request is not None else ""
        if not path.startswith(PATH_PREFIX):
            await socket.close(4404, "not found")
            return
        interview_id = path[len(PATH_PREFIX) :]
        try:
            hello = json.loads(await asyncio.wait_for(socket.recv(), HELLO_TIMEOUT_SECONDS))
        except (TimeoutError, ConnectionClosed, ValueError):
            await socket.close(4401, "no hello")
            return
        if not isinstance(hello, dict) or hello.get("type") != "hello":
            await socket.close(4401, "the first frame must be hello")
            return
        role = "candidate" if hello.get("token") == "candidate" else "observer"
        room = self.rooms.setdefault(interview_id, Room(interview_id, self.settings))
        last_seq = int(hello.get("last_seq") or 0)
        await socket.send(
            json.dumps(
                {
                    "type": "welcome",
                    "role": role,
                    "interview": {"id": interview_id, "status": room.status, "track": "backend"},
                    "last_seq": len(room.events),
                    "protocol": 1,
                }
            )
        )
        for event in room.events[last_seq:]:
            await socket.send(event)
        if room.streaming:
            await socket.send(json.dumps({**room.stream_frame, "offset": 0, "text": room.streaming}))
        room.sockets.add(socket)
        if role == "candidate":
            room.candidate = socket
        room.presence()
        try:
            async for message in socket:
                self.on_frame(room, socket, role, message)
        except ConnectionClosed:
            pass
        finally:
            room.sockets.discard(socket)
            if room.candidate is socket:
                room.candidate = None
            room.presence()
            if not room.sockets and room.status != "in_progress":
                self.rooms.pop(interview_id, None)

    def on_frame(self, room: Room, socket: ServerConnection, role: str, message: str | bytes) -> None:
        try:
            frame = json.loads(message)
        except ValueError:
            return
        kind = frame.get("type") if isinstance(frame, dict) else None
        if kind == "ping":
            broadcast([socket], json.dumps({"type": "pong", "nonce": frame.get("nonce")}))
        elif kind == "start" and role == "candidate" and room.task is None:
            room.task = asyncio.create_task(room.run())
            room.task.add_done_callback(_report_failure)
        elif kind == "answer" and role == "candidate" and room.awaiting == frame.get("question_id"):
            room.awaiting = None
            room.answers.put_nowait(
                (str(frame.get("client_id")), str(frame.get("question_id")), str(frame.get("text")))
            )


async def main_async(args: argparse.Namespace) -> None:
    settings = Settings(
        tokens_per_second=args.tokens_per_second,
        question_words=args.question_words,
        feedback_words=args.feedback_words,
        question_count=args.question_count,
    )
    server = CeilingServer(settings)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    async with serve(
        server.handle,
        args.host,
        args.port,
        compression=None,
        max_size=64 * 1024,
        ping_interval=None,
        backlog=4096,
    ):
        print(f"ceiling listening on {args.host}:{args.port}", flush=True)
        await stop.wait()
    for room in server.rooms.values():
        if room.task is not None:
            room.task.cancel()
    await asyncio.sleep(0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.ceiling", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tokens-per-second", type=float, default=100.0)
    parser.add_argument("--question-words", type=int, default=40)
    parser.add_argument("--feedback-words", type=int, default=140)
    parser.add_argument("--question-count", type=int, default=20)
    return parser


def main() -> None:
    args = build_parser().parse_args()
    if args.question_count < 1 or args.question_words < 1 or args.feedback_words < 1:
        raise SystemExit("--question-count, --question-words and --feedback-words must be at least 1")
    try:
        import uvloop

        uvloop.run(main_async(args))
    except ImportError:
        asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
