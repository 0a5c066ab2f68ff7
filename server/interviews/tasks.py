"""Background jobs of the interviews feature."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import dramatiq

from server.core.broker import periodic
from server.core.db import engine
from server.core.logging import get_logger
from server.core.pubsub import publish_raw
from server.core.redis import create_redis
from server.core.settings import get_settings
from server.interviews.engine import EngineError, InterviewEngine, Transition
from server.interviews.events import InterviewGone, LockedInterview, apply_transition
from server.interviews.live import event_message, interview_channel
from server.questions.bank import get_bank

log = get_logger(__name__)

ABANDON_CHECK_SECONDS = 600
BATCH = 200


async def abandon_interview(interview_id: uuid.UUID, reason: str) -> bool:
    """Mark one interview abandoned and tell its participants; False if it had moved on."""

    def decide(locked: LockedInterview) -> Transition:
        if locked.status != "in_progress":
            raise EngineError("not_in_progress", "only interviews in progress are abandoned")
        return InterviewEngine(locked.plan, get_bank()).abandon(
            locked.state, reason=reason, now=datetime.now(UTC)
        )

    try:
        _, events = await apply_transition(interview_id, decide)
    except (EngineError, InterviewGone):
        return False
    redis = create_redis(get_settings())
    try:
        for event in events:
            await publish_raw(
                redis,
                interview_channel(interview_id),
                event_message(event),
            )
    finally:
        await redis.aclose()
    return True


async def abandon_stale_interviews() -> int:
    """Interviews left in progress with no new event for INTERVIEW_ABANDON_AFTER_HOURS are
    abandoned, so that history and statistics do not show them as live forever."""
    settings = get_settings()
    cutoff = datetime.now(UTC) - timedelta(hours=settings.interview_abandon_after_hours)
    rows = await engine().pool.fetch(
        """
        SELECT i.id FROM interviews i
        WHERE i.status = 'in_progress' AND i.deleted_at IS NULL
          AND COALESCE(
                (SELECT max(e.created_at) FROM interview_events e WHERE e.interview = i.id), i.created_at
              ) < $1
        LIMIT $2
        """,
        cutoff,
        BATCH,
    )
    abandoned = 0
    for row in rows:
        if await abandon_interview(row["id"], "inactive"):
            abandoned += 1
    if abandoned:
        log.info("stale_interviews_abandoned", count=abandoned)
    return abandoned


@periodic(ABANDON_CHECK_SECONDS)
@dramatiq.actor(
    actor_name="interviews.abandon_stale",
    max_retries=0,
    time_limit=120_000,
    max_age=ABANDON_CHECK_SECONDS * 1000,
)
async def abandon_stale() -> None:
    await abandon_stale_interviews()
