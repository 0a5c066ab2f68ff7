"""Password hashing (argon2id in a bounded thread pool) and the password policy of api.md.

Hashing costs tens of milliseconds of CPU and 64 MiB per call with production parameters; done
on the event loop it would stall every request and socket of the process. argon2's C code
releases the GIL, so a small pool of threads hashes in parallel while the loop keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import secrets
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from server.accounts.common_passwords import LIST_PATH
from server.core.errors import ValidationFailed
from server.core.settings import Settings

MIN_PASSWORD_LENGTH = 10
# argon2 accepts any length, but every extra byte is hashed on each attempt; a cap keeps a
# megabyte "password" from becoming a cheap way to burn CPU.
MAX_PASSWORD_LENGTH = 256
# A local part this short ("jo@...") would refuse half of all passwords while protecting nothing.
MIN_LOCAL_PART_TO_CHECK = 3
PASSWORD_HISTORY_SIZE = 5


class WeakPassword(ValidationFailed):
    code = "weak_password"


class PasswordReused(ValidationFailed):
    code = "password_reused"


# Linux schedules threads, not processes, by niceness: a hashing thread (and the lane threads
# argon2 starts from it) run behind the event loop when the CPUs are busy, so a login storm
# slows logins, not every other request and socket of the process.
HASHING_THREAD_NICENESS = 10


def _yield_to_the_event_loop() -> None:
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_THREAD_NICENESS)


class PasswordHashing:
    """argon2id hashing and verification off the event loop, with a fixed number of threads."""

    def __init__(self, *, time_cost: int, memory_kib: int, parallelism: int, threads: int) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
        )
        self._executor = ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix="argon2", initializer=_yield_to_the_event_loop
        )
        self._dummy_hash: str | None = None

    async def hash(self, password: str) -> str:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._hasher.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._verify_sync, password_hash, password)

    def _verify_sync(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    async def verify_dummy(self, password: str) -> None:
        """Spend the time of a real verification, for logins whose email matches no account, so
        that response times do not tell which emails are registered."""
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash(secrets.token_urlsafe(16))
        await self.verify(self._dummy_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

    async def matches_any(self, password: str, password_hashes: Iterable[str]) -> bool:
        checks = [self.verify(known, password) for known in password_hashes]
        return any(await asyncio.gather(*checks))


@functools.cache
def _hashing(time_cost: int, memory_kib: int, parallelism: int, threads: int) -> PasswordHashing:
    return PasswordHashing(
        time_cost=time_cost, memory_kib=memory_kib, parallelism=parallelism, threads=threads
    )


def password_hashing(settings: Settings) -> PasswordHashing:
    """The process-wide hashing pool for these settings (one pool, however many apps run)."""
    return _hashing(
        settings.password_hash_time_cost,
        settings.password_hash_memory_kib,
        settings.password_hash_parallelism,
        settings.password_hash_threads,
    )


@functools.cache
def common_passwords() -> frozenset[str]:
    return frozenset(LIST_PATH.read_text(encoding="utf-8").split())


def check_password_policy(password: str, *, email: str, field: str = "password") -> None:
    """Raise WeakPassword (422) naming the rule the password breaks."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(field, f"must be at least {MIN_PASSWORD_LENGTH} characters long")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(field, f"must be at most {MAX_PASSWORD_LENGTH} characters long")
    lowered = password.lower()
    if lowered in common_passwords():
        raise WeakPassword(field, "is too common; choose one that is harder to guess")
    local_part = email.partition("@")[0].lower()
    if len(local_part) >= MIN_LOCAL_PART_TO_CHECK and local_part in lowered:
        raise WeakPassword(field, "must not contain the name part of your email address")
