"""Store the engine state uncompressed.

`interviews.state` is rewritten with every event and grows with the interview (tens of KiB by the
last questions). PostgreSQL compressed each new version with pglz before storing it out of line,
which cost about 1.2 ms of database CPU per event for a 55 KiB state (a 1.97 ms update against
0.77 ms uncompressed, measured on the embedded PostgreSQL 18). Old versions are garbage at once,
so the disk space compression saved is short-lived; the CPU it cost was not.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-22T01:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "interviews.state stored out of line without compression"


class RawSQL(Table):
    """Only a handle on the engine for raw statements in this migration."""


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="interviews", description=DESCRIPTION)

    async def uncompressed() -> None:
        await RawSQL.raw("ALTER TABLE interviews ALTER COLUMN state SET STORAGE EXTERNAL")

    async def compressed() -> None:
        await RawSQL.raw("ALTER TABLE interviews ALTER COLUMN state SET STORAGE EXTENDED")

    manager.add_raw(uncompressed)
    manager.add_raw_backwards(compressed)
    return manager
