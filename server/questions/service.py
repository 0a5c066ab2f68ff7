"""Reading the question bank through its table, and practising one question without an interview.

Everything here reads the `questions` table (see `seed.py`), so lists are filtered and paged by
PostgreSQL. Key points and model answers are loaded only to build an evaluation request; the
response types below have no field that could carry them.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Final

import asyncpg
import msgspec

from server.core.db import engine
from server.core.errors import ApiError, NotFound, ServiceUnavailable
from server.core.logging import get_logger
from server.core.pagination import Page, PageParams
from server.llm.chain import ChainExhausted, ProviderChain
from server.llm.types import Evaluation, EvaluationRequest, KeyPoint, QuestionBrief
from server.questions.bank import COMPANY_STYLES, MAX_DIFFICULTY, MIN_DIFFICULTY, QuestionBank

log = get_logger(__name__)

MAX_ANSWER_CHARS: Final = 10_000
MAX_QUERY_CHARS: Final = 200
MAX_TOPIC_CHARS: Final = 120
# Each word of `q` must match somewhere; more words than this only slow the query down.
MAX_QUERY_WORDS: Final = 8

_PUBLIC_COLUMNS: Final = "id, track, difficulty, topic, tags, company_styles, style, warmup, text"


class QuestionNotFound(NotFound):
    code = "question_not_found"


class AIUnavailable(ServiceUnavailable):
    code = "ai_unavailable"


class QuestionOut(msgspec.Struct, kw_only=True):
    """A bank question as clients see it: never its key points or model answer."""

    id: uuid.UUID
    track: str
    difficulty: int
    topic: str
    tags: list[str]
    company_styles: list[str]
    style: str
    warmup: bool
    text: str


class QuestionFilters(msgspec.Struct, kw_only=True, frozen=True):
    track: str | None = None
    difficulty: int | None = None
    topic: str | None = None
    company_style: str | None = None
    q: str | None = None


class PracticeAnswer(msgspec.Struct, kw_only=True):
    answer: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ANSWER_CHARS)]


class PracticeEvaluation(msgspec.Struct, kw_only=True):
    """The websocket `evaluation` event without `seq` and `answer_id`."""

    question_id: uuid.UUID
    score: float
    criteria: dict[str, float]
    feedback: str
    strengths: list[str]
    improvements: list[str]
    covered_points: list[str]
    missed_points: list[str]
    provider: str
    model: str
    rubric_version: str


def _pool() -> asyncpg.Pool[asyncpg.Record]:
    pool: asyncpg.Pool[asyncpg.Record] = engine().pool
    return pool


def _question_out(record: asyncpg.Record) -> QuestionOut:
    return QuestionOut(
        id=record["id"],
        track=record["track"],
        difficulty=record["difficulty"],
        topic=record["topic"],
        tags=list(record["tags"]),
        company_styles=list(record["company_styles"]),
        style=record["style"],
        warmup=record["warmup"],
        text=record["text"],
    )


def _like_pattern(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def check_filters(filters: QuestionFilters, bank: QuestionBank) -> QuestionFilters:
    """Refuse values that can never match, all at once (422), and normalise the rest."""
    errors: list[dict[str, str]] = []
    # An empty value (`?track=`, as a form with nothing chosen sends it) means "any".
    track = (filters.track or "").strip().lower() or None
    if track is not None and track not in bank.tracks:
        errors.append(
            {"field": "track", "message": f"unknown track; choose one of: {', '.join(bank.tracks)}"}
        )
    if filters.difficulty is not None and not MIN_DIFFICULTY <= filters.difficulty <= MAX_DIFFICULTY:
        errors.append(
            {"field": "difficulty", "message": f"must be between {MIN_DIFFICULTY} and {MAX_DIFFICULTY}"}
        )
    company_style = (filters.company_style or "").strip().lower() or None
    if company_style is not None and company_style not in COMPANY_STYLES:
        errors.append(
            {
                "field": "company_style",
                "message": f"unknown company style; choose one of: {', '.join(COMPANY_STYLES)}",
            }
        )
    topic = (filters.topic or "").strip().lower() or None
    if topic is not None and len(topic) > MAX_TOPIC_CHARS:
        errors.append({"field": "topic", "message": f"must be at most {MAX_TOPIC_CHARS} characters"})
    query = " ".join((filters.q or "").split()) or None
    if query is not None and len(query) > MAX_QUERY_CHARS:
        errors.append({"field": "q", "message": f"must be at most {MAX_QUERY_CHARS} characters"})
    if errors:
        detail = "; ".join(f"{error['field']}: {error['message']}" for error in errors)
        raise ApiError(detail, code="validation_error", status_code=422, errors=errors)
    return QuestionFilters(
        track=track, difficulty=filters.difficulty, topic=topic, company_style=company_style, q=query
    )


# Only ever formatted with a parameter placeholder such as "$3"; the word travels as a parameter.
_WORD_MATCH: Final = (
    "(text ILIKE {pattern} OR topic ILIKE {pattern} "
    "OR EXISTS (SELECT 1 FROM unnest(tags) AS tag WHERE tag ILIKE {pattern}))"
)


def _where(filters: QuestionFilters) -> tuple[str, list[Any]]:
    conditions: list[str] = []
    args: list[Any] = []

    def bind(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if filters.track is not None:
        conditions.append(f"track = {bind(filters.track)}")
    if filters.difficulty is not None:
        conditions.append(f"difficulty = {bind(filters.difficulty)}")
    if filters.topic is not None:
        conditions.append(f"topic = {bind(filters.topic)}")
    if filters.company_style is not None:
        # `@>` (not `= ANY`) so that the GIN index on company_styles can serve it.
        conditions.append(f"company_styles @> ARRAY[{bind(filters.company_style)}]::varchar[]")
    if filters.q is not None:
        for word in filters.q.split()[:MAX_QUERY_WORDS]:
            pattern = bind(_like_pattern(word))
            conditions.append(_WORD_MATCH.format(pattern=pattern))
    return (" AND ".join(conditions) or "TRUE"), args


async def list_questions(filters: QuestionFilters, page: PageParams) -> Page[QuestionOut]:
    """`filters` must have been through `check_filters`. Ordered by track, difficulty, slug."""
    where, args = _where(filters)
    limit, offset = len(args) + 1, len(args) + 2
    records = await _pool().fetch(
        f"SELECT {_PUBLIC_COLUMNS}, count(*) OVER () AS total FROM questions WHERE {where} "  # noqa: S608
        f"ORDER BY track, difficulty, slug LIMIT ${limit} OFFSET ${offset}",
        *args,
        page.limit,
        page.skip,
    )
    if records:
        total: int = records[0]["total"]
    else:
        # Past the last page the window count has no row to ride on.
        total = await _pool().fetchval(f"SELECT count(*) FROM questions WHERE {where}", *args)  # noqa: S608
    return Page.of([_question_out(record) for record in records], total=total, params=page)


def _parse_id(question_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(question_id)
    except ValueError:
        raise QuestionNotFound(f"no question with id {question_id!r}") from None


async def get_question(question_id: str) -> QuestionOut:
    key = _parse_id(question_id)
    record = await _pool().fetchrow(f"SELECT {_PUBLIC_COLUMNS} FROM questions WHERE id = $1", key)  # noqa: S608
    if record is None:
        raise QuestionNotFound(f"no question with id {key}")
    return _question_out(record)


_key_points_decoder = msgspec.json.Decoder(list[KeyPoint])
_model_answer_decoder = msgspec.json.Decoder(list[str])


async def load_brief(question_id: str) -> tuple[QuestionBrief, bool]:
    """The question as providers see it (key points included) and whether it is a warm-up."""
    key = _parse_id(question_id)
    record = await _pool().fetchrow(
        "SELECT id, slug, track, difficulty, topic, tags, style, warmup, text, key_points, model_answer "
        "FROM questions WHERE id = $1",
        key,
    )
    if record is None:
        raise QuestionNotFound(f"no question with id {key}")
    brief = QuestionBrief(
        id=record["id"],
        slug=record["slug"],
        track=record["track"],
        difficulty=record["difficulty"],
        topic=record["topic"],
        tags=list(record["tags"]),
        # The seed writes only the bank's validated styles.
        style="behavioural" if record["style"] == "behavioural" else "technical",
        text=record["text"],
        key_points=_key_points_decoder.decode(record["key_points"]),
        model_answer=_model_answer_decoder.decode(record["model_answer"]),
    )
    return brief, bool(record["warmup"])


def clean_answer(answer: str) -> str:
    """The answer as evaluated; blank answers are refused like empty ones."""
    stripped = answer.strip()
    if not stripped:
        raise ApiError(
            "answer: must contain text",
            code="validation_error",
            status_code=422,
            errors=[{"field": "answer", "message": "must contain text, not only whitespace"}],
        )
    return stripped


async def evaluate_practice_answer(question_id: str, answer: str, chain: ProviderChain) -> PracticeEvaluation:
    brief, warmup = await load_brief(question_id)
    request = EvaluationRequest(
        brief=brief,
        question_text=brief.text,
        answer=clean_answer(answer),
        kind="warmup" if warmup else "core",
    )
    final: Evaluation | None = None
    try:
        # The feedback prose streams first; a REST caller only needs the finished evaluation.
        async for item in chain.stream_evaluation(request):
            if isinstance(item, Evaluation):
                final = item
    except ChainExhausted as exc:
        log.warning("practice_evaluation_unavailable", question_id=str(brief.id), reason=str(exc))
        raise AIUnavailable(
            "No AI provider can evaluate answers right now; try again in a minute. "
            "GET /api/v1/ai/status shows each provider's state."
        ) from exc
    if final is None:
        raise RuntimeError("the provider chain ended an evaluation stream without an Evaluation")
    return PracticeEvaluation(
        question_id=brief.id,
        score=final.score,
        criteria=final.criteria,
        feedback=final.feedback,
        strengths=final.strengths,
        improvements=final.improvements,
        covered_points=final.covered_points,
        missed_points=final.missed_points,
        provider=final.provider,
        model=final.model,
        rubric_version=final.rubric_version,
    )
