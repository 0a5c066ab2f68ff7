"""Question selection rules and job-description keyword extraction, on the hand-written mini bank."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from server.questions.bank import QuestionBank, UnknownTrackError, load_bank
from server.questions.selection import (
    NoQuestionAvailableError,
    Selection,
    SelectionError,
    choose_question,
    extract_job_keywords,
    term_matches_tag,
)

MINI_BANK = Path(__file__).parent / "fixtures" / "mini_bank"
SEEDS = range(12)


@pytest.fixture(scope="module")
def bank() -> QuestionBank:
    return load_bank(MINI_BANK)


def choose(bank: QuestionBank, **overrides: Any) -> Selection:
    arguments: dict[str, Any] = {
        "track": "backend",
        "difficulty": 3,
        "company_style": None,
        "asked": set(),
        "resume_skills": [],
        "job_keywords": [],
        "warmup": False,
        "seed": 0,
    }
    arguments.update(overrides)
    return choose_question(bank, **arguments)


def test_same_inputs_same_question_and_seeds_spread_choices(bank: QuestionBank) -> None:
    for seed in SEEDS:
        assert choose(bank, seed=seed) == choose(bank, seed=seed)
    assert len({choose(bank, seed=seed).question.slug for seed in SEEDS}) >= 2


def test_never_repeats_and_reports_exhaustion(bank: QuestionBank) -> None:
    asked: set[UUID] = set()
    for _ in range(10):  # the mini backend track has 10 core questions
        selection = choose(bank, asked=asked, seed=3)
        assert selection.question.id not in asked
        assert not selection.question.warmup
        asked.add(selection.question.id)
    with pytest.raises(NoQuestionAvailableError, match="every core question of track 'backend'"):
        choose(bank, asked=asked, seed=3)


@pytest.mark.parametrize("reference", ["slug", "uuid-string"])
def test_asked_accepts_slugs_and_id_strings(bank: QuestionBank, reference: str) -> None:
    level_four = [q for q in bank.questions_in("backend") if q.difficulty == 4]
    asked = {q.slug if reference == "slug" else str(q.id) for q in level_four}
    for seed in SEEDS:
        assert choose(bank, difficulty=4, asked=asked, seed=seed).question.difficulty in (3, 5)


def test_requested_difficulty_first_then_the_nearest(bank: QuestionBank) -> None:
    for seed in SEEDS:
        assert choose(bank, difficulty=4, seed=seed).question.difficulty == 4
        assert choose(bank, difficulty=2, seed=seed).question.difficulty == 2
    asked = {"backend-mini-sharding", "backend-mini-outbox"}
    for seed in SEEDS:
        assert choose(bank, difficulty=5, asked=asked, seed=seed).question.difficulty == 4


def test_new_topics_are_preferred(bank: QuestionBank) -> None:
    # Both level-5 questions are open; the databases topic was already asked at level 1.
    asked = {"backend-mini-sql-join"}
    for seed in SEEDS:
        assert choose(bank, difficulty=5, asked=asked, seed=seed).question.slug == "backend-mini-outbox"
    assert {choose(bank, difficulty=5, seed=seed).question.slug for seed in SEEDS} == {
        "backend-mini-outbox",
        "backend-mini-sharding",
    }


def test_resume_skills_and_job_keywords_steer_the_choice(bank: QuestionBank) -> None:
    for seed in SEEDS:
        by_skill = choose(bank, resume_skills=["Kafka"], seed=seed)
        assert (by_skill.question.slug, by_skill.focus_skill) == ("backend-mini-kafka-ordering", "Kafka")
        by_keyword = choose(bank, job_keywords=["rate-limiting"], seed=seed)
        assert (by_keyword.question.slug, by_keyword.focus_skill) == (
            "backend-mini-rate-limiter",
            "rate-limiting",
        )
        by_alias = choose(bank, difficulty=4, resume_skills=["K8s", "Terraform"], seed=seed)
        assert (by_alias.question.slug, by_alias.focus_skill) == ("backend-mini-k8s-rollout", "K8s")


def test_a_question_matching_both_sources_beats_one_matching_either(bank: QuestionBank) -> None:
    for seed in SEEDS:
        selection = choose(bank, resume_skills=["Kafka", "Postgres"], job_keywords=["postgresql"], seed=seed)
        assert selection.question.slug == "backend-mini-db-transactions"
        assert selection.focus_skill == "Postgres"  # the candidate's own wording is reported first


def test_difficulty_outranks_skills(bank: QuestionBank) -> None:
    for seed in SEEDS:
        selection = choose(bank, difficulty=2, resume_skills=["Kafka"], seed=seed)
        assert selection.question.difficulty == 2
        assert selection.focus_skill is None


def test_company_style_is_preferred(bank: QuestionBank) -> None:
    for seed in SEEDS:
        assert choose(bank, difficulty=4, company_style="enterprise", seed=seed).question.slug == (
            "backend-mini-k8s-rollout"
        )
        assert choose(bank, difficulty=4, company_style="fintech", seed=seed).question.slug == (
            "backend-mini-idempotent-payments"
        )


def test_warmups_only_for_warmup_slots(bank: QuestionBank) -> None:
    warmups = {q.slug for q in bank.questions_in("backend") if q.warmup}
    for seed in SEEDS:
        assert choose(bank, warmup=True, seed=seed).question.slug in warmups
        assert choose(bank, difficulty=1, warmup=False, seed=seed).question.slug not in warmups
    # With every warm-up asked, a warm-up slot gets the gentlest core question instead.
    for seed in SEEDS:
        stand_in = choose(bank, difficulty=4, warmup=True, asked=warmups, seed=seed).question
        assert not stand_in.warmup
        assert stand_in.difficulty == 2


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        ({"difficulty": 0}, SelectionError, "difficulty must be 1-5, not 0"),
        ({"difficulty": 6}, SelectionError, "difficulty must be 1-5, not 6"),
        ({"difficulty": "3"}, SelectionError, "difficulty must be an integer"),
        ({"difficulty": True}, SelectionError, "difficulty must be an integer"),
        ({"company_style": "unicorn"}, SelectionError, "unknown company style 'unicorn'"),
        ({"track": "cooking"}, UnknownTrackError, "unknown track 'cooking'"),
    ],
)
def test_invalid_requests_raise_typed_errors(
    bank: QuestionBank, overrides: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        choose(bank, **overrides)


@pytest.mark.parametrize(
    ("term", "tag", "expected"),
    [
        ("Kafka", "kafka", True),
        ("AWS Lambda", "aws", True),
        ("Node.js", "nodejs", True),
        ("golang", "go", True),
        ("Postgres", "postgresql", True),
        ("Distributed Systems", "distributed-systems", True),
        ("Rate limits", "rate-limiting", True),
        ("SQL", "sql-tuning", True),
        ("Java", "javascript", False),
        ("C", "c#", False),
        ("Redis", "rediscovery", False),
        ("", "kafka", False),
    ],
)
def test_term_matches_tag(term: str, tag: str, expected: bool) -> None:
    assert term_matches_tag(term, tag) is expected


JOB_DESCRIPTION = """
We're a payments company hiring a backend engineer. You'll build event-driven services in Python
on Postgres and KAFKA, deployed to K8s. You'll own caching with Redis and the rate limits of our
REST APIs, and join the on-call rotation. Clear communication with stakeholders matters to us.
"""


def test_job_keywords_are_bank_tags_in_order_of_mention(bank: QuestionBank) -> None:
    assert extract_job_keywords(JOB_DESCRIPTION, bank=bank) == [
        "payments",
        "event-driven",
        "python",
        "postgresql",
        "kafka",
        "kubernetes",
        "caching",
        "redis",
        "rate-limiting",
        "rest",
        "on-call",
        "communication",
        "stakeholders",
    ]


def test_everyday_words_are_not_mistaken_for_technologies(bank: QuestionBank) -> None:
    prose = "Take the rest of the day off; each node of the team can go home and react calmly."
    assert extract_job_keywords(prose, bank=bank) == []
    assert extract_job_keywords("", bank=bank) == []


def test_job_keywords_reject_non_text(bank: QuestionBank) -> None:
    with pytest.raises(TypeError, match="job_description must be a string"):
        extract_job_keywords(b"kafka", bank=bank)  # type: ignore[arg-type]


def test_job_keywords_default_to_the_shipped_bank() -> None:
    assert "kafka" in extract_job_keywords("Experience running Kafka in production.")
