"""Composite indexes that Piccolo's table classes cannot express.

- interview_events_seq: the gap-free, unique `seq` per interview;
- interview_events_client_id: one answer per client_id within an interview;
- interview_notes_client_id: one note per client_id within an interview;
- interviews_owner_created: the history list (owner, newest first, not deleted).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-21T22:27:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite indexes for interview events, notes and history"

INDEXES = {
    "interview_events_seq": "CREATE UNIQUE INDEX interview_events_seq ON interview_events (interview, seq)",
    "interview_events_client_id": (
        "CREATE UNIQUE INDEX interview_events_client_id ON interview_events (interview, client_id) "
        "WHERE client_id IS NOT NULL"
    ),
    "interview_notes_client_id": (
        "CREATE UNIQUE INDEX interview_notes_client_id ON interview_notes (interview, client_id)"
    ),
    "interviews_owner_created": (
        "CREATE INDEX interviews_owner_created ON interviews (owner, created_at DESC) WHERE deleted_at IS NULL"
    ),
}


class RawSQL(Table):
    """Only a handle on the engine for raw statements in this migration."""


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="interviews", description=DESCRIPTION)

    async def create_indexes() -> None:
        for statement in INDEXES.values():
            await RawSQL.raw(statement)

    async def drop_indexes() -> None:
        for name in INDEXES:
            await RawSQL.raw(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(create_indexes)
    manager.add_raw_backwards(drop_indexes)
    return manager
