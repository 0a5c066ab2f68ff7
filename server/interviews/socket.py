"""The live interview websocket: `GET /ws/interviews/{interview_id}` (websocket.md, protocol 1).

This module is transport only: it authenticates the `hello`, enforces the protocol's limits,
turns client frames into engine commands and hands everything else to the hub and the runner.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, cast

import asyncpg
import msgspec
from litestar import WebSocket, websocket
from litestar.di import NamedDependency
from litestar.exceptions import WebSocketDisconnect
from litestar.params import FromPath
from litestar.types import Send
from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.accounts.admin_stats import (
    forget_socket,
    mark_socket_live,
)
from server.accounts.auth import AuthUser, InvalidToken, authenticate_token
from server.core.logging import get_logger
from server.core.middleware import REQUEST_ID_HEADER, SERVER_SEND_SCOPE_KEY
from server.core.pubsub import ResilientChannelsPlugin
from server.core.settings import Settings
from server.interviews.engine import EngineError, InterviewEngine
from server.interviews.events import (
    InterviewGone,
    LockedInterview,
    answer_event_by_client_id,
    commit_transition,
    events_after,
)
from server.interviews.live import (
    Header,
    LiveHub,
    Participant,
    Role,
    candidate_key,
)
from server.interviews.notes import add_note, list_notes
from server.interviews.observers import find_invitation, looks_like_invitation
from server.interviews.runner import InterviewRunner
from server.interviews.service import interview_view, load_interview_row
from server.interviews.watch import USER_SOCKETS_TTL_SECONDS, SocketWatch, Watched
from server.llm.chain import ProviderChain
from server.questions.bank import get_bank

log = get_logger(__name__)

PROTOCOL_VERSION = 1
MAX_FRAME_BYTES = 64 * 1024
FRAMES_PER_SECOND = 20.0
FRAME_BURST = 40.0
MAX_SOCKETS_PER_USER = 10

ClientId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class Hello(msgspec.Struct, tag="hello"):
    token: str | None = None
    last_seq: Annotated[int, msgspec.Meta(ge=0)] = 0


class Start(msgspec.Struct, tag="start"):
    """No fields: the frame's type is the whole command."""


class AnswerFrame(msgspec.Struct, tag="answer"):
    client_id: ClientId
    question_id: uuid.UUID
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=10_000)]


class End(msgspec.Struct, tag="end"):
    """No fields: the frame's type is the whole command."""


class Ping(msgspec.Struct, tag="ping"):
    nonce: Any = None


class NoteFrame(msgspec.Struct, tag="note"):
    client_id: ClientId
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=2_000)]
    about_seq: Annotated[int, msgspec.Meta(ge=1)] | None = None


ClientFrame = Hello | Start | AnswerFrame | End | Ping | NoteFrame
_frame_decoder = msgspec.json.Decoder(ClientFrame)
_encoder = msgspec.json.Encoder()
CANDIDATE_ONLY = (Start, AnswerFrame, End)

# Keeps at most MAX_SOCKETS_PER_USER live entries per user, atomically across processes.
_CLAIM_SOCKET = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


class LiveInterviews:
    """Per-process services of the live channel, created in the app's lifespan."""

    def __init__(self, hub: LiveHub, runner: InterviewRunner, redis: Redis, settings: Settings) -> None:
        self.hub = hub
        self.runner = runner
        self.redis = redis
        self.settings = settings
        self.claim_socket = redis.register_script(_CLAIM_SOCKET)
        self.watch = SocketWatch(hub, runner, redis, settings)

    async def close(self) -> None:
        await self.watch.close()
        await self.runner.close()
        await self.hub.close()


def build_live_interviews(
    channels: ResilientChannelsPlugin, redis: Redis, chain: ProviderChain, settings: Settings
) -> LiveInterviews:
    hub = LiveHub(channels, redis)
    runner = InterviewRunner(hub, redis, chain, get_bank(), lease_seconds=settings.interview_lease_seconds)
    return LiveInterviews(hub, runner, redis, settings)


class CloseSocket(Exception):
    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def error_frame(code: str, message: str, ref: str | None = None) -> bytes:
    return _encoder.encode({"type": "error", "code": code, "message": message, "ref": ref})


def _origin_allowed(socket: WebSocket[Any, Any, Any], settings: Settings) -> bool:
    origin = socket.headers.get("origin")
    if origin is None:
        return True  # scripts and native clients send none; browsers always do
    if "*" in settings.allowed_origins or origin in settings.allowed_origins:
        return True
    # Our own pages, wherever we are served (another port, a proxy's host name): a foreign site
    # cannot make a browser send our host as its origin.
    scheme, _, netloc = origin.partition("://")
    return scheme in ("http", "https") and netloc == socket.headers.get("host", "")


def _bearer(socket: WebSocket[Any, Any, Any]) -> str | None:
    header = socket.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


class Connection:
    """One participant's socket from hello to close."""

    def __init__(self, socket: WebSocket[Any, Any, Any], live: LiveInterviews, interview_id: str) -> None:
        self.socket = socket
        self.live = live
        self.raw_interview_id = interview_id
        self.participant: Participant | None = None
        self.user: AuthUser | None = None
        self.author = "Observer"
        self.invitation_expires: float | None = None
        self.watched: Watched | None = None
        self.tokens = FRAME_BURST
        self.tokens_at = time.monotonic()
        self.user_sockets_key: str | None = None

    # ---- lifecycle ------------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            await self._serve()
        except CloseSocket as close:
            await self._close(close.code, close.reason)
        except (WebSocketDisconnect, OSError):
            pass  # the client went away (uvicorn raises an OSError when sending to a closed socket)
        except RedisError as exc:
            # Redis (or the network to it) failed under this socket: the client should reconnect
            # and resume from the database, as after a restart.
            log.warning(
                "websocket_dependency_failed", error=type(exc).__name__, interview_id=self.raw_interview_id
            )
            await self._close(1012, "server restarting: reconnect with last_seq")
        except Exception:
            log.exception("websocket_failed", interview_id=self.raw_interview_id)
            await self._close(1011, "server error")
        finally:
            await self._cleanup()

    async def _close(self, code: int, reason: str = "") -> None:
        with contextlib.suppress(Exception):
            await self.socket.close(code=code, reason=reason[:120])

    async def _serve(self) -> None:
        hello = await self._receive_hello()
        participant, row = await self._admit(hello)
        self.participant = participant
        hub = self.live.hub
        await hub.attach(participant)  # subscribe before reading the database: nothing falls between
        if participant.role == "candidate":
            await self.live.redis.set(candidate_key(participant.interview_id), participant.socket_id, ex=3600)
            hub.publish_control(participant.interview_id, "replace_candidate", socket=participant.socket_id)
        await hub.mark_present(participant)
        await mark_socket_live(self.live.redis, participant.socket_id)

        await self.socket.send_text(
            _encoder.encode(
                {
                    "type": "welcome",
                    "role": participant.role,
                    "interview": interview_view(row),
                    "last_seq": row["last_seq"],
                    "protocol": PROTOCOL_VERSION,
                }
            ).decode()
        )
        participant.last_seq_sent = min(hello.last_seq, row["last_seq"])
        for event in await events_after(participant.interview_id, participant.last_seq_sent):
            await participant.send_stored(event)
        if participant.close_code is None:
            await participant.send_snapshot()
            if participant.role == "observer":
                for note in await list_notes(participant.interview_id):
                    await self.socket.send_text(
                        _encoder.encode({"type": "note", **msgspec.to_builtins(note)}).decode()
                    )
        await hub.announce_presence(participant.interview_id, always=True)
        if participant.close_code is not None:
            raise CloseSocket(participant.close_code, participant.close_reason)
        if participant.role == "candidate":
            await self.live.runner.ensure_progress(participant.interview_id)

        self.watched = Watched(
            participant=participant,
            user=self.user,
            invitation_expires=self.invitation_expires,
            user_sockets_key=self.user_sockets_key,
            last_frame_at=time.monotonic(),
        )
        self.live.watch.add(self.watched)
        tasks = {
            asyncio.create_task(self._receive_loop(), name="receive"),
            asyncio.create_task(participant.write_loop(), name="write"),
            asyncio.create_task(participant.closed.wait(), name="closed"),
        }
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, Exception):
                    await task
        for task in done:
            if (
                not task.cancelled()
                and task.exception() is not None
                and not isinstance(task.exception(), WebSocketDisconnect)
            ):
                raise task.exception()  # type: ignore[misc]
        if participant.close_code is not None:
            raise CloseSocket(participant.close_code, participant.close_reason)

    async def _cleanup(self) -> None:
        participant = self.participant
        if participant is None:
            return
        hub = self.live.hub
        if self.watched is not None:
            self.live.watch.discard(self.watched)
        with contextlib.suppress(Exception):
            await hub.detach(participant)
            await hub.mark_absent(participant)
            await forget_socket(self.live.redis, participant.socket_id)
            if self.user_sockets_key:
                await self.live.redis.zrem(self.user_sockets_key, participant.socket_id)
            if participant.role == "candidate":
                # Only the current candidate socket clears the marker; a replaced one leaves it.
                current = await self.live.redis.get(candidate_key(participant.interview_id))
                if current is not None and current.decode() == participant.socket_id:
                    await self.live.redis.delete(candidate_key(participant.interview_id))
            await hub.announce_presence(participant.interview_id)

    # ---- joining --------------------------------------------------------------------------------

    async def _receive_hello(self) -> Hello:
        try:
            message = await asyncio.wait_for(
                self.socket.receive(), self.live.settings.ws_hello_timeout_seconds
            )
        except TimeoutError:
            raise CloseSocket(4401, "no hello in time") from None
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(detail="disconnected")
        text = message.get("text")
        if not isinstance(text, str) or len(text) > MAX_FRAME_BYTES:
            raise CloseSocket(4401, "the first frame must be hello")
        try:
            frame = _frame_decoder.decode(text)
        except msgspec.DecodeError:
            raise CloseSocket(4401, "the first frame must be hello") from None
        if not isinstance(frame, Hello):
            raise CloseSocket(4401, "the first frame must be hello")
        return frame

    async def _admit(self, hello: Hello) -> tuple[Participant, Any]:
        token = hello.token or _bearer(self.socket)
        if not token:
            raise CloseSocket(4401, "no token")
        try:
            interview_id = uuid.UUID(self.raw_interview_id)
        except ValueError:
            raise CloseSocket(4404, "interview not found") from None

        role: Role
        invitation_id: uuid.UUID | None = None
        if looks_like_invitation(token):
            invitation = await find_invitation(token)
            if invitation is None:
                raise CloseSocket(4401, "invalid or expired invitation")
            if invitation.interview_id != interview_id:
                raise CloseSocket(4403, "the invitation is for another interview")
            role, invitation_id = "observer", invitation.id
            self.invitation_expires = invitation.expires_at.timestamp()
        else:
            try:
                self.user = await authenticate_token(
                    token, settings=self.live.settings, redis=self.live.redis
                )
            except InvalidToken:
                raise CloseSocket(4401, "invalid token") from None
        row = await load_interview_row(interview_id)
        if row is None or row["deleted_at"] is not None:
            raise CloseSocket(4404, "interview not found")
        if self.user is not None:
            if row["owner"] == self.user.id:
                role = "candidate"
            elif self.user.role in ("moderator", "admin"):
                role = "observer"
            else:
                raise CloseSocket(4403, "not allowed to join this interview")
            self.author = self.user.full_name or self.user.email
        participant = Participant(
            interview_id=interview_id,
            role=role,
            send_text=self._frame_sender(),
            user_id=self.user.id if self.user else None,
            session_id=self.user.session_id if self.user else None,
            invitation_id=invitation_id,
        )
        await self._claim_socket_slot(participant)
        return participant, row

    def _frame_sender(self) -> Callable[[str], Awaitable[None]]:
        """How the participant sends frames once the socket is open. Straight to the server when
        the outermost middleware handed us its `send`: the framework's wrappers around it (state
        checks, exception bookkeeping for HTTP responses) cost ~5 % of a busy process's CPU at
        one call per frame per socket, and do nothing for an open socket's text frames."""
        server_send = cast("Send | None", self.socket.scope.get(SERVER_SEND_SCOPE_KEY))
        if server_send is None:
            return self.socket.send_text

        async def send_text(text: str) -> None:
            await server_send({"type": "websocket.send", "bytes": None, "text": text})

        return send_text

    async def _claim_socket_slot(self, participant: Participant) -> None:
        owner = participant.user_id or participant.invitation_id
        self.user_sockets_key = f"interviewace:sockets:{owner}"
        now = time.time()
        claimed = await self.live.claim_socket(
            keys=[self.user_sockets_key],
            args=[
                now,
                now + USER_SOCKETS_TTL_SECONDS,
                participant.socket_id,
                MAX_SOCKETS_PER_USER,
                USER_SOCKETS_TTL_SECONDS,
            ],
        )
        if not claimed:
            self.user_sockets_key = None
            raise CloseSocket(4429, "too many open sockets")

    # ---- receiving ------------------------------------------------------------------------------

    def _within_rate(self) -> bool:
        now = time.monotonic()
        self.tokens = min(FRAME_BURST, self.tokens + (now - self.tokens_at) * FRAMES_PER_SECOND)
        self.tokens_at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    async def _receive_loop(self) -> None:
        participant = self.participant
        assert participant is not None
        while True:
            message = await self.socket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if self.watched is not None:
                self.watched.last_frame_at = time.monotonic()
            if not self._within_rate():
                participant.request_close(4429, "too many frames")
                return
            text = message.get("text")
            if not isinstance(text, str):
                participant.offer_frame(error_frame("bad_frame", "binary frames are not accepted"))
                continue
            if len(text.encode()) > MAX_FRAME_BYTES:
                participant.request_close(1009, "frame too large")
                return
            await self._handle(text)

    async def _handle(self, text: str) -> None:
        participant = self.participant
        assert participant is not None
        try:
            frame = _frame_decoder.decode(text)
        except msgspec.ValidationError as exc:
            participant.offer_frame(error_frame("bad_frame", str(exc), _client_id_of(text)))
            return
        except msgspec.DecodeError:
            participant.offer_frame(error_frame("bad_frame", "frames must be JSON objects"))
            return
        if isinstance(frame, CANDIDATE_ONLY) and participant.role != "candidate":
            participant.offer_frame(
                error_frame("forbidden", "observers cannot send this frame", _client_id_of(text))
            )
            return
        if isinstance(frame, NoteFrame) and participant.role != "observer":
            participant.offer_frame(
                error_frame("forbidden", "only observers can send notes", frame.client_id)
            )
            return
        if isinstance(frame, Ping):
            participant.offer_frame(_encoder.encode({"type": "pong", "nonce": frame.nonce}))
        elif isinstance(frame, Hello):
            participant.offer_frame(error_frame("bad_frame", "hello is only the first frame"))
        elif isinstance(frame, Start):
            await self._command(lambda engine, locked: engine.start(locked.state, now=_now()), None)
        elif isinstance(frame, End):
            notes = await list_notes(participant.interview_id)
            await self._command(
                lambda engine, locked: engine.end(locked.state, now=_now(), notes=notes), None
            )
        elif isinstance(frame, AnswerFrame):
            await self._answer(frame)
        elif isinstance(frame, NoteFrame):
            await self._note(frame)

    async def _command(
        self, decide: Any, ref: str | None, *, before_refusing: Callable[[], Awaitable[bool]] | None = None
    ) -> bool:
        participant = self.participant
        assert participant is not None
        bank = get_bank()

        def with_engine(locked: LockedInterview) -> Any:
            if locked.deleted:
                raise EngineError("interview_deleted", "the interview was deleted")
            return decide(InterviewEngine(locked.plan, bank), locked)

        try:
            runner = self.live.runner
            after, events = await commit_transition(
                participant.interview_id, with_engine, known=runner.recent(participant.interview_id)
            )
            runner.remember(after)
        except EngineError as exc:
            if before_refusing is None or not await before_refusing():
                participant.offer_frame(error_frame(exc.code, exc.message, ref))
            return False
        except InterviewGone:
            participant.request_close(4404, "interview not found")
            return False
        self.live.hub.publish_events(participant.interview_id, events)
        await self.live.runner.ensure_progress(participant.interview_id, after.state)
        return True

    async def _answer(self, frame: AnswerFrame) -> None:
        participant = self.participant
        assert participant is not None

        async def resend_if_recorded() -> bool:
            # A client re-sending an answer it is unsure about gets the stored event back. Only
            # looked up when the answer cannot be recorded as new: the common case costs nothing.
            stored = await answer_event_by_client_id(participant.interview_id, frame.client_id)
            if stored is not None:
                participant.offer_frame(stored.frame_json())
            return stored is not None

        answer_id = uuid.uuid4()
        try:
            await self._command(
                lambda engine, locked: engine.record_answer(
                    locked.state,
                    question_id=frame.question_id,
                    client_id=frame.client_id,
                    text=frame.text,
                    answer_id=answer_id,
                    now=_now(),
                ),
                frame.client_id,
                before_refusing=resend_if_recorded,
            )
        except asyncpg.UniqueViolationError as exc:
            # The client_id was used before (or two sockets raced with it): the unique index kept
            # one answer.
            if exc.constraint_name != "interview_events_client_id":
                raise
            await resend_if_recorded()

    async def _note(self, frame: NoteFrame) -> None:
        participant = self.participant
        assert participant is not None
        note, created = await add_note(
            participant.interview_id,
            client_id=frame.client_id,
            author=self.author,
            text=frame.text,
            about_seq=frame.about_seq,
            author_user_id=participant.user_id,
            invitation_id=participant.invitation_id,
        )
        payload = _encoder.encode({"type": "note", **msgspec.to_builtins(note)})
        if created:
            self.live.hub.publish(participant.interview_id, Header(k="note"), payload)
        else:
            participant.offer_frame(payload)


def _now() -> datetime:
    return datetime.now(UTC)


def _client_id_of(text: str) -> str | None:
    try:
        value = msgspec.json.decode(text)
    except msgspec.DecodeError:
        return None
    client_id = value.get("client_id") if isinstance(value, dict) else None
    return client_id if isinstance(client_id, str) else None


@websocket(
    "/ws/interviews/{interview_id:str}",
    name="interview-socket",
    opt={"exclude_from_auth": True, "skip_rate_limit": True},
)
async def interview_socket(
    socket: WebSocket[Any, Any, Any],
    interview_id: FromPath[str],
    live: NamedDependency[LiveInterviews],
    settings: NamedDependency[Settings],
) -> None:
    if not _origin_allowed(socket, settings):
        # Refused before accepting: the client sees HTTP 403 (cross-site websocket hijacking).
        await socket.close(code=4403)
        return
    request_id = socket.scope.get("state", {}).get("request_id")
    await socket.accept(headers={REQUEST_ID_HEADER: request_id} if request_id else None)
    await Connection(socket, live, interview_id).run()
