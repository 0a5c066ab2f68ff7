"""The heuristic rubric: criteria, coverage, length bands, off-topic detection and feedback prose."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.llm.types import CRITERIA, EvaluationScores, QuestionBrief
from server.questions.bank import load_bank
from server.questions.scoring import (
    CRITERION_WEIGHTS,
    OFF_TOPIC_CAP,
    OFF_TOPIC_RELEVANCE_CAP,
    RubricError,
    _question_vocabulary,
    _subject_words,
    analyse_answer,
    evaluate_answer,
    overall_score,
    score_answer,
    write_feedback,
)
from server.questions.text import sentences

MINI_BANK = Path(__file__).parent / "fixtures" / "mini_bank"

STRONG_PAYMENTS = """
I would require clients to send an idempotency key with every payment request, generated once
per attempt. First, the server inserts the key and a hash of the body into a table with a unique
constraint, inside the same transaction that creates the payment, so two concurrent requests with
the same key cannot both charge: the second waits on the lock or gets a 409. Then, once the charge
succeeds, we store the response next to the key, so a retry after a timeout gets the same response
replayed instead of a second charge. Keys expire after 24 hours. The trade-off is one extra write
per request, but for payments that cost is worth it. At my last job we ran this on PostgreSQL with
Stripe and duplicate charges went to zero.
"""
WEAK_PAYMENTS = """
I would make sure the payment endpoint is safe to retry. The server should check whether the
payment already happened before charging again and maybe return an error. You have to be
careful with payments and test it well.
"""
OFF_TOPIC = """
Every summer I go hiking in the mountains with friends. We walk about fifteen kilometres a day,
camp by lakes and cook over a small stove. Last year we crossed three passes in the Alps, which
was tiring but beautiful, and I learned a lot about planning routes and packing light.
"""
STAR_STORY = """
Last year I was on call for our checkout service when a release broke payments for about a third
of our customers. My task was to restore service and keep support informed. I rolled back the
release within twenty minutes, posted status updates every fifteen minutes and then led the
post-mortem, where we found the configuration difference that caused it. As a result we added a
deploy check that catches that class of mistake, and we have had no repeat since.
"""


@pytest.fixture(scope="module")
def payments() -> QuestionBrief:
    return load_bank(MINI_BANK).by_slug("backend-mini-idempotent-payments").to_brief()


@pytest.fixture(scope="module")
def incident() -> QuestionBrief:
    return load_bank(MINI_BANK).by_slug("backend-mini-incident-story").to_brief()


def overall(brief: QuestionBrief, answer: str, kind: str = "core") -> float:
    return overall_score(score_answer(brief, brief.text, answer, kind).criteria)  # type: ignore[arg-type]


def test_every_criterion_is_scored_on_the_documented_scale(payments: QuestionBrief) -> None:
    for answer in (STRONG_PAYMENTS, WEAK_PAYMENTS, OFF_TOPIC, "ok", ""):
        scores = score_answer(payments, payments.text, answer, "core")
        assert list(scores.criteria) == list(CRITERIA)
        for value in scores.criteria.values():
            assert 0 <= value <= 10
            assert value == round(value, 1)


def test_same_inputs_give_the_same_scores_and_feedback(payments: QuestionBrief) -> None:
    first = score_answer(payments, payments.text, STRONG_PAYMENTS, "core")
    second = score_answer(payments, payments.text, STRONG_PAYMENTS, "core")
    assert first == second
    assert write_feedback(payments, first, STRONG_PAYMENTS) == write_feedback(
        payments, second, STRONG_PAYMENTS
    )


def test_strong_beats_weak_beats_off_topic(payments: QuestionBrief) -> None:
    strong, weak, off_topic = (overall(payments, a) for a in (STRONG_PAYMENTS, WEAK_PAYMENTS, OFF_TOPIC))
    assert strong >= 8.0
    assert strong > weak > off_topic
    assert off_topic < 1.5


def test_key_points_are_matched_with_inflections_and_word_boundaries(payments: QuestionBrief) -> None:
    scores = score_answer(
        payments,
        payments.text,
        "Requests are deduplicated by their request ID, and the stored response is replayed on a retry.",
        "core",
    )
    assert scores.covered_points == ["idempotency keys", "stored responses replayed"]
    assert scores.missed_points == ["concurrency control"]
    # "lock" must not be found inside "blocked" or "deadlocks".
    blocked = score_answer(
        payments, payments.text, "Retried payments were blocked to avoid deadlocks.", "core"
    )
    assert "concurrency control" in blocked.missed_points


def test_off_topic_answers_are_capped_however_well_written(payments: QuestionBrief) -> None:
    signals = analyse_answer(payments, payments.text, OFF_TOPIC, "core")
    assert signals.off_topic
    scores = score_answer(payments, payments.text, OFF_TOPIC, "core")
    assert scores.criteria["relevance"] <= OFF_TOPIC_RELEVANCE_CAP
    assert all(value <= OFF_TOPIC_CAP for value in scores.criteria.values())
    assert scores.strengths == []
    assert scores.improvements[0] == "Answer the question that was asked; it is about API design."
    feedback = write_feedback(payments, scores, OFF_TOPIC)
    assert feedback.startswith("This answer does not address the question, which is about API design.")
    assert "A good answer would cover idempotency keys" in feedback


def test_the_question_as_asked_counts_as_topic(payments: QuestionBrief) -> None:
    answer = "Our mobile wallet top-ups go through the same flow when the phone loses its connection."
    asked = "How does your design behave for mobile wallet top-ups when the phone loses its connection?"
    assert analyse_answer(payments, payments.text, answer, "follow_up").off_topic
    assert not analyse_answer(payments, asked, answer, "follow_up").off_topic


@pytest.mark.parametrize(
    ("answer", "kind", "band"),
    [
        ("", "core", "empty"),
        ("Use an idempotency key.", "core", "too_short"),
        (" ".join(["word"] * 40), "core", "thin"),
        (" ".join(["word"] * 40), "warmup", "good"),
        (" ".join(["word"] * 40), "follow_up", "thin"),
        (" ".join(["word"] * 120), "core", "good"),
        (" ".join(["word"] * 401), "core", "rambling"),
        (" ".join(["word"] * 401), "warmup", "rambling"),
    ],
)
def test_length_bands(payments: QuestionBrief, answer: str, kind: str, band: str) -> None:
    assert analyse_answer(payments, payments.text, answer, kind).length_band == band  # type: ignore[arg-type]


def test_short_and_rambling_answers_lose_communication_points(payments: QuestionBrief) -> None:
    good = score_answer(payments, payments.text, STRONG_PAYMENTS, "core")
    short = score_answer(payments, payments.text, "Use an idempotency key and a unique constraint.", "core")
    rambling_answer = "\n".join([STRONG_PAYMENTS] * 4)
    rambling = score_answer(payments, payments.text, rambling_answer, "core")
    assert short.criteria["communication"] <= 5
    assert rambling.criteria["communication"] < good.criteria["communication"]
    assert "Say more: explain how and why in a few more sentences." in short.improvements
    words = analyse_answer(payments, payments.text, rambling_answer, "core").word_count
    assert f"Tighten the answer ({words} words): lead with the key idea." in rambling.improvements
    assert f"At {words} words it runs long" in write_feedback(payments, rambling, rambling_answer)


def test_specific_detail_raises_specificity(payments: QuestionBrief) -> None:
    vague = (
        "Clients send an idempotency key and the server keeps it with the stored response in a table with "
        "a unique constraint, so that a retry gets the same response and a concurrent duplicate is rejected."
    )
    specific = (
        vague + " For example, at my last company we kept keys for 24 hours in PostgreSQL, returned 409 for "
        "in-flight duplicates and passed the key on to Stripe."
    )
    low = score_answer(payments, payments.text, vague, "core").criteria["specificity"]
    high = score_answer(payments, payments.text, specific, "core")
    assert high.criteria["specificity"] >= 7 > low
    assert any(
        strength.startswith("You backed it with concrete detail (24, 409") for strength in high.strengths
    )


def test_ordered_reasoning_and_trade_offs_raise_technical_structure(payments: QuestionBrief) -> None:
    flat = (
        "There is an idempotency key per request. There is a table with a unique constraint on the key. "
        "There is a stored response for each key. There is an expiry of a day on the keys."
    )
    ordered = (
        "First, each request carries an idempotency key. Then the server inserts it into a table with a "
        "unique constraint, because that stops concurrent duplicates. Next it stores the response for "
        "replay. Finally keys expire after a day; the trade-off is an extra write, but retries become safe."
    )
    assert (
        score_answer(payments, payments.text, ordered, "core").criteria["structure"]
        >= score_answer(payments, payments.text, flat, "core").criteria["structure"] + 3
    )


def test_star_signals_drive_behavioural_structure(incident: QuestionBrief) -> None:
    signals = analyse_answer(incident, incident.text, STAR_STORY, "core")
    assert signals.star_parts == ("situation", "task", "action", "result")
    full = score_answer(incident, incident.text, STAR_STORY, "core")
    assert full.criteria["structure"] >= 7
    assert "The story had a clear situation, task, action and result." in full.strengths

    no_result = (
        "Our team ran the checkout service and a release broke payments for many customers. My task was to "
        "restore it. Things were hectic, there was a lot of pressure and many people were in the channel "
        "asking questions, and it was a long and stressful evening for everybody involved."
    )
    partial = analyse_answer(incident, incident.text, no_result, "core")
    assert "result" not in partial.star_parts
    assert "action" not in partial.star_parts
    scores = score_answer(incident, incident.text, no_result, "core")
    assert "Tell it as situation, task, action and result: the action and result were missing." in (
        scores.improvements
    )


def test_hedges_and_filler_cost_communication(payments: QuestionBrief) -> None:
    clean = (
        "Each request carries an idempotency key. The server stores it with a unique constraint and keeps "
        "the response, so a retry gets the same response and a concurrent duplicate is rejected."
    )
    hedged = (
        "Basically each request probably carries some kind of idempotency key or something. The server "
        "maybe stores it with a unique constraint and stuff, so a retry sort of gets the same response."
    )
    clean_scores = score_answer(payments, payments.text, clean, "core")
    hedged_scores = score_answer(payments, payments.text, hedged, "core")
    assert hedged_scores.criteria["communication"] <= clean_scores.criteria["communication"] - 2
    assert 'Cut hedges and filler such as "basically", "sort of" and "kind of".' in hedged_scores.improvements


def test_empty_answer_scores_zero(payments: QuestionBrief) -> None:
    scores = score_answer(payments, payments.text, "   ", "core")
    assert set(scores.criteria.values()) == {0.0}
    assert overall_score(scores.criteria) == 0.0
    assert scores.improvements == ["Give an answer: even a partial one can be scored and improved."]
    assert write_feedback(payments, scores, "   ").startswith("No answer was given")


def test_weights_are_documented_and_applied() -> None:
    assert sum(CRITERION_WEIGHTS.values()) == pytest.approx(1.0)
    assert CRITERION_WEIGHTS == {
        "relevance": 0.25,
        "depth": 0.25,
        "structure": 0.15,
        "communication": 0.15,
        "specificity": 0.20,
    }
    criteria = {"relevance": 8.0, "depth": 6.0, "structure": 4.0, "communication": 10.0, "specificity": 5.0}
    # 0.25*8 + 0.25*6 + 0.15*4 + 0.15*10 + 0.2*5 = 6.6
    assert overall_score(criteria) == 6.6
    assert overall_score(dict.fromkeys(CRITERIA, 10.0)) == 10.0


@pytest.mark.parametrize(
    ("criteria", "message"),
    [
        ({"relevance": 5.0}, "criteria are missing depth, structure, communication, specificity"),
        ({**dict.fromkeys(CRITERIA, 5.0), "depth": 11.0}, "criterion depth must be a number from 0 to 10"),
        ({**dict.fromkeys(CRITERIA, 5.0), "depth": -1}, "criterion depth must be a number from 0 to 10"),
        ({**dict.fromkeys(CRITERIA, 5.0), "depth": True}, "criterion depth must be a number from 0 to 10"),
        ({**dict.fromkeys(CRITERIA, 5.0), "depth": "7"}, "criterion depth must be a number from 0 to 10"),
    ],
)
def test_overall_score_rejects_bad_criteria(criteria: dict[str, object], message: str) -> None:
    with pytest.raises(RubricError, match=message):
        overall_score(criteria)  # type: ignore[arg-type]


def test_bad_arguments_raise_rubric_errors(payments: QuestionBrief) -> None:
    with pytest.raises(RubricError, match="brief must be a QuestionBrief"):
        score_answer({"text": "q"}, "q", "answer", "core")  # type: ignore[arg-type]
    with pytest.raises(RubricError, match="answer must be a string"):
        score_answer(payments, payments.text, None, "core")  # type: ignore[arg-type]
    with pytest.raises(RubricError, match="kind must be one of warmup, core, follow_up"):
        score_answer(payments, payments.text, "answer", "bonus")  # type: ignore[arg-type]
    incomplete = EvaluationScores(criteria={"relevance": 1.0}, strengths=[], improvements=[])
    with pytest.raises(RubricError, match="criteria are missing"):
        write_feedback(payments, incomplete, "answer")


def test_feedback_is_built_from_the_scores(payments: QuestionBrief) -> None:
    feedback_by_answer = {}
    for answer in (STRONG_PAYMENTS, WEAK_PAYMENTS):
        scores = score_answer(payments, payments.text, answer, "core")
        feedback = write_feedback(payments, scores, answer)
        assert 2 <= len(sentences(feedback)) <= 5, feedback
        for label in scores.covered_points:
            assert label in feedback
        for label in scores.missed_points[:3]:
            assert label in feedback
        feedback_by_answer[answer] = feedback
    strong_feedback = feedback_by_answer[STRONG_PAYMENTS]
    assert strong_feedback.startswith("This is a strong answer on API design")
    assert (
        "You covered idempotency keys, stored responses replayed and concurrency control." in strong_feedback
    )
    weak_feedback = feedback_by_answer[WEAK_PAYMENTS]
    assert (
        "To make it stronger, address idempotency keys, stored responses replayed and concurrency control."
        in (weak_feedback)
    )
    # The same answer described with different scores gets a different verdict.
    scores = score_answer(payments, payments.text, WEAK_PAYMENTS, "core")
    generous = EvaluationScores(
        criteria=dict.fromkeys(CRITERIA, 9.0),
        strengths=[],
        improvements=[],
        covered_points=scores.covered_points,
        missed_points=scores.missed_points,
    )
    assert write_feedback(payments, generous, WEAK_PAYMENTS).startswith("This is a strong answer")


def test_improvements_name_missed_points(payments: QuestionBrief) -> None:
    scores = score_answer(payments, payments.text, "I would add an idempotency key to each request.", "core")
    assert scores.covered_points == ["idempotency keys"]
    assert "Address stored responses replayed and concurrency control." in scores.improvements
    assert "You covered idempotency keys." in scores.strengths


@pytest.mark.parametrize("kind", ["warmup", "core", "follow_up"])
def test_evaluate_answer_is_score_answer_then_write_feedback(
    payments: QuestionBrief, incident: QuestionBrief, kind: str
) -> None:
    for brief in (payments, incident):
        for asked in (brief.text, "Tell me about your favourite holiday."):
            for answer in (STRONG_PAYMENTS, WEAK_PAYMENTS, OFF_TOPIC, STAR_STORY, "ok", "", "  \n"):
                scores = score_answer(brief, asked, answer, kind)  # type: ignore[arg-type]
                feedback = write_feedback(brief, scores, answer, kind=kind, question_text=asked)  # type: ignore[arg-type]
                assert evaluate_answer(brief, asked, answer, kind) == (scores, feedback)  # type: ignore[arg-type]


def test_evaluate_answer_rejects_bad_arguments(payments: QuestionBrief) -> None:
    with pytest.raises(RubricError, match="answer must be a string"):
        evaluate_answer(payments, payments.text, None, "core")  # type: ignore[arg-type]
    with pytest.raises(RubricError, match="kind must be one of"):
        evaluate_answer(payments, payments.text, "answer", "bonus")  # type: ignore[arg-type]


def test_the_question_vocabulary_is_cached_per_question_not_per_answer(
    payments: QuestionBrief, incident: QuestionBrief
) -> None:
    for brief in (payments, incident):
        for asked in (brief.text, f"Let's talk about Redis. {brief.text}", "Tell me about a holiday."):
            fresh = (
                _subject_words(brief.text)
                | _subject_words(asked)
                | _subject_words(" ".join(brief.tags))
                | _subject_words(brief.topic)
            )
            assert _question_vocabulary(brief, asked) == fresh
            assert _question_vocabulary(brief, asked) == fresh  # served from the cache this time
    # Two answers to one question are still measured on their own.
    strong = analyse_answer(payments, payments.text, STRONG_PAYMENTS, "core")
    weak = analyse_answer(payments, payments.text, WEAK_PAYMENTS, "core")
    assert strong.topic_words != weak.topic_words or strong.covered_points != weak.covered_points
    assert analyse_answer(payments, payments.text, STRONG_PAYMENTS, "core") == strong
