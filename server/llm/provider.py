"""The one protocol every interviewer provider implements."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from server.llm.types import EvaluationRequest, EvaluationScores, ProviderName, QuestionContext
from server.resumes.profile import Profile


class InterviewerProvider(Protocol):
    name: ProviderName
    model: str

    @property
    def configured(self) -> bool:
        """True when the provider can be called at all (has its key, or needs none)."""
        ...

    def supports_language(self, language: str) -> bool: ...

    def stream_question(self, ctx: QuestionContext) -> AsyncIterator[str]:
        """Stream the question text to ask, in small pieces."""
        ...

    def stream_feedback(self, request: EvaluationRequest) -> AsyncIterator[str]:
        """Stream the feedback prose for an answer, in small pieces."""
        ...

    async def score_answer(self, request: EvaluationRequest, feedback: str) -> EvaluationScores:
        """Score an answer against the rubric; `feedback` is the prose already streamed."""
        ...

    async def structure_resume(self, text: str) -> Profile:
        """Turn extracted resume text into a Profile holding only facts the text supports."""
        ...
