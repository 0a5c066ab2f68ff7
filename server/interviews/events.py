"""The durable event store: every interview event gets the next `seq` in the same statement
that saves the engine state, so the stream in PostgreSQL is gap-free and always agrees with the
state. Pub/sub only announces what is already stored here.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import msgspec

from server.core.db import engine
from server.interviews.engine import EngineError, EngineState, InterviewPlan, PendingEvent, Transition


class StoredEvent(msgspec.Struct, kw_only=True, frozen=True):
    seq: int
    type: str
    payload: dict[str, Any]

    def frame(self) -> dict[str, Any]:
        """The object clients see, on the websocket and in the transcript."""
        return {"type": self.type, "seq": self.seq, **self.payload}

    def frame_json(self) -> bytes:
        return msgspec.json.encode(self.frame())


class LockedInterview(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    owner_id: uuid.UUID
    status: str
    last_seq: int
    plan: InterviewPlan
    state: EngineState
    deleted: bool


Decide = Callable[[LockedInterview], Transition | Awaitable[Transition]]


class InterviewGone(LookupError):
    """The interview does not exist or was deleted."""


_decoder_plan = msgspec.json.Decoder(InterviewPlan)
_decoder_state = msgspec.json.Decoder(EngineState)
_decoder_payload = msgspec.json.Decoder(dict[str, Any])
_encoder = msgspec.json.Encoder()


# How many times a transition is recomputed when another writer got in between; past that it waits
# for the row lock instead (a burst of writers on one interview, never the common case).
OPTIMISTIC_ATTEMPTS = 3

_SELECT_INTERVIEW = (
    "SELECT id, owner, status, last_seq, plan, state, deleted_at FROM interviews WHERE id = $1"
)

# The new state and its events in one statement, applied only if nobody else wrote since the state
# was read (`last_seq` and deletion unchanged): one round trip, no transaction held open while the
# engine decides. Returns 1 if it was applied, 0 if the caller has to decide again.
_STORE = """
WITH updated AS (
    UPDATE interviews SET
        state = $2, status = $3, last_seq = $4, current_question = $5,
        report = COALESCE($6::jsonb, report),
        overall_score = COALESCE($7, overall_score),
        started_at = COALESCE(started_at, $8),
        completed_at = COALESCE(completed_at, $9)
    WHERE id = $1 AND last_seq = $10 AND (deleted_at IS NULL) = $11
    RETURNING id
), inserted AS (
    INSERT INTO interview_events (id, interview, seq, type, payload, client_id, created_at)
    SELECT event.id, $1, event.seq, event.type, event.payload::jsonb, event.client_id, $12
    FROM unnest($13::uuid[], $14::int[], $15::text[], $16::text[], $17::text[])
        AS event(id, seq, type, payload, client_id)
    WHERE EXISTS (SELECT 1 FROM updated)
)
SELECT count(*) FROM updated
"""


async def apply_transition(interview_id: uuid.UUID, decide: Decide) -> tuple[EngineState, list[StoredEvent]]:
    """Let `decide` compute a transition from the current state, then store the new state and the
    events with consecutive seqs, atomically. If another writer stored something in between,
    `decide` runs again on the fresher state, so it must be free of side effects. `decide` may
    raise (EngineError...) to leave everything untouched."""
    after, stored = await commit_transition(interview_id, decide)
    return after.state, stored


async def commit_transition(
    interview_id: uuid.UUID, decide: Decide, *, known: LockedInterview | None = None
) -> tuple[LockedInterview, list[StoredEvent]]:
    """`apply_transition`, returning the interview as it is after the commit. `known` is the
    interview as the caller last committed it (a runner doing several steps): the first attempt
    decides on it instead of reading the row, and falls back to reading if anyone wrote since."""
    pool = _pool()
    if known is not None:
        try:
            committed = await _decide_and_store(pool, known, decide)
        except EngineError:
            committed = None  # refused on what may be an old state: ask the fresh one below
        if committed is not None:
            return committed
    for _ in range(OPTIMISTIC_ATTEMPTS):
        committed = await _decide_and_store(pool, await load_interview(interview_id, pool), decide)
        if committed is not None:
            return committed
    async with engine().transaction() as transaction:
        conn = transaction.connection
        locked = _locked(await conn.fetchrow(_SELECT_INTERVIEW + " FOR UPDATE", interview_id), interview_id)
        committed = await _decide_and_store(conn, locked, decide)
        assert committed is not None, "the row is locked: nobody can have written in between"
        return committed


async def load_interview(interview_id: uuid.UUID, conn: Any = None) -> LockedInterview:
    """The interview row as transitions see it (InterviewGone if there is none)."""
    return _locked(await (conn or _pool()).fetchrow(_SELECT_INTERVIEW, interview_id), interview_id)


def _locked(row: Any, interview_id: uuid.UUID) -> LockedInterview:
    if row is None:
        raise InterviewGone(str(interview_id))
    return LockedInterview(
        id=row["id"],
        owner_id=row["owner"],
        status=row["status"],
        last_seq=row["last_seq"],
        plan=_decoder_plan.decode(row["plan"]),
        state=_decoder_state.decode(row["state"]),
        deleted=row["deleted_at"] is not None,
    )


async def _decide_and_store(
    conn: Any, locked: LockedInterview, decide: Decide
) -> tuple[LockedInterview, list[StoredEvent]] | None:
    interview_id = locked.id
    outcome = decide(locked)
    transition = await outcome if isinstance(outcome, Awaitable) else outcome
    stored = _number(transition.events, locked.last_seq)
    new_state = transition.state
    now = datetime.now(UTC)
    current = new_state.current_question
    completed = next((e.payload for e in stored if e.type == "interview.completed"), None)
    started_now = locked.status == "created" and new_state.status != "created"
    finished_now = new_state.status in ("completed", "abandoned") and locked.status != new_state.status
    applied = await conn.fetchval(
        _STORE,
        interview_id,
        _encoder.encode(new_state).decode(),
        new_state.status,
        locked.last_seq + len(stored),
        current.index if current else 0,
        _encoder.encode(completed["report"]).decode() if completed else None,
        completed["overall_score"] if completed else None,
        now if started_now else None,
        now if finished_now else None,
        locked.last_seq,
        not locked.deleted,
        now,
        [uuid.uuid4() for _ in stored],
        [event.seq for event in stored],
        [event.type for event in stored],
        [_encoder.encode(event.payload).decode() for event in stored],
        [event.payload.get("client_id") if event.type == "answer" else None for event in stored],
    )
    if not applied:
        return None
    after = msgspec.structs.replace(
        locked, status=new_state.status, last_seq=locked.last_seq + len(stored), state=new_state
    )
    return after, stored


def _number(events: list[PendingEvent], last_seq: int) -> list[StoredEvent]:
    return [
        StoredEvent(seq=last_seq + offset, type=event.type, payload=event.payload)
        for offset, event in enumerate(events, start=1)
    ]


async def events_after(
    interview_id: uuid.UUID, after_seq: int, *, limit: int | None = None
) -> list[StoredEvent]:
    """Durable events with seq > after_seq, in order (replay, gap repair, transcript)."""
    query = "SELECT seq, type, payload FROM interview_events WHERE interview = $1 AND seq > $2 ORDER BY seq"
    args: list[Any] = [interview_id, after_seq]
    if limit is not None:
        query += " LIMIT $3"
        args.append(limit)
    rows = await _pool().fetch(query, *args)
    return [
        StoredEvent(seq=row["seq"], type=row["type"], payload=_decoder_payload.decode(row["payload"]))
        for row in rows
    ]


def _pool() -> Any:
    pool = engine().pool
    if pool is None:
        raise RuntimeError("the database pool is not started")
    return pool


async def answer_event_by_client_id(interview_id: uuid.UUID, client_id: str) -> StoredEvent | None:
    """The stored `answer` event with this client_id (answers are the only events carrying one)."""
    row = await _pool().fetchrow(
        "SELECT seq, type, payload FROM interview_events WHERE interview = $1 AND client_id = $2",
        interview_id,
        client_id,
    )
    if row is None:
        return None
    return StoredEvent(seq=row["seq"], type=row["type"], payload=_decoder_payload.decode(row["payload"]))
