"""The final report, built from an interview's recorded questions, answers and evaluations."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import msgspec

from server.llm.types import CRITERIA
from server.questions.bank import QuestionBank, UnknownQuestionError

if TYPE_CHECKING:
    from server.interviews.engine import EngineState

TOP_ITEMS = 4
WEAK_SCORE = 6.0


class ObserverNote(msgspec.Struct, kw_only=True, frozen=True):
    note_id: str
    author: str
    text: str
    about_seq: int | None
    at: str


class ReportQuestion(msgspec.Struct, kw_only=True):
    index: int
    kind: str
    topic: str
    question: str
    answer: str | None
    score: float | None
    feedback: str | None
    model_answer: list[str]
    provider: str | None


class Report(msgspec.Struct, kw_only=True):
    interview_id: str
    overall_score: float
    criteria: dict[str, float]
    questions: list[ReportQuestion]
    strengths: list[str]
    improvements: list[str]
    recommended_topics: list[str]
    notes: list[ObserverNote]
    provider: str
    providers_used: list[str]  # more than one: some scores came from a fallback provider
    reason: str | None


def _round(value: float) -> float:
    return round(value + 1e-9, 1)


def _most_common(items: Iterable[str], limit: int = TOP_ITEMS) -> list[str]:
    counts = Counter(item for item in items if item)
    return [item for item, _ in counts.most_common(limit)]


def build_report(
    state: EngineState, bank: QuestionBank, *, interview_id: uuid.UUID, notes: Sequence[ObserverNote] = ()
) -> Report:
    evaluations = state.evaluations
    scores = [e.score for e in evaluations]
    overall = _round(sum(scores) / len(scores)) if scores else 0.0
    criteria = {
        name: _round(sum(e.criteria.get(name, 0.0) for e in evaluations) / len(evaluations))
        if evaluations
        else 0.0
        for name in CRITERIA
    }
    questions: list[ReportQuestion] = []
    weak_topics: list[str] = []
    for asked in state.questions:
        if asked.text is None:
            continue
        answer = state.answer_for(asked.question_id)
        evaluation = state.evaluation_for(answer.answer_id) if answer else None
        try:
            model_answer = list(bank.get(asked.bank_id).model_answer)
        except UnknownQuestionError:
            model_answer = []
        questions.append(
            ReportQuestion(
                index=asked.index,
                kind=asked.kind,
                topic=asked.topic,
                question=asked.text,
                answer=answer.text if answer else None,
                score=evaluation.score if evaluation else None,
                feedback=evaluation.feedback if evaluation else None,
                model_answer=model_answer,
                provider=evaluation.provider if evaluation else asked.provider,
            )
        )
        if evaluation is not None and evaluation.score < WEAK_SCORE:
            weak_topics.append(asked.topic)
    missed = [point for e in evaluations for point in e.missed_points]
    recommended = list(dict.fromkeys([*_most_common(weak_topics), *_most_common(missed)]))[: TOP_ITEMS + 2]
    providers = [e.provider for e in evaluations] or [q.provider for q in state.questions if q.provider]
    provider_counts = Counter(providers)
    return Report(
        interview_id=str(interview_id),
        overall_score=overall,
        criteria=criteria,
        questions=questions,
        strengths=_most_common(s for e in evaluations for s in e.strengths),
        improvements=_most_common(i for e in evaluations for i in e.improvements),
        recommended_topics=recommended,
        notes=list(notes),
        provider=provider_counts.most_common(1)[0][0] if provider_counts else "offline",
        providers_used=sorted(provider_counts),
        reason=state.completion_reason,
    )
