"""The `resumes` table: uploaded files, their parsing state and the profile read from them."""

from __future__ import annotations

from piccolo.columns import (
    JSONB,
    UUID,
    BigInt,
    ForeignKey,
    OnDelete,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from server.accounts.tables import User


class Resume(Table, tablename="resumes"):
    id = UUID(primary_key=True)
    owner = ForeignKey(User, null=False, on_delete=OnDelete.cascade, index=True)
    filename = Varchar(length=255)  # sanitised, for display only; never a storage path
    content_type = Varchar(length=100)
    size_bytes = BigInt()
    sha256 = Varchar(length=64)  # of the stored bytes; parses are keyed on it
    storage_key = Varchar(length=200, unique=True)  # generated, never derived from the name
    status = Varchar(length=16, default="uploaded", index=True)
    error = JSONB(null=True, default=None)  # {code, message} of the last failed parse
    profile = JSONB(null=True, default=None)
    profile_sha256 = Varchar(length=64, null=True, default=None)  # content the profile came from
    profile_task_id = UUID(null=True, default=None)  # the parse task that wrote the profile
    parsed_by = Varchar(length=150, null=True, default=None)  # "<provider>:<model>"
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    parsed_at = Timestamptz(null=True, default=None)
    deleted_at = Timestamptz(null=True, default=None)
    file_removed_at = Timestamptz(null=True, default=None)  # by the retention job
