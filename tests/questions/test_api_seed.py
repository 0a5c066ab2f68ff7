"""The start-up seed that mirrors the question bank into the `questions` table.

Each test leaves the table as the bank describes it (the other API tests rely on it)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

from server.core.db import engine
from server.questions.bank import get_bank
from server.questions.seed import SEED_LOCK_KEY, SeedReport, sync_question_bank

pytestmark = pytest.mark.usefixtures("seeded_questions")


def _pool() -> Any:
    return engine().pool


@pytest.fixture
async def restored_bank() -> AsyncIterator[None]:
    yield
    await sync_question_bank(get_bank(), _pool())


async def test_the_table_mirrors_every_bank_question() -> None:
    bank = get_bank()
    records = await _pool().fetch(
        "SELECT id, slug, track, difficulty, topic, tags, company_styles, style, warmup, text, "
        "key_points, model_answer, updated_at FROM questions"
    )
    stored = {record["id"]: record for record in records}
    assert set(stored) == set(bank.questions)
    for question in bank:
        record = stored[question.id]
        assert record["slug"] == question.slug
        assert (record["track"], record["difficulty"], record["topic"]) == (
            question.track,
            question.difficulty,
            question.topic,
        )
        assert record["tags"] == list(question.tags)
        assert record["company_styles"] == list(question.company_styles)
        assert (record["style"], record["warmup"], record["text"]) == (
            question.style,
            question.warmup,
            question.text,
        )
        assert msgspec.json.decode(record["key_points"]) == msgspec.to_builtins(list(question.key_points))
        assert msgspec.json.decode(record["model_answer"]) == list(question.model_answer)
        assert record["updated_at"] is not None


async def test_seeding_again_changes_nothing() -> None:
    before = await _pool().fetchval("SELECT max(updated_at) FROM questions")
    report = await sync_question_bank(get_bank(), _pool())
    assert report == SeedReport(inserted=0, updated=0, deleted=0, unchanged=len(get_bank()))
    assert await _pool().fetchval("SELECT max(updated_at) FROM questions") == before


@pytest.mark.usefixtures("restored_bank")
async def test_seeding_repairs_drift_from_the_bank() -> None:
    bank = get_bank()
    edited, removed = sorted(bank.questions)[:2]
    await _pool().execute("UPDATE questions SET text = 'edited by hand', tags = '{}' WHERE id = $1", edited)
    await _pool().execute("DELETE FROM questions WHERE id = $1", removed)
    retired = uuid.uuid4()
    await _pool().execute(
        "INSERT INTO questions (id, slug, track, difficulty, topic, tags, company_styles, style, warmup, "
        "text, key_points, model_answer) VALUES ($1, 'backend-retired-question', 'backend', 2, 'misc', "
        "'{}', '{}', 'technical', false, 'A question that left the bank', '[]', '[]')",
        retired,
    )

    report = await sync_question_bank(bank, _pool())

    assert report == SeedReport(inserted=1, updated=1, deleted=1, unchanged=len(bank) - 2)
    assert await _pool().fetchval("SELECT count(*) FROM questions") == len(bank)
    assert await _pool().fetchval("SELECT text FROM questions WHERE id = $1", edited) == bank.get(edited).text
    assert await _pool().fetchval("SELECT count(*) FROM questions WHERE id = $1", removed) == 1
    assert await _pool().fetchval("SELECT count(*) FROM questions WHERE id = $1", retired) == 0


@pytest.mark.usefixtures("restored_bank")
async def test_a_slug_reused_under_another_id_is_replaced() -> None:
    # A row whose slug is in the bank but whose id is not (ids derive from slugs) would block
    # the upsert on the unique slug; the seed removes it first.
    bank = get_bank()
    question = next(iter(bank))
    await _pool().execute("UPDATE questions SET id = $1 WHERE id = $2", uuid.uuid4(), question.id)

    report = await sync_question_bank(bank, _pool())

    assert (report.inserted, report.deleted) == (1, 1)
    assert await _pool().fetchval("SELECT id FROM questions WHERE slug = $1", question.slug) == question.id


@pytest.mark.usefixtures("restored_bank")
async def test_a_seed_waits_for_the_one_in_progress_then_sees_its_work() -> None:
    bank = get_bank()
    missing = sorted(bank.questions)[:3]
    async with _pool().acquire() as other_process, other_process.transaction():
        # Stands in for another process half-way through its seed: it holds the lock and has
        # changed rows that nobody else can see yet.
        await other_process.execute("SELECT pg_advisory_xact_lock($1)", SEED_LOCK_KEY)
        await other_process.execute("DELETE FROM questions WHERE id = ANY($1::uuid[])", missing)
        waiting = asyncio.create_task(sync_question_bank(bank, _pool()))
        await asyncio.sleep(0.5)
        assert not waiting.done()
    report = await asyncio.wait_for(waiting, 10)
    assert report == SeedReport(
        inserted=len(missing), updated=0, deleted=0, unchanged=len(bank) - len(missing)
    )


@pytest.mark.usefixtures("restored_bank")
async def test_seeds_started_together_leave_one_copy_of_the_bank() -> None:
    bank = get_bank()
    missing = sorted(bank.questions)[:10]
    await _pool().execute("DELETE FROM questions WHERE id = ANY($1::uuid[])", missing)

    reports = await asyncio.gather(*(sync_question_bank(bank, _pool()) for _ in range(4)))

    assert sorted(report.inserted for report in reports) == [0, 0, 0, len(missing)]
    assert all(report.updated == report.deleted == 0 for report in reports)
    assert await _pool().fetchval("SELECT count(*) FROM questions") == len(bank)


@pytest.mark.usefixtures("restored_bank")
async def test_the_seed_runs_as_a_start_up_task(settings: Any) -> None:
    from server.core.startup import STARTUP_TASKS, run_startup_tasks

    assert "server.questions.seed:seed_question_bank" in STARTUP_TASKS
    await _pool().execute("DELETE FROM questions")

    await run_startup_tasks(settings)

    assert await _pool().fetchval("SELECT count(*) FROM questions") == len(get_bank())


async def test_the_list_filters_are_served_by_indexes() -> None:
    await _pool().execute("ANALYZE questions")
    indexes = {
        record["indexname"]: record["indexdef"]
        for record in await _pool().fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'questions'"
        )
    }
    definitions = " | ".join(indexes.values())
    assert "(track, difficulty, slug)" in definitions
    assert "USING gin (company_styles)" in definitions
    assert "(topic)" in definitions
    assert "UNIQUE INDEX" in indexes.get("questions_slug_key", "") or "UNIQUE" in definitions

    async with _pool().acquire() as connection, connection.transaction():
        # With 256 rows a sequential scan is cheapest; disabling it shows the indexes are usable.
        await connection.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(
            row[0]
            for row in await connection.fetch(
                "EXPLAIN SELECT id FROM questions WHERE company_styles @> ARRAY['fintech']::varchar[]"
            )
        )
        assert "company_styles" in plan and "Index" in plan, plan
        plan = "\n".join(
            row[0]
            for row in await connection.fetch(
                "EXPLAIN SELECT id FROM questions WHERE track = 'backend' AND difficulty = 3 "
                "ORDER BY track, difficulty, slug LIMIT 20"
            )
        )
        assert "questions_track_difficulty_slug" in plan, plan
