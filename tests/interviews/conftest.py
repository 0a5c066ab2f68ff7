from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import decode


@pytest.fixture
def create_interview(client: httpx.AsyncClient):  # type: ignore[no-untyped-def]
    async def create(headers: dict[str, str], **body: Any) -> dict[str, Any]:
        payload: dict[str, Any] = {"track": "backend", "question_count": 2, "difficulty": 2}
        payload.update(body)
        response = await client.post("/api/v1/interviews", json=payload, headers=headers)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = decode(response)
        return created

    return create
