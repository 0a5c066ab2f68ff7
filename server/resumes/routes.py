"""REST routes of the "Resumes" section of api.md."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    RequestBody,
    Schema,
)
from litestar.params import FromPath
from litestar.response import File, Redirect
from litestar.status_codes import HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT, HTTP_307_TEMPORARY_REDIRECT

from server.accounts.auth import AuthUser
from server.accounts.docs import AUTH_REQUIRED, problems
from server.core.errors import NotFound
from server.core.pagination import Page, PageParams
from server.core.settings import Settings
from server.resumes import service
from server.resumes.service import ParseAccepted, ResumeOut, UploadAccepted
from server.resumes.upload import FILE_FIELD, receive_resume
from server.storage import DEFAULT_PRESIGNED_EXPIRY_SECONDS, LocalStorage, attachment_disposition

AuthRequest = Request[AuthUser, Any, Any]

NOT_FOUND = {404: "resume_not_found: no such resume among yours (deleted ones included)"}


@dataclass
class _UploadOperation(Operation):
    """The upload handler reads the body itself (to stream it), so Litestar cannot infer the
    request body for the schema; it is described here."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            description="The resume: a PDF or DOCX file of at most RESUME_MAX_BYTES (5 MiB by default).",
            content={
                "multipart/form-data": OpenAPIMediaType(
                    schema=Schema(
                        type=OpenAPIType.OBJECT,
                        required=[FILE_FIELD],
                        properties={FILE_FIELD: Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)},
                    )
                )
            },
        )


class ResumeController(Controller):
    path = "/resumes"
    tags = ["resumes"]

    @post(
        "/",
        status_code=HTTP_202_ACCEPTED,
        operation_class=_UploadOperation,
        summary="Upload a resume",
        description=(
            f"Multipart field `{FILE_FIELD}`: a PDF or DOCX of at most 5 MiB. The type is decided by the "
            "content, never by the name or the declared type. The file is stored under a generated id; "
            "`filename` is the sanitised name it was sent with, for display. Parsing starts in the "
            "background: poll `GET /tasks/{task_id}` until it succeeds, then read the profile. Files the "
            "parser cannot read end in a `failed` task with the reason."
        ),
        responses=problems(
            {
                **AUTH_REQUIRED,
                400: "malformed_upload: the multipart body is broken",
                413: "file_too_large: the file is larger than 5 MiB",
                415: "unsupported_file_type: the content is neither a PDF nor a DOCX",
                422: (
                    "empty_file: the file is empty; or unsafe_file: the document would expand past the "
                    "parser's limits; or resume_quota_exceeded: 50 resumes kept already; or "
                    "validation_error: no `file` part"
                ),
                503: (
                    "storage_unavailable: the file could not be stored; or queue_unavailable: stored, "
                    "but its parsing could not be queued (ask to parse it again)"
                ),
            }
        ),
    )
    async def upload(self, request: AuthRequest, settings: NamedDependency[Settings]) -> UploadAccepted:
        owner_id = request.user.id
        await service.check_quota(owner_id, settings.resume_quota_per_user)
        received = await receive_resume(request, max_bytes=settings.resume_max_bytes)
        try:
            return await service.create_resume(
                owner_id,
                received,
                storage=service.storage_for(settings),
                quota=settings.resume_quota_per_user,
            )
        finally:
            received.close()

    @get(
        "/",
        summary="Your resumes, newest first",
        description="Paginated with `skip` and `limit`. Deleted resumes are not listed.",
        responses=problems(AUTH_REQUIRED),
    )
    async def list_resumes(self, request: AuthRequest, page: NamedDependency[PageParams]) -> Page[ResumeOut]:
        return await service.list_resumes(request.user.id, page)

    @get(
        "/{resume_id:uuid}",
        summary="One resume",
        description=(
            "`status` is `uploaded`, `parsing`, `parsed` or `failed`; `profile` is present once a parse "
            "has succeeded (a later parse that fails keeps it, with `error` saying why). Facts the "
            "resume does not state are null or empty."
        ),
        responses=problems({**AUTH_REQUIRED, **NOT_FOUND}),
    )
    async def read(self, request: AuthRequest, resume_id: FromPath[uuid.UUID]) -> ResumeOut:
        return await service.get_resume(request.user.id, resume_id)

    @get(
        "/{resume_id:uuid}/file",
        summary="Download the original file",
        description=(
            "Stored on local disk: the file itself, as an attachment (`Content-Disposition: attachment`, "
            f"`X-Content-Type-Options: nosniff`). Stored in S3: 307 to a signed URL valid "
            f"{DEFAULT_PRESIGNED_EXPIRY_SECONDS // 60} minutes that downloads it the same way."
        ),
        responses=problems({**AUTH_REQUIRED, **NOT_FOUND}),
    )
    async def download(
        self, request: AuthRequest, resume_id: FromPath[uuid.UUID], settings: NamedDependency[Settings]
    ) -> Response[Any]:
        stored = await service.stored_file(request.user.id, resume_id)
        storage = service.storage_for(settings)
        headers = {
            "content-disposition": attachment_disposition(stored.filename),
            "x-content-type-options": "nosniff",
            "cache-control": "private, no-store",
        }
        url = await storage.presigned_url(
            stored.storage_key, stored.filename, DEFAULT_PRESIGNED_EXPIRY_SECONDS
        )
        if url is not None:
            return Redirect(
                url, status_code=HTTP_307_TEMPORARY_REDIRECT, headers={"cache-control": "no-store"}
            )
        if isinstance(storage, LocalStorage):
            if not await storage.exists(stored.storage_key):
                raise NotFound("The resume's file is no longer stored.", code="resume_file_missing")
            return File(
                storage.path_for(stored.storage_key),
                filename=stored.filename,
                media_type=stored.content_type,
                headers=headers,
            )
        return Response(
            await storage.open_bytes(stored.storage_key), media_type=stored.content_type, headers=headers
        )

    @post(
        "/{resume_id:uuid}/parse",
        status_code=HTTP_202_ACCEPTED,
        summary="Parse the resume again",
        description=(
            "Queues a new parse and answers its task id; while a parse of this resume is already queued "
            "or running, answers that task instead. The new profile replaces the current one only when "
            "the parse succeeds."
        ),
        responses=problems({**AUTH_REQUIRED, **NOT_FOUND, 503: "queue_unavailable: try again shortly"}),
    )
    async def parse(self, request: AuthRequest, resume_id: FromPath[uuid.UUID]) -> ParseAccepted:
        return await service.request_parse(request.user.id, resume_id)

    @delete(
        "/{resume_id:uuid}",
        status_code=HTTP_204_NO_CONTENT,
        summary="Delete a resume",
        description=(
            "Soft delete: the resume disappears from every route at once and the deletion is audit-logged; "
            "the stored file and the profile are removed after RESUME_RETENTION_DAYS (30 by default)."
        ),
        responses=problems({**AUTH_REQUIRED, **NOT_FOUND}),
    )
    async def remove(self, request: AuthRequest, resume_id: FromPath[uuid.UUID]) -> None:
        await service.delete_resume(request.user.id, resume_id)
