"""Composite index that Piccolo's table classes cannot express.

- questions_track_difficulty_slug: the list order (track, difficulty, slug), which also serves
  the `track` and `track` + `difficulty` filters.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-21T22:31:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "questions: composite index for the list order and track filters"

INDEXES = {
    "questions_track_difficulty_slug": (
        "CREATE INDEX questions_track_difficulty_slug ON questions (track, difficulty, slug)"
    ),
}


class RawSQL(Table):
    """Only a handle on the engine for raw statements in this migration."""


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="questions", description=DESCRIPTION)

    async def create_indexes() -> None:
        for statement in INDEXES.values():
            await RawSQL.raw(statement)

    async def drop_indexes() -> None:
        for name in INDEXES:
            await RawSQL.raw(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(create_indexes)
    manager.add_raw_backwards(drop_indexes)
    return manager
