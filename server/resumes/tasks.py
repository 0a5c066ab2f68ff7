"""Background jobs of the resumes feature.

`resumes.parse` turns a stored upload into a profile: read the file (progress 10), extract its
text in the sandboxed child process (40), structure it with the provider chain (80), save (100).
Dramatiq delivers at least once, so the job is written to be run any number of times:

- a task that has already finished is left alone (a duplicate message is a no-op);
- the profile is written in the same transaction that moves the task to `succeeded`, by the
  one delivery whose conditional update wins, and only onto the resume whose stored bytes have
  the content hash the profile was read from (a worker killed mid-parse gets its message back
  after the heartbeat timeout; the redelivered run starts over and saves exactly once);
- a file that is bad (ExtractionError.permanent, a missing or altered object) fails the task at
  once and is not retried (`throws=`); anything that may pass (storage or provider outages, a
  crashed extractor) is retried with backoff, and when the retries run out the
  `resumes.parse_gave_up` actor marks the task failed with the last reason seen.

A resume that already had a profile keeps it when a new parse fails; its `error` says why.

`resumes.purge_deleted_files` runs every hour and removes the stored files (and the parsed
profile, which is personal data too) of resumes deleted more than RESUME_RETENTION_DAYS ago.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import dramatiq
import msgspec

from server.core.broker import periodic
from server.core.db import engine
from server.core.logging import get_logger
from server.core.settings import Settings, get_settings
from server.llm.chain import ChainExhausted, ProviderChain, build_chain
from server.llm.model_backed import EmptyInputError
from server.resumes.extraction import ExtractionError, extract_text_async, start_extraction_server
from server.resumes.sniff import CONTENT_TYPES, ResumeKind
from server.resumes.tables import Resume
from server.storage import Storage, StorageError, StoredObjectNotFound, build_storage
from server.tasks.service import (
    TaskError,
    TaskRecord,
    complete_task,
    fail_task,
    load_task,
    note_retry,
    report_progress,
    start_attempt,
)

log = get_logger(__name__)

QUEUE_NAME = "resumes"
PARSE_ACTOR_NAME = "resumes.parse"
GAVE_UP_ACTOR_NAME = "resumes.parse_gave_up"

PROGRESS_READ = 10
PROGRESS_EXTRACTED = 40
PROGRESS_STRUCTURED = 80

PARSE_MAX_RETRIES = 4
PARSE_MIN_BACKOFF_MS = 2_000
PARSE_MAX_BACKOFF_MS = 2 * 60_000
# Extraction is capped at 30 s of wall-clock time; the provider chain may try several providers
# with retries. Past this the attempt is interrupted and counts as a failed one.
PARSE_TIME_LIMIT_MS = 5 * 60_000
PARSE_MAX_AGE = timedelta(hours=6)

PURGE_INTERVAL_SECONDS = 3600
PURGE_BATCH_SIZE = 200

_KINDS_BY_CONTENT_TYPE: dict[str, ResumeKind] = {value: key for key, value in CONTENT_TYPES.items()}

# How one run of the parse job ended when it did not fail: "saved" for the one run that wrote the
# profile; the others found the work already done (before starting, or by the time they saved).
ParseOutcome = Literal["saved", "already_finished", "finished_elsewhere", "task_missing"]


class ParseFailure(Exception):
    """A parse attempt failed; `permanent` ones would fail the same way on every retry."""

    def __init__(self, code: str, message: str, *, permanent: bool) -> None:
        super().__init__(f"{code}: {message}")
        self.error = TaskError(code=code, message=message)
        self.permanent = permanent


class PermanentParseFailure(Exception):
    """Raised out of the actor after the task is marked failed, so the message is not retried."""


@dataclass
class _WorkerResources:
    storage: Storage
    chain: ProviderChain


_resources: _WorkerResources | None = None


def _worker_resources() -> _WorkerResources:
    """Built on first use inside the worker's event loop (the chain's HTTP clients belong to it)."""
    global _resources
    if _resources is None:
        settings = get_settings()
        _resources = _WorkerResources(storage=build_storage(settings), chain=build_chain(settings))
    return _resources


def _now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------------------------------------
# Parsing


async def run_parse(
    task_id: uuid.UUID, *, storage: Storage, chain: ProviderChain, settings: Settings
) -> ParseOutcome:
    """One attempt at the parse task `task_id`. Raises ParseFailure when the attempt fails."""
    task = await load_task(task_id)
    if task is None:
        log.warning("resume_parse_task_missing", task_id=str(task_id))
        return "task_missing"
    if task.finished:
        log.info("resume_parse_already_finished", task_id=str(task_id), status=task.status)
        return "already_finished"
    if task.kind != "parse_resume" or task.subject_id is None:
        raise ParseFailure("invalid_task", f"task {task_id} is not a resume parse", permanent=True)
    resume = (
        await Resume.select(
            Resume.id, Resume.storage_key, Resume.sha256, Resume.content_type, Resume.deleted_at
        )
        .where(Resume.id == task.subject_id)
        .first()
    )
    if resume is None or resume["deleted_at"] is not None:
        raise ParseFailure(
            "resume_deleted", "The resume was deleted before it could be parsed.", permanent=True
        )
    if not await start_attempt(task_id):
        return "already_finished"
    await Resume.update({Resume.status: "parsing", Resume.updated_at: _now()}).where(
        (Resume.id == resume["id"]) & Resume.deleted_at.is_null()
    )

    data = await _read_file(resume["storage_key"], storage)
    digest = hashlib.sha256(data).hexdigest()
    if digest != resume["sha256"]:
        raise ParseFailure(
            "file_changed",
            "The stored file no longer matches the upload (its content hash differs).",
            permanent=True,
        )
    await report_progress(task_id, PROGRESS_READ)

    kind = _KINDS_BY_CONTENT_TYPE.get(resume["content_type"])
    try:
        extracted = await extract_text_async(data, kind)
    except ExtractionError as exc:
        raise ParseFailure(exc.code, exc.message, permanent=exc.permanent) from exc
    await report_progress(task_id, PROGRESS_EXTRACTED)

    if settings.resume_parse_test_delay_seconds > 0:
        await asyncio.sleep(settings.resume_parse_test_delay_seconds)

    try:
        profile, provider, model = await chain.structure_resume(extracted.text)
    except EmptyInputError as exc:
        raise ParseFailure("empty_document", "The file contains no text to read.", permanent=True) from exc
    except ChainExhausted as exc:
        raise ParseFailure("structuring_unavailable", str(exc), permanent=False) from exc
    await report_progress(task_id, PROGRESS_STRUCTURED)

    return await _save_profile(
        task, resume["id"], digest, msgspec.to_builtins(profile), provider, model, extracted.truncated
    )


async def _read_file(storage_key: str, storage: Storage) -> bytes:
    try:
        return await storage.open_bytes(storage_key)
    except StoredObjectNotFound as exc:
        raise ParseFailure("file_missing", "The stored file is gone.", permanent=True) from exc
    except StorageError as exc:
        raise ParseFailure("storage_unavailable", str(exc), permanent=False) from exc


async def _save_profile(
    task: TaskRecord,
    resume_id: uuid.UUID,
    digest: str,
    profile: dict[str, Any],
    provider: str,
    model: str,
    truncated: bool,
) -> ParseOutcome:
    now = _now()
    result = {"resume_id": str(resume_id), "provider": provider, "model": model, "text_truncated": truncated}
    async with engine().transaction():
        if not await complete_task(task.id, result):
            log.info("resume_parse_finished_elsewhere", task_id=str(task.id))
            return "finished_elsewhere"
        await Resume.update(
            {
                Resume.profile: profile,
                Resume.profile_sha256: digest,
                Resume.profile_task_id: task.id,
                Resume.parsed_by: f"{provider}:{model}",
                Resume.status: "parsed",
                Resume.error: None,
                Resume.parsed_at: now,
                Resume.updated_at: now,
            }
        ).where((Resume.id == resume_id) & (Resume.sha256 == digest))
    log.info("resume_parsed", resume_id=str(resume_id), task_id=str(task.id), provider=provider)
    return "saved"


async def record_parse_failure(task_id: uuid.UUID, error: TaskError) -> None:
    """Fail the task; its resume becomes `failed`, or stays `parsed` with its earlier profile.
    Only the first call for a task changes anything."""
    async with engine().transaction():
        task = await load_task(task_id)
        if task is None or not await fail_task(task_id, error):
            return
        if task.subject_id is None:
            return
        error_value = msgspec.to_builtins(error)
        now = _now()
        await Resume.update(
            {Resume.status: "failed", Resume.error: error_value, Resume.updated_at: now}
        ).where((Resume.id == task.subject_id) & Resume.profile.is_null())
        await Resume.update(
            {Resume.status: "parsed", Resume.error: error_value, Resume.updated_at: now}
        ).where((Resume.id == task.subject_id) & Resume.profile.is_not_null())
    log.info("resume_parse_failed", task_id=str(task_id), code=error.code)


@dramatiq.actor(
    actor_name=PARSE_ACTOR_NAME,
    queue_name=QUEUE_NAME,
    max_retries=PARSE_MAX_RETRIES,
    min_backoff=PARSE_MIN_BACKOFF_MS,
    max_backoff=PARSE_MAX_BACKOFF_MS,
    time_limit=PARSE_TIME_LIMIT_MS,
    max_age=int(PARSE_MAX_AGE.total_seconds() * 1000),
    throws=(PermanentParseFailure,),
    on_retry_exhausted=GAVE_UP_ACTOR_NAME,
)
async def parse_resume(task_id: str) -> None:
    try:
        task_uuid = uuid.UUID(task_id)
    except ValueError:
        log.error("resume_parse_bad_message", task_id=task_id)
        return
    resources = _worker_resources()
    try:
        await run_parse(task_uuid, storage=resources.storage, chain=resources.chain, settings=get_settings())
    except ParseFailure as failure:
        if failure.permanent:
            await record_parse_failure(task_uuid, failure.error)
            raise PermanentParseFailure(str(failure)) from failure
        await note_retry(task_uuid, failure.error)
        raise
    except Exception as exc:
        # Not a failure the parse anticipates (a bug, the database going away): retried like a
        # transient one, and named on the task so that giving up says what went wrong.
        log.exception("resume_parse_crashed", task_id=task_id)
        try:
            await note_retry(
                task_uuid, TaskError(code="internal_error", message=f"unexpected {type(exc).__name__}")
            )
        except Exception:
            log.exception("resume_parse_note_failed", task_id=task_id)
        raise


@dramatiq.actor(
    actor_name=GAVE_UP_ACTOR_NAME,
    queue_name=QUEUE_NAME,
    max_retries=5,
    min_backoff=1_000,
    max_backoff=60_000,
    time_limit=30_000,
    max_age=24 * 3600_000,
)
async def parse_gave_up(message: dict[str, Any], retry_info: dict[str, Any]) -> None:
    """Called by the Retries middleware with the exhausted message of `resumes.parse`."""
    args = message.get("args") or []
    try:
        task_id = uuid.UUID(str(args[0]))
    except (IndexError, ValueError):
        log.error("resume_parse_gave_up_bad_message", message_id=message.get("message_id"))
        return
    task = await load_task(task_id)
    attempts = int(retry_info.get("retries", 0)) + 1
    last = task.error if task is not None else None
    reason = last.message if last is not None else "each attempt was interrupted (time limit or worker loss)"
    await record_parse_failure(
        task_id,
        TaskError(
            code=last.code if last is not None else "retries_exhausted",
            message=f"Gave up after {attempts} attempts: {reason}",
        ),
    )


# ---------------------------------------------------------------------------------------------
# Retention


async def purge_expired_files(
    storage: Storage, *, retention: timedelta, now: datetime | None = None, batch_size: int = PURGE_BATCH_SIZE
) -> int:
    """Remove the files of resumes deleted before `now - retention`; returns how many. The rows
    stay (the audit trail refers to them) without their profile."""
    now = now or _now()
    cutoff = now - retention
    removed = 0
    while True:
        rows = (
            await Resume.select(Resume.id, Resume.storage_key)
            .where(
                Resume.deleted_at.is_not_null()
                & (Resume.deleted_at <= cutoff)
                & Resume.file_removed_at.is_null()
            )
            .order_by(Resume.deleted_at)
            .limit(batch_size)
        )
        for row in rows:
            await storage.delete(row["storage_key"])
            await Resume.update(
                {Resume.file_removed_at: now, Resume.profile: None, Resume.updated_at: now}
            ).where(Resume.id == row["id"])
            removed += 1
        if len(rows) < batch_size:
            break
    if removed:
        log.info("resume_files_purged", count=removed)
    return removed


@periodic(PURGE_INTERVAL_SECONDS)
@dramatiq.actor(
    actor_name="resumes.purge_deleted_files",
    queue_name=QUEUE_NAME,
    max_retries=3,
    min_backoff=60_000,
    max_backoff=10 * 60_000,
    time_limit=15 * 60_000,
    max_age=PURGE_INTERVAL_SECONDS * 1000,
)
async def purge_deleted_files() -> None:
    settings = get_settings()
    await purge_expired_files(
        _worker_resources().storage, retention=timedelta(days=settings.resume_retention_days)
    )


def prepare_worker_process() -> None:
    """Start the extraction forkserver before the worker's threads exist (see extraction.py)."""
    start_extraction_server()
