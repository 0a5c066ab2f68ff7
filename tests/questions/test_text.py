"""Normalisation, stemming and phrase matching shared by the bank, selection and the rubric."""

from __future__ import annotations

import re
import unicodedata

import pytest

from server.questions.text import (
    PhraseIndex,
    PhraseList,
    capitalised_words,
    content_stems,
    content_stems_of,
    fold,
    folded_words,
    join_labels,
    phrase_key,
    phrase_stems,
    sentences,
    stem,
    stems,
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


def reference_fold(text: str) -> str:
    """`fold` as first written, without its shortcuts."""
    decomposed = unicodedata.normalize("NFKD", text)
    without_marks = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"(?<=\w)['’‘`](?=\w)", "", without_marks.lower())


@pytest.mark.parametrize(
    "text",
    [
        "Plain ASCII: don't, can`t, 'quoted', rock 'n' roll, o'clock's",
        "Café naïve résumé coöperate Ångström façade",
        "Don’t mix ‘curly’ quotes; l’état d’esprit",
        "ﬁnance ² ½ Ω Ǆ İstanbul ß straße",
        "Ü\u0308ber a\u0301\u0327 e\u20dd x\u0345y",
        "''`` ' ` a'b'c d''e",
        "",
    ],
)
def test_fold_is_unchanged_by_its_shortcuts(text: str) -> None:
    assert fold(text) == reference_fold(text)
    assert folded_words(fold(text)) == words(text)


def test_fold_handles_every_character() -> None:
    everything = "".join(chr(code) for code in range(0x3000) if not 0xD800 <= code < 0xE000)
    for start in range(0, len(everything), 500):
        chunk = f"a'{everything[start : start + 500]}'b"
        assert fold(chunk) == reference_fold(chunk)


def test_content_stems_of_words_match_those_of_the_text() -> None:
    for text in ("Tell me about a time you scaled the PostgreSQL cluster", "Two 3 fifteen C++ don't", ""):
        assert content_stems_of(words(text)) == content_stems(text)


def test_phrase_stems_are_the_stems_of_the_phrase() -> None:
    for phrase in ("trade-offs", "Dead-letter queues", "", "C++ and C#", "retried"):
        assert phrase_stems(phrase) == stems(phrase)


def test_an_index_from_known_stems_matches_one_from_text() -> None:
    text = "We retried the failed payments, then retried the refunds; trade-offs followed."
    built = PhraseIndex.from_stems(stems(text))
    direct = PhraseIndex(text)
    for phrase in ("retry", "the refund", "trade off", "retried the failed payment", "refunds then", ""):
        assert built.position(phrase) == direct.position(phrase)
    assert len(built) == len(direct)


def test_phrase_lists_find_what_the_index_finds_in_list_order() -> None:
    text = "first we write the order and the outbox row in one transaction then publish the order"
    index = PhraseIndex(text)
    phrases = [
        "publish",
        "the order",
        "",
        "lock",
        "the order",  # listed twice, counted twice, as `count_present` does
        "we write the order and the outbox row in one transaction",
        "write the outbox",
        "first",
        "Orders",
    ]
    listed = PhraseList(phrases)
    assert listed.count_present(index) == index.count_present(phrases) == 6
    assert listed.present(index) == index.present(phrases)
    assert listed.positions(index) == [
        (order, index.position(phrase))
        for order, phrase in enumerate(phrases)
        if index.position(phrase) is not None
    ]
    assert PhraseList([]).present(index) == []
    assert PhraseList(phrases).count_present(PhraseIndex("")) == 0
