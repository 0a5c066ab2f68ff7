"""GET /resumes: one page of the caller's resumes, newest first, with the total of the whole list."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from server.resumes.tables import Resume
from tests.conftest import UserAccount, decode

UserFactory = Callable[..., Awaitable[UserAccount]]
PROFILE = {
    "name": "Ada Lovelace",
    "skills": ["python", "postgresql"],
    "experience": [
        {"title": "Engineer", "company": "Analytical Engines", "start": "2019-03", "highlights": ["Built it"]}
    ],
    "education": [{"institution": "University of London", "degree": "BSc", "start": "2012", "end": "2015"}],
    "years_experience": 7.5,
}


async def _resume(owner: uuid.UUID, n: int, **values: Any) -> str:
    resume_id = uuid.uuid4()
    await Resume.insert(
        Resume(
            id=resume_id,
            owner=owner,
            filename=f"resume-{n}.pdf",
            content_type="application/pdf",
            size_bytes=1000 + n,
            sha256=f"{n:064x}",
            storage_key=f"resumes/{resume_id}",
            created_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=n),
            **values,
        )
    )
    return str(resume_id)


async def _page(client: httpx.AsyncClient, user: UserAccount, query: str = "") -> dict[str, Any]:
    response = await client.get(f"/api/v1/resumes{query}", headers=user.headers)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = decode(response)
    return page


async def test_pages_count_only_the_callers_visible_resumes(
    client: httpx.AsyncClient, user_factory: UserFactory
) -> None:
    user = await user_factory()
    stranger = await user_factory()
    made = [
        await _resume(user.id, 0, status="parsed", profile=PROFILE, parsed_at=datetime.now(UTC)),
        await _resume(
            user.id, 1, status="failed", error={"code": "unreadable", "message": "No text in the file."}
        ),
        await _resume(user.id, 2),
    ]
    await _resume(user.id, 3, deleted_at=datetime.now(UTC))
    await _resume(stranger.id, 4)

    first = await _page(client, user, "?limit=2")
    assert [item["id"] for item in first["items"]] == [made[2], made[1]]
    assert (first["total"], first["skip"], first["limit"], first["has_more"]) == (3, 0, 2, True)
    last = await _page(client, user, "?skip=2&limit=2")
    assert [item["id"] for item in last["items"]] == [made[0]]
    assert (last["total"], last["has_more"]) == (3, False)
    # Past the end: nothing listed, yet the total is still the whole list's.
    beyond = await _page(client, user, "?skip=10")
    assert beyond == {"items": [], "total": 3, "skip": 10, "limit": 20, "has_more": False}

    # Each listed item is exactly what the single-resume route answers.
    for item in [*first["items"], *last["items"]]:
        alone = decode(await client.get(f"/api/v1/resumes/{item['id']}", headers=user.headers))
        assert item == alone
    parsed = last["items"][0]
    assert parsed["profile"]["skills"] == ["python", "postgresql"]
    assert parsed["profile"]["years_experience"] == 7.5
    assert first["items"][1]["error"] == {"code": "unreadable", "message": "No text in the file."}
    assert first["items"][0]["profile"] is None and first["items"][0]["error"] is None


async def test_an_empty_list(client: httpx.AsyncClient, user_factory: UserFactory) -> None:
    user = await user_factory()
    empty = {"items": [], "total": 0, "skip": 0, "limit": 20, "has_more": False}
    assert await _page(client, user) == empty
    assert await _page(client, user, "?skip=5") == {**empty, "skip": 5}


async def test_resumes_of_one_creation_time_keep_a_stable_order(
    client: httpx.AsyncClient, user_factory: UserFactory
) -> None:
    user = await user_factory()
    same_time = datetime(2026, 2, 1, tzinfo=UTC)
    made = [await _resume(user.id, n) for n in range(4)]
    await Resume.update({Resume.created_at: same_time}).where(Resume.owner == user.id)
    pages = [await _page(client, user, f"?skip={skip}&limit=1") for skip in range(4)]
    listed = [page["items"][0]["id"] for page in pages]
    assert listed == sorted(made, reverse=True)
