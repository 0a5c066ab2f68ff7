"""Observers' private coaching notes: stored once per client_id, shown to observers only."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg

from server.core.db import engine
from server.interviews.report import ObserverNote


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _note(row: asyncpg.Record) -> ObserverNote:
    return ObserverNote(
        note_id=str(row["id"]),
        author=row["author"],
        text=row["text"],
        about_seq=row["about_seq"],
        at=_iso(row["created_at"]),
    )


async def list_notes(interview_id: uuid.UUID) -> list[ObserverNote]:
    rows = await engine().pool.fetch(
        "SELECT id, author, text, about_seq, created_at FROM interview_notes "
        "WHERE interview = $1 ORDER BY created_at, id",
        interview_id,
    )
    return [_note(row) for row in rows]


async def add_note(
    interview_id: uuid.UUID,
    *,
    client_id: str,
    author: str,
    text: str,
    about_seq: int | None,
    author_user_id: uuid.UUID | None,
    invitation_id: uuid.UUID | None,
) -> tuple[ObserverNote, bool]:
    """Store a note; a client_id seen before returns the stored note and False (nothing new)."""
    row = await engine().pool.fetchrow(
        """
        INSERT INTO interview_notes
            (id, interview, author, author_user_id, invitation_id, client_id, text, about_seq, created_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        ON CONFLICT (interview, client_id) DO NOTHING
        RETURNING id, author, text, about_seq, created_at
        """,
        uuid.uuid4(),
        interview_id,
        author,
        author_user_id,
        invitation_id,
        client_id,
        text,
        about_seq,
        datetime.now(UTC),
    )
    if row is not None:
        return _note(row), True
    existing = await engine().pool.fetchrow(
        "SELECT id, author, text, about_seq, created_at FROM interview_notes "
        "WHERE interview = $1 AND client_id = $2",
        interview_id,
        client_id,
    )
    assert existing is not None
    return _note(existing), False
