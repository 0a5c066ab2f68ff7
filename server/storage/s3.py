"""Files in an S3 bucket (AWS or any S3-compatible service such as MinIO).

boto3 is synchronous, so every call runs in a worker thread: the event loop keeps serving
sockets while a request to S3 is in flight. Credentials come from boto3's standard chain
(AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, profiles, instance roles);
they are never part of our settings.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from typing import IO, TYPE_CHECKING, Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from server.storage.protocol import (
    DEFAULT_PRESIGNED_EXPIRY_SECONDS,
    ObjectTooLarge,
    StorageError,
    StoredObjectNotFound,
    attachment_disposition,
    validate_key,
)

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

# Uploads up to this size stay in memory while they are being received; larger ones spill to
# a temporary file. Resumes are capped at 5 MiB, so in practice nothing touches the disk.
SPOOL_MEMORY_BYTES = 5 * 1024 * 1024

# One PUT per object: above the threshold boto3 would switch to a multipart upload, which
# leaves orphaned parts behind when a worker dies halfway.
_SINGLE_PUT = TransferConfig(multipart_threshold=5 * 1024 * 1024 * 1024, use_threads=False)

_MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
_MAX_PRESIGNED_EXPIRY_SECONDS = 7 * 24 * 3600  # the SigV4 maximum


class S3Storage:
    def __init__(self, client: S3Client, bucket: str, *, prefix: str = "files/") -> None:
        if not bucket:
            raise ValueError("S3Storage needs a bucket name")
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    @classmethod
    def connect(
        cls,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        prefix: str = "files/",
    ) -> S3Storage:
        config = Config(
            signature_version="s3v4",
            connect_timeout=5,
            read_timeout=30,
            retries={"max_attempts": 3, "mode": "standard"},
            # Path-style addressing works with every S3-compatible server and with bucket
            # names containing dots; AWS still accepts it.
            s3={"addressing_style": "path"},
        )
        client = boto3.client("s3", endpoint_url=endpoint_url or None, region_name=region, config=config)
        return cls(client, bucket, prefix=prefix)

    def object_key(self, key: str) -> str:
        return self.prefix + validate_key(key)

    async def save(
        self,
        key: str,
        chunks: AsyncIterator[bytes],
        *,
        max_bytes: int | None = None,
        content_type: str | None = None,
    ) -> int:
        object_key = self.object_key(key)
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES) as spool:
            size = 0
            async for chunk in chunks:
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise ObjectTooLarge(max_bytes)
                if size > SPOOL_MEMORY_BYTES:
                    # Past the in-memory budget the spool writes to disk: keep that off the loop.
                    await asyncio.to_thread(spool.write, chunk)
                else:
                    spool.write(chunk)
            spool.seek(0)
            extra: dict[str, Any] = {"ContentType": content_type or "application/octet-stream"}
            await asyncio.to_thread(self._upload, spool, object_key, extra)
        return size

    def _upload(self, body: IO[bytes], object_key: str, extra: dict[str, Any]) -> None:
        try:
            self.client.upload_fileobj(body, self.bucket, object_key, ExtraArgs=extra, Config=_SINGLE_PUT)
        except ClientError as exc:
            raise StorageError(f"S3 upload of {object_key!r} failed: {_error_code(exc)}") from exc
        except BotoCoreError as exc:  # no answer at all: connection refused, timeout, ...
            raise StorageError(f"S3 upload of {object_key!r} failed: {exc}") from exc

    async def open_bytes(self, key: str) -> bytes:
        object_key = self.object_key(key)
        return await asyncio.to_thread(self._download, key, object_key)

    def _download(self, key: str, object_key: str) -> bytes:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=object_key)
        except ClientError as exc:
            if _error_code(exc) in _MISSING_CODES:
                raise StoredObjectNotFound(key) from None
            raise StorageError(f"S3 download of {object_key!r} failed: {_error_code(exc)}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3 download of {object_key!r} failed: {exc}") from exc
        with response["Body"] as body:
            return body.read()

    async def delete(self, key: str) -> None:
        object_key = self.object_key(key)
        try:
            await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=object_key)
        except ClientError as exc:
            if _error_code(exc) not in _MISSING_CODES:
                raise StorageError(f"S3 delete of {object_key!r} failed: {_error_code(exc)}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3 delete of {object_key!r} failed: {exc}") from exc

    async def exists(self, key: str) -> bool:
        object_key = self.object_key(key)
        try:
            await asyncio.to_thread(self.client.head_object, Bucket=self.bucket, Key=object_key)
        except ClientError as exc:
            if _error_code(exc) in _MISSING_CODES:
                return False
            raise StorageError(f"S3 lookup of {object_key!r} failed: {_error_code(exc)}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3 lookup of {object_key!r} failed: {exc}") from exc
        return True

    async def presigned_url(
        self, key: str, filename: str, expires: int = DEFAULT_PRESIGNED_EXPIRY_SECONDS
    ) -> str | None:
        if not 1 <= expires <= _MAX_PRESIGNED_EXPIRY_SECONDS:
            raise ValueError(f"expires must be between 1 and {_MAX_PRESIGNED_EXPIRY_SECONDS} seconds")
        object_key = self.object_key(key)
        return await asyncio.to_thread(
            self.client.generate_presigned_url,
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": object_key,
                "ResponseContentDisposition": attachment_disposition(filename),
            },
            ExpiresIn=expires,
        )

    def close(self) -> None:
        self.client.close()


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "unknown"))
