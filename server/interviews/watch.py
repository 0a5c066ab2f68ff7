"""The periodic checks of every live socket of a process, done together.

Each socket needs, now and then: an idle timeout, a re-check that its token or invitation is still
in force, a refresh of its presence entries, and (for candidates) a check that it has not been
replaced and that the interview's pending work is running somewhere. Done by a task per socket,
at 3,000 sockets that was thousands of wake-ups and Redis round trips a second; here one task per
process wakes every second and sends everything due in one pipelined round trip.

Token changes, replacements and revoked invitations are also pushed (the hub closes sockets at
once); these checks are the backstop for a push that was lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.accounts.admin_stats import LIVE_SOCKETS_KEY, live_socket_score
from server.accounts.auth import AuthUser, token_still_in_force
from server.accounts.revocation import read_revocation_state, revocation_keys
from server.core.logging import get_logger
from server.core.settings import Settings
from server.interviews.live import (
    PRESENCE_KEY_TTL_SECONDS,
    LiveHub,
    Participant,
    candidate_key,
    presence_entry,
    presence_key,
)
from server.interviews.observers import live_invitations
from server.interviews.runner import InterviewRunner, lease_key

log = get_logger(__name__)

WATCH_INTERVAL_SECONDS = 1.0
VALIDITY_CHECK_SECONDS = 3.0
# Revoking invitations is pushed to every process (the hub's `drop_observers`); the database is
# read again only this often, as a backstop, since every observer socket would otherwise query it.
INVITATION_RECHECK_SECONDS = 30.0
PRESENCE_REFRESH_SECONDS = 10.0
PROGRESS_CHECK_SECONDS = 2.0
USER_SOCKETS_TTL_SECONDS = 60
# After these events the next move is the candidate's (or nobody's): no server work can be pending.
CANDIDATES_TURN = frozenset({"question", "interview.completed", "interview.abandoned"})


@dataclass(eq=False)
class Watched:
    """One socket as the watch sees it; its connection updates `last_frame_at`."""

    participant: Participant
    user: AuthUser | None
    invitation_expires: float | None  # epoch seconds
    user_sockets_key: str | None
    last_frame_at: float  # monotonic
    next_validity: float = 0.0
    next_invitation_check: float = 0.0
    next_presence: float = 0.0
    next_progress: float = 0.0

    def __post_init__(self) -> None:
        # Each socket's checks fall due at its own phase (its join time), so a tick carries a
        # share of the sockets rather than all of them at once.
        now = time.monotonic()
        self.next_validity = now + VALIDITY_CHECK_SECONDS
        self.next_invitation_check = now + INVITATION_RECHECK_SECONDS
        self.next_presence = now + PRESENCE_REFRESH_SECONDS
        self.next_progress = now + PROGRESS_CHECK_SECONDS


Reader = Callable[[Any], None]
Queued = tuple[str, tuple[Any, ...], Reader | None]  # a Redis command for the tick's pipeline


class SocketWatch:
    def __init__(self, hub: LiveHub, runner: InterviewRunner, redis: Redis, settings: Settings) -> None:
        self.hub = hub
        self.runner = runner
        self.redis = redis
        self.settings = settings
        self.sockets: set[Watched] = set()
        self._task: asyncio.Task[None] | None = None
        self._spawned: set[asyncio.Task[None]] = set()

    def add(self, watched: Watched) -> None:
        self.sockets.add(watched)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="interviewace-socket-watch")

    def discard(self, watched: Watched) -> None:
        self.sockets.discard(watched)

    async def close(self) -> None:
        for task in [self._task, *self._spawned]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(WATCH_INTERVAL_SECONDS)
            try:
                await self.tick()
            except RedisError as exc:
                # Checks fall due again at the next tick; a Redis that stays away is reported by the
                # channels plugin, which closes every socket with 1012.
                log.warning("socket_watch_redis_failed", error=type(exc).__name__)
            except Exception:
                log.exception("socket_watch_failed")

    async def tick(self) -> None:
        now = time.monotonic()
        idle_limit = self.settings.ws_idle_timeout_seconds
        commands: list[Queued] = []
        invitations_due: list[Watched] = []
        interviews_to_sweep: set[uuid.UUID] = set()
        for watched in list(self.sockets):
            participant = watched.participant
            if participant.close_code is not None:
                continue
            if now - watched.last_frame_at > idle_limit:
                participant.request_close(4408, "idle timeout")
                continue
            if now >= watched.next_validity:
                watched.next_validity = now + VALIDITY_CHECK_SECONDS
                self._check_validity(watched, now, commands, invitations_due)
            if now >= watched.next_presence:
                watched.next_presence = now + PRESENCE_REFRESH_SECONDS
                self._refresh_presence(watched, commands)
                interviews_to_sweep.add(participant.interview_id)
            if participant.role == "candidate" and now >= watched.next_progress:
                watched.next_progress = now + PROGRESS_CHECK_SECONDS
                self._check_progress(watched, commands)
        if commands:
            async with self.redis.pipeline(transaction=False) as pipe:
                for name, args, _ in commands:
                    getattr(pipe, name)(*args)
                results = await pipe.execute()
            for (_, _, reader), result in zip(commands, results, strict=True):
                if reader is not None:
                    reader(result)
        if invitations_due:
            live = await live_invitations([w.participant.invitation_id for w in invitations_due])
            for watched in invitations_due:
                if watched.participant.invitation_id not in live:
                    watched.participant.request_close(4401, "observer invitation no longer valid")
        for interview_id in interviews_to_sweep:
            await self.hub.refresh_presence(interview_id, PRESENCE_REFRESH_SECONDS / 2)

    # ---- what each check adds to the tick's pipeline -------------------------------------------

    def _check_validity(
        self,
        watched: Watched,
        now: float,
        commands: list[Queued],
        invitations_due: list[Watched],
    ) -> None:
        participant = watched.participant
        user = watched.user
        if user is not None:
            keys = revocation_keys(jti=user.jti, session_id=user.session_id, user_id=user.id)

            def read(values: Any) -> None:
                if not token_still_in_force(user, read_revocation_state(values)):
                    participant.request_close(4401, "token no longer valid")

            commands.append(("mget", (keys,), read))
            return
        if watched.invitation_expires is not None and time.time() >= watched.invitation_expires:
            participant.request_close(4401, "observer invitation expired")
            return
        if participant.invitation_id is not None and now >= watched.next_invitation_check:
            watched.next_invitation_check = now + INVITATION_RECHECK_SECONDS
            invitations_due.append(watched)

    def _refresh_presence(self, watched: Watched, commands: list[Queued]) -> None:
        participant = watched.participant
        key = presence_key(participant.interview_id)
        commands.append(("hset", (key, participant.socket_id, presence_entry(participant.role)), None))
        commands.append(("expire", (key, PRESENCE_KEY_TTL_SECONDS), None))
        commands.append(("zadd", (LIVE_SOCKETS_KEY, {participant.socket_id: live_socket_score()}), None))
        if watched.user_sockets_key:
            claim = {participant.socket_id: time.time() + USER_SOCKETS_TTL_SECONDS}
            commands.append(("zadd", (watched.user_sockets_key, claim), None))

    def _check_progress(self, watched: Watched, commands: list[Queued]) -> None:
        participant = watched.participant

        def read_candidate(current: bytes | None) -> None:
            if current is not None and current.decode() != participant.socket_id:
                participant.request_close(4409, "replaced by a newer connection")

        commands.append(("get", (candidate_key(participant.interview_id),), read_candidate))
        if participant.last_event_type in CANDIDATES_TURN:
            # Nothing can be pending on the server's side until this socket sees a new event (the
            # common case: a candidate thinking), so only the replacement check is needed.
            return

        def read_lease(leased: int) -> None:
            if not leased and participant.close_code is None:
                self._spawn(self.runner.ensure_progress(participant.interview_id, lease_checked=True))

        commands.append(("exists", (lease_key(participant.interview_id),), read_lease))

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        async def logged() -> None:
            try:
                await coroutine
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("interview_takeover_failed")

        task = asyncio.create_task(logged())
        self._spawned.add(task)
        task.add_done_callback(self._spawned.discard)
