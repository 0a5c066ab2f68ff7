"""Receiving an uploaded resume without trusting anything about it.

Litestar's form handling parses the whole multipart body (spooling files past 1 MiB) before the
handler runs, so no check could stop an upload before its last byte. The upload route instead
reads `request.stream()` itself and feeds it to the incremental multipart parser Litestar is
built on. The file part goes to a temporary file on disk in pieces of at most
`WRITE_BUFFER_BYTES`; the size cap is enforced on the bytes as they arrive (and on the announced
Content-Length before any are read). Only when the part is complete is its type decided, from
its content: the first bytes for a PDF, the archive's directory for a DOCX, whose declared sizes
must also stay within what the extraction step would accept. Whatever the client named the file
or declared it to be plays no part; the name is kept, sanitised, for display only.
"""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
import zipfile
from collections.abc import AsyncIterator
from typing import IO, Any

import multipart  # type: ignore[import-untyped]  # Litestar's own multipart parser; untyped
from litestar import Request
from litestar.exceptions.http_exceptions import RequestEntityTooLarge

from server.core.errors import ApiError, ValidationFailed
from server.resumes.extraction import DEFAULT_LIMITS, ExtractionLimits
from server.resumes.sniff import (
    CONTENT_TYPES,
    SNIFF_HEAD_BYTES,
    ResumeKind,
    UnsupportedFileType,
    detect_resume_type,
    sanitize_filename,
)

FILE_FIELD = "file"
# Room for the multipart framing and a few small form fields around the file.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
MAX_TEXT_FIELD_BYTES = 8 * 1024
MAX_PARTS = 8
WRITE_BUFFER_BYTES = 256 * 1024
READ_CHUNK_BYTES = 64 * 1024


class FileTooLarge(ApiError):
    status_code = 413
    code = "file_too_large"


class UnsupportedResumeType(ApiError):
    status_code = 415
    code = "unsupported_file_type"


class NotMultipart(ApiError):
    status_code = 415
    code = "unsupported_media_type"


class MalformedUpload(ApiError):
    status_code = 400
    code = "malformed_upload"


class EmptyFile(ApiError):
    status_code = 422
    code = "empty_file"


class UnsafeFile(ApiError):
    status_code = 422
    code = "unsafe_file"


class ReceivedResume:
    """An uploaded file that passed every upload check, held in a temporary file until stored."""

    def __init__(self, spool: IO[bytes], *, filename: str, size: int, sha256: str, kind: ResumeKind) -> None:
        self._spool = spool
        self.filename = filename
        self.size = size
        self.sha256 = sha256
        self.kind = kind

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.kind]

    async def chunks(self) -> AsyncIterator[bytes]:
        await asyncio.to_thread(self._spool.seek, 0)
        while chunk := await asyncio.to_thread(self._spool.read, READ_CHUNK_BYTES):
            yield chunk

    def close(self) -> None:
        self._spool.close()


class _FilePart:
    """The `file` part as it streams in: counted, hashed and written out in small batches."""

    def __init__(self, filename: str | None, max_bytes: int) -> None:
        self.filename = filename
        self.max_bytes = max_bytes
        self.spool: IO[bytes] = tempfile.TemporaryFile(prefix="interviewace-upload-")  # noqa: SIM115
        self.size = 0
        self.head = b""
        self.complete = False
        self._hash = hashlib.sha256()
        self._pending = bytearray()

    async def feed(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.max_bytes:
            raise FileTooLarge(f"The file is larger than the {_describe_size(self.max_bytes)} limit.")
        if len(self.head) < SNIFF_HEAD_BYTES:
            self.head += data[: SNIFF_HEAD_BYTES - len(self.head)]
        self._hash.update(data)
        self._pending += data
        if len(self._pending) >= WRITE_BUFFER_BYTES:
            await self.flush()

    async def flush(self) -> None:
        if self._pending:
            await asyncio.to_thread(self.spool.write, bytes(self._pending))
            self._pending.clear()

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()


def _describe_size(limit: int) -> str:
    mib = limit / (1024 * 1024)
    return f"{mib:g} MiB" if mib >= 1 else f"{limit} byte"


def _boundary(request: Request[Any, Any, Any]) -> bytes:
    media_type, options = request.content_type
    if media_type != "multipart/form-data":
        raise NotMultipart(
            f"Send the resume as multipart/form-data with the file in the field `{FILE_FIELD}`."
        )
    boundary = options.get("boundary", "")
    if not boundary:
        raise MalformedUpload("The multipart Content-Type has no boundary.")
    return boundary.encode("latin-1")


class _MultipartReader:
    """Routes the parser's events: the `file` part's bytes to a `_FilePart`, the bytes of any
    other field only counted (nothing else in the form is used)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.file_part: _FilePart | None = None
        self._current: _FilePart | None = None
        self._text_bytes = 0

    async def handle(self, event: multipart.MultipartSegment | bytes | None) -> None:
        if isinstance(event, multipart.MultipartSegment):
            self._current = None
            if event.name == FILE_FIELD:
                if self.file_part is not None:
                    raise ValidationFailed(FILE_FIELD, "Send exactly one file per upload.")
                self.file_part = self._current = _FilePart(event.filename, self.max_bytes)
        elif event is None:
            if self._current is not None:
                await self._current.flush()
                self._current.complete = True
            self._current = None
        elif self._current is not None:
            await self._current.feed(event)
        else:
            self._text_bytes += len(event)
            if self._text_bytes > MAX_TEXT_FIELD_BYTES:
                raise MalformedUpload(
                    f"Fields besides `{FILE_FIELD}` may hold {MAX_TEXT_FIELD_BYTES} bytes in all."
                )

    def discard(self) -> None:
        if self.file_part is not None:
            self.file_part.spool.close()


async def _read_file_part(request: Request[Any, Any, Any], max_bytes: int) -> _FilePart:
    """Parse the multipart body as it arrives; returns the complete `file` part."""
    boundary = _boundary(request)
    body_limit = max_bytes + MULTIPART_OVERHEAD_BYTES
    too_large = FileTooLarge(f"The file is larger than the {_describe_size(max_bytes)} limit.")
    announced = request.headers.get("content-length")
    if announced is not None and announced.isdigit() and int(announced) > body_limit:
        raise too_large
    try:
        parser = multipart.PushMultipartParser(boundary, max_segment_count=MAX_PARTS)
    except multipart.ParserError as exc:
        raise MalformedUpload(f"The multipart boundary is invalid ({exc}).") from None

    reader = _MultipartReader(max_bytes)
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > body_limit:
                raise too_large
            for event in parser.parse(chunk):
                await reader.handle(event)
    except BaseException as exc:
        reader.discard()
        if isinstance(exc, RequestEntityTooLarge):
            raise too_large from None
        if isinstance(exc, multipart.ParserLimitReached):
            raise MalformedUpload(f"The multipart body exceeds a parser limit ({exc}).") from None
        if isinstance(exc, multipart.ParserError):
            raise MalformedUpload(f"The multipart body is malformed ({exc}).") from None
        raise
    part = reader.file_part
    if part is None or not part.complete:
        reader.discard()
        raise ValidationFailed(FILE_FIELD, f"The upload has no `{FILE_FIELD}` part holding the resume.")
    return part


def _check_docx_package(spool: IO[bytes], limits: ExtractionLimits) -> None:
    """What the zip directory declares, read without inflating anything: a package that would
    expand past the extraction limits is refused before it is stored."""
    spool.seek(0)
    try:
        with zipfile.ZipFile(spool) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise UnsupportedResumeType(
            f"The file looks like a Word document but its archive is damaged ({exc})."
        ) from None
    if len(entries) > limits.max_zip_entries:
        raise UnsafeFile(
            f"The document's archive has {len(entries)} entries; "
            f"at most {limits.max_zip_entries} are allowed."
        )
    declared = sum(entry.file_size for entry in entries)
    if declared > limits.max_uncompressed_bytes:
        raise UnsafeFile(
            f"The document's archive expands to {declared // (1024 * 1024)} MiB; at most "
            f"{limits.max_uncompressed_bytes // (1024 * 1024)} MiB are accepted."
        )


def _identify(part: _FilePart, limits: ExtractionLimits) -> ResumeKind:
    try:
        kind = detect_resume_type(part.head, part.spool)
    except UnsupportedFileType as exc:
        raise UnsupportedResumeType(exc.message) from None
    if kind == "docx":
        _check_docx_package(part.spool, limits)
    return kind


async def receive_resume(
    request: Request[Any, Any, Any], *, max_bytes: int, limits: ExtractionLimits = DEFAULT_LIMITS
) -> ReceivedResume:
    """Read the multipart `file` field of the request into a checked `ReceivedResume`.

    Raises (all ApiError): 413 `file_too_large`, 415 `unsupported_file_type` (content is neither PDF
    nor DOCX), 415 `unsupported_media_type` (not multipart), 400 `malformed_upload`, 422
    `validation_error` (no file part), 422 `empty_file`, 422 `unsafe_file` (a zip bomb's directory).
    The caller closes the result.
    """
    part = await _read_file_part(request, max_bytes)
    try:
        if part.size == 0:
            raise EmptyFile("The file is empty.")
        kind = await asyncio.to_thread(_identify, part, limits)
    except BaseException:
        part.spool.close()
        raise
    return ReceivedResume(
        part.spool, filename=sanitize_filename(part.filename), size=part.size, sha256=part.sha256, kind=kind
    )
