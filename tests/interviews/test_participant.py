"""How one socket's deliveries are kept exact: order, gaps, overlaps, slowness."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from server.interviews.engine import InterviewEngine
from server.interviews.events import LockedInterview, apply_transition
from server.interviews.live import QUEUE_LIMIT, Header, Participant, delta_frame, pack, stream_key, unpack
from server.questions.bank import get_bank


class Recorder:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def __call__(self, text: str) -> None:
        self.sent.append(json.loads(text))


def participant(interview_id: uuid.UUID, send: Any, redis: Any = None) -> Participant:
    return Participant(interview_id=interview_id, role="observer", send_text=send, redis=redis)


def test_header_and_frame_travel_together() -> None:
    header = Header(k="delta", ref="q", run="r1", offset=3, kind="question", index=2)
    decoded, frame = unpack(pack(header, b'{"type":"x"}'))
    assert decoded == header
    assert frame == b'{"type":"x"}'


async def test_a_socket_that_cannot_keep_up_is_closed_1013() -> None:
    blocked = asyncio.Event()

    async def never_returns(text: str) -> None:
        await blocked.wait()

    slow = participant(uuid.uuid4(), never_returns)
    writer = asyncio.create_task(slow.write_loop())
    for index in range(QUEUE_LIMIT + 5):
        slow.offer(Header(k="presence"), f'{{"type":"presence","n":{index}}}')
    assert slow.close_code == 1013
    assert slow.closed.is_set()
    writer.cancel()


async def test_deltas_line_up_by_offset_and_overlaps_are_trimmed() -> None:
    recorder = Recorder()
    socket = participant(uuid.uuid4(), recorder)

    async def delta(offset: int, text: str, run: str = "r1") -> None:
        await socket._send_delta(
            Header(k="delta", ref="q1", run=run, offset=offset, length=len(text), kind="question", index=1),
            delta_frame("question", "q1", 1, offset, text, run).decode(),
        )

    await delta(0, "Hello ")
    await delta(6, "wor")
    await delta(6, "world")  # overlaps what was sent: only "ld" is new
    await delta(3, "lo")  # wholly old: dropped
    await delta(0, "Bonjour", run="r2")  # a restarted stream replaces the run
    texts = [(f["offset"], f["text"]) for f in recorder.sent]
    assert texts == [(0, "Hello "), (6, "wor"), (9, "ld"), (0, "Bonjour")]


async def test_a_gap_in_deltas_is_replaced_by_a_snapshot_from_redis(redis_client: Any) -> None:
    interview_id = uuid.uuid4()
    await redis_client.hset(
        stream_key(interview_id),
        mapping={"kind": "question", "ref": "q1", "run": "r1", "index": 1, "text": "Hello world"},
    )
    recorder = Recorder()
    socket = participant(interview_id, recorder, redis_client)
    await socket._send_delta(
        Header(k="delta", ref="q1", run="r1", offset=0, length=5, kind="question", index=1),
        delta_frame("question", "q1", 1, 0, "Hello", "r1").decode(),
    )
    await socket._send_delta(  # offset 8 > 5 sent: pieces were lost
        Header(k="delta", ref="q1", run="r1", offset=8, length=2, kind="question", index=1),
        delta_frame("question", "q1", 1, 8, "ld", "r1").decode(),
    )
    assert [(f["offset"], f["text"]) for f in recorder.sent] == [(0, "Hello"), (0, "Hello world")]
    assert socket.stream_sent == len("Hello world")


async def test_deltas_of_a_finished_stream_are_ignored() -> None:
    recorder = Recorder()
    socket = participant(uuid.uuid4(), recorder)
    socket.finished_refs.add("q1")
    await socket._send_delta(
        Header(k="delta", ref="q1", run="r1", offset=0, length=4, kind="question", index=1),
        delta_frame("question", "q1", 1, 0, "late", "r1").decode(),
    )
    assert recorder.sent == []


@pytest.fixture
async def interview_with_events(user_factory, create_interview) -> uuid.UUID:  # type: ignore[no-untyped-def]
    user = await user_factory()
    interview_id = uuid.UUID((await create_interview(user.headers, question_count=3))["id"])
    bank = get_bank()

    def start(locked: LockedInterview) -> Any:
        engine = InterviewEngine(locked.plan, bank)
        return engine.start(locked.state, now=datetime.now(UTC))

    def ask(locked: LockedInterview) -> Any:
        engine = InterviewEngine(locked.plan, bank)
        asked = locked.state.current_question
        assert asked is not None
        return engine.record_question(
            locked.state, question_id=asked.question_id, text="Q?", provider="offline"
        )

    await apply_transition(interview_id, start)
    await apply_transition(interview_id, ask)
    return interview_id


async def test_a_gap_in_events_is_filled_from_the_database(interview_with_events: uuid.UUID) -> None:
    recorder = Recorder()
    socket = participant(interview_with_events, recorder)
    question = Header(k="event", seq=2, type="question", ref="x")
    await socket.send_event(question, '{"type":"question","seq":2,"question_id":"x"}')
    assert [f["seq"] for f in recorder.sent] == [1, 2]
    assert recorder.sent[0]["type"] == "interview.started"
    assert "x" in socket.finished_refs
    await socket.send_event(question, '{"type":"question","seq":2}')  # a duplicate publish
    started = Header(k="event", seq=1, type="interview.started")
    await socket.send_event(started, '{"type":"interview.started","seq":1}')  # a late one
    assert [f["seq"] for f in recorder.sent] == [1, 2]
    assert socket.last_seq_sent == 2


async def test_messages_from_an_earlier_release_are_read_from_their_frames() -> None:
    """Headers without the bookkeeping fields (a process not yet upgraded) still work."""
    recorder = Recorder()
    socket = participant(uuid.uuid4(), recorder)
    await socket._send_delta(
        Header(k="delta", ref="q1", run="r1", offset=0, kind="question", index=1),
        delta_frame("question", "q1", 1, 0, "Hello", "r1").decode(),
    )
    assert socket.stream_sent == 5
    await socket.send_event(
        Header(k="event", seq=1),
        msgspec.json.encode({"type": "question", "seq": 1, "question_id": "q1"}).decode(),
    )
    assert "q1" in socket.finished_refs
    await socket.send_event(Header(k="event", seq=2), '{"type":"interview.completed","seq":2}')
    assert socket.close_code == 1000


def test_event_headers_carry_what_sockets_need() -> None:
    from server.interviews.events import StoredEvent
    from server.interviews.live import event_header

    assert event_header(StoredEvent(seq=3, type="evaluation", payload={"answer_id": "a1"})) == Header(
        k="event", seq=3, type="evaluation", ref="a1"
    )
    assert event_header(StoredEvent(seq=4, type="answer", payload={"question_id": "q"})).ref == ""


async def test_seq_is_gap_free_under_concurrent_commits(interview_with_events: uuid.UUID) -> None:
    """Many transitions racing on one interview still number their events 1, 2, 3... once each."""
    from server.interviews.engine import PendingEvent, Transition
    from server.interviews.events import events_after

    def noop_event(locked: LockedInterview) -> Transition:
        return Transition(state=locked.state, events=[PendingEvent(type="test.ping", payload={})])

    await asyncio.gather(*(apply_transition(interview_with_events, noop_event) for _ in range(25)))
    events = await events_after(interview_with_events, 0)
    assert [event.seq for event in events] == list(range(1, 28))
