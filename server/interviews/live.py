"""Live fan-out of interview events to websockets, across processes.

One `LiveHub` per process subscribes once per interview channel (Litestar channels on Redis
pub/sub) and hands each message to the local participants of that interview. Every socket has
its own bounded queue and writer task, so a slow socket never slows the others: when its queue
is full it is closed with 1013 and the client resumes with `last_seq`.

Pub/sub is only a wake-up. Each participant tracks the last `seq` it sent; anything that arrives
out of order or after a gap is repaired from PostgreSQL before it is sent, and stream deltas
that do not line up with what the socket already has are replaced by a snapshot (offset 0) from
Redis, as the protocol allows.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec
from litestar.channels import Subscriber
from redis.asyncio import Redis

from server.accounts.revocation import REVOCATIONS_CHANNEL
from server.core.logging import get_logger
from server.core.pubsub import RedisCommand, ResilientChannelsPlugin
from server.interviews.events import StoredEvent, events_after

log = get_logger(__name__)

Role = Literal["candidate", "observer"]

REVOCATION_LISTENER_TASK = "interviewace-revocation-listener"  # one per process, for its lifetime
QUEUE_LIMIT = 512  # frames waiting for one socket before it counts as too slow (1013)
STREAM_TTL_SECONDS = 600
PRESENCE_TTL_SECONDS = 30


def interview_channel(interview_id: uuid.UUID) -> str:
    return f"interviewace:interview:{interview_id}"


def stream_key(interview_id: uuid.UUID) -> str:
    return f"interviewace:interview:{interview_id}:stream"


def presence_key(interview_id: uuid.UUID) -> str:
    return f"interviewace:interview:{interview_id}:presence"


def candidate_key(interview_id: uuid.UUID) -> str:
    return f"interviewace:interview:{interview_id}:candidate"


# ---- wire format between processes -----------------------------------------------------------
# `<header json>\n<frame json>`: the header is small and parsed once per process; the frame is
# serialised once by the publisher, decoded to text once per process and sent as-is to every
# socket that needs it unchanged. Everything a socket needs for its bookkeeping is in the header,
# so no socket ever parses a frame it only forwards.


class Header(msgspec.Struct, kw_only=True, omit_defaults=True):
    k: Literal["event", "delta", "presence", "note", "control"]
    seq: int = 0
    type: str = ""  # events: the event type
    ref: str = ""  # question_id or answer_id of a stream, or of a question/evaluation event
    run: str = ""
    offset: int = 0
    length: int = 0  # deltas: characters of text in the frame
    kind: str = ""  # "question" | "evaluation" for deltas
    index: int = 0
    action: str = ""  # control: "replace_candidate" | "drop_observers" | "close_all"
    socket: str = ""
    code: int = 0
    origin: str = ""  # the publishing process, which has already delivered to its own sockets


_header_decoder = msgspec.json.Decoder(Header)
_encoder = msgspec.json.Encoder()


def pack(header: Header, frame: bytes = b"{}") -> bytes:
    return _encoder.encode(header) + b"\n" + frame


def unpack(data: bytes) -> tuple[Header, bytes]:
    head, _, frame = data.partition(b"\n")
    return _header_decoder.decode(head), frame


def event_header(event: StoredEvent) -> Header:
    ref: Any = ""
    if event.type == "question":
        ref = event.payload.get("question_id", "")
    elif event.type == "evaluation":
        ref = event.payload.get("answer_id", "")
    return Header(k="event", seq=event.seq, type=event.type, ref=str(ref))


def event_message(event: StoredEvent) -> bytes:
    """An event as published to an interview channel (also by processes without a hub)."""
    return pack(event_header(event), event.frame_json())


def delta_frame(kind: str, ref: str, index: int, offset: int, text: str, run: str) -> bytes:
    if kind == "question":
        return _encoder.encode(
            {
                "type": "question.delta",
                "question_id": ref,
                "index": index,
                "offset": offset,
                "text": text,
                "run": run,
            }
        )
    return _encoder.encode(
        {"type": "evaluation.delta", "answer_id": ref, "offset": offset, "text": text, "run": run}
    )


class StreamSnapshot(msgspec.Struct, kw_only=True):
    kind: str
    ref: str
    run: str
    index: int
    text: str


# ---- one socket ---------------------------------------------------------------------------------


@dataclass(eq=False)
class Participant:
    """A connected socket as the hub sees it."""

    interview_id: uuid.UUID
    role: Role
    send_text: Callable[[str], Awaitable[None]]
    socket_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    user_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    invitation_id: uuid.UUID | None = None
    last_seq_sent: int = 0
    last_event_type: str = ""  # of the event with last_seq_sent ("" before any was sent here)
    close_code: int | None = None
    close_reason: str = ""
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    queue: asyncio.Queue[tuple[Header, str] | None] = field(
        default_factory=lambda: asyncio.Queue(maxsize=QUEUE_LIMIT)
    )
    stream_ref: str = ""
    stream_run: str = ""
    stream_sent: int = 0
    finished_refs: set[str] = field(default_factory=set)
    redis: Redis | None = None

    def request_close(self, code: int, reason: str = "") -> None:
        if self.close_code is None:
            self.close_code = code
            self.close_reason = reason
        self.closed.set()

    def offer(self, header: Header, frame: str) -> None:
        if self.close_code is not None:
            return
        if header.k == "note" and self.role != "observer":
            return
        try:
            self.queue.put_nowait((header, frame))
        except asyncio.QueueFull:
            log.info("socket_too_slow", socket_id=self.socket_id, interview_id=str(self.interview_id))
            self.request_close(1013, "too slow to keep up")

    def offer_frame(self, frame: bytes) -> None:
        """A frame for this socket only (pong, error, a re-sent answer), kept in order with the rest."""
        self.offer(Header(k="presence"), frame.decode())

    async def write_loop(self) -> None:
        """The only task that sends on this socket after the replay."""
        while self.close_code is None:
            item = await self.queue.get()
            if item is None:
                return
            header, frame = item
            if header.k == "event":
                await self.send_event(header, frame)
            elif header.k == "delta":
                await self._send_delta(header, frame)
            else:
                await self.send_text(frame)

    async def send_event(self, header: Header, frame: str) -> None:
        if not header.type:
            header = _header_from_frame(header, frame)
        if header.seq <= self.last_seq_sent:
            return  # already sent (replay overlapped with live, or a duplicate publish)
        if header.seq > self.last_seq_sent + 1:
            for missing in await events_after(
                self.interview_id, self.last_seq_sent, limit=header.seq - self.last_seq_sent - 1
            ):
                await self.send_stored(missing)
        await self.send_text(frame)
        self._after_event(header)

    async def send_stored(self, event: StoredEvent) -> None:
        """An event read from the database (replay on join, gap repair)."""
        if event.seq <= self.last_seq_sent:
            return
        await self.send_text(event.frame_json().decode())
        self._after_event(event_header(event))

    def _after_event(self, header: Header) -> None:
        self.last_seq_sent = header.seq
        self.last_event_type = header.type
        if header.type in ("question", "evaluation"):
            self.finished_refs.add(header.ref)
        elif header.type in ("interview.completed", "interview.abandoned"):
            self.request_close(1000, "interview over")

    async def _send_delta(self, header: Header, frame: str) -> None:
        if not header.length:
            header = _header_from_frame(header, frame)
        if header.ref in self.finished_refs:
            return
        same_run = header.ref == self.stream_ref and header.run == self.stream_run
        if not same_run and header.offset == 0:
            self.stream_ref, self.stream_run, self.stream_sent = header.ref, header.run, 0
            same_run = True
        if same_run and header.offset == self.stream_sent:
            await self.send_text(frame)
            self.stream_sent += header.length
            return
        if same_run and header.offset < self.stream_sent:
            overlap = self.stream_sent - header.offset
            if overlap < header.length:
                # Rare (a stream re-sent after a snapshot): only here is the frame parsed.
                text: str = msgspec.json.decode(frame)["text"]
                rest = text[overlap:]
                await self.send_text(
                    delta_frame(
                        header.kind, header.ref, header.index, self.stream_sent, rest, header.run
                    ).decode()
                )
                self.stream_sent += len(rest)
            return
        await self.send_snapshot()  # a gap: start this stream again from offset 0

    async def send_snapshot(self) -> None:
        """Send everything streamed so far as one delta at offset 0 (joining mid-stream, or after
        a gap in the deltas)."""
        snapshot = await read_snapshot(self.redis, self.interview_id) if self.redis is not None else None
        if snapshot is None or snapshot.ref in self.finished_refs or not snapshot.text:
            return
        await self.send_text(
            delta_frame(snapshot.kind, snapshot.ref, snapshot.index, 0, snapshot.text, snapshot.run).decode()
        )
        self.stream_ref, self.stream_run, self.stream_sent = snapshot.ref, snapshot.run, len(snapshot.text)


def _header_from_frame(header: Header, frame: str) -> Header:
    """A message from a process of an earlier release, whose headers lacked the bookkeeping
    fields: read them from the frame (deploys restart API processes one at a time)."""
    body = msgspec.json.decode(frame)
    if header.k == "delta":
        return msgspec.structs.replace(header, length=len(body.get("text", "")))
    ref = body.get("question_id") if body.get("type") == "question" else body.get("answer_id")
    return msgspec.structs.replace(header, type=str(body.get("type", "")), ref=str(ref or ""))


async def read_snapshot(redis: Redis, interview_id: uuid.UUID) -> StreamSnapshot | None:
    raw = await redis.hgetall(stream_key(interview_id))  # type: ignore[misc]
    if not raw or b"ref" not in raw:
        return None
    return StreamSnapshot(
        kind=raw[b"kind"].decode(),
        ref=raw[b"ref"].decode(),
        run=raw[b"run"].decode(),
        index=int(raw.get(b"index", b"0")),
        text=raw.get(b"text", b"").decode(),
    )


# ---- presence -------------------------------------------------------------------------------------

# Drops expired entries and counts the live ones in one step; returns whether the counts differ
# from the last ones published, so that only changes are announced.
_PRESENCE_SCRIPT = """
local now = tonumber(ARGV[1])
local entries = redis.call('HGETALL', KEYS[1])
local candidate, observers = 0, 0
for i = 1, #entries, 2 do
  local role, expiry = string.match(entries[i + 1], '^(%a+):(%d+)$')
  if expiry == nil or tonumber(expiry) < now then
    redis.call('HDEL', KEYS[1], entries[i])
  elseif role == 'candidate' then
    candidate = 1
  else
    observers = observers + 1
  end
end
local summary = candidate .. ':' .. observers
local previous = redis.call('GET', KEYS[2])
redis.call('SET', KEYS[2], summary, 'EX', 3600)
if previous == summary then return {0, candidate, observers} end
return {1, candidate, observers}
"""


PRESENCE_KEY_TTL_SECONDS = 3600


def presence_entry(role: Role) -> str:
    """A socket's value in its interview's presence hash: its role and when it expires (ms), as
    the presence script reads it."""
    return f"{role}:{int((time.time() + PRESENCE_TTL_SECONDS) * 1000)}"


class Presence(msgspec.Struct, kw_only=True):
    candidate_connected: bool
    observers: int


# ---- the hub -----------------------------------------------------------------------------------------


@dataclass(eq=False)
class Room:
    interview_id: uuid.UUID
    channel: str
    listener: Callable[[bytes], None]
    participants: set[Participant] = field(default_factory=set)


class LiveHub:
    def __init__(self, channels: ResilientChannelsPlugin, redis: Redis) -> None:
        self.channels = channels
        # Messages may have been lost during a Redis outage: every socket resumes from the database.
        channels.on_outage(self._restart_all)
        self.redis = redis
        self.rooms: dict[uuid.UUID, Room] = {}
        self.process_id = uuid.uuid4().hex
        self._lock = asyncio.Lock()
        self._presence_script = redis.register_script(_PRESENCE_SCRIPT)
        self._checks: set[asyncio.Task[None]] = set()
        self._revocations: Subscriber | None = None
        self._announced_at: dict[uuid.UUID, float] = {}
        self._revocation_task: asyncio.Task[None] | None = None

    def _restart_all(self) -> None:
        for participant in self.participants:
            participant.request_close(1012, "server restarting: reconnect with last_seq")

    @property
    def participants(self) -> list[Participant]:
        return [p for room in self.rooms.values() for p in room.participants]

    async def attach(self, participant: Participant) -> None:
        participant.redis = self.redis
        async with self._lock:
            await self._ensure_revocation_listener()
            room = self.rooms.get(participant.interview_id)
            if room is None:
                interview_id = participant.interview_id
                room = Room(
                    interview_id=interview_id,
                    channel=interview_channel(interview_id),
                    listener=lambda data: self._on_message(interview_id, data),
                )
                # In the map before the subscription is confirmed: nothing published from now on
                # (locally or by another process) can miss this participant.
                self.rooms[interview_id] = room
                room.participants.add(participant)
                try:
                    await self.channels.listen(room.channel, room.listener)
                except BaseException:
                    del self.rooms[interview_id]
                    raise
                return
            room.participants.add(participant)

    async def detach(self, participant: Participant) -> None:
        async with self._lock:
            room = self.rooms.get(participant.interview_id)
            if room is None:
                return
            room.participants.discard(participant)
            if not room.participants:
                del self.rooms[participant.interview_id]
                await self.channels.stop_listening(room.channel, room.listener)

    def _on_message(self, interview_id: uuid.UUID, data: bytes) -> None:
        """Called by the channels plugin's receiving task for each message of a room's channel."""
        room = self.rooms.get(interview_id)
        if room is None:
            return
        try:
            header, frame = unpack(data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            log.warning("bad_interview_message", interview_id=str(interview_id))
            return
        if header.origin != self.process_id:  # our own were delivered when they were published
            self._deliver(room, header, frame)

    def _deliver(self, room: Room, header: Header, frame: bytes) -> None:
        if header.k == "control":
            self._apply_control(room, header)
            return
        text = frame.decode()
        for participant in list(room.participants):
            participant.offer(header, text)

    def _apply_control(self, room: Room, header: Header) -> None:
        """Control messages are hints: one retried after a Redis outage may arrive late, so
        whoever would be closed is checked against the source of truth first."""
        for participant in list(room.participants):
            if header.action == "replace_candidate":
                if participant.role == "candidate" and participant.socket_id != header.socket:
                    self._spawn(self._close_if_replaced(participant))
            elif header.action == "drop_observers":
                if participant.invitation_id is not None:
                    self._spawn(self._close_if_invitation_revoked(participant))
            elif header.action == "close_all":
                participant.request_close(header.code or 1000, "closed")

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._checks.add(task)
        task.add_done_callback(self._checks.discard)

    async def _close_if_replaced(self, participant: Participant) -> None:
        current = await self.redis.get(candidate_key(participant.interview_id))
        if current is not None and current.decode() != participant.socket_id:
            participant.request_close(4409, "replaced by a newer connection")

    async def _close_if_invitation_revoked(self, participant: Participant) -> None:
        from server.interviews.observers import invitation_is_live

        if participant.invitation_id is not None and not await invitation_is_live(participant.invitation_id):
            participant.request_close(4401, "observer invitations revoked")

    # ---- revocations: tokens that stop being valid close their sockets on every process ------

    async def _ensure_revocation_listener(self) -> None:
        if self._revocations is not None:
            return
        self._revocations = await self.channels.subscribe(REVOCATIONS_CHANNEL)
        self._revocation_task = asyncio.create_task(
            self._listen_revocations(self._revocations), name=REVOCATION_LISTENER_TASK
        )

    async def _listen_revocations(self, subscriber: Subscriber) -> None:
        async for data in subscriber.iter_events():
            try:
                message = msgspec.json.decode(data)
                user_id = uuid.UUID(message["user_id"])
                session = message.get("session_id")
                session_id = uuid.UUID(session) if session else None
            except (msgspec.DecodeError, KeyError, ValueError, TypeError):
                log.warning("bad_revocation_message")
                continue
            for participant in self.participants:
                if participant.user_id == user_id and (
                    session_id is None or participant.session_id == session_id
                ):
                    participant.request_close(4401, "token no longer valid")

    async def close(self) -> None:
        for participant in self.participants:
            participant.request_close(1012, "server restarting")
        if self._revocation_task is not None:
            self._revocation_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._revocation_task
        if self._revocations is not None:
            with contextlib.suppress(Exception):
                await self.channels.unsubscribe(self._revocations)

    # ---- publishing -----------------------------------------------------------------------------

    def publish(
        self,
        interview_id: uuid.UUID,
        header: Header,
        frame: bytes = b"{}",
        *,
        after: Sequence[RedisCommand] = (),
    ) -> None:
        """Deliver to this process's sockets now and to the other processes through Redis.

        `after` are Redis commands to run just before the message is published, on the same
        ordered path (the stream snapshot), so that whoever receives the message can already
        read their effect."""
        room = self.rooms.get(interview_id)
        if room is not None:
            self._deliver(room, header, frame)
        header.origin = self.process_id
        self.channels.publish_after(after, pack(header, frame), interview_channel(interview_id))

    def run_in_order(self, interview_id: uuid.UUID, commands: Sequence[RedisCommand]) -> None:
        """Redis commands queued behind everything this process has published for the interview."""
        self.channels.publish_after(commands, None, interview_channel(interview_id))

    def publish_events(self, interview_id: uuid.UUID, events: list[StoredEvent]) -> None:
        for event in events:
            self.publish(interview_id, event_header(event), event.frame_json())

    def publish_control(
        self, interview_id: uuid.UUID, action: str, *, socket: str = "", code: int = 0
    ) -> None:
        self.publish(interview_id, Header(k="control", action=action, socket=socket, code=code))

    # ---- presence -------------------------------------------------------------------------------

    async def mark_present(self, participant: Participant) -> None:
        key = presence_key(participant.interview_id)
        await self.redis.hset(key, participant.socket_id, presence_entry(participant.role))  # type: ignore[misc]
        await self.redis.expire(key, PRESENCE_KEY_TTL_SECONDS)

    async def mark_absent(self, participant: Participant) -> None:
        await self.redis.hdel(presence_key(participant.interview_id), participant.socket_id)  # type: ignore[misc]

    async def refresh_presence(self, interview_id: uuid.UUID, every: float) -> None:
        """Periodic sweep of an interview's presence (entries of sockets whose process died
        expire): one per interview per process each `every` seconds, however many of its
        sockets this process holds."""
        now = time.monotonic()
        if now - self._announced_at.get(interview_id, -every) < every:
            return
        self._announced_at[interview_id] = now
        if len(self._announced_at) > 4 * len(self.rooms) + 64:
            self._announced_at = {key: at for key, at in self._announced_at.items() if key in self.rooms}
        await self.announce_presence(interview_id)

    async def announce_presence(self, interview_id: uuid.UUID, *, always: bool = False) -> Presence:
        changed, candidate, observers = await self._presence_script(
            keys=[presence_key(interview_id), presence_key(interview_id) + ":last"],
            args=[int(time.time() * 1000)],
        )
        presence = Presence(candidate_connected=bool(candidate), observers=int(observers))
        if changed or always:
            frame = _encoder.encode({"type": "presence", **msgspec.to_builtins(presence)})
            self.publish(interview_id, Header(k="presence"), frame)
        return presence
