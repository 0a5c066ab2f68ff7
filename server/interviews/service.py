"""Interviews as REST resources: creation (with the plan the engine follows), listing, reading,
transcripts, reports and deletion. Someone else's interview is always "not found"."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec

from server.core.db import engine
from server.core.errors import ApiError, NotFound, ValidationFailed
from server.core.pagination import Page, PageParams
from server.interviews.engine import InterviewEngine, InterviewPlan
from server.interviews.events import events_after
from server.llm.chain import ProviderChain
from server.questions.bank import QuestionBank
from server.questions.selection import extract_job_keywords
from server.resumes.profile import Profile

COMPANY_STYLES = ("startup", "big_tech", "enterprise", "fintech", "consultancy")
STATUSES = ("created", "in_progress", "completed", "abandoned")
# Languages offered when a model provider can serve them; the offline provider serves English.
CANDIDATE_LANGUAGES = ("en", "es", "fr", "de", "pt", "it", "nl", "pl", "sv", "tr", "hi", "ja", "ko", "zh")
BCP47 = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$"

INTERVIEW_COLUMNS = (
    "id, owner, track, difficulty, company_style, resume_id, question_count, language, status, "
    "current_question, overall_score, created_at, started_at, completed_at, deleted_at, last_seq, state"
)


class CreateInterview(msgspec.Struct, kw_only=True):
    track: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    difficulty: Annotated[int, msgspec.Meta(ge=1, le=5)] = 2
    company_style: str | None = None
    resume_id: uuid.UUID | None = None
    job_description: Annotated[str, msgspec.Meta(max_length=20_000)] | None = None
    question_count: Annotated[int, msgspec.Meta(ge=1, le=20)] = 5
    language: Annotated[str, msgspec.Meta(pattern=BCP47, max_length=35)] = "en"


class InterviewOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    track: str
    difficulty: int
    company_style: str | None
    resume_id: uuid.UUID | None
    question_count: int
    language: str
    status: str
    current_question: int
    current_difficulty: int
    overall_score: float | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None


class TrackInfo(msgspec.Struct):
    id: str
    name: str
    questions: int


class DifficultyRange(msgspec.Struct):
    min: int
    max: int


class TracksOut(msgspec.Struct):
    tracks: list[TrackInfo]
    company_styles: list[str]
    difficulty: DifficultyRange
    languages: list[str]


class Transcript(msgspec.Struct):
    interview_id: uuid.UUID
    items: list[dict[str, Any]]


def interview_out(row: Any) -> InterviewOut:
    state = msgspec.json.decode(row["state"])
    return InterviewOut(
        id=row["id"],
        track=row["track"],
        difficulty=row["difficulty"],
        company_style=row["company_style"],
        resume_id=row["resume_id"],
        question_count=row["question_count"],
        language=row["language"],
        status=row["status"],
        current_question=row["current_question"],
        current_difficulty=int(state.get("difficulty", row["difficulty"])),
        overall_score=row["overall_score"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        completed_at=row["completed_at"],
    )


def interview_view(row: Any) -> dict[str, Any]:
    """The REST shape as plain JSON-ready data (for the websocket `welcome`)."""
    view: dict[str, Any] = msgspec.to_builtins(interview_out(row))
    return view


def _pool() -> Any:
    return engine().pool


async def load_interview_row(interview_id: uuid.UUID) -> Any:
    return await _pool().fetchrow(f"SELECT {INTERVIEW_COLUMNS} FROM interviews WHERE id = $1", interview_id)  # noqa: S608


async def owned_interview(owner_id: uuid.UUID, interview_id: uuid.UUID) -> Any:
    row = await load_interview_row(interview_id)
    if row is None or row["owner"] != owner_id or row["deleted_at"] is not None:
        raise NotFound("No interview with this id.", code="interview_not_found")
    return row


def available_languages(chain: ProviderChain) -> list[str]:
    return [language for language in CANDIDATE_LANGUAGES if chain.supports_language(language)]


def tracks_overview(bank: QuestionBank, chain: ProviderChain) -> TracksOut:
    return TracksOut(
        tracks=[TrackInfo(id=t.id, name=t.name, questions=len(t.question_ids)) for t in bank.tracks.values()],
        company_styles=list(COMPANY_STYLES),
        difficulty=DifficultyRange(min=1, max=5),
        languages=available_languages(chain),
    )


async def create_interview(
    owner_id: uuid.UUID,
    data: CreateInterview,
    *,
    bank: QuestionBank,
    chain: ProviderChain,
    resume: Profile | None,
) -> InterviewOut:
    if data.track not in bank.tracks:
        raise ValidationFailed(
            "track", f"unknown track; choose one of: {', '.join(bank.tracks)}", code="unknown_track"
        )
    if data.company_style is not None and data.company_style not in COMPANY_STYLES:
        raise ValidationFailed(
            "company_style", f"unknown company style; choose one of: {', '.join(COMPANY_STYLES)}"
        )
    if not chain.supports_language(data.language):
        raise ApiError(
            f"No configured provider can hold an interview in {data.language!r}.",
            status_code=422,
            code="language_unavailable",
            errors=[{"field": "language", "message": "no configured provider serves this language"}],
        )
    interview_id = uuid.uuid4()
    job_description = (data.job_description or "").strip() or None
    plan = InterviewPlan(
        interview_id=interview_id,
        track=data.track,
        difficulty=data.difficulty,
        question_count=data.question_count,
        company_style=data.company_style,
        language=data.language,
        resume_skills=list(resume.skills) if resume else [],
        job_keywords=extract_job_keywords(job_description, bank=bank) if job_description else [],
        resume=resume,
        job_description=job_description,
        seed=interview_id.int % 1_000_003,
    )
    state = InterviewEngine(plan, bank).initial_state()
    row = await _pool().fetchrow(
        f"""
        INSERT INTO interviews (id, owner, track, difficulty, company_style, resume_id, job_description,
            question_count, language, status, current_question, plan, state, last_seq, created_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'created', 0, $10, $11, 0, $12)
        RETURNING {INTERVIEW_COLUMNS}
        """,  # noqa: S608 (column list is a constant)
        interview_id,
        owner_id,
        data.track,
        data.difficulty,
        data.company_style,
        data.resume_id,
        job_description,
        data.question_count,
        data.language,
        msgspec.json.encode(plan).decode(),
        msgspec.json.encode(state).decode(),
        datetime.now(UTC),
    )
    return interview_out(row)


async def list_interviews(owner_id: uuid.UUID, page: PageParams, status: str | None) -> Page[InterviewOut]:
    if status is not None and status not in STATUSES:
        raise ValidationFailed("status", f"unknown status; choose one of: {', '.join(STATUSES)}")
    where = "owner = $1 AND deleted_at IS NULL" + (" AND status = $4" if status else "")
    args: list[Any] = [owner_id, page.limit, page.skip]
    if status:
        args.append(status)
    # INTERVIEW_COLUMNS, except that of the engine state (every question, answer and evaluation:
    # kilobytes once an interview has run) only what interview_out reads comes back.
    columns = (
        "id, owner, track, difficulty, company_style, resume_id, question_count, language, status, "
        "current_question, overall_score, created_at, started_at, completed_at, deleted_at, last_seq, "
        "jsonb_strip_nulls(jsonb_build_object('difficulty', state -> 'difficulty'))::text AS state"
    )
    rows = await _pool().fetch(
        f"SELECT {columns}, count(*) OVER () AS total FROM interviews WHERE {where} "  # noqa: S608
        "ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3",
        *args,
    )
    if rows:
        total = rows[0]["total"]
    elif page.skip == 0:
        total = 0
    else:
        # A page past the end has no row to carry the count, yet still reports the total.
        total = await _count(where, args)
    return Page.of([interview_out(row) for row in rows], total=total, params=page)


async def _count(where: str, args: list[Any]) -> int:
    count_args = [args[0], *args[3:]]
    count_where = where.replace("$4", "$2")
    value: int = await _pool().fetchval(f"SELECT count(*) FROM interviews WHERE {count_where}", *count_args)  # noqa: S608
    return value


async def transcript(owner_id: uuid.UUID, interview_id: uuid.UUID) -> Transcript:
    await owned_interview(owner_id, interview_id)
    return Transcript(
        interview_id=interview_id, items=[event.frame() for event in await events_after(interview_id, 0)]
    )


async def report(owner_id: uuid.UUID, interview_id: uuid.UUID) -> dict[str, Any]:
    row = await owned_interview(owner_id, interview_id)
    if row["status"] != "completed":
        raise ApiError(
            "The report is ready once the interview is completed.", status_code=409, code="not_completed"
        )
    stored = await _pool().fetchval("SELECT report FROM interviews WHERE id = $1", interview_id)
    result: dict[str, Any] = msgspec.json.decode(stored)
    return result


async def soft_delete(owner_id: uuid.UUID, interview_id: uuid.UUID) -> Any:
    row = await owned_interview(owner_id, interview_id)
    await _pool().execute("UPDATE interviews SET deleted_at = now() WHERE id = $1", interview_id)
    return row
