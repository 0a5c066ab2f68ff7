"""Filling the embedded database fast, in SQL, by cloning rows the API created.

Cloning real rows keeps every column valid whatever the schema becomes (password hashes, the
engine's JSON plan and state, defaults): the harness only overrides ids, owners, e-mails and
timestamps. `generate_series` inserts tens of thousands of rows per second.
"""

from __future__ import annotations

import time
from typing import Any

import asyncpg

SEED_EMAIL_DOMAIN = "bench.example.com"


async def _columns(conn: asyncpg.Connection, table: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
        table,
    )
    if not rows:
        raise LookupError(f"table {table!r} not found")
    return [row["column_name"] for row in rows]


def _quoted(columns: list[str]) -> str:
    return ", ".join(f'"{column}"' for column in columns)


def _select_list(columns: list[str], overrides: dict[str, str], source: str) -> str:
    return ", ".join(overrides.get(column, f'{source}."{column}"') for column in columns)


async def seed_rest_data(
    connect_args: dict[str, Any],
    *,
    template_email: str,
    completed_interview: str,
    created_interview: str,
    users: int,
    interviews: int,
    email_prefix: str,
    completed_share: float = 0.6,
) -> dict[str, Any]:
    """`users` accounts cloned from the template account (same password), each owning
    `interviews // users` interviews cloned from the two templates (a `completed_share` of them
    completed), spread over the past months."""
    if users < 1 or interviews < users:
        raise ValueError("seeding needs at least one user and at least one interview per user")
    per_user = interviews // users
    started = time.monotonic()
    conn = await asyncpg.connect(**connect_args)
    try:
        async with conn.transaction():
            user_columns = await _columns(conn, "users")
            user_select = _select_list(
                user_columns,
                {
                    "id": "gen_random_uuid()",
                    "email": f"'{email_prefix}-' || g || '@{SEED_EMAIL_DOMAIN}'",
                    "full_name": "'Seeded User ' || g",
                    "created_at": "now() - make_interval(mins => g::int)",
                    "updated_at": "now()",
                    "last_login_at": "NULL",
                },
                "t",
            )
            await conn.execute(
                # Column names come from the catalogue, values are parameters.
                f"INSERT INTO users ({_quoted(user_columns)}) "  # noqa: S608
                f"SELECT {user_select} FROM users t, generate_series(1, $1) g WHERE t.email = $2",
                users,
                template_email,
            )
            interview_columns = await _columns(conn, "interviews")
            completed_every = max(1, round(completed_share * 10))
            interview_select = _select_list(
                interview_columns,
                {
                    "id": "gen_random_uuid()",
                    "owner": "o.id",
                    "created_at": "now() - make_interval(mins => (o.n * $2 + g)::int)",
                    "deleted_at": "NULL",
                },
                "t",
            )
            await conn.execute(
                f"INSERT INTO interviews ({_quoted(interview_columns)}) "  # noqa: S608
                f"SELECT {interview_select} "
                "FROM (SELECT id, row_number() OVER (ORDER BY email) AS n FROM users WHERE email LIKE $1) o "
                "CROSS JOIN generate_series(1, $2) g "
                "JOIN interviews t ON t.id = CASE WHEN g % 10 < $3 THEN $4::uuid ELSE $5::uuid END",
                f"{email_prefix}-%@{SEED_EMAIL_DOMAIN}",
                per_user,
                completed_every,
                completed_interview,
                created_interview,
            )
        await conn.execute("ANALYZE users")
        await conn.execute("ANALYZE interviews")
        counts = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM interviews) AS interviews"
        )
        return {
            "users_total": counts["users"],
            "interviews_total": counts["interviews"],
            "interviews_per_user": per_user,
            "seed_seconds": round(time.monotonic() - started, 1),
        }
    finally:
        await conn.close()
