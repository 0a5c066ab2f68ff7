"""All migrations forwards, then all backwards, leave an empty database; forwards again restores it."""

from __future__ import annotations

from typing import Any

from server.core import db
from server.core.startup import run_startup_tasks

PICCOLO_BOOKKEEPING = {"migration"}


async def _public_tables() -> set[str]:
    rows = await db.engine().run_ddl("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {row["tablename"] for row in rows}


async def _public_indexes() -> set[str]:
    rows = await db.engine().run_ddl("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")
    return {row["indexname"] for row in rows}


async def test_backwards_all_leaves_the_database_empty(database: None, settings: Any) -> None:
    expected = {table._meta.tablename for table in db.application_tables()}
    assert expected <= await _public_tables()
    try:
        await db.migrate_backwards_all()
        assert await _public_tables() <= PICCOLO_BOOKKEEPING
        assert {name for name in await _public_indexes() if not name.startswith("migration")} == set()
        applied = await db.engine().run_ddl("SELECT count(*) AS n FROM migration")
        assert applied[0]["n"] == 0
    finally:
        # Leave the schema and the seeded reference data in place for the tests that follow.
        await db.migrate_forwards(settings.database_url)
        await run_startup_tasks(settings)
    assert expected <= await _public_tables()
