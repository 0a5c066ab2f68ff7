"""Evaluation quality of the heuristic rubric on labelled answers to questions of the shipped bank.

`eval_cases.toml` holds, per question, a strong answer, a vague but on-topic weak answer and a
fluent off-topic answer. The rubric must rank them strong > weak > off-topic in at least 90 % of
the cases; the measured share is printed with every run.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import msgspec.toml
import pytest

from server.questions.bank import get_bank
from server.questions.scoring import overall_score, score_answer
from server.questions.text import sentences, words

CASES_FILE = Path(__file__).parent / "eval_cases.toml"
REQUIRED_SHARE = 0.9
MIN_CASES = 40
MIN_TRACKS = 6


class EvalCase(msgspec.Struct, forbid_unknown_fields=True):
    slug: str
    strong: str
    weak: str
    off_topic: str


class EvalFile(msgspec.Struct, forbid_unknown_fields=True):
    cases: list[EvalCase]


@pytest.fixture(scope="module")
def cases() -> list[EvalCase]:
    return msgspec.toml.decode(CASES_FILE.read_bytes(), type=EvalFile).cases


def test_the_labelled_set_is_broad_and_well_formed(cases: list[EvalCase]) -> None:
    bank = get_bank()
    assert len(cases) >= MIN_CASES
    assert len({case.slug for case in cases}) == len(cases), "one case per question"
    tracks = {bank.by_slug(case.slug).track for case in cases}
    assert len(tracks) >= MIN_TRACKS, tracks
    for case in cases:
        # Strong answers are explanations in prose, not keyword lists; weak ones stay short and vague.
        assert len(words(case.strong)) >= 100, case.slug
        assert len(sentences(case.strong)) >= 4, case.slug
        assert len(words(case.weak)) <= 70, case.slug
        assert len(sentences(case.weak)) >= 2, case.slug
        assert len(words(case.off_topic)) >= 30, case.slug


def test_rubric_ranks_strong_over_weak_over_off_topic(
    cases: list[EvalCase], capsys: pytest.CaptureFixture[str]
) -> None:
    bank = get_bank()
    misranked: list[str] = []
    for case in cases:
        brief = bank.by_slug(case.slug).to_brief()
        strong, weak, off_topic = (
            overall_score(score_answer(brief, brief.text, answer, "core").criteria)
            for answer in (case.strong, case.weak, case.off_topic)
        )
        if not strong > weak > off_topic:
            misranked.append(f"{case.slug}: strong {strong}, weak {weak}, off-topic {off_topic}")
    share = 1 - len(misranked) / len(cases)
    with capsys.disabled():
        print(
            f"\nheuristic rubric: strong > weak > off-topic in {len(cases) - len(misranked)}/{len(cases)} "
            f"cases ({share:.1%})"
        )
        for line in misranked:
            print(f"  misranked {line}")
    assert share >= REQUIRED_SHARE, misranked
