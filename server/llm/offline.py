"""The offline interviewer: no model, no network, always available, deterministic.

It phrases questions from templates around the bank text, scores answers with the transparent
heuristic rubric (`server.questions.scoring`) and streams the rubric's feedback prose. It is the
last fallback when hosted models fail, the provider of choice for tests, and it makes whole
interviews reproducible: the same seed and inputs give the same text, piece for piece.

Text is streamed one word (with its trailing space) per piece, at `tokens_per_second` pieces per
second so that the live interview feels the same as with a hosted model; 0 streams at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Final

import msgspec

from server.core.settings import Settings
from server.llm.types import EvaluationRequest, EvaluationScores, ProviderName, QuestionContext
from server.questions.scoring import evaluate_answer
from server.questions.text import join_labels
from server.resumes.profile import Profile

OFFLINE_MODEL: Final = "offline-heuristic-v1"
QUESTION_TEMPLATES_VERSION: Final = "offline-templates-v1"

_PIECE = re.compile(r"\S+\s*")

# An evaluation asks for the feedback and then for the scores of the same answer, a few seconds
# apart; this many answers can be in between (other interviews on the same worker) before the
# rubric has to run again for the scores.
EVALUATION_CACHE_SIZE: Final = 512
_request_key = msgspec.json.Encoder().encode

_WARMUP_LEADS: Final = (
    "Let's start with something light.",
    "A gentle one to warm up.",
    "To ease in, here's a quick one.",
    "Let's begin with a warm-up.",
)
_OPENING_LEADS: Final = (
    "Let's get started.",
    "Here's the first question.",
    "Let's dive in.",
)
_NEXT_LEADS: Final = (
    "Next question.",
    "Let's move on.",
    "Here's the next one.",
    "On to the next question.",
)
_FOCUS_LEADS: Final = (
    "Let's talk about {skill}.",
    "Since {skill} came up, here's one on it.",
    "This one draws on {skill}.",
    "Let's see how you'd put {skill} to work.",
)
_COMPANY_TOUCHES: Final[dict[tuple[str, str], tuple[str, ...]]] = {
    ("startup", "technical"): (
        "Assume a small team that has to ship quickly.",
        "Picture a young product run by a handful of engineers.",
    ),
    ("startup", "behavioural"): (
        "At a startup ownership matters, so be clear about what you did yourself.",
        "Picture a small team where everyone wears several hats.",
    ),
    ("big_tech", "technical"): (
        "Assume it has to work at very large scale.",
        "Picture millions of users and many teams depending on it.",
    ),
    ("big_tech", "behavioural"): (
        "Be specific about scale and how you worked across teams.",
        "Picture a large organisation with many teams involved.",
    ),
    ("enterprise", "technical"): (
        "Picture a long-lived system with strict change control.",
        "Assume there are legacy systems you have to work with.",
    ),
    ("enterprise", "behavioural"): (
        "Be clear about how you worked with stakeholders and process.",
        "Picture a large organisation with established ways of working.",
    ),
    ("fintech", "technical"): (
        "Keep in mind that correctness and auditability matter as much as speed.",
        "Picture a regulated setting where every money movement must be traceable.",
    ),
    ("fintech", "behavioural"): (
        "Mention how you handled risk and accuracy along the way.",
        "Picture a regulated setting where mistakes are costly.",
    ),
    ("consultancy", "technical"): (
        "Imagine explaining your reasoning to a client as you go.",
        "Picture a client who needs to understand the trade-offs you make.",
    ),
    ("consultancy", "behavioural"): (
        "Be clear about how you managed the client relationship.",
        "Picture a client engagement with a fixed scope and deadline.",
    ),
}
_FOLLOW_UP_PROBES: Final[dict[str, tuple[str, ...]]] = {
    "technical": (
        "You didn't mention {missed}. How would {first} fit into your answer?",
        "Let's go back to your answer for a moment. How would you handle {first}?",
        "One thing I'd like to hear more about is {first}. Can you walk me through it?",
    ),
    "behavioural": (
        "I'd like to hear more about {first} in that story. Can you tell me about it?",
        "You didn't say much about {missed}. Can you tell me more about {first}?",
        "Let's stay with that story. Could you walk me through {first}?",
    ),
}
_FOLLOW_UP_SECOND: Final = "And where does {second} come in?"
_FOLLOW_UP_DEEPER: Final[dict[str, tuple[str, ...]]] = {
    "technical": (
        "Can you give a concrete example of that from your own work, with the numbers involved?",
        "What would change in your approach if the load were ten times higher?",
        "What is the weakest part of that design, and how would you find out it was failing?",
    ),
    "behavioural": (
        "Looking back, what would you do differently today?",
        "How did you know it had worked? What did you measure?",
        "What did the other people involved think of how it went?",
    ),
}


class OfflineLanguageError(ValueError):
    """The offline provider writes English only; callers should check `supports_language`."""


def _pick(options: Sequence[str], seed: int, *context: object) -> str:
    key = "\x00".join(str(part) for part in (seed, *context))
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return options[int.from_bytes(digest, "big") % len(options)]


def split_pieces(text: str) -> list[str]:
    """Stream pieces: each word with the whitespace after it. Concatenated, they give `text`
    back whenever it starts with a non-space character."""
    return _PIECE.findall(text)


class OfflineProvider:
    """`InterviewerProvider` with no model behind it (see the module docstring)."""

    name: ProviderName = "offline"
    model: str = OFFLINE_MODEL

    def __init__(
        self,
        *,
        tokens_per_second: float = 40.0,
        seed: int = 0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if tokens_per_second < 0:
            raise ValueError(f"tokens_per_second must be 0 (no pacing) or positive, not {tokens_per_second}")
        self.tokens_per_second = tokens_per_second
        self.seed = seed
        self._sleep = sleep
        # The encoded request (brief included, as its key points decide the scores) -> scores and
        # feedback; oldest first.
        self._evaluations: dict[bytes, tuple[EvaluationScores, str]] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> OfflineProvider:
        return cls(tokens_per_second=settings.offline_tokens_per_second, seed=settings.offline_seed)

    @property
    def configured(self) -> bool:
        return True

    def supports_language(self, language: str) -> bool:
        tag = language.strip().lower()
        return tag == "en" or tag.startswith("en-")

    @property
    def evaluation_prompt_version(self) -> str:
        return OFFLINE_MODEL

    def question_prompt_version(self, ctx: QuestionContext) -> str:
        return QUESTION_TEMPLATES_VERSION

    async def aclose(self) -> None:
        """Nothing to release: the offline provider holds no connections."""

    def _require_language(self, language: str) -> None:
        if not self.supports_language(language):
            raise OfflineLanguageError(f"the offline interviewer speaks English only, not {language!r}")

    # ---- questions ----

    def question_text(self, ctx: QuestionContext) -> str:
        """The full question text that `stream_question` streams."""
        self._require_language(ctx.language)
        if ctx.kind == "follow_up":
            return self._follow_up_text(ctx)
        slug = ctx.brief.slug
        if ctx.kind == "warmup":
            lead = _pick(_WARMUP_LEADS, self.seed, ctx.index, "warmup", slug)
        elif ctx.focus_skill and ctx.focus_skill.strip():
            template = _pick(_FOCUS_LEADS, self.seed, ctx.index, "focus", slug)
            lead = template.format(skill=ctx.focus_skill.strip())
        elif ctx.index <= 1:
            lead = _pick(_OPENING_LEADS, self.seed, ctx.index, "opening", slug)
        else:
            lead = _pick(_NEXT_LEADS, self.seed, ctx.index, "next", slug)
        parts = [lead, ctx.brief.text.strip()]
        touches = _COMPANY_TOUCHES.get((ctx.company_style or "", ctx.brief.style))
        if ctx.kind == "core" and touches:
            parts.append(_pick(touches, self.seed, ctx.index, "company", slug))
        return " ".join(parts)

    def _follow_up_text(self, ctx: QuestionContext) -> str:
        style = ctx.brief.style
        missed = [label.strip() for label in ctx.missed_points if label.strip()]
        if not missed:
            return _pick(_FOLLOW_UP_DEEPER[style], self.seed, ctx.index, "deeper", ctx.brief.slug)
        template = _pick(_FOLLOW_UP_PROBES[style], self.seed, ctx.index, "probe", ctx.brief.slug)
        text = template.format(missed=join_labels(missed[:2], "or"), first=missed[0])
        if len(missed) > 1 and "{missed}" not in template:
            text += " " + _FOLLOW_UP_SECOND.format(second=missed[1])
        return text

    async def stream_question(self, ctx: QuestionContext) -> AsyncIterator[str]:
        async for piece in self._paced(self.question_text(ctx)):
            yield piece

    # ---- evaluation ----

    def _evaluate(self, request: EvaluationRequest) -> tuple[EvaluationScores, str]:
        """The rubric's scores and feedback for the request, measured once per answer."""
        self._require_language(request.language)
        key = _request_key(request)
        evaluation = self._evaluations.get(key)
        if evaluation is None:
            evaluation = evaluate_answer(request.brief, request.question_text, request.answer, request.kind)
            if len(self._evaluations) >= EVALUATION_CACHE_SIZE:
                self._evaluations.pop(next(iter(self._evaluations)), None)
            self._evaluations[key] = evaluation
        return evaluation

    def feedback_text(self, request: EvaluationRequest) -> str:
        """The full feedback prose that `stream_feedback` streams."""
        return self._evaluate(request)[1]

    async def stream_feedback(self, request: EvaluationRequest) -> AsyncIterator[str]:
        async for piece in self._paced(self.feedback_text(request)):
            yield piece

    async def score_answer(self, request: EvaluationRequest, feedback: str) -> EvaluationScores:
        # The rubric scores the answer itself; the streamed feedback was derived from the same
        # scores, so it adds nothing the rubric does not already know.
        scores = self._evaluate(request)[0]
        # A copy: callers own what they get, and the cached scores must stay as the rubric made them.
        return EvaluationScores(
            criteria=dict(scores.criteria),
            strengths=list(scores.strengths),
            improvements=list(scores.improvements),
            covered_points=list(scores.covered_points),
            missed_points=list(scores.missed_points),
        )

    # ---- resumes ----

    async def structure_resume(self, text: str) -> Profile:
        # Imported here so that this module (and the whole offline interviewer) does not depend on
        # the resume parser being importable.
        from server.resumes.structuring import structure_resume_offline

        # Rule-based parsing of a long resume is CPU work: keep it off the event loop.
        return await asyncio.to_thread(structure_resume_offline, text)

    # ---- pacing ----

    async def _paced(self, text: str) -> AsyncIterator[str]:
        interval = 1.0 / self.tokens_per_second if self.tokens_per_second > 0 else 0.0
        for position, piece in enumerate(split_pieces(text)):
            if position and interval:
                await self._sleep(interval)
            yield piece
