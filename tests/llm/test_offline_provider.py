"""The offline interviewer: templated questions, follow-ups, rubric feedback, pacing, determinism."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import msgspec
import pytest

from server.core.settings import Settings
from server.llm import offline
from server.llm.offline import OFFLINE_MODEL, OfflineLanguageError, OfflineProvider, split_pieces
from server.llm.provider import InterviewerProvider
from server.llm.types import EvaluationRequest, KeyPoint, QuestionBrief, QuestionContext
from server.questions.scoring import score_answer, write_feedback
from server.resumes.profile import Profile

TECHNICAL = QuestionBrief(
    id=uuid.uuid5(uuid.NAMESPACE_URL, "offline-test-technical"),
    slug="backend-offline-queue-retries",
    track="backend",
    difficulty=3,
    topic="messaging",
    tags=["kafka", "queues"],
    style="technical",
    text="How would you retry failed messages from a queue without blocking the messages behind them?",
    key_points=[
        KeyPoint(label="a separate retry queue", terms=["retry queue", "retry topic", "delay queue"]),
        KeyPoint(label="backoff between attempts", terms=["backoff", "back off", "exponential"]),
        KeyPoint(label="a dead-letter queue", terms=["dead letter", "dead-letter", "dlq"]),
    ],
    model_answer=["Move failures to a retry topic.", "Back off between attempts.", "Park poison messages."],
)
BEHAVIOURAL = QuestionBrief(
    id=uuid.uuid5(uuid.NAMESPACE_URL, "offline-test-behavioural"),
    slug="behavioural-offline-deadline",
    track="behavioural",
    difficulty=2,
    topic="delivery",
    tags=["planning"],
    style="behavioural",
    text="Tell me about a deadline you nearly missed.",
    key_points=[
        KeyPoint(label="the stakes", terms=["deadline", "launch", "customer"]),
        KeyPoint(label="what you cut", terms=["cut scope", "deferred", "descoped"]),
        KeyPoint(label="the outcome", terms=["shipped", "delivered", "outcome"]),
    ],
    model_answer=["Set the scene.", "Say what you cut.", "Give the outcome."],
)
ANSWER = (
    "First I would move failed messages to a separate retry queue so the main consumer keeps going, "
    "then apply exponential backoff between attempts, because hammering a failing dependency makes it "
    "worse. After five attempts the message goes to a dead-letter queue with an alert, and we replay it "
    "once the bug is fixed. In Kafka that means retry topics per delay, for example 1, 5 and 30 minutes."
)


def context(**overrides: object) -> QuestionContext:
    values: dict[str, object] = {"brief": TECHNICAL, "kind": "core", "index": 2, "total": 5}
    values.update(overrides)
    return QuestionContext(**values)  # type: ignore[arg-type]


async def collect(stream: AsyncIterator[str]) -> list[str]:
    return [piece async for piece in stream]


class RecordingSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def test_identity_and_languages() -> None:
    provider: InterviewerProvider = OfflineProvider()
    assert provider.name == "offline"
    assert provider.model == OFFLINE_MODEL == "offline-heuristic-v1"
    assert provider.configured is True
    for language in ("en", "en-GB", "EN-us", " en "):
        assert provider.supports_language(language)
    for language in ("de", "fr-FR", "", "eng", "english"):
        assert not provider.supports_language(language)


def test_settings_choose_pace_and_seed() -> None:
    provider = OfflineProvider.from_settings(Settings(offline_tokens_per_second=12.5, offline_seed=7))
    assert (provider.tokens_per_second, provider.seed) == (12.5, 7)
    with pytest.raises(ValueError, match="tokens_per_second must be 0"):
        OfflineProvider(tokens_per_second=-1)


async def test_question_pieces_concatenate_to_the_full_text() -> None:
    provider = OfflineProvider(tokens_per_second=0, seed=3)
    ctx = context(focus_skill="Kafka", company_style="fintech")
    pieces = await collect(provider.stream_question(ctx))
    text = provider.question_text(ctx)
    assert "".join(pieces) == text
    assert len(pieces) == len(text.split())
    assert all(piece.strip() and " " not in piece.strip() for piece in pieces)
    assert TECHNICAL.text in text
    assert "Kafka" in text


def test_lead_ins_are_deterministic_and_vary_with_seed_and_index() -> None:
    texts = set()
    for seed in range(6):
        for index in range(1, 6):
            ctx = context(index=index, focus_skill="Kafka")
            first = OfflineProvider(seed=seed).question_text(ctx)
            assert first == OfflineProvider(seed=seed).question_text(ctx)
            assert "Kafka" in first
            texts.add(first)
    assert len(texts) >= 3


def test_question_kinds_and_company_styles() -> None:
    provider = OfflineProvider(seed=1)
    plain = provider.question_text(context(index=3))
    styled = provider.question_text(context(index=3, company_style="big_tech"))
    assert plain.endswith(TECHNICAL.text)
    assert styled.startswith(plain)
    assert len(styled) > len(plain)
    assert any(phrase in styled for phrase in ("very large scale", "millions of users"))
    warmup = provider.question_text(context(kind="warmup", index=1, company_style="big_tech"))
    assert warmup.endswith(TECHNICAL.text)
    assert "scale" not in warmup
    assert "millions" not in warmup
    behavioural = provider.question_text(context(brief=BEHAVIOURAL, company_style="consultancy"))
    assert BEHAVIOURAL.text in behavioural
    assert "client" in behavioural.split(BEHAVIOURAL.text)[1]


def test_follow_ups_probe_missed_points_not_the_bank_text() -> None:
    for seed in range(4):
        provider = OfflineProvider(seed=seed)
        ctx = context(
            kind="follow_up",
            previous_question=TECHNICAL.text,
            previous_answer="I would just retry it a few times.",
            missed_points=["a dead-letter queue", "backoff between attempts"],
        )
        text = provider.question_text(ctx)
        assert "a dead-letter queue" in text
        assert TECHNICAL.text not in text
    deeper = OfflineProvider().question_text(context(kind="follow_up", missed_points=[]))
    assert deeper.endswith("?")
    assert TECHNICAL.text not in deeper
    story = OfflineProvider().question_text(
        context(brief=BEHAVIOURAL, kind="follow_up", missed_points=["what you cut"])
    )
    assert "what you cut" in story


async def test_pacing_sleeps_between_pieces() -> None:
    sleep = RecordingSleep()
    provider = OfflineProvider(tokens_per_second=20, sleep=sleep)
    pieces = await collect(provider.stream_question(context()))
    assert len(sleep.delays) == len(pieces) - 1
    assert sleep.delays == pytest.approx([0.05] * len(sleep.delays))

    unpaced = RecordingSleep()
    await collect(OfflineProvider(tokens_per_second=0, sleep=unpaced).stream_question(context()))
    assert unpaced.delays == []


async def test_pacing_with_the_real_clock_completes() -> None:
    provider = OfflineProvider(tokens_per_second=2000)
    pieces = await collect(provider.stream_question(context()))
    assert "".join(pieces) == provider.question_text(context())


async def test_feedback_and_scores_come_from_the_rubric() -> None:
    provider = OfflineProvider(tokens_per_second=0)
    request = EvaluationRequest(brief=TECHNICAL, question_text=TECHNICAL.text, answer=ANSWER)
    pieces = await collect(provider.stream_feedback(request))
    feedback = "".join(pieces)
    expected_scores = score_answer(TECHNICAL, TECHNICAL.text, ANSWER, "core")
    assert feedback == write_feedback(TECHNICAL, expected_scores, ANSWER)
    assert "a separate retry queue" in feedback
    scores = await provider.score_answer(request, feedback)
    assert scores == expected_scores
    assert scores.covered_points == [
        "a separate retry queue",
        "backoff between attempts",
        "a dead-letter queue",
    ]


async def test_each_answer_gets_its_own_scores_and_feedback() -> None:
    provider = OfflineProvider(tokens_per_second=0)
    short = "I would retry the message a few times and then give up."
    requests = [
        EvaluationRequest(brief=TECHNICAL, question_text=TECHNICAL.text, answer=answer)
        for answer in (ANSWER, short, ANSWER)
    ]
    results = []
    for request in requests:
        feedback = "".join(await collect(provider.stream_feedback(request)))
        results.append((await provider.score_answer(request, feedback), feedback))
    for request, (scores, feedback) in zip(requests, results, strict=True):
        expected = score_answer(TECHNICAL, TECHNICAL.text, request.answer, "core")
        assert scores == expected
        assert feedback == write_feedback(TECHNICAL, expected, request.answer)
    assert results[0][0] != results[1][0]
    assert results[0][1] != results[1][1]
    assert results[0] == results[2]


async def test_cached_evaluations_follow_everything_that_decides_the_scores() -> None:
    provider = OfflineProvider(tokens_per_second=0)
    request = EvaluationRequest(brief=TECHNICAL, question_text=TECHNICAL.text, answer=ANSWER)
    first = await provider.score_answer(request, "")
    # The same question id with other key points (an edited bank), asked differently, or as a
    # follow-up: each must be scored afresh, never served from the first answer's entry.
    edited = msgspec.structs.replace(TECHNICAL, key_points=TECHNICAL.key_points[:1])
    variants = [
        msgspec.structs.replace(request, brief=edited),
        msgspec.structs.replace(request, question_text="Tell me about your favourite holiday."),
        msgspec.structs.replace(request, kind="follow_up"),
    ]
    for variant in variants:
        expected = score_answer(variant.brief, variant.question_text, variant.answer, variant.kind)
        assert await provider.score_answer(variant, "") == expected
        assert provider.feedback_text(variant) == write_feedback(
            variant.brief, expected, variant.answer, kind=variant.kind, question_text=variant.question_text
        )
    assert await provider.score_answer(variants[0], "") != first


async def test_callers_cannot_change_the_cached_scores() -> None:
    provider = OfflineProvider(tokens_per_second=0)
    request = EvaluationRequest(brief=TECHNICAL, question_text=TECHNICAL.text, answer=ANSWER)
    scores = await provider.score_answer(request, "")
    scores.criteria["depth"] = 0.0
    scores.strengths.append("tampered")
    scores.covered_points.clear()
    assert await provider.score_answer(request, "") == score_answer(TECHNICAL, TECHNICAL.text, ANSWER, "core")


async def test_the_evaluation_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(offline, "EVALUATION_CACHE_SIZE", 2)
    provider = OfflineProvider(tokens_per_second=0)
    answers = [f"{ANSWER} Attempt {n}." for n in range(5)] + [ANSWER]
    for answer in answers:
        request = EvaluationRequest(brief=TECHNICAL, question_text=TECHNICAL.text, answer=answer)
        assert provider.feedback_text(request) == write_feedback(
            TECHNICAL, score_answer(TECHNICAL, TECHNICAL.text, answer, "core"), answer
        )
        assert len(provider._evaluations) <= 2


async def test_other_languages_are_refused() -> None:
    provider = OfflineProvider(tokens_per_second=0)
    with pytest.raises(OfflineLanguageError, match="English only"):
        await collect(provider.stream_question(context(language="de")))
    request = EvaluationRequest(brief=TECHNICAL, question_text=TECHNICAL.text, answer=ANSWER, language="fr")
    with pytest.raises(OfflineLanguageError):
        await provider.score_answer(request, "")


async def test_structure_resume_delegates_to_the_rule_based_structurer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[str] = []

    def fake_structurer(text: str) -> Profile:
        seen.append(text)
        return Profile(name="Ada Lovelace", skills=["Python"])

    monkeypatch.setattr("server.resumes.structuring.structure_resume_offline", fake_structurer)
    profile = await OfflineProvider().structure_resume("Ada Lovelace\nSkills: Python")
    assert profile == Profile(name="Ada Lovelace", skills=["Python"])
    assert seen == ["Ada Lovelace\nSkills: Python"]


def test_split_pieces_keeps_trailing_whitespace() -> None:
    assert split_pieces("One two  three.\nFour") == ["One ", "two  ", "three.\n", "Four"]
    assert split_pieces("") == []
