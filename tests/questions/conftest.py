"""The `questions` table is reference data: seeded once per session by the real start-up task
(after the root conftest's migrations) and kept between tests (`keep_between_tests`)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
async def seeded_questions(_database_session: None, settings: Any) -> None:
    from server.questions.seed import seed_question_bank

    await seed_question_bank(settings)
