"""Doing an interview's in-flight work: streaming a question or an evaluation, then recording it.

Exactly one process does this for an interview at a time, holding a short lease in Redis that
it renews while it works. If that process dies the lease lapses, and the next process that has
the candidate connected takes the work over: the question is streamed again from offset 0, a
cut evaluation is redone. What to do is read from the durable engine state, never from memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
from redis.asyncio import Redis

from server.core.db import engine
from server.core.logging import get_logger
from server.core.pubsub import RedisCommand
from server.interviews.engine import EngineError, EngineState, InterviewEngine, Transition
from server.interviews.events import InterviewGone, LockedInterview, commit_transition, load_interview
from server.interviews.live import STREAM_TTL_SECONDS, Header, LiveHub, delta_frame, stream_key
from server.interviews.notes import list_notes
from server.interviews.report import ObserverNote
from server.llm.chain import ProviderChain
from server.llm.types import Evaluation, EvaluationRequest, QuestionContext, StreamPiece
from server.questions.bank import QuestionBank

log = get_logger(__name__)

COALESCE_SECONDS = 0.05  # token pieces are gathered into one delta frame per ~50 ms
WORKING_PHASES = ("asking", "evaluating")  # the server owes the next move
RECENT_INTERVIEWS = 2_000  # interviews whose last committed copy a process keeps (`remember`)


def lease_key(interview_id: uuid.UUID) -> str:
    return f"interviewace:interview:{interview_id}:lease"


# Renew or release the lease only while it is still ours (compare-and-set in one step).
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
_CLEAR_SNAPSHOT = (
    "if redis.call('HGET', KEYS[1], 'run') == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
)


class LeaseLost(Exception):
    """Another process owns this interview's work now; stop without recording anything."""


class StreamPublisher:
    """Gathers streamed pieces and publishes them as delta frames about every 50 ms, keeping the
    text so far in Redis for sockets that join mid-stream.

    The snapshot is written by the same ordered, pipelined path as the deltas (never awaited
    here): whoever receives a delta from Redis can already read it in the snapshot."""

    def __init__(
        self, hub: LiveHub, redis: Redis, interview_id: uuid.UUID, kind: str, ref: str, index: int
    ) -> None:
        self.hub = hub
        self.redis = redis
        self.interview_id = interview_id
        self.key = stream_key(interview_id)
        self.kind = kind
        self.ref = ref
        self.index = index
        self.run = ""
        self.text = ""
        self.flushed = 0
        self.provider = ""
        self.model = ""

    def restart(self) -> None:
        self.run = uuid.uuid4().hex[:12]
        self.text = ""
        self.flushed = 0

    def add(self, piece: StreamPiece) -> None:
        self.text += piece.text
        self.provider, self.model = piece.provider, piece.model

    def flush(self) -> None:
        if self.flushed == len(self.text):
            return
        pending = self.text[self.flushed :]
        offset = self.flushed
        self.flushed = len(self.text)
        snapshot: list[RedisCommand] = [
            # The whole text each time: a snapshot is always complete on its own, and rewriting
            # a few KiB costs Redis far less than the round trip it rides on.
            (
                "HSET",
                self.key,
                "kind",
                self.kind,
                "ref",
                self.ref,
                "run",
                self.run,
                "index",
                self.index,
                "text",
                self.text,
            ),
        ]
        if offset == 0:
            snapshot.append(("EXPIRE", self.key, STREAM_TTL_SECONDS))
        self.hub.publish(
            self.interview_id,
            Header(
                k="delta",
                ref=self.ref,
                run=self.run,
                offset=offset,
                length=len(pending),
                kind=self.kind,
                index=self.index,
            ),
            delta_frame(self.kind, self.ref, self.index, offset, pending, self.run),
            after=snapshot,
        )

    async def consume(self, pieces: AsyncIterator[Any]) -> Any:
        """Publish every StreamPiece from `pieces`; return the first thing that is not a piece
        (the final Evaluation of an evaluation stream), if any."""
        self.restart()
        final: Any = None

        async def flush_periodically() -> None:
            while True:
                await asyncio.sleep(COALESCE_SECONDS)
                self.flush()

        flusher = asyncio.create_task(flush_periodically())
        try:
            async for item in pieces:
                if not isinstance(item, StreamPiece):
                    final = item
                    continue
                if item.restart:
                    self.flush()
                    self.restart()
                first = not self.text
                self.add(item)
                if first:
                    self.flush()  # the first words go out at once; only the rest is coalesced
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
        self.flush()
        return final

    def clear(self) -> None:
        """Drop the snapshot once the stream is recorded (queued after the recorded event), unless
        a newer run has replaced it."""
        self.hub.run_in_order(self.interview_id, [("EVAL", _CLEAR_SNAPSHOT, 1, self.key, self.run)])


class InterviewRunner:
    """One per process: starts and supervises the work of the interviews it holds leases for."""

    def __init__(
        self, hub: LiveHub, redis: Redis, chain: ProviderChain, bank: QuestionBank, *, lease_seconds: float
    ) -> None:
        self.lease_ms = int(lease_seconds * 1000)
        self.hub = hub
        self.redis = redis
        self.chain = chain
        self.bank = bank
        self.tasks: dict[uuid.UUID, asyncio.Task[None]] = {}
        # Interviews whose running work was told that something new was committed (an answer):
        # it reads the state again before it stops, or is started again right after.
        self._poked: set[uuid.UUID] = set()
        self._restarts: set[asyncio.Task[None]] = set()
        # The interviews as this process last committed them (bounded, oldest dropped first): a
        # command on one of them decides on this copy and saves reading the row, unless someone
        # else wrote since (the store checks, and then the row is read after all).
        self._recent: dict[uuid.UUID, LockedInterview] = {}
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    def recent(self, interview_id: uuid.UUID) -> LockedInterview | None:
        return self._recent.get(interview_id)

    def remember(self, interview: LockedInterview) -> None:
        self._recent.pop(interview.id, None)
        self._recent[interview.id] = interview
        if len(self._recent) > RECENT_INTERVIEWS:
            del self._recent[next(iter(self._recent))]

    async def ensure_progress(
        self, interview_id: uuid.UUID, state: EngineState | None = None, *, lease_checked: bool = False
    ) -> None:
        """Start this interview's pending work here unless another live process already owns it.
        `state` is the state just committed by the caller, if it has one (saves a read);
        `lease_checked` says the caller has just seen that no process holds the lease."""
        running = self.tasks.get(interview_id)
        if running is not None and not running.done():
            self._poked.add(interview_id)
            return
        # Called every few seconds for every candidate socket: while another process holds the
        # work, one Redis EXISTS answers instead of a database read.
        if not lease_checked and await self.redis.exists(lease_key(interview_id)):
            return
        if state is None:
            row = await engine().pool.fetchrow(
                "SELECT state FROM interviews WHERE id = $1 AND deleted_at IS NULL", interview_id
            )
            if row is None:
                return
            state = msgspec.json.decode(row["state"], type=EngineState)
        if state.phase not in WORKING_PHASES:
            return
        token = f"{self.hub.process_id}:{uuid.uuid4().hex}"
        if not await self.redis.set(lease_key(interview_id), token, nx=True, px=self.lease_ms):
            return
        task = asyncio.create_task(self._work(interview_id, token))
        self.tasks[interview_id] = task
        task.add_done_callback(lambda _: self._work_ended(interview_id, task))

    def _work_ended(self, interview_id: uuid.UUID, task: asyncio.Task[None]) -> None:
        if self.tasks.get(interview_id) is task:
            del self.tasks[interview_id]
        if interview_id in self._poked and not task.cancelled():
            # Poked after its last look at the state (while it released the lease): look again.
            self._poked.discard(interview_id)
            restart = asyncio.create_task(self.ensure_progress(interview_id))
            self._restarts.add(restart)
            restart.add_done_callback(self._restarts.discard)

    async def close(self) -> None:
        tasks = [*self.tasks.values(), *self._restarts]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _work(self, interview_id: uuid.UUID, token: str) -> None:
        lost = asyncio.Event()

        async def keep_lease() -> None:
            while True:
                await asyncio.sleep(self.lease_ms / 3000)
                renewed = await self._renew(keys=[lease_key(interview_id)], args=[token, self.lease_ms])
                if not renewed:
                    lost.set()
                    return

        renewer = asyncio.create_task(keep_lease())
        try:
            # The interview as this work last committed it: each step decides on it and stores only
            # if nobody else wrote in between (else it reads the row again).
            known = await self._load(interview_id)
            while not lost.is_set():
                if known.state.phase not in WORKING_PHASES:
                    if interview_id not in self._poked:
                        break
                    # Our own commit says nothing is pending, but the candidate has answered since
                    # (their socket found this work running and left it to us).
                    self._poked.discard(interview_id)
                    known = await self._load(interview_id)
                    continue
                known = await self._step(known, lost)
        except (LeaseLost, InterviewGone):
            pass  # someone else owns the work now, or the interview is gone: nothing to record
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("interview_work_failed", interview_id=str(interview_id))
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await renewer
            with contextlib.suppress(Exception):
                await self._release(keys=[lease_key(interview_id)], args=[token])

    async def _load(self, interview_id: uuid.UUID) -> LockedInterview:
        known = await load_interview(interview_id)
        if known.deleted:
            raise InterviewGone(str(interview_id))
        return known

    async def _step(self, known: LockedInterview, lost: asyncio.Event) -> LockedInterview:
        """Do the next piece of pending work; return the interview as it committed it."""
        interview_engine = InterviewEngine(known.plan, self.bank)
        if known.state.phase == "asking":
            return await self._ask(known, interview_engine, lost)
        return await self._evaluate(known, interview_engine, lost)

    async def _ask(
        self, known: LockedInterview, interview_engine: InterviewEngine, lost: asyncio.Event
    ) -> LockedInterview:
        interview_id, plan, state = known.id, known.plan, known.state
        asked = state.current_question
        assert asked is not None
        brief = self.bank.get(asked.bank_id).to_brief()
        parent = state.question(asked.parent_question_id) if asked.parent_question_id else None
        parent_answer = state.answer_for(parent.question_id) if parent else None
        context = QuestionContext(
            brief=brief,
            kind=asked.kind,
            index=asked.index,
            total=plan.question_count,
            language=plan.language,
            company_style=plan.company_style,
            resume=plan.resume,
            job_description=plan.job_description,
            focus_skill=asked.focus_skill,
            previous_question=parent.text if parent else None,
            previous_answer=parent_answer.text if parent_answer else None,
            missed_points=list(asked.missed_points),
        )
        publisher = StreamPublisher(
            self.hub, self.redis, interview_id, "question", str(asked.question_id), asked.index
        )
        await publisher.consume(self.chain.stream_question(context))
        if lost.is_set():
            raise LeaseLost
        text = publisher.text
        provider = publisher.provider or "offline"

        def decide(locked: LockedInterview) -> Any:
            return interview_engine.record_question(
                locked.state,
                question_id=asked.question_id,
                text=text,
                provider=provider,  # type: ignore[arg-type]
            )

        committed = await self._commit(known, decide)
        publisher.clear()
        return committed

    async def _evaluate(
        self, known: LockedInterview, interview_engine: InterviewEngine, lost: asyncio.Event
    ) -> LockedInterview:
        interview_id, plan, state = known.id, known.plan, known.state
        answer = state.pending_answer
        assert answer is not None
        asked = state.question(answer.question_id)
        assert asked is not None
        assert asked.text is not None
        request = EvaluationRequest(
            brief=self.bank.get(asked.bank_id).to_brief(),
            question_text=asked.text,
            answer=answer.text,
            kind=asked.kind,
            language=plan.language,
        )
        publisher = StreamPublisher(
            self.hub, self.redis, interview_id, "evaluation", str(answer.answer_id), asked.index
        )
        final = await publisher.consume(self.chain.stream_evaluation(request))
        if lost.is_set():
            raise LeaseLost
        if not isinstance(final, Evaluation):
            raise RuntimeError("the evaluation stream ended without an evaluation")
        # What clients saw streamed is the feedback of record, so deltas always add up to it.
        evaluation = msgspec.structs.replace(final, feedback=publisher.text)
        now = datetime.now(UTC)

        async def decide(locked: LockedInterview) -> Any:
            def record(notes: Sequence[ObserverNote]) -> Transition:
                return interview_engine.record_evaluation(
                    locked.state, answer_id=answer.answer_id, evaluation=evaluation, now=now, notes=notes
                )

            transition = record(())
            # Observer notes only go into the report: read them only when this evaluation ends
            # the interview (deciding is pure, so deciding again with them is safe).
            if any(event.type == "interview.completed" for event in transition.events):
                transition = record(await list_notes(interview_id))
            return transition

        committed = await self._commit(known, decide)
        publisher.clear()
        return committed

    async def _commit(self, known: LockedInterview, decide: Any) -> LockedInterview:
        interview_id = known.id
        try:
            after, events = await commit_transition(
                interview_id, decide, known=self.recent(interview_id) or known
            )
        except EngineError as exc:
            # The state moved on without us (the interview was ended, or another process already
            # recorded this step): nothing to record.
            log.info("interview_step_superseded", interview_id=str(interview_id), code=exc.code)
            raise LeaseLost from exc
        self.hub.publish_events(interview_id, events)
        self.remember(after)
        return after
