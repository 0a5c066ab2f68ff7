"""Start-up task: make the `questions` table mirror the shipped question bank.

Every bank question is upserted by its stable id and rows whose question left the bank are
deleted. Several processes may start at once (API workers, the worker, `migrate`): a
transaction-scoped advisory lock makes them take turns, so the second one finds nothing to do.
Rows that already match the bank are left untouched, which keeps `updated_at` meaningful (the
last time that question's content changed) and makes a restart with an unchanged bank cheap.
"""

from __future__ import annotations

from typing import Any, Final

import asyncpg
import msgspec

from server.core.db import engine
from server.core.logging import get_logger
from server.core.settings import Settings
from server.questions.bank import BankQuestion, QuestionBank, get_bank

log = get_logger(__name__)

# Any constant works; it only has to be the same for every process seeding this database.
SEED_LOCK_KEY: Final = 0x1A7E_0B01

# Column order shared by the upsert's parameters and `_bank_row`.
_COLUMNS: Final = (
    "id",
    "slug",
    "track",
    "difficulty",
    "topic",
    "tags",
    "company_styles",
    "style",
    "warmup",
    "text",
    "key_points",
    "model_answer",
)
_JSON_COLUMNS: Final = frozenset({"key_points", "model_answer"})


def _placeholder(position: int, column: str) -> str:
    return f"${position}::jsonb" if column in _JSON_COLUMNS else f"${position}"


# Built only from the constant column names above; values always travel as parameters.
_UPSERT: Final = (  # noqa: S608
    "INSERT INTO questions ({columns}, updated_at) VALUES ({values}, now()) "
    "ON CONFLICT (id) DO UPDATE SET {updates}, updated_at = now()"
).format(
    columns=", ".join(_COLUMNS),
    values=", ".join(_placeholder(position, column) for position, column in enumerate(_COLUMNS, start=1)),
    updates=", ".join(f"{column} = EXCLUDED.{column}" for column in _COLUMNS if column != "id"),
)


class SeedReport(msgspec.Struct, kw_only=True, frozen=True):
    inserted: int
    updated: int
    deleted: int
    unchanged: int


def _bank_row(question: BankQuestion) -> tuple[Any, ...]:
    """The question as the table stores it, JSON columns decoded, in `_COLUMNS` order."""
    return (
        str(question.id),
        question.slug,
        question.track,
        question.difficulty,
        question.topic,
        list(question.tags),
        list(question.company_styles),
        question.style,
        question.warmup,
        question.text,
        msgspec.to_builtins(list(question.key_points)),
        list(question.model_answer),
    )


def _stored_value(record: asyncpg.Record, column: str) -> Any:
    value = record[column]
    if column in _JSON_COLUMNS:
        return msgspec.json.decode(value)
    if column == "id":
        return str(value)
    return value


def _stored_row(record: asyncpg.Record) -> tuple[Any, ...]:
    return tuple(_stored_value(record, column) for column in _COLUMNS)


def _upsert_args(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(
        msgspec.json.encode(value).decode() if name in _JSON_COLUMNS else value
        for name, value in zip(_COLUMNS, row, strict=True)
    )


async def sync_question_bank(bank: QuestionBank, pool: asyncpg.Pool[asyncpg.Record]) -> SeedReport:
    """Make the table hold exactly the questions of `bank`; returns what changed."""
    wanted = {str(question.id): _bank_row(question) for question in bank}
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", SEED_LOCK_KEY)
        # A slug that left the bank takes its id with it (ids derive from slugs). Deleting first
        # also clears a bank slug stored under a foreign id, which would block the upsert on the
        # unique slug.
        status = await connection.execute(
            "DELETE FROM questions WHERE NOT (id = ANY($1::uuid[])) OR NOT (slug = ANY($2::text[]))",
            list(wanted),
            [row[1] for row in wanted.values()],
        )
        deleted = int(status.rsplit(" ", 1)[-1])
        stored = {
            str(record["id"]): _stored_row(record)
            for record in await connection.fetch(f"SELECT {', '.join(_COLUMNS)} FROM questions")  # noqa: S608
        }
        changed = [row for question_id, row in wanted.items() if stored.get(question_id) != row]
        if changed:
            await connection.executemany(_UPSERT, [_upsert_args(row) for row in changed])
    inserted = sum(1 for row in changed if row[0] not in stored)
    return SeedReport(
        inserted=inserted,
        updated=len(changed) - inserted,
        deleted=deleted,
        unchanged=len(wanted) - len(changed),
    )


async def seed_question_bank(_settings: Settings) -> None:
    """Registered in `server.core.startup.STARTUP_TASKS`."""
    report = await sync_question_bank(get_bank(), engine().pool)
    log.info(
        "question_bank_seeded",
        inserted=report.inserted,
        updated=report.updated,
        deleted=report.deleted,
        unchanged=report.unchanged,
    )
