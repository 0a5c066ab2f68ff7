"""File storage: local disk in development, S3 (or compatible) in production."""

from __future__ import annotations

from server.core.settings import Settings
from server.storage.local import LocalStorage
from server.storage.protocol import (
    DEFAULT_PRESIGNED_EXPIRY_SECONDS,
    InvalidStorageKey,
    ObjectTooLarge,
    Storage,
    StorageError,
    StoredObjectNotFound,
    attachment_disposition,
    generate_key,
    validate_key,
)
from server.storage.s3 import S3Storage

__all__ = [
    "DEFAULT_PRESIGNED_EXPIRY_SECONDS",
    "InvalidStorageKey",
    "LocalStorage",
    "ObjectTooLarge",
    "S3Storage",
    "Storage",
    "StorageError",
    "StoredObjectNotFound",
    "attachment_disposition",
    "build_storage",
    "generate_key",
    "validate_key",
]


def build_storage(settings: Settings) -> Storage:
    if settings.storage_backend == "s3":
        return S3Storage.connect(
            settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url or None,
            region=settings.s3_region,
        )
    return LocalStorage(settings.data_path / "files")
