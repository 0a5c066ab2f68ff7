"""Resumes as the API serves them, and the read the interview engine makes of them.

A resume belongs to one user and is invisible to everyone else: every query here is scoped to
the owner and to resumes not deleted, and a miss on either is the same 404 `resume_not_found`.
Parsing is a background job (server/resumes/tasks.py) tracked by a task row that is created in
the same transaction as the resume (or the request to parse again) and enqueued only after it
commits, so a worker never looks for a row that is not there yet.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import msgspec

from server.accounts.audit import record_audit
from server.core.broker import enqueue
from server.core.db import engine
from server.core.errors import ApiError, NotFound, ServiceUnavailable
from server.core.logging import get_logger
from server.core.pagination import Page, PageParams
from server.core.settings import Settings
from server.resumes.profile import Profile
from server.resumes.tables import Resume
from server.resumes.tasks import PARSE_MAX_AGE, parse_resume
from server.resumes.upload import ReceivedResume
from server.storage import Storage, StorageError, build_storage, generate_key
from server.tasks.service import TaskError, create_task, fail_task, find_active_task

log = get_logger(__name__)

ResumeStatus = Literal["uploaded", "parsing", "parsed", "failed"]
RESUME_DELETED = "resume.deleted"


class ResumeNotFound(NotFound):
    code = "resume_not_found"


class ResumeNotParsed(ApiError):
    status_code = 422
    code = "resume_not_parsed"


class ResumeQuotaExceeded(ApiError):
    status_code = 422
    code = "resume_quota_exceeded"


class QueueUnavailable(ServiceUnavailable):
    code = "queue_unavailable"


class StorageUnavailable(ServiceUnavailable):
    code = "storage_unavailable"


class ResumeError(msgspec.Struct, kw_only=True, frozen=True):
    """Why the last parse of a resume failed."""

    code: str
    message: str


class ResumeOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    filename: str
    content_type: str
    size_bytes: int
    status: ResumeStatus
    error: ResumeError | None
    profile: Profile | None
    created_at: datetime
    parsed_at: datetime | None


class UploadAccepted(msgspec.Struct, kw_only=True):
    resume: ResumeOut
    task_id: uuid.UUID


class ParseAccepted(msgspec.Struct, kw_only=True):
    task_id: uuid.UUID


class StoredFile(msgspec.Struct, kw_only=True, frozen=True):
    storage_key: str
    filename: str
    content_type: str


_OUT_COLUMNS = (
    Resume.id,
    Resume.filename,
    Resume.content_type,
    Resume.size_bytes,
    Resume.status,
    Resume.error,
    Resume.profile,
    Resume.created_at,
    Resume.parsed_at,
)


def resume_out(row: dict[str, Any]) -> ResumeOut:
    return ResumeOut(
        id=row["id"],
        filename=row["filename"],
        content_type=row["content_type"],
        size_bytes=row["size_bytes"],
        status=row["status"],
        error=None if row["error"] is None else msgspec.convert(row["error"], ResumeError),
        profile=None if row["profile"] is None else msgspec.convert(row["profile"], Profile),
        created_at=row["created_at"],
        parsed_at=row["parsed_at"],
    )


def _visible(owner_id: uuid.UUID) -> Any:
    return (Resume.owner == owner_id) & Resume.deleted_at.is_null()


def _now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------------------------------------
# Storage


_storages: dict[tuple[str, ...], Storage] = {}


def storage_for(settings: Settings) -> Storage:
    """One storage client per configuration, shared by every request of a process."""
    key = (
        settings.storage_backend,
        settings.s3_bucket,
        settings.s3_endpoint_url,
        settings.s3_region,
        str(settings.data_path),
    )
    storage = _storages.get(key)
    if storage is None:
        storage = _storages[key] = build_storage(settings)
    return storage


# ---------------------------------------------------------------------------------------------
# Reads


# The same columns and order as `_OUT_COLUMNS` and `_visible`, as one prepared statement that
# also counts the whole list: a page costs one round trip and no query building.
_LIST_QUERY = (
    "SELECT id, filename, content_type, size_bytes, status, error::text AS error, "
    "profile::text AS profile, created_at, parsed_at, count(*) OVER () AS total "
    "FROM resumes WHERE owner = $1 AND deleted_at IS NULL "
    "ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
)
_COUNT_QUERY = "SELECT count(*) FROM resumes WHERE owner = $1 AND deleted_at IS NULL"


def _json_or_none(text: str | None) -> Any:
    return None if text is None else msgspec.json.decode(text)


async def list_resumes(owner_id: uuid.UUID, params: PageParams) -> Page[ResumeOut]:
    pool = engine().pool
    rows = await pool.fetch(_LIST_QUERY, owner_id, params.limit, params.skip)
    if rows:
        total: int = rows[0]["total"]
    elif params.skip == 0:
        total = 0
    else:
        # A page past the end has no row to carry the count, yet still reports the total.
        total = await pool.fetchval(_COUNT_QUERY, owner_id)
    items = [
        resume_out({**row, "error": _json_or_none(row["error"]), "profile": _json_or_none(row["profile"])})
        for row in rows
    ]
    return Page.of(items, total=total, params=params)


async def get_resume(owner_id: uuid.UUID, resume_id: uuid.UUID) -> ResumeOut:
    row = (
        await Resume.select(*_OUT_COLUMNS)
        .where(_visible(owner_id) & (Resume.id == resume_id))
        .output(load_json=True)
        .first()
    )
    if row is None:
        raise ResumeNotFound("No resume with this id.")
    return resume_out(row)


async def stored_file(owner_id: uuid.UUID, resume_id: uuid.UUID) -> StoredFile:
    row = (
        await Resume.select(Resume.storage_key, Resume.filename, Resume.content_type)
        .where(_visible(owner_id) & (Resume.id == resume_id))
        .first()
    )
    if row is None:
        raise ResumeNotFound("No resume with this id.")
    return StoredFile(
        storage_key=row["storage_key"], filename=row["filename"], content_type=row["content_type"]
    )


async def profile_for_interview(user_id: uuid.UUID, resume_id: uuid.UUID) -> Profile:
    """The parsed profile of the user's resume, for an interview built around it.

    404 `resume_not_found` for a missing, deleted or someone else's resume; 422
    `resume_not_parsed` while it has no profile yet (never parsed, still parsing, or failed).
    A resume being parsed again keeps serving its previous profile until the new one is saved.
    """
    row = (
        await Resume.select(Resume.profile, Resume.status)
        .where(_visible(user_id) & (Resume.id == resume_id))
        .output(load_json=True)
        .first()
    )
    if row is None:
        raise ResumeNotFound("No resume with this id.")
    if row["profile"] is None:
        raise ResumeNotParsed(
            f"The resume has no profile yet (status {row['status']}); wait for its parse task to succeed."
        )
    return msgspec.convert(row["profile"], Profile)


# ---------------------------------------------------------------------------------------------
# Writes


async def check_quota(owner_id: uuid.UUID, quota: int) -> None:
    """Refuse early, before an upload is read, when the user is already at the quota."""
    if await Resume.count().where(_visible(owner_id)) >= quota:
        raise _quota_exceeded(quota)


def _quota_exceeded(quota: int) -> ResumeQuotaExceeded:
    return ResumeQuotaExceeded(f"You can keep at most {quota} resumes; delete one to upload another.")


async def _enqueue_parse(task_id: uuid.UUID) -> None:
    try:
        await enqueue(parse_resume, str(task_id))
    except Exception as exc:
        # The resume is saved either way; without a queue its task can only end here.
        log.error("resume_parse_enqueue_failed", task_id=str(task_id), error=repr(exc))
        await fail_task(
            task_id,
            TaskError(
                code="queue_unavailable", message="The job queue could not be reached; parse again later."
            ),
        )
        raise QueueUnavailable(
            "The resume is stored, but its parsing could not be queued; ask to parse it again shortly."
        ) from exc


async def _discard_stored(storage: Storage, storage_key: str) -> None:
    """Best effort: an object left behind is harmless (unreferenced, never served); the error
    that got us here is what the client must see."""
    try:
        await asyncio.shield(storage.delete(storage_key))
    except StorageError as exc:
        log.warning("resume_store_cleanup_failed", storage_key=storage_key, error=str(exc))


async def create_resume(
    owner_id: uuid.UUID, upload: ReceivedResume, *, storage: Storage, quota: int
) -> UploadAccepted:
    """Store the checked upload under a generated key, record it with its parse task, then queue
    the parse. The quota is checked again under a per-user lock, so concurrent uploads cannot
    overshoot it together."""
    storage_key = generate_key()
    try:
        await storage.save(
            storage_key, upload.chunks(), max_bytes=upload.size, content_type=upload.content_type
        )
    except StorageError as exc:
        log.error("resume_store_failed", error=str(exc))
        raise StorageUnavailable("The file could not be stored; try again shortly.") from exc
    resume_id = uuid.uuid4()
    try:
        async with engine().transaction():
            await Resume.raw("SELECT pg_advisory_xact_lock(hashtextextended({}, 0))", f"resumes:{owner_id}")
            if await Resume.count().where(_visible(owner_id)) >= quota:
                raise _quota_exceeded(quota)
            await Resume.insert(
                Resume(
                    id=resume_id,
                    owner=owner_id,
                    filename=upload.filename,
                    content_type=upload.content_type,
                    size_bytes=upload.size,
                    sha256=upload.sha256,
                    storage_key=storage_key,
                    status="uploaded",
                )
            )
            task_id = await create_task(owner_id=owner_id, kind="parse_resume", subject_id=resume_id)
    except BaseException:
        await _discard_stored(storage, storage_key)
        raise
    log.info("resume_uploaded", resume_id=str(resume_id), size_bytes=upload.size, kind=upload.kind)
    await _enqueue_parse(task_id)
    return UploadAccepted(resume=await get_resume(owner_id, resume_id), task_id=task_id)


# A queued or running parse that has not been touched for this long is presumed lost with its
# message (the broker drops messages older than the parse actor's max age).
ACTIVE_PARSE_REUSE_WINDOW: timedelta = PARSE_MAX_AGE


async def request_parse(owner_id: uuid.UUID, resume_id: uuid.UUID) -> ParseAccepted:
    """Parse the resume again. A parse of it already queued or running is answered with its own
    task instead of a second one; the current profile stays until the new parse succeeds."""
    async with engine().transaction():
        row = (
            await Resume.select(Resume.id)
            .where(_visible(owner_id) & (Resume.id == resume_id))
            .lock_rows("UPDATE")
            .first()
        )
        if row is None:
            raise ResumeNotFound("No resume with this id.")
        active = await find_active_task(
            kind="parse_resume", subject_id=resume_id, touched_within=ACTIVE_PARSE_REUSE_WINDOW
        )
        if active is not None:
            return ParseAccepted(task_id=active)
        task_id = await create_task(owner_id=owner_id, kind="parse_resume", subject_id=resume_id)
    await _enqueue_parse(task_id)
    return ParseAccepted(task_id=task_id)


async def delete_resume(owner_id: uuid.UUID, resume_id: uuid.UUID) -> None:
    """Soft delete: hidden from every route at once, the row kept for the audit trail; the
    retention job removes the stored file later."""
    now = _now()
    async with engine().transaction():
        rows = (
            await Resume.update({Resume.deleted_at: now, Resume.updated_at: now})
            .where(_visible(owner_id) & (Resume.id == resume_id))
            .returning(Resume.filename, Resume.size_bytes)
        )
        if not rows:
            raise ResumeNotFound("No resume with this id.")
        await record_audit(
            owner_id,
            RESUME_DELETED,
            "resume",
            resume_id,
            {"filename": rows[0]["filename"], "size_bytes": rows[0]["size_bytes"]},
        )
