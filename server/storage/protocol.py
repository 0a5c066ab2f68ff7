"""The storage contract shared by the local-disk and S3 backends.

Objects are addressed by opaque keys that the server generates itself (never a user-supplied
file name), so a key that could escape the storage root or name a "folder" is a programming
error and is rejected loudly rather than sanitised.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Protocol
from urllib.parse import quote

# Letters, digits, dot, dash and underscore; must start with a letter or digit so that hidden
# files and temporary files (which start with ".") can never collide with a stored object.
_KEY_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")

DEFAULT_PRESIGNED_EXPIRY_SECONDS = 300


class StorageError(Exception):
    """Base class for storage failures."""


class InvalidStorageKey(StorageError, ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(
            f"invalid storage key {key!r}: use 1-200 of [A-Za-z0-9._-], starting with a letter "
            "or digit, without '..' or path separators"
        )
        self.key = key


class StoredObjectNotFound(StorageError, LookupError):
    def __init__(self, key: str) -> None:
        super().__init__(f"no stored object under key {key!r}")
        self.key = key


class ObjectTooLarge(StorageError):
    """The streamed content exceeded `max_bytes`; nothing was kept."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"content exceeds the {limit}-byte limit")
        self.limit = limit


def validate_key(key: str) -> str:
    if not isinstance(key, str) or not _KEY_PATTERN.fullmatch(key) or ".." in key:
        raise InvalidStorageKey(str(key))
    return key


def generate_key() -> str:
    """A fresh, unguessable key for a new object."""
    return uuid.uuid4().hex


def attachment_disposition(filename: str) -> str:
    """A `Content-Disposition: attachment` value that survives any file name.

    The plain `filename` parameter gets an ASCII-only fallback with quotes and backslashes
    removed; the RFC 6266 `filename*` parameter carries the exact UTF-8 name.
    """
    fallback = "".join(char if 0x20 <= ord(char) < 0x7F and char not in '"\\' else "_" for char in filename)
    fallback = fallback.strip() or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


class Storage(Protocol):
    """Where uploaded files live. Every method is safe to call from the event loop."""

    async def save(
        self,
        key: str,
        chunks: AsyncIterator[bytes],
        *,
        max_bytes: int | None = None,
        content_type: str | None = None,
    ) -> int:
        """Store the streamed content under `key` and return its size in bytes.

        The object appears all at once or not at all. Beyond `max_bytes` the upload stops,
        whatever was received is discarded and `ObjectTooLarge` is raised.
        """
        ...

    async def open_bytes(self, key: str) -> bytes:
        """The whole object (resumes are small); `StoredObjectNotFound` if it does not exist."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; deleting a missing object is not an error (retries are safe)."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def presigned_url(
        self, key: str, filename: str, expires: int = DEFAULT_PRESIGNED_EXPIRY_SECONDS
    ) -> str | None:
        """A short-lived download URL that forces `attachment; filename=...`.

        None when the backend cannot sign URLs (local disk): the caller streams the bytes itself.
        """
        ...
