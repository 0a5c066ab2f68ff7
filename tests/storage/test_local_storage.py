from __future__ import annotations

import asyncio
import stat
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest

from server.core.settings import load_settings
from server.storage import (
    InvalidStorageKey,
    LocalStorage,
    ObjectTooLarge,
    S3Storage,
    StoredObjectNotFound,
    attachment_disposition,
    build_storage,
    generate_key,
    validate_key,
)

BAD_KEYS = ["", "..", "../escape", "a/b", "a\\b", ".hidden", "a..b", "nul\x00byte", "x" * 201, "sp ace", "é"]


async def chunks_of(parts: Iterable[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        await asyncio.sleep(0)
        yield part


async def failing_after(parts: Iterable[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part
    raise ConnectionResetError("client went away")


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "files")


def leftovers(storage: LocalStorage) -> list[str]:
    return sorted(path.name for path in storage.root.iterdir()) if storage.root.exists() else []


async def test_round_trip(storage: LocalStorage) -> None:
    key = generate_key()
    size = await storage.save(key, chunks_of([b"%PDF-1.7\n", b"x" * 70_000, b"%%EOF"]))
    assert size == 9 + 70_000 + 5
    assert await storage.exists(key)
    assert await storage.open_bytes(key) == b"%PDF-1.7\n" + b"x" * 70_000 + b"%%EOF"
    assert await storage.presigned_url(key, "resume.pdf") is None
    # Only the owner may read stored resumes.
    assert stat.S_IMODE(storage.path_for(key).stat().st_mode) == 0o600
    await storage.delete(key)
    assert not await storage.exists(key)
    with pytest.raises(StoredObjectNotFound):
        await storage.open_bytes(key)
    await storage.delete(key)  # deleting twice is fine: jobs are retried


async def test_failed_upload_leaves_the_previous_object_intact(storage: LocalStorage) -> None:
    key = generate_key()
    await storage.save(key, chunks_of([b"first version"]))
    with pytest.raises(ConnectionResetError):
        await storage.save(key, failing_after([b"half of the second"]))
    assert await storage.open_bytes(key) == b"first version"
    assert leftovers(storage) == [key]


async def test_size_limit_stops_the_upload_and_keeps_nothing(storage: LocalStorage) -> None:
    key = generate_key()
    with pytest.raises(ObjectTooLarge) as caught:
        await storage.save(key, chunks_of([b"a" * 600, b"b" * 600]), max_bytes=1000)
    assert caught.value.limit == 1000
    assert not await storage.exists(key)
    assert leftovers(storage) == []
    assert await storage.save(key, chunks_of([b"a" * 1000]), max_bytes=1000) == 1000


async def test_concurrent_saves_do_not_mix(storage: LocalStorage) -> None:
    keys = [generate_key() for _ in range(8)]
    sizes = await asyncio.gather(
        *(storage.save(key, chunks_of([bytes([index]) * 1000] * 5)) for index, key in enumerate(keys))
    )
    assert sizes == [5000] * 8
    for index, key in enumerate(keys):
        assert await storage.open_bytes(key) == bytes([index]) * 5000


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_keys_that_could_escape_are_refused(storage: LocalStorage, key: str) -> None:
    with pytest.raises(InvalidStorageKey):
        await storage.save(key, chunks_of([b"x"]))
    with pytest.raises(InvalidStorageKey):
        await storage.open_bytes(key)
    with pytest.raises(InvalidStorageKey):
        await storage.delete(key)
    with pytest.raises(InvalidStorageKey):
        await storage.exists(key)
    with pytest.raises(InvalidStorageKey):
        await storage.presigned_url(key, "resume.pdf")
    assert not (storage.root.parent / "escape").exists()


def test_generated_keys_are_valid_and_unique() -> None:
    keys = {generate_key() for _ in range(1000)}
    assert len(keys) == 1000
    assert all(validate_key(key) == key for key in keys)
    assert validate_key("3f0c9a6e-1b2d-4c5e-8f90-123456789abc") == "3f0c9a6e-1b2d-4c5e-8f90-123456789abc"


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("resume.pdf", "attachment; filename=\"resume.pdf\"; filename*=UTF-8''resume.pdf"),
        (
            "Müller CV.pdf",
            "attachment; filename=\"M_ller CV.pdf\"; filename*=UTF-8''M%C3%BCller%20CV.pdf",
        ),
        ('a"b\\c.pdf', "attachment; filename=\"a_b_c.pdf\"; filename*=UTF-8''a%22b%5Cc.pdf"),
    ],
)
def test_attachment_disposition(filename: str, expected: str) -> None:
    assert attachment_disposition(filename) == expected


def test_build_storage_follows_the_settings(tmp_path: Path) -> None:
    base = {"DATA_DIR": str(tmp_path), "SECRET_KEY": "k" * 40, "ENVIRONMENT": "test"}
    local = build_storage(load_settings(base, dotenv_path=None))
    assert isinstance(local, LocalStorage)
    assert local.root == tmp_path.resolve() / "files"

    s3_env = {
        **base,
        "STORAGE_BACKEND": "s3",
        "S3_BUCKET": "resumes",
        "S3_ENDPOINT_URL": "http://127.0.0.1:9",
        "S3_REGION": "eu-west-1",
    }
    remote = build_storage(load_settings(s3_env, dotenv_path=None))
    assert isinstance(remote, S3Storage)
    assert remote.bucket == "resumes"
    assert remote.client.meta.endpoint_url == "http://127.0.0.1:9"
    assert remote.client.meta.region_name == "eu-west-1"
    remote.close()
