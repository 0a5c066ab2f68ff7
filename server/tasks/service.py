"""Task rows: created with the work they track, then moved forward by the job that does it.

Every transition is one conditional UPDATE, so duplicate deliveries of a job (Dramatiq delivers
at least once) cannot move a finished task back: only the first `complete_task` or `fail_task`
of a task returns True, and the caller does its own final write only when it does, in the same
transaction.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, get_args

import msgspec

from server.core.errors import NotFound
from server.tasks.tables import Task

TaskKind = Literal["parse_resume"]
TaskStatus = Literal["queued", "running", "succeeded", "failed"]
TERMINAL_STATUSES: tuple[TaskStatus, ...] = ("succeeded", "failed")
ACTIVE_STATUSES: tuple[TaskStatus, ...] = ("queued", "running")
TASK_KINDS: tuple[TaskKind, ...] = get_args(TaskKind)


class TaskError(msgspec.Struct, kw_only=True, frozen=True):
    """Why a task failed (or why its last attempt did, while it waits for a retry)."""

    code: str
    message: str


class TaskOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    kind: TaskKind
    status: TaskStatus
    progress: int
    result: dict[str, Any] | None
    error: TaskError | None
    created_at: datetime
    updated_at: datetime


class TaskRecord(msgspec.Struct, kw_only=True, frozen=True):
    """What a job needs to know about its own task row."""

    id: uuid.UUID
    owner_id: uuid.UUID
    kind: TaskKind
    subject_id: uuid.UUID | None
    status: TaskStatus
    progress: int
    attempts: int
    error: TaskError | None

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_STATUSES


class TaskNotFound(NotFound):
    code = "task_not_found"


def _now() -> datetime:
    return datetime.now(UTC)


def _check_progress(progress: int) -> int:
    if not 0 <= progress <= 100:
        raise ValueError(f"progress must be between 0 and 100, got {progress}")
    return progress


async def create_task(
    *, owner_id: uuid.UUID, kind: TaskKind, subject_id: uuid.UUID | None = None
) -> uuid.UUID:
    """Insert a `queued` task. Joins the caller's transaction: create the task together with
    what it works on, and enqueue the job only after that transaction has committed."""
    if kind not in TASK_KINDS:
        raise ValueError(f"unknown task kind {kind!r}; known: {', '.join(TASK_KINDS)}")
    task_id = uuid.uuid4()
    await Task.insert(Task(id=task_id, owner=owner_id, kind=kind, subject_id=subject_id, status="queued"))
    return task_id


def _task_out(row: dict[str, Any]) -> TaskOut:
    return TaskOut(
        id=row["id"],
        kind=row["kind"],
        status=row["status"],
        progress=row["progress"],
        result=row["result"],
        error=None if row["error"] is None else msgspec.convert(row["error"], TaskError),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def task_for_owner(owner_id: uuid.UUID, task_id: uuid.UUID) -> TaskOut:
    """The task as the API shows it; someone else's task is as missing as a task that never was."""
    row = (
        await Task.select(
            Task.id,
            Task.kind,
            Task.status,
            Task.progress,
            Task.result,
            Task.error,
            Task.created_at,
            Task.updated_at,
        )
        .where((Task.id == task_id) & (Task.owner == owner_id))
        .output(load_json=True)
        .first()
    )
    if row is None:
        raise TaskNotFound("No task with this id.")
    return _task_out(row)


async def load_task(task_id: uuid.UUID) -> TaskRecord | None:
    row = (
        await Task.select(
            Task.id,
            Task.owner,
            Task.kind,
            Task.subject_id,
            Task.status,
            Task.progress,
            Task.attempts,
            Task.error,
        )
        .where(Task.id == task_id)
        .output(load_json=True)
        .first()
    )
    if row is None:
        return None
    return TaskRecord(
        id=row["id"],
        owner_id=row["owner"],
        kind=row["kind"],
        subject_id=row["subject_id"],
        status=row["status"],
        progress=row["progress"],
        attempts=row["attempts"],
        error=None if row["error"] is None else msgspec.convert(row["error"], TaskError),
    )


async def find_active_task(
    *, kind: TaskKind, subject_id: uuid.UUID, touched_within: timedelta
) -> uuid.UUID | None:
    """The newest queued or running task of this kind on this subject that has shown signs of
    life within `touched_within` (older ones are presumed lost with their message)."""
    row = (
        await Task.select(Task.id)
        .where(
            (Task.kind == kind)
            & (Task.subject_id == subject_id)
            & Task.status.is_in(list(ACTIVE_STATUSES))
            & (Task.updated_at > _now() - touched_within)
        )
        .order_by(Task.created_at, ascending=False)
        .first()
    )
    return None if row is None else row["id"]


async def start_attempt(task_id: uuid.UUID) -> bool:
    """Mark the task `running` for a new attempt; False when it has already finished."""
    now = _now()
    rows = (
        await Task.update(
            {
                Task.status: "running",
                Task.attempts: Task.attempts + 1,
                Task.updated_at: now,
            }
        )
        .where((Task.id == task_id) & Task.status.is_in(list(ACTIVE_STATUSES)))
        .returning(Task.id)
    )
    if rows:
        await Task.update({Task.started_at: now}).where((Task.id == task_id) & Task.started_at.is_null())
    return bool(rows)


async def report_progress(task_id: uuid.UUID, progress: int) -> None:
    """Raise the task's progress; it never goes back, not even when a redelivered job starts over."""
    progress = _check_progress(progress)
    await Task.update({Task.progress: progress, Task.updated_at: _now()}).where(
        (Task.id == task_id) & (Task.progress < progress) & Task.status.is_in(list(ACTIVE_STATUSES))
    )


async def note_retry(task_id: uuid.UUID, error: TaskError) -> None:
    """The current attempt failed for a reason that may pass: back to `queued`, showing why."""
    await Task.update(
        {Task.status: "queued", Task.error: msgspec.to_builtins(error), Task.updated_at: _now()}
    ).where((Task.id == task_id) & Task.status.is_in(list(ACTIVE_STATUSES)))


async def complete_task(task_id: uuid.UUID, result: dict[str, Any]) -> bool:
    """`succeeded` at 100 %; True only for the call that finished the task."""
    now = _now()
    rows = (
        await Task.update(
            {
                Task.status: "succeeded",
                Task.progress: 100,
                Task.result: result,
                Task.error: None,
                Task.updated_at: now,
                Task.finished_at: now,
            }
        )
        .where((Task.id == task_id) & Task.status.is_in(list(ACTIVE_STATUSES)))
        .returning(Task.id)
    )
    return bool(rows)


async def fail_task(task_id: uuid.UUID, error: TaskError) -> bool:
    """`failed` with its reason; True only for the call that finished the task."""
    now = _now()
    rows = (
        await Task.update(
            {
                Task.status: "failed",
                Task.error: msgspec.to_builtins(error),
                Task.updated_at: now,
                Task.finished_at: now,
            }
        )
        .where((Task.id == task_id) & Task.status.is_in(list(ACTIVE_STATUSES)))
        .returning(Task.id)
    )
    return bool(rows)
