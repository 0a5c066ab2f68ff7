"""The provider-independent cleaning of model output, and the HTTP helpers both providers use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from llm_stubs import BRIEF

from server.llm.model_backed import (
    clamp_score,
    ground_profile,
    normalise_scores,
    parse_retry_after,
    status_summary,
)
from server.llm.types import CRITERIA, EvaluationScores
from server.resumes.profile import Profile

RESUME = "Ada Example\nada@Example.com | +44 (0)20 7946 0018\nLeeds\n8 years of experience"


def test_contact_details_absent_from_the_text_are_dropped() -> None:
    invented = Profile(
        name="Ada Example", email="ada.example@gmail.com", phone="+1 555 0100", years_experience=8
    )
    grounded = ground_profile(invented, RESUME)
    assert grounded.email is None
    assert grounded.phone is None
    assert grounded.years_experience == 8


def test_contact_details_present_in_the_text_are_kept_however_formatted() -> None:
    found = Profile(email="ada@example.com", phone="+44 20 7946 0018", skills=[" Go ", "Go", ""])
    grounded = ground_profile(found, RESUME)
    assert grounded.email == "ada@example.com"
    assert grounded.phone is None  # "+44 20..." drops the "(0)": its digits do not occur in the text
    assert ground_profile(Profile(phone="020 7946 0018"), RESUME).phone == "020 7946 0018"
    assert grounded.skills == ["Go"]


@pytest.mark.parametrize("years", [-1.0, 120.0, float("nan")])
def test_impossible_years_of_experience_are_dropped(years: float) -> None:
    assert ground_profile(Profile(years_experience=years), RESUME).years_experience is None


def test_scores_are_clamped_and_point_labels_follow_the_brief() -> None:
    raw = EvaluationScores(
        criteria={
            "relevance": 11.0,
            "depth": -2.0,
            "structure": 6.66,
            "communication": float("inf"),
            "specificity": 5,
        },
        strengths=["  Named   keys ", "named keys", ""],
        improvements=[f"point {i}" for i in range(8)],
        covered_points=["STORED OUTCOMES", "made-up point", "stored outcomes"],
        missed_points=[],
    )
    scores = normalise_scores(raw, BRIEF)
    assert scores.criteria == {
        "relevance": 10.0,
        "depth": 0.0,
        "structure": 6.7,
        "communication": 0.0,
        "specificity": 5.0,
    }
    assert list(scores.criteria) == list(CRITERIA)
    assert scores.strengths == ["Named keys"]
    assert len(scores.improvements) == 5
    assert scores.covered_points == ["stored outcomes"]
    # Points the model placed in neither list were not shown to be covered.
    assert scores.missed_points == ["idempotency keys", "concurrent duplicates"]


def test_clamp_score_rounds_to_one_decimal() -> None:
    assert [clamp_score(v) for v in (7.25, 7.26, 0.04, 10.01)] == [7.2, 7.3, 0.0, 10.0]


def test_retry_after_forms() -> None:
    assert parse_retry_after({"Retry-After": "3"}) == 3.0
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None
    in_a_minute = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    waited = parse_retry_after({"retry-after": in_a_minute})
    assert waited is not None
    assert 55 <= waited <= 60
    long_ago = format_datetime(datetime(2001, 1, 1, tzinfo=UTC), usegmt=True)
    assert parse_retry_after({"retry-after": long_ago}) == 0.0


def test_status_summaries_are_short_and_generic() -> None:
    assert status_summary(429) == "HTTP 429: rate limited"
    assert status_summary(503) == "HTTP 503: server error"
    assert status_summary(418) == "HTTP 418: request failed"
