"""Normalisation, stemming and phrase matching shared by the bank, selection and the rubric."""

from __future__ import annotations

import pytest

from server.questions.text import (
    PhraseIndex,
    capitalised_words,
    content_stems,
    join_labels,
    phrase_key,
    sentences,
    stem,
    words,
)


@pytest.mark.parametrize(
    "family",
    [
        ("cache", "caches", "cached", "caching"),
        ("retry", "retries", "retried", "retrying"),
        ("index", "indexes", "indexed", "indexing"),
        ("queue", "queues", "queued", "queuing", "queueing"),
        ("map", "maps", "mapped", "mapping"),
        ("commit", "commits", "committed", "committing"),
        ("agree", "agrees", "agreed"),
        ("exceed", "exceeds", "exceeded"),
        ("prioritise", "prioritize", "prioritised", "prioritizing"),
        ("database", "databases"),
        ("api", "apis"),
        ("add", "adds", "added", "adding"),
        ("base", "based"),
        ("idempotent", "idempotently"),
        ("behaviour", "behavior"),
    ],
)
def test_inflections_share_a_stem(family: tuple[str, ...]) -> None:
    assert len({stem(word) for word in family}) == 1, {word: stem(word) for word in family}


@pytest.mark.parametrize(
    ("first", "second"),
    [("status", "stat"), ("redis", "red"), ("analysis", "analys"), ("need", "ne"), ("speed", "spe")],
)
def test_distinct_words_stay_distinct(first: str, second: str) -> None:
    assert stem(first) != stem(second)


def test_words_are_normalised() -> None:
    assert words("Don't mix C++, C# and Node.js — the trade-off in CI/CD; résumé p99") == [
        "dont",
        "mix",
        "c++",
        "c#",
        "and",
        "node",
        "js",
        "the",
        "trade",
        "off",
        "in",
        "ci",
        "cd",
        "resume",
        "p99",
    ]
    assert phrase_key("Trade-offs") == phrase_key("trade offs") == "trad off"


def test_phrases_match_whole_words_only() -> None:
    index = PhraseIndex(
        "We avoided a deadlock by taking the cachet of the relocking approach; trade-offs followed."
    )
    assert not index.contains("lock")
    assert not index.contains("cache")
    assert index.contains("deadlocks")
    assert index.contains("trade off")
    assert index.contains("the relocking approach")
    assert index.position("deadlock") == 3
    assert index.position("") is None
    assert index.count_present(["deadlock", "trade-off", "lock"]) == 2
    assert index.present(["lock", "deadlock"]) == ["deadlock"]


def test_long_phrases_are_still_found() -> None:
    text = "first we write the order and the outbox row in one transaction then publish"
    index = PhraseIndex(text)
    assert index.contains("we write the order and the outbox row in one transaction")
    assert not index.contains("we write the order and the outbox row in two transactions")


def test_content_stems_skip_stopwords_and_stock_phrasing() -> None:
    assert content_stems("Tell me about a time you scaled the PostgreSQL cluster") == {
        "scal",
        "postgresql",
        "cluster",
    }


def test_capitalised_words_skip_sentence_openers_and_the_pronoun() -> None:
    text = (
        "At Stripe we ran PostgreSQL and Redis. I think I'm right.\n- Use AWS S3 for I/O.\nWe used AWS again."
    )
    assert capitalised_words(text) == ["Stripe", "PostgreSQL", "Redis", "AWS", "S3"]


def test_sentences_split_on_end_marks_and_lines() -> None:
    assert sentences("One. Two? Three!\nFour\n\n") == ["One.", "Two?", "Three!", "Four"]


def test_join_labels() -> None:
    assert join_labels([]) == ""
    assert join_labels(["a"]) == "a"
    assert join_labels(["a", "b"]) == "a and b"
    assert join_labels(["a", "b", "c"], "or") == "a, b or c"
    assert join_labels(["x and y", "z", "w"]) == "x and y; z; and w"
