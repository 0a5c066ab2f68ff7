"""`GET /me/progress`: the signed-in user's completed interviews as score points over time, for
the history page's trend charts. Scores come from each interview's stored report, so they are
exactly what the user was shown when the interview ended."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example

from server.accounts.auth import AuthUser
from server.accounts.docs import AUTH_REQUIRED, problems
from server.core.db import engine
from server.core.pagination import MAX_LIMIT, Page, PageParams
from server.llm.types import CRITERIA


class ProgressPoint(msgspec.Struct, kw_only=True):
    interview_id: uuid.UUID
    track: str
    difficulty: int
    company_style: str | None
    question_count: int
    completed_at: datetime
    overall_score: float
    criteria: dict[str, float]


_criteria_decoder = msgspec.json.Decoder(dict[str, float] | None)

# Completed interviews whose report is missing (a row repaired by hand, say) have no scores to plot.
_PROGRESS_QUERY = """
SELECT id, track, difficulty, company_style, question_count, completed_at,
       COALESCE(overall_score, (report->>'overall_score')::real) AS overall_score,
       report->'criteria' AS criteria,
       count(*) OVER () AS total
FROM interviews
WHERE owner = $1 AND status = 'completed' AND deleted_at IS NULL AND report IS NOT NULL
      AND completed_at IS NOT NULL
ORDER BY completed_at ASC, id ASC
LIMIT $2 OFFSET $3
"""
_COUNT_QUERY = """
SELECT count(*) FROM interviews
WHERE owner = $1 AND status = 'completed' AND deleted_at IS NULL AND report IS NOT NULL
      AND completed_at IS NOT NULL
"""


def _point(row: Any) -> ProgressPoint:
    criteria = _criteria_decoder.decode(row["criteria"]) if row["criteria"] is not None else None
    return ProgressPoint(
        interview_id=row["id"],
        track=row["track"],
        difficulty=row["difficulty"],
        company_style=row["company_style"],
        question_count=row["question_count"],
        completed_at=row["completed_at"],
        overall_score=round(float(row["overall_score"] or 0.0), 1),
        criteria=criteria or {},
    )


async def progress_page(owner_id: uuid.UUID, page: PageParams) -> Page[ProgressPoint]:
    pool = engine().pool
    rows = await pool.fetch(_PROGRESS_QUERY, owner_id, page.limit, page.skip)
    # Past the last row the window count is gone, so the total needs its own query.
    total: int = rows[0]["total"] if rows else await pool.fetchval(_COUNT_QUERY, owner_id)
    return Page.of([_point(row) for row in rows], total=total, params=page)


_EXAMPLE = {
    "items": [
        {
            "interview_id": "5a0c1b9e-8d57-4c61-9a7e-0f3b2c6d1e42",
            "track": "backend",
            "difficulty": 2,
            "company_style": "startup",
            "question_count": 5,
            "completed_at": datetime(2026, 11, 14, 18, 2, 41, tzinfo=UTC).isoformat().replace("+00:00", "Z"),
            "overall_score": 6.4,
            "criteria": dict(zip(CRITERIA, (7.1, 5.8, 6.5, 6.9, 5.2), strict=True)),
        },
        {
            "interview_id": "c3f1d2a8-2b6e-4f0d-8c19-7e5a4b3d2c10",
            "track": "backend",
            "difficulty": 3,
            "company_style": None,
            "question_count": 6,
            "completed_at": datetime(2026, 11, 21, 9, 47, 5, tzinfo=UTC).isoformat().replace("+00:00", "Z"),
            "overall_score": 7.3,
            "criteria": dict(zip(CRITERIA, (7.8, 6.9, 7.4, 7.6, 6.7), strict=True)),
        },
    ],
    "total": 2,
    "skip": 0,
    "limit": 20,
    "has_more": False,
}


class ProgressController(Controller):
    path = "/me"
    tags = ["interviews"]

    @get(
        "/progress",
        summary="Your scores over time",
        description=(
            "One point per completed interview of yours, oldest first: the overall score and the score "
            "of every rubric criterion (" + ", ".join(f"`{name}`" for name in CRITERIA) + ", each "
            "0-10) from the interview's final report, with its track, difficulty and completion time. "
            f"Paginated with `skip`/`limit` (1..{MAX_LIMIT}); to plot the most recent points, read "
            "`total` and ask for `skip = total - limit`. Deleted, abandoned and unfinished interviews "
            "are left out."
        ),
        responses={
            200: ResponseSpec(
                data_container=Page[ProgressPoint],
                description="Completed interviews, oldest first",
                generate_examples=False,
                examples=[Example(summary="Two completed interviews", value=_EXAMPLE)],
            ),
            **problems({**AUTH_REQUIRED, 422: "validation_error: skip or limit out of range"}),
        },
    )
    async def progress(
        self, request: Request[AuthUser, Any, Any], page: NamedDependency[PageParams]
    ) -> Page[ProgressPoint]:
        return await progress_page(request.user.id, page)
