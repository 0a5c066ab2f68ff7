"""Files on the local disk, under `<data dir>/files/`.

Writes go to a temporary file in the same directory and are renamed into place only once
complete and flushed, so a crash or an oversized upload never leaves a half-written object
that a reader could mistake for the real one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from server.storage.protocol import (
    DEFAULT_PRESIGNED_EXPIRY_SECONDS,
    ObjectTooLarge,
    StoredObjectNotFound,
    validate_key,
)

_TEMP_PREFIX = ".upload-"


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_for(self, key: str) -> Path:
        """The file holding `key` (for serving it with a file response)."""
        return self.root / validate_key(key)

    async def save(
        self,
        key: str,
        chunks: AsyncIterator[bytes],
        *,
        max_bytes: int | None = None,
        content_type: str | None = None,
    ) -> int:
        # The content type is not kept on disk: the database row is the record of it.
        target = self.path_for(key)
        handle, temp_path = await asyncio.to_thread(self._open_temp)
        size = 0
        try:
            async for chunk in chunks:
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise ObjectTooLarge(max_bytes)
                await asyncio.to_thread(handle.write, chunk)
            await asyncio.to_thread(self._commit, handle, temp_path, target)
        except BaseException:
            # Shielded so that a cancelled upload still cleans up its temporary file.
            await asyncio.shield(asyncio.to_thread(self._discard, handle, temp_path))
            raise
        return size

    def _open_temp(self) -> tuple[BinaryIO, Path]:
        self.root.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=self.root)
        return os.fdopen(fd, "wb"), Path(name)

    def _commit(self, handle: BinaryIO, temp_path: Path, target: Path) -> None:
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()
        os.replace(temp_path, target)
        # The rename itself is only durable once the directory entry is flushed too.
        dir_fd = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    @staticmethod
    def _discard(handle: BinaryIO, temp_path: Path) -> None:
        handle.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_path)

    async def open_bytes(self, key: str) -> bytes:
        path = self.path_for(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise StoredObjectNotFound(key) from None

    async def delete(self, key: str) -> None:
        path = self.path_for(key)
        await asyncio.to_thread(path.unlink, missing_ok=True)

    async def exists(self, key: str) -> bool:
        path = self.path_for(key)
        return await asyncio.to_thread(path.is_file)

    async def presigned_url(
        self, key: str, filename: str, expires: int = DEFAULT_PRESIGNED_EXPIRY_SECONDS
    ) -> str | None:
        validate_key(key)
        return None
