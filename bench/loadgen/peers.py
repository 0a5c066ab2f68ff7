"""Websocket participants of interviews, as a real client would be, plus the bookkeeping the
benchmarks need: when each durable event arrived at each socket, duplicates, gaps, broken
delta streams, and for candidates the time from sending an answer to the first evaluation piece.

Every participant joins with `last_seq: 0` and so must end up holding every durable event of
its interview exactly once. A socket closed with 1011/1012/1013 (or dropped) reconnects with
the highest contiguous `seq` it holds, as websocket.md asks of clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from bench.stats import percentile

DURABLE = frozenset(
    {"interview.started", "question", "answer", "evaluation", "interview.completed", "interview.abandoned"}
)
FINAL = frozenset({"interview.completed", "interview.abandoned"})
RESUMABLE_CLOSE_CODES = frozenset({1006, 1011, 1012, 1013})
MAX_RECONNECTS = 5
PING_INTERVAL_SECONDS = 20.0  # the server closes sockets silent for 60 s (4408)
CONNECT_TIMEOUT_SECONDS = 30.0

ANSWERS = (
    "I would first pin down the requirements and the load we expect, then sketch the simplest design "
    "that meets them. In my last team we cut p99 latency from 800 ms to 150 ms by caching hot reads "
    "in Redis with versioned keys, and we watched the hit rate and error budget while rolling it out.",
    "The trade-off is between consistency and availability. I would keep writes in PostgreSQL inside "
    "one transaction, publish an event after commit, and make consumers idempotent by keying on ids, "
    "because retries are certain. I measured it with a load test before shipping.",
    "I would start with metrics and traces to find where the time goes, fix the biggest cost first, "
    "and add a regression benchmark. When we did this for a search API, batching queries halved CPU "
    "use and the team could drop two servers.",
)


class Frame(msgspec.Struct):
    """The fields of a server frame the load generator looks at; the rest is ignored."""

    type: str
    seq: int | None = None
    question_id: str | None = None
    answer_id: str | None = None
    client_id: str | None = None
    offset: int | None = None
    text: str | None = None
    run: str | None = None
    code: str | None = None


_decode = msgspec.json.Decoder(Frame).decode


@dataclass
class Meter:
    """Frames and bytes delivered to all sockets while `active` (the measurement window)."""

    active: bool = False
    frames: int = 0
    bytes: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    last_durable_at: float = 0.0


@dataclass(frozen=True)
class Slot:
    """One interview as the load generator knows it."""

    index: int
    interview_id: str
    ws_url: str
    candidate_token: str
    observer_tokens: tuple[str, ...]
    owner_token: str = ""  # for REST reads (transcripts); empty for the ceiling


@dataclass
class Script:
    """What candidates do: answer each question after `think_seconds`, until told to stop."""

    think_seconds: float = 0.0
    answering: bool = True
    window: tuple[float, float] = (0.0, math.inf)  # answers sent inside it are measured


class Peer:
    def __init__(self, slot: Slot, role: str, token: str, meter: Meter, script: Script) -> None:
        self.slot = slot
        self.role = role
        self.token = token
        self.meter = meter
        self.script = script
        self.ws: ClientConnection | None = None
        self.welcomed = asyncio.Event()
        self.finished = False
        self.stopping = False
        self.seq_times: dict[int, float] = {}
        self.seq_types: dict[int, str] = {}
        self.duplicates = 0  # the same seq twice on one connection: the server's doing
        self.replayed_again = 0  # seen on an earlier connection and replayed after a resume
        self.connection_seqs: set[int] = set()
        self.delta_errors = 0
        self.streams: dict[str, tuple[str, int]] = {}  # ref -> (run, characters held)
        self.got_welcome = False
        self.unexpected_closes: list[int | None] = []  # closes we neither asked for nor expected
        self.reconnects = 0
        self.connect_failures: list[str] = []
        self.errors: Counter[str] = Counter()
        self.last_durable = ""
        # candidate state
        self.answered: set[str] = set()
        self.pending: dict[str, Any] | None = None
        self.latencies: list[float] = []
        self.answers_sent = 0
        self._tasks: set[asyncio.Task[None]] = set()

    # ---- connection -----------------------------------------------------------------------

    def contiguous_seq(self) -> int:
        seq = 0
        while seq + 1 in self.seq_times:
            seq += 1
        return seq

    async def run(self) -> None:
        """Connect, read until the interview ends or `stop()`, reconnecting when allowed."""
        while not self.finished and not self.stopping:
            try:
                self.ws = await websockets.connect(
                    f"{self.slot.ws_url}/ws/interviews/{self.slot.interview_id}",
                    compression=None,
                    max_size=2**22,
                    open_timeout=CONNECT_TIMEOUT_SECONDS,
                    ping_interval=None,
                    close_timeout=5,
                )
            except (OSError, TimeoutError, InvalidHandshake, InvalidStatus) as exc:
                self.connect_failures.append(type(exc).__name__)
                if len(self.connect_failures) > MAX_RECONNECTS:
                    self.finished = True
                    self.welcomed.set()  # nobody should wait for a socket that will not come
                    return
                await asyncio.sleep(0.5 * len(self.connect_failures))
                continue
            code: int | None = None
            self.connection_seqs = set()
            try:
                await self.ws.send(
                    json.dumps({"type": "hello", "token": self.token, "last_seq": self.contiguous_seq()})
                )
                if self.pending is not None and self.pending.get("answer_id") is None:
                    await self._send(self.pending["frame"])  # same client_id: recorded at most once
                async for raw in self.ws:
                    self.on_message(raw)
                code = self.ws.close_code
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd is not None else None
            if not self.stopping and code != 1000:
                self.unexpected_closes.append(code)
            if self.stopping or code == 1000:
                self.finished = True
            elif (code in RESUMABLE_CLOSE_CODES or code is None) and self.reconnects < MAX_RECONNECTS:
                self.reconnects += 1
            else:
                self.finished = True
        self.welcomed.set()

    async def stop(self) -> None:
        self.stopping = True
        for task in list(self._tasks):
            task.cancel()
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()

    async def _send(self, frame: dict[str, Any]) -> None:
        if self.ws is None:
            return
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(json.dumps(frame))

    async def ping(self) -> None:
        await self._send({"type": "ping", "nonce": uuid.uuid4().hex[:8]})

    async def start_interview(self) -> None:
        await self._send({"type": "start"})

    # ---- receiving ------------------------------------------------------------------------

    def on_message(self, raw: str | bytes) -> None:
        now = time.monotonic()
        meter = self.meter
        frame = _decode(raw)
        kind = frame.type
        if meter.active:
            meter.frames += 1
            meter.bytes += len(raw)
            meter.by_type[kind] += 1
        if kind in DURABLE:
            self._on_durable(frame, kind, now)
        elif kind == "question.delta" or kind == "evaluation.delta":
            self._on_delta(frame, kind, now)
        elif kind == "welcome":
            self.got_welcome = True
            self.welcomed.set()
        elif kind == "error":
            self.errors[frame.code or "unknown"] += 1

    def _on_durable(self, frame: Frame, kind: str, now: float) -> None:
        seq = frame.seq or 0
        if seq in self.connection_seqs:
            self.duplicates += 1
            return
        self.connection_seqs.add(seq)
        if seq in self.seq_times:
            # Resuming with the highest contiguous seq after a gap replays what followed the gap.
            self.replayed_again += 1
            return
        self.seq_times[seq] = now
        self.seq_types[seq] = kind
        self.last_durable = kind
        self.meter.last_durable_at = now
        if self.role != "candidate":
            return
        if kind == "question" and frame.question_id:
            self._schedule_answer(frame.question_id)
        elif kind == "answer" and self.pending is not None and frame.client_id == self.pending["client_id"]:
            self.pending["answer_id"] = frame.answer_id
        elif kind == "evaluation":
            self._first_piece(frame.answer_id, now)
            self.pending = None

    def _on_delta(self, frame: Frame, kind: str, now: float) -> None:
        ref = (frame.question_id if kind == "question.delta" else frame.answer_id) or ""
        run = frame.run or ""
        length = len(frame.text or "")
        held_run, held = self.streams.get(ref, ("", 0))
        if frame.offset == 0:
            self.streams[ref] = (run, length)
        elif held_run == run and frame.offset == held:
            self.streams[ref] = (run, held + length)
        else:
            self.delta_errors += 1
        if kind == "evaluation.delta" and self.role == "candidate":
            self._first_piece(frame.answer_id, now)

    def _first_piece(self, answer_id: str | None, now: float) -> None:
        pending = self.pending
        if pending is None or pending.get("first_piece_at") is not None:
            return
        if pending.get("answer_id") not in (None, answer_id):
            return
        pending["first_piece_at"] = now
        start, end = self.script.window
        if start <= pending["sent_at"] <= end:
            self.latencies.append(now - pending["sent_at"])

    # ---- candidate ------------------------------------------------------------------------

    def _schedule_answer(self, question_id: str) -> None:
        if question_id in self.answered or not self.script.answering:
            return
        self.answered.add(question_id)
        task = asyncio.create_task(self._answer_later(question_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer_later(self, question_id: str) -> None:
        if self.script.think_seconds > 0:
            await asyncio.sleep(self.script.think_seconds)
        if not self.script.answering or self.stopping:
            return
        frame = {
            "type": "answer",
            "client_id": uuid.uuid4().hex,
            "question_id": question_id,
            "text": ANSWERS[self.answers_sent % len(ANSWERS)],
        }
        self.pending = {"client_id": frame["client_id"], "sent_at": time.monotonic(), "frame": frame}
        self.answers_sent += 1
        await self._send(frame)

    @property
    def idle(self) -> bool:
        """Nothing more will arrive without an answer from us (or the interview is over)."""
        return self.finished or self.last_durable in ("question", *FINAL)


class Session:
    """All participants of a set of interviews, driven together."""

    def __init__(
        self,
        slots: Sequence[Slot],
        script: Script,
        meter: Meter | None = None,
        *,
        with_candidates: bool = True,
    ) -> None:
        self.slots = list(slots)
        self.script = script
        self.meter = meter or Meter()
        self.candidates: list[Peer] = []
        self.candidate_of: dict[int, Peer] = {}
        self.observers: dict[int, list[Peer]] = {}
        for slot in self.slots:
            if with_candidates:
                candidate = Peer(slot, "candidate", slot.candidate_token, self.meter, script)
                self.candidates.append(candidate)
                self.candidate_of[slot.index] = candidate
            self.observers[slot.index] = [
                Peer(slot, "observer", token, self.meter, script) for token in slot.observer_tokens
            ]
        self.tasks: list[asyncio.Task[None]] = []
        self._keepalive: asyncio.Task[None] | None = None

    @property
    def peers(self) -> list[Peer]:
        return [*self.candidates, *(p for group in self.observers.values() for p in group)]

    async def connect(self, concurrency: int, limit_seconds: float) -> float:
        """Open every socket (observers first, so they see the interview from its start) and wait
        for each welcome; returns the seconds it took."""
        started = time.monotonic()
        order = [*(p for g in self.observers.values() for p in g), *self.candidates]
        gate = asyncio.Semaphore(concurrency)
        if self._keepalive is None:
            # From the first socket on: opening thousands can take longer than the idle timeout.
            self._keepalive = asyncio.create_task(self._ping_forever())

        async def open_one(peer: Peer) -> None:
            async with gate:
                self.tasks.append(asyncio.create_task(peer.run()))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(peer.welcomed.wait(), CONNECT_TIMEOUT_SECONDS)

        await asyncio.wait_for(asyncio.gather(*(open_one(p) for p in order)), limit_seconds)
        return time.monotonic() - started

    async def _ping_forever(self) -> None:
        while True:
            await asyncio.sleep(PING_INTERVAL_SECONDS)
            for number, peer in enumerate(self.peers):
                if peer.got_welcome and not peer.finished:
                    await peer.ping()
                if number % 200 == 199:
                    await asyncio.sleep(0.01)  # spread the pings out a little

    async def start(self, spread_seconds: float = 0.0) -> None:
        """Every candidate sends `start`, spread evenly over `spread_seconds`."""
        count = len(self.candidates)
        began = time.monotonic()
        for number, peer in enumerate(self.candidates):
            if spread_seconds > 0:
                delay = began + spread_seconds * number / max(1, count) - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            await peer.start_interview()

    async def wait_quiet(self, limit_seconds: float) -> bool:
        """After answering stops: wait until every interview waits for an answer (or is over) and
        all its sockets hold the same events. False if that did not happen within `limit_seconds`."""
        deadline = time.monotonic() + limit_seconds
        while time.monotonic() < deadline:
            if all(self._settled(candidate) for candidate in self.candidates):
                return True
            await asyncio.sleep(0.2)
        return False

    def _settled(self, candidate: Peer) -> bool:
        if not candidate.idle:
            return False
        top = max(candidate.seq_times, default=0)
        return all(
            observer.finished or max(observer.seq_times, default=0) >= top
            for observer in self.observers[candidate.slot.index]
        )

    async def close(self) -> None:
        if self._keepalive is not None:
            self._keepalive.cancel()
        peers = self.peers
        for start in range(0, len(peers), 200):
            await asyncio.gather(*(p.stop() for p in peers[start : start + 200]))
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=30)
        for task in self.tasks:
            task.cancel()

    # ---- results --------------------------------------------------------------------------

    def delivery(self, truth: dict[int, list[tuple[int, str]]] | None = None) -> dict[str, Any]:
        """Lost, undelivered and duplicated durable events per socket, against the stored transcript when
        `truth` (slot index -> [(seq, type)]) is given, else against the most any socket of the
        interview received."""
        lost = late = duplicates = replayed = wrong_type = 0
        sockets_short = 0
        for slot in self.slots:
            candidate = self.candidate_of.get(slot.index)
            group = [*([candidate] if candidate else []), *self.observers[slot.index]]
            stored = truth.get(slot.index) if truth is not None else None
            if stored is not None:
                expected = dict(stored)
            else:
                top = max((max(p.seq_times, default=0) for p in group), default=0)
                expected = dict.fromkeys(range(1, top + 1), "")
            for peer in group:
                held = max(peer.seq_times, default=0)
                missing = [seq for seq in expected if seq not in peer.seq_times]
                lost += sum(1 for seq in missing if seq < held)
                late += sum(1 for seq in missing if seq > held)
                sockets_short += 1 if missing else 0
                duplicates += peer.duplicates
                replayed += peer.replayed_again
                wrong_type += sum(
                    1
                    for seq, kind in expected.items()
                    if kind and seq in peer.seq_types and peer.seq_types[seq] != kind
                )
        return {
            # Missing from a socket that holds later events: a hole that was never filled.
            "lost_events": lost,
            # Missing after the last event a socket got: not delivered by the end of the run.
            "undelivered_at_end": late,
            "duplicated_events": duplicates,
            "replayed_after_resume": replayed,
            "wrong_type_events": wrong_type,
            "sockets_missing_events": sockets_short,
            "interviews_checked_against_transcript": len(truth or {}),
        }

    def skews(self, window: tuple[float, float]) -> list[float]:
        """|observer arrival - candidate arrival| of each durable event the candidate got inside
        `window`, in seconds, for every observer that got it too."""
        start, end = window
        values: list[float] = []
        for candidate in self.candidates:
            for seq, at in candidate.seq_times.items():
                if not start <= at <= end:
                    continue
                for observer in self.observers[candidate.slot.index]:
                    seen = observer.seq_times.get(seq)
                    if seen is not None:
                        values.append(abs(seen - at))
        return values

    def health(self) -> dict[str, Any]:
        closes: Counter[str] = Counter()
        errors: Counter[str] = Counter()
        failures: Counter[str] = Counter()
        for peer in self.peers:
            closes.update(str(code) for code in peer.unexpected_closes)
            errors.update(peer.errors)
            failures.update(peer.connect_failures)
        return {
            "unexpected_closes": dict(closes),
            "reconnects": sum(p.reconnects for p in self.peers),
            "error_frames": dict(errors),
            "connect_failures": dict(failures),
            "delta_offset_errors": sum(p.delta_errors for p in self.peers),
            "sockets": len(self.peers),
            "sockets_never_welcomed": sum(1 for p in self.peers if not p.got_welcome),
        }

    def latencies(self) -> list[float]:
        return [value for peer in self.candidates for value in peer.latencies]


def latency_ms_summary(values: Sequence[float]) -> dict[str, float | None]:
    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000, 2)

    return {
        "p50_ms": ms(percentile(values, 0.5)),
        "p95_ms": ms(percentile(values, 0.95)),
        "p99_ms": ms(percentile(values, 0.99)),
        "max_ms": ms(max(values) if values else None),
    }
