"""The event store under concurrent writers: optimistic writes, retries, the row-lock fallback."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import pytest

from server.core.db import engine
from server.interviews import events as events_module
from server.interviews.engine import EngineError, PendingEvent, Transition
from server.interviews.events import LockedInterview, apply_transition, events_after


@pytest.fixture
async def interview_id(user_factory, create_interview) -> uuid.UUID:  # type: ignore[no-untyped-def]
    user = await user_factory()
    return uuid.UUID((await create_interview(user.headers, question_count=3))["id"])


def ping(locked: LockedInterview) -> Transition:
    return Transition(state=locked.state, events=[PendingEvent(type="test.ping", payload={})])


async def test_a_writer_in_between_makes_the_transition_decide_again(interview_id: uuid.UUID) -> None:
    seen_seqs: list[int] = []

    async def interrupted(locked: LockedInterview) -> Transition:
        seen_seqs.append(locked.last_seq)
        if len(seen_seqs) == 1:
            await apply_transition(interview_id, ping)  # commits after our read, before our write
        return Transition(state=locked.state, events=[PendingEvent(type="test.mine", payload={})])

    _, stored = await apply_transition(interview_id, interrupted)
    assert seen_seqs == [0, 1]  # decided again on the fresher state
    assert [(event.seq, event.type) for event in stored] == [(2, "test.mine")]
    assert [(e.seq, e.type) for e in await events_after(interview_id, 0)] == [
        (1, "test.ping"),
        (2, "test.mine"),
    ]


async def test_an_interview_deleted_in_between_is_seen_deleted_on_the_retry(interview_id: uuid.UUID) -> None:
    seen_deleted: list[bool] = []

    async def refuse_deleted(locked: LockedInterview) -> Transition:
        seen_deleted.append(locked.deleted)
        if locked.deleted:
            raise EngineError("interview_deleted", "the interview was deleted")
        await engine().pool.execute("UPDATE interviews SET deleted_at = now() WHERE id = $1", interview_id)
        return ping(locked)

    with pytest.raises(EngineError):
        await apply_transition(interview_id, refuse_deleted)
    assert seen_deleted == [False, True]
    assert await events_after(interview_id, 0) == []


async def test_endless_interference_falls_back_to_the_row_lock(interview_id: uuid.UUID) -> None:
    attempts: list[int] = []

    async def always_interrupted(locked: LockedInterview) -> Any:
        attempts.append(locked.last_seq)
        if len(attempts) <= events_module.OPTIMISTIC_ATTEMPTS:
            await apply_transition(interview_id, ping)
        return ping(locked)

    _, stored = await apply_transition(interview_id, always_interrupted)
    assert len(attempts) == events_module.OPTIMISTIC_ATTEMPTS + 1
    expected_last = events_module.OPTIMISTIC_ATTEMPTS + 1
    assert [event.seq for event in stored] == [expected_last]
    assert [e.seq for e in await events_after(interview_id, 0)] == list(range(1, expected_last + 1))


async def test_the_state_is_stored_without_compression(database: None) -> None:
    """It is rewritten with every event: compressing each version cost more than it saved."""
    storage = await engine().pool.fetchval(
        "SELECT attstorage FROM pg_attribute WHERE attrelid = 'interviews'::regclass AND attname = 'state'"
    )
    assert storage in ("e", b"e")  # "char" comes back as bytes


async def test_a_known_interview_saves_the_read_and_a_stale_one_is_read_again(
    interview_id: uuid.UUID,
) -> None:
    from server.interviews.events import commit_transition, load_interview

    known = await load_interview(interview_id)
    after, stored = await commit_transition(interview_id, ping, known=known)
    assert (after.last_seq, [event.seq for event in stored]) == (1, [1])
    assert after == await load_interview(interview_id), "what the caller keeps is what is stored"

    await apply_transition(interview_id, ping)  # another writer: `after` is now stale
    decided_on: list[int] = []

    def mine(locked: LockedInterview) -> Transition:
        decided_on.append(locked.last_seq)
        if locked.last_seq < 2:
            raise EngineError("stale", "refused on the old state")  # must not reach the caller
        return ping(locked)

    latest, stored = await commit_transition(interview_id, mine, known=after)
    assert decided_on == [1, 2]
    assert (latest.last_seq, [event.seq for event in stored]) == (3, [3])


async def test_a_process_keeps_a_bounded_number_of_recent_interviews(
    interview_id: uuid.UUID, redis_client: Any
) -> None:
    from server.interviews import runner as runner_module
    from server.interviews.events import load_interview

    runner = runner_module.InterviewRunner(None, redis_client, None, None, lease_seconds=6)  # type: ignore[arg-type]
    interview = await load_interview(interview_id)
    runner.remember(interview)
    assert runner.recent(interview_id) is interview
    for _ in range(runner_module.RECENT_INTERVIEWS):
        runner.remember(msgspec.structs.replace(interview, id=uuid.uuid4()))
    assert runner.recent(interview_id) is None, "the oldest copy goes first"
    assert len(runner._recent) == runner_module.RECENT_INTERVIEWS
