"""Task-level types shared by every interviewer provider (OpenAI, Gemini, offline).

Providers work at the level of interview tasks (phrase a question, give feedback, score an
answer, structure a resume) rather than raw prompts, so that the offline provider can serve
the same calls with no model at all.
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

import msgspec

from server.resumes.profile import Profile

ProviderName = Literal["openai", "gemini", "offline"]
QuestionKind = Literal["warmup", "core", "follow_up"]
QuestionStyle = Literal["technical", "behavioural"]

# The rubric every evaluator scores against, in report order. Bump RUBRIC_VERSION whenever the
# criteria or their meaning change, so stored evaluations say which rubric produced them.
CRITERIA: tuple[str, ...] = ("relevance", "depth", "structure", "communication", "specificity")
RUBRIC_VERSION = "rubric-v1"


class KeyPoint(msgspec.Struct, kw_only=True, frozen=True):
    label: str  # short human phrase used in feedback ("idempotency keys")
    terms: list[str]  # words or phrases (synonyms included) whose presence shows the point


class QuestionBrief(msgspec.Struct, kw_only=True, frozen=True):
    """A bank question as the providers see it (key points and model answer included)."""

    id: UUID
    slug: str
    track: str
    difficulty: int
    topic: str
    tags: list[str]
    style: QuestionStyle
    text: str
    key_points: list[KeyPoint]
    model_answer: list[str]


class QuestionContext(msgspec.Struct, kw_only=True, frozen=True):
    """Everything a provider may use to phrase the next question of an interview."""

    brief: QuestionBrief
    kind: QuestionKind
    index: int  # 1-based position among warm-up and core questions
    total: int
    language: str = "en"
    company_style: str | None = None
    resume: Profile | None = None
    job_description: str | None = None
    focus_skill: str | None = None  # the resume skill or job keyword that made this question chosen
    previous_question: str | None = None  # follow-ups: the question as it was asked
    previous_answer: str | None = None  # follow-ups: the answer being followed up
    missed_points: list[str] = msgspec.field(default_factory=list)  # follow-ups: labels to probe


class EvaluationRequest(msgspec.Struct, kw_only=True, frozen=True):
    brief: QuestionBrief
    question_text: str  # as it was asked (tailored text, or the follow-up)
    answer: str
    kind: QuestionKind = "core"
    language: str = "en"


class EvaluationScores(msgspec.Struct, kw_only=True):
    """The structured part of an evaluation, as a model (or the heuristic rubric) returns it."""

    criteria: dict[str, float]  # every name in CRITERIA, each 0-10
    strengths: list[str]
    improvements: list[str]
    covered_points: list[str] = msgspec.field(default_factory=list)  # key point labels
    missed_points: list[str] = msgspec.field(default_factory=list)


class Evaluation(msgspec.Struct, kw_only=True):
    """A finished evaluation: scores, the streamed feedback prose, and where it came from."""

    score: float  # 0-10, one decimal
    criteria: dict[str, float]
    feedback: str
    strengths: list[str]
    improvements: list[str]
    covered_points: list[str]
    missed_points: list[str]
    provider: ProviderName
    model: str
    rubric_version: str = RUBRIC_VERSION
    prompt_version: str = ""


class StreamPiece(msgspec.Struct, kw_only=True, frozen=True):
    """One piece of streamed text. `restart` marks the first piece of a new run after a provider
    failed mid-stream: the consumer drops what it had and starts again at offset 0."""

    text: str
    provider: ProviderName
    model: str
    restart: bool = False
