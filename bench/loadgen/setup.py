"""Creating the interviews a websocket scenario drives: real ones through the REST API on
InterviewAce, made-up ids on the ceiling server (which accepts any token)."""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Sequence
from functools import partial

import httpx

from bench.loadgen.api import SETUP_CONCURRENCY, Api, ApiFailure, User, bounded
from bench.loadgen.peers import Slot

TRACKS = ("backend", "system_design", "data_engineering", "devops_sre", "frontend")
SOCKETS_PER_TOKEN = 10  # the server's cap on live sockets per account or per invitation
TRANSCRIPT_CONCURRENCY = 8


async def interviewace_slots(
    api: Api,
    ws_url: str,
    users: Sequence[User],
    count: int,
    observers: int,
    question_count: int,
    *,
    candidate_sockets: bool = True,
) -> list[Slot]:
    """`count` new interviews owned round-robin by `users`, each with enough observer
    invitations for `observers` sockets."""
    if candidate_sockets and len(users) * SOCKETS_PER_TOKEN < count:
        raise ValueError(f"{len(users)} accounts cannot hold {count} candidate sockets")
    invitations = math.ceil(observers / SOCKETS_PER_TOKEN) if observers else 0

    async def make(number: int) -> Slot:
        owner = users[number % len(users)]
        interview = await api.create_interview(
            owner.token,
            track=TRACKS[number % len(TRACKS)],
            question_count=question_count,
            difficulty=2 + number % 3,
        )
        tokens = [await api.invite_observer(owner.token, interview["id"]) for _ in range(invitations)]
        return Slot(
            index=number,
            interview_id=interview["id"],
            ws_url=ws_url,
            candidate_token=owner.token,
            observer_tokens=tuple(tokens[i // SOCKETS_PER_TOKEN] for i in range(observers)),
            owner_token=owner.token,
        )

    return await bounded(SETUP_CONCURRENCY, [partial(make, n) for n in range(count)])


def ceiling_slots(ws_urls: Sequence[str], count: int, observers: int) -> list[Slot]:
    return [
        Slot(
            index=number,
            interview_id=str(uuid.uuid4()),
            ws_url=ws_urls[number % len(ws_urls)],
            candidate_token="candidate",
            observer_tokens=("observer",) * observers,
        )
        for number in range(count)
    ]


TRANSCRIPT_ATTEMPTS = 3


async def stored_events(api: Api, slots: Sequence[Slot]) -> dict[int, list[tuple[int, str]]]:
    """Each interview's durable events as stored (the transcript): slot index -> [(seq, type)].
    An interview whose transcript cannot be read (the server failing under load) is left out;
    its sockets are then checked against each other instead."""

    async def one(slot: Slot) -> tuple[int, list[tuple[int, str]] | None]:
        for attempt in range(1, TRANSCRIPT_ATTEMPTS + 1):
            try:
                items = await api.transcript(slot.owner_token, slot.interview_id)
            except (ApiFailure, httpx.HTTPError):
                await asyncio.sleep(0.5 * attempt)
                continue
            return slot.index, [(int(item["seq"]), str(item["type"])) for item in items]
        return slot.index, None

    pairs = await bounded(TRANSCRIPT_CONCURRENCY, [partial(one, s) for s in slots])
    return {index: events for index, events in pairs if events is not None}
