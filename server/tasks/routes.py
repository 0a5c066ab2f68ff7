"""REST route of the "Tasks" section of api.md."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get
from litestar.params import FromPath

from server.accounts.auth import AuthUser
from server.accounts.docs import AUTH_REQUIRED, problems
from server.tasks.service import TaskOut, task_for_owner

AuthRequest = Request[AuthUser, Any, Any]


class TaskController(Controller):
    path = "/tasks"
    tags = ["tasks"]

    @get(
        "/{task_id:uuid}",
        summary="A background task's state",
        description=(
            "Status `queued`, `running`, `succeeded` or `failed`, with `progress` 0-100 (it never goes "
            "back). `result` is set on success (for `parse_resume`: the resume id and the provider "
            "that structured it); `error` (`{code, message}`) says why a task failed, or why its last "
            "attempt did while it waits to be retried. Poll it every second or so."
        ),
        responses=problems({**AUTH_REQUIRED, 404: "task_not_found: no such task among yours"}),
    )
    async def read(self, request: AuthRequest, task_id: FromPath[uuid.UUID]) -> TaskOut:
        return await task_for_owner(request.user.id, task_id)
