"""The `tasks` table: what a background job is doing, for the user who started it."""

from __future__ import annotations

from piccolo.columns import JSONB, UUID, ForeignKey, Integer, OnDelete, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from server.accounts.tables import User


class Task(Table, tablename="tasks"):
    id = UUID(primary_key=True)
    owner = ForeignKey(User, null=False, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=32)
    # What the job works on (a resume for "parse_resume"); a plain id, so that any feature's
    # rows can be the subject without this table knowing them.
    subject_id = UUID(null=True, default=None, index=True)
    status = Varchar(length=16, default="queued", index=True)
    progress = Integer(default=0)
    result = JSONB(null=True, default=None)
    error = JSONB(null=True, default=None)
    # Deliveries that got as far as starting the work: above 1 means a retry or a redelivery.
    attempts = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    started_at = Timestamptz(null=True, default=None)
    finished_at = Timestamptz(null=True, default=None)
