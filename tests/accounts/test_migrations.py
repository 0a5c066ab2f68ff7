"""Every migration rolls back and applies again on the test database."""

from __future__ import annotations

from typing import Any

from server.core import db

ACCOUNT_TABLES = {"users", "refresh_tokens", "email_tokens", "password_history", "audit_log"}


async def _public_tables() -> set[str]:
    rows = await db.engine().run_ddl("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {row["tablename"] for row in rows}


async def test_migrations_go_backwards_and_forwards(database: None, settings: Any) -> None:
    assert await _public_tables() >= ACCOUNT_TABLES
    try:
        await db.migrate_backwards_all()
        assert not ACCOUNT_TABLES & await _public_tables()
    finally:
        # Whatever happened, leave the schema in place for the tests that follow.
        await db.migrate_forwards(settings.database_url)
    assert await _public_tables() >= ACCOUNT_TABLES
