"""Database lifecycle: the Piccolo engine's pool, migrations under an advisory lock, readiness."""

from __future__ import annotations

import asyncio
import contextlib
import io
from typing import Any

import asyncpg

from server.core.logging import get_logger
from server.core.settings import Settings

log = get_logger(__name__)

# Any constant works; it only has to be the same for every process that migrates this database.
MIGRATION_LOCK_KEY = 0x1A7E_0001
POOL_CLOSE_GRACE_SECONDS = 5.0


def engine() -> Any:
    from piccolo_conf import DB

    return DB


_pool_users = 0


async def start_pool(settings: Settings) -> None:
    """Start the engine's pool; counted, because several apps may share one process (tests, the
    worker's start-up) and the last one to stop closes it."""
    global _pool_users
    _pool_users += 1
    db = engine()
    if getattr(db, "pool", None) is None:
        await db.start_connection_pool(
            min_size=1, max_size=settings.database_pool_size, reset=_keep_session_state
        )


async def _keep_session_state(connection: asyncpg.Connection) -> None:
    """Connection release without asyncpg's default session reset (`RESET ALL; UNLISTEN *; ...`),
    a round trip after every query that profiling showed at ~8% of a worker's CPU. asyncpg still
    rolls back any open transaction first; nothing in this code base leaves session state behind
    (no SET, LISTEN or session advisory lock on pooled connections)."""
    return


async def close_pool() -> None:
    global _pool_users
    _pool_users = max(0, _pool_users - 1)
    db = engine()
    pool = getattr(db, "pool", None)
    if _pool_users == 0 and pool is not None:
        # asyncpg waits without limit for connections still in use; a shutdown must end.
        try:
            await asyncio.wait_for(pool.close(), POOL_CLOSE_GRACE_SECONDS)
        except TimeoutError:
            log.warning("database_pool_close_timed_out", grace_seconds=POOL_CLOSE_GRACE_SECONDS)
            pool.terminate()
        db.pool = None


async def migrate_forwards(database_url: str) -> None:
    """Apply every pending migration. Safe when several processes start at once: the first one
    holds a Postgres advisory lock while it migrates; the others wait, then find nothing to do."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
        try:
            with contextlib.redirect_stdout(io.StringIO()) as progress:
                result = await run_forwards(app_name="all", migration_id="all")
            if not result.success:
                raise RuntimeError(f"migrations failed: {result.message}\n{progress.getvalue()}")
            log.info("migrations_applied")
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
    finally:
        await conn.close()


async def migrate_backwards_all() -> None:
    """Undo every migration of every app, newest app first (tests and emergencies only)."""
    from piccolo.apps.migrations.commands.backwards import run_backwards
    from piccolo.conf.apps import Finder

    app_names = [app.app_name for app in Finder().get_app_configs()]
    # Piccolo prints its progress; it is kept only to explain a failure.
    with contextlib.redirect_stdout(io.StringIO()) as progress:
        for app_name in reversed(app_names):
            result = await run_backwards(app_name=app_name, migration_id="all", auto_agree=True)
            if not result.success:
                raise RuntimeError(f"rolling back {app_name} failed: {result.message}\n{progress.getvalue()}")


async def check_database(limit_seconds: float = 2.0) -> None:
    await asyncio.wait_for(engine().run_ddl("SELECT 1"), limit_seconds)


def application_tables() -> list[Any]:
    """Every table of every registered app, for test cleanup and checks."""
    from piccolo.conf.apps import Finder

    tables: list[Any] = []
    for app in Finder().get_app_configs():
        tables.extend(app.table_classes)
    return tables
