"""Indexes that Piccolo's table classes cannot express.

- resumes_owner_created: a user's list (owner, newest first, not deleted) and the quota count;
- resumes_awaiting_purge: deleted resumes whose file the retention job has not removed yet.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-21T22:31:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "partial indexes for the resume list and the retention job"

INDEXES = {
    "resumes_owner_created": (
        "CREATE INDEX resumes_owner_created ON resumes (owner, created_at DESC) WHERE deleted_at IS NULL"
    ),
    "resumes_awaiting_purge": (
        "CREATE INDEX resumes_awaiting_purge ON resumes (deleted_at) "
        "WHERE deleted_at IS NOT NULL AND file_removed_at IS NULL"
    ),
}


class RawSQL(Table):
    """Only a handle on the engine for raw statements in this migration."""


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="resumes", description=DESCRIPTION)

    async def create_indexes() -> None:
        for statement in INDEXES.values():
            await RawSQL.raw(statement)

    async def drop_indexes() -> None:
        for name in INDEXES:
            await RawSQL.raw(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(create_indexes)
    manager.add_raw_backwards(drop_indexes)
    return manager
