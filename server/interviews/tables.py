"""Interviews, their durable events, observer invitations and observer notes."""

from __future__ import annotations

from piccolo.columns import (
    JSONB,
    UUID,
    DoublePrecision,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from server.accounts.tables import User


class Interview(Table, tablename="interviews"):
    id = UUID(primary_key=True)
    owner = ForeignKey(User, null=False, on_delete=OnDelete.cascade, index=True)
    track = Varchar(length=64)
    difficulty = Integer()  # as requested at creation; the engine's current level is in `state`
    company_style = Varchar(length=32, null=True, default=None)
    resume_id = UUID(null=True, default=None)
    job_description = Text(null=True, default=None)
    question_count = Integer()
    language = Varchar(length=35, default="en")
    status = Varchar(length=16, default="created", index=True)
    current_question = Integer(default=0)
    overall_score = DoublePrecision(null=True, default=None)
    report = JSONB(null=True, default=None)
    plan = JSONB()  # engine.InterviewPlan
    state = JSONB()  # engine.EngineState, updated in the same transaction as each event
    last_seq = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    started_at = Timestamptz(null=True, default=None)
    completed_at = Timestamptz(null=True, default=None)
    deleted_at = Timestamptz(null=True, default=None)


class InterviewEvent(Table, tablename="interview_events"):
    """The durable stream: (interview, seq) is unique and gap-free (see events.append_events)."""

    id = UUID(primary_key=True)
    interview = ForeignKey(Interview, null=False, on_delete=OnDelete.cascade)
    seq = Integer()
    type = Varchar(length=32)
    payload = JSONB()
    client_id = Varchar(length=64, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class ObserverInvitation(Table, tablename="observer_invitations"):
    id = UUID(primary_key=True)
    interview = ForeignKey(Interview, null=False, on_delete=OnDelete.cascade, index=True)
    token_hash = Varchar(length=64, unique=True)
    created_by = ForeignKey(User, null=False, on_delete=OnDelete.cascade)
    expires_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class InterviewNote(Table, tablename="interview_notes"):
    """Private coaching notes from observers: never shown to the candidate during the interview."""

    id = UUID(primary_key=True)
    interview = ForeignKey(Interview, null=False, on_delete=OnDelete.cascade, index=True)
    author = Varchar(length=200)
    author_user_id = UUID(null=True, default=None)
    invitation_id = UUID(null=True, default=None)
    client_id = Varchar(length=64)
    text = Text()
    about_seq = Integer(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
