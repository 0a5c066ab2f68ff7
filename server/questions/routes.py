"""REST routes of api.md "Question bank and single-question practice"."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Final

import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import Body, Parameter, PathParameter
from litestar.status_codes import HTTP_200_OK

from server.accounts.docs import AUTH_REQUIRED, problems
from server.core.pagination import Page, PageParams
from server.llm.chain import ProviderChain
from server.llm.types import CRITERIA, RUBRIC_VERSION
from server.questions import service
from server.questions.bank import COMPANY_STYLES, MAX_DIFFICULTY, MIN_DIFFICULTY, TRACK_IDS, get_bank
from server.questions.service import (
    MAX_ANSWER_CHARS,
    MAX_QUERY_CHARS,
    PracticeAnswer,
    PracticeEvaluation,
    QuestionFilters,
    QuestionOut,
)

_EXAMPLE_QUESTION: Final = QuestionOut(
    id=uuid.UUID("b0201ac8-eefe-5753-a1af-e6f08b220053"),
    track="backend",
    difficulty=1,
    topic="api-design",
    tags=["http", "rest", "api"],
    company_styles=["startup", "consultancy", "enterprise"],
    style="technical",
    warmup=True,
    text=(
        "What are the differences between the HTTP methods GET, POST, PUT, PATCH and DELETE, "
        "and which of them should be safe or idempotent?"
    ),
)

_EXAMPLE_EVALUATION: Final = PracticeEvaluation(
    question_id=_EXAMPLE_QUESTION.id,
    score=7.4,
    criteria=dict(zip(CRITERIA, (8.5, 7.0, 7.5, 8.0, 6.0), strict=True)),
    feedback=(
        "You separated safe from idempotent methods clearly and tied idempotency to retries. "
        "Say what PATCH does when the patch increments a counter, and give a concrete example."
    ),
    strengths=["Explains why GET can be cached and retried", "Links idempotency to safe retries"],
    improvements=["Cover when PATCH is not idempotent", "Add a concrete example from your work"],
    covered_points=["GET is safe and read-only", "idempotency defined", "POST creates or triggers actions"],
    missed_points=["PUT replaces, PATCH updates partially"],
    provider="openai",
    model="gpt-4o-mini",
    rubric_version=RUBRIC_VERSION,
)

_NOT_FOUND: Final = {404: "question_not_found: no question has this id (or the id is not a UUID)"}


# A string rather than `uuid`, so that a malformed id gets the same 404 as an unknown one.
QuestionId = Annotated[str, PathParameter(description="The question's id (a UUID)")]


def _example(summary: str, value: Any) -> Example:
    return Example(summary=summary, value=msgspec.to_builtins(value))


class QuestionController(Controller):
    path = "/questions"
    tags = ["questions"]

    @get(
        "/",
        summary="Browse the question bank",
        description=(
            "A page of bank questions ordered by track, difficulty and slug. Filters combine: "
            "`track` (a track id), `difficulty` "
            f"({MIN_DIFFICULTY}..{MAX_DIFFICULTY}), `topic` (exact topic slug), `company_style` "
            "(questions suited to that kind of company) and `q`, a case-insensitive search in which "
            "every word must appear in the question text, its topic or one of its tags. Key points "
            "and model answers are never returned. An unknown track or company style, or a "
            "difficulty out of range, is refused with 422 listing every bad filter."
        ),
        responses={
            HTTP_200_OK: ResponseSpec(
                data_container=Page[QuestionOut],
                description="One page of questions",
                examples=[
                    _example(
                        "First page of warm-up backend questions",
                        Page(items=[_EXAMPLE_QUESTION], total=6, skip=0, limit=1, has_more=True),
                    )
                ],
            ),
            **problems(
                {
                    **AUTH_REQUIRED,
                    422: "validation_error: unknown track or company style, difficulty out of range, "
                    "bad skip/limit, or q too long",
                }
            ),
        },
    )
    async def list_questions(
        self,
        page: NamedDependency[PageParams],
        track: Annotated[
            str | None,
            Parameter(
                description=f"Track id, one of: {', '.join(TRACK_IDS)}",
                examples=[Example(value="backend")],
            ),
        ] = None,
        difficulty: Annotated[
            int | None,
            Parameter(
                description=f"Difficulty, {MIN_DIFFICULTY} (gentle) to {MAX_DIFFICULTY} (hardest)",
                examples=[Example(value=3)],
            ),
        ] = None,
        topic: Annotated[
            str | None,
            Parameter(description="Topic slug, matched exactly", examples=[Example(value="api-design")]),
        ] = None,
        company_style: Annotated[
            str | None,
            Parameter(
                description=f"Company style, one of: {', '.join(COMPANY_STYLES)}",
                examples=[Example(value="startup")],
            ),
        ] = None,
        q: Annotated[
            str | None,
            Parameter(
                description=f"Words to search for (case-insensitive, at most {MAX_QUERY_CHARS} characters)",
                examples=[Example(value="idempotent retry")],
            ),
        ] = None,
    ) -> Page[QuestionOut]:
        filters = service.check_filters(
            QuestionFilters(
                track=track, difficulty=difficulty, topic=topic, company_style=company_style, q=q
            ),
            get_bank(),
        )
        return await service.list_questions(filters, page)

    @get(
        "/{question_id:str}",
        summary="One bank question",
        description="The question's text and metadata; its key points and model answer are not exposed.",
        responses={
            HTTP_200_OK: ResponseSpec(
                data_container=QuestionOut,
                description="The question",
                examples=[_example("A warm-up backend question", _EXAMPLE_QUESTION)],
            ),
            **problems({**AUTH_REQUIRED, **_NOT_FOUND}),
        },
    )
    async def read(self, question_id: QuestionId) -> QuestionOut:
        return await service.get_question(question_id)

    @post(
        "/{question_id:str}/evaluate",
        status_code=HTTP_200_OK,
        summary="Practise one question",
        description=(
            f"Evaluates an answer (1..{MAX_ANSWER_CHARS:,} characters, not only whitespace) to this "
            "question without starting an interview, with the same AI providers and fallback as a "
            "live interview. The answer is the same object as the websocket `evaluation` event "
            "without `seq` and `answer_id`: an overall `score` and per-criterion scores from 0 to "
            "10, the feedback prose, strengths, improvements, the key points the answer covered "
            "and missed (labels only), and which `provider` and `model` produced it. 503 "
            "`ai_unavailable` when no provider can evaluate now (see `GET /ai/status`). Nothing "
            "is stored."
        ),
        responses={
            HTTP_200_OK: ResponseSpec(
                data_container=PracticeEvaluation,
                description="The evaluation",
                examples=[_example("A solid answer with one point missed", _EXAMPLE_EVALUATION)],
            ),
            **problems(
                {
                    **AUTH_REQUIRED,
                    **_NOT_FOUND,
                    422: "validation_error: answer missing, blank or longer than "
                    f"{MAX_ANSWER_CHARS:,} characters",
                    503: "ai_unavailable: no AI provider can evaluate answers right now",
                }
            ),
        },
    )
    async def evaluate(
        self,
        question_id: QuestionId,
        data: Annotated[
            PracticeAnswer,
            Body(
                description=f"Your answer, 1..{MAX_ANSWER_CHARS:,} characters",
                examples=[
                    Example(
                        summary="An answer to the HTTP methods question",
                        value={
                            "answer": (
                                "GET only reads and is safe, so it can be cached and retried. PUT "
                                "replaces the whole resource and is idempotent; POST creates and is not."
                            )
                        },
                    )
                ],
            ),
        ],
        llm: NamedDependency[ProviderChain],
    ) -> PracticeEvaluation:
        return await service.evaluate_practice_answer(question_id, data.answer, llm)
