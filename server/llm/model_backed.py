"""What the OpenAI and Gemini providers share: prompts, structured output, errors, HTTP client.

A subclass supplies two primitives, streaming plain text and completing one JSON reply, and
translates its SDK's exceptions into `ProviderError`; everything task-level (which prompt, which
fields, how to validate and clean the reply) lives here so both providers behave the same.

Retries are not done here or in the SDKs (both are built with retries off): the provider chain
owns retries, timeouts and fallback, so one failing call is reported exactly once.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal, NamedTuple, TypeVar

import httpx

from server.core.logging import get_logger
from server.core.settings import Settings
from server.llm.prompts import RenderedPrompt, load_prompt
from server.llm.schema import StructuredOutput, parse_with_repair
from server.llm.types import (
    CRITERIA,
    EvaluationRequest,
    EvaluationScores,
    KeyPoint,
    ProviderName,
    QuestionBrief,
    QuestionContext,
)
from server.resumes.profile import EducationEntry, ExperienceEntry, Profile

logger = get_logger(__name__)

T = TypeVar("T")

# Inputs are capped so one oversized resume or job description cannot blow the context window
# (and the bill); the caps sit well above what real documents need.
MAX_RESUME_CHARS = 40_000
MAX_JOB_DESCRIPTION_CHARS = 8_000
MAX_ANSWER_CHARS = 12_000
MAX_FEEDBACK_CHARS = 6_000
MAX_LIST_ITEMS = 5
MAX_BACKGROUND_SKILLS = 30
MAX_BACKGROUND_ROLES = 5

RETRYABLE_STATUSES = frozenset({408, 409, 429})
NOT_PROVIDED = "(not provided)"

# RFC 5646 well-formed language tags (grandfathered irregular tags aside).
_BCP47 = re.compile(
    r"^(?:"
    r"(?:[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3}|[A-Za-z]{4,8})"
    r"(?:-[A-Za-z]{4})?"
    r"(?:-(?:[A-Za-z]{2}|[0-9]{3}))?"
    r"(?:-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*"
    r"(?:-[0-9A-WY-Za-wy-z](?:-[A-Za-z0-9]{2,8})+)*"
    r"(?:-[xX](?:-[A-Za-z0-9]{1,8})+)?"
    r"|[xX](?:-[A-Za-z0-9]{1,8})+"
    r")$"
)


def is_language_tag(language: str) -> bool:
    """True for a well-formed BCP 47 tag ("en", "pt-BR", "zh-Hant-TW")."""
    return len(language) <= 35 and bool(_BCP47.match(language))


class ProviderError(Exception):
    """A provider call failed. `summary` is short and free of secrets and user content, so it
    can be shown in `/ai/status`; `retryable` says whether the same call may succeed later."""

    def __init__(
        self,
        summary: str,
        *,
        provider: ProviderName,
        retryable: bool,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.summary = summary
        self.provider = provider
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after
        super().__init__(f"{provider}: {summary}")


def status_summary(status: int) -> str:
    reasons = {
        400: "bad request",
        401: "authentication failed (check the API key)",
        403: "permission denied",
        404: "model or endpoint not found",
        408: "request timeout",
        409: "conflict",
        413: "request too large",
        422: "request rejected",
        429: "rate limited",
    }
    reason = reasons.get(status, "server error" if status >= 500 else "request failed")
    return f"HTTP {status}: {reason}"


def is_retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUSES or status >= 500


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from `retry-after-ms` (OpenAI) or `retry-after` (seconds or HTTP date)."""
    lowered = {key.lower(): value for key, value in headers.items()}
    milliseconds = lowered.get("retry-after-ms")
    if milliseconds is not None:
        try:
            return max(0.0, float(milliseconds) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


class ConnectTimeoutTransport(httpx.AsyncBaseTransport):
    """Applies the connect timeout to requests that arrive without one.

    google-genai sends every request with `timeout=None` unless `HttpOptions.timeout` is set, and
    that per-request value overrides the client's timeouts, leaving connects unbounded. Setting
    `HttpOptions.timeout` instead would cap reads between streamed chunks too, which the chain
    already bounds more precisely (first piece, total).
    """

    def __init__(self, connect_timeout: float, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self.connect_timeout = connect_timeout
        self._inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = dict(request.extensions.get("timeout") or {})
        for phase in ("connect", "pool"):
            if timeouts.get(phase) is None:
                timeouts[phase] = self.connect_timeout
        request.extensions["timeout"] = timeouts
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def build_http_client(settings: Settings) -> httpx.AsyncClient:
    """The HTTP client both SDKs are given.

    Both SDKs default to `httpx2` in the installed versions and both accept a classic
    `httpx.AsyncClient`; passing one keeps connect timeouts under our control and keeps the real
    HTTP path visible to `respx` in tests.
    """
    return httpx.AsyncClient(
        timeout=httpx.Timeout(
            settings.llm_total_timeout_seconds, connect=settings.llm_connect_timeout_seconds
        ),
        transport=ConnectTimeoutTransport(settings.llm_connect_timeout_seconds),
        follow_redirects=False,
    )


class EmptyInputError(ValueError):
    """The text to work on is empty or only whitespace."""


class ChatTurn(NamedTuple):
    role: Literal["user", "model"]
    text: str


SCORES_OUTPUT: StructuredOutput[EvaluationScores] = StructuredOutput(
    "evaluation_scores", EvaluationScores, fixed_keys={"criteria": CRITERIA}
)
PROFILE_OUTPUT: StructuredOutput[Profile] = StructuredOutput("resume_profile", Profile)


def clamp_score(value: float) -> float:
    if not math.isfinite(value):
        return 0.0
    return round(min(10.0, max(0.0, value)), 1)


def fence(text: str, tag: str) -> str:
    """Untrusted text goes between tags; a closing tag inside it would let it escape them."""
    return text.replace(f"</{tag}>", f"</ {tag}>").strip() or NOT_PROVIDED


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + " [truncated]"


def _key_point_lines(points: Sequence[KeyPoint], *, with_terms: bool) -> str:
    if not points:
        return NOT_PROVIDED
    if with_terms:
        return "\n".join(f"- {point.label}: {', '.join(point.terms)}" for point in points)
    return "\n".join(f"- {point.label}" for point in points)


def _model_answer_lines(brief: QuestionBrief) -> str:
    return "\n".join(f"- {line}" for line in brief.model_answer) or NOT_PROVIDED


def _role_line(entry: ExperienceEntry) -> str:
    title = entry.title or "Role"
    company = f" at {entry.company}" if entry.company else ""
    period = ""
    if entry.start or entry.end:
        period = f" ({entry.start or '?'} to {entry.end or 'present'})"
    highlights = "; ".join(entry.highlights[:3])
    return f"- {title}{company}{period}" + (f": {highlights}" if highlights else "")


def _education_line(entry: EducationEntry) -> str:
    parts = [part for part in (entry.degree, entry.institution) if part]
    return "- " + ", ".join(parts) if parts else ""


def candidate_background(profile: Profile | None) -> str:
    """The parts of a profile that help tailor a question; contact details are left out."""
    if profile is None:
        return NOT_PROVIDED
    lines: list[str] = []
    if profile.headline:
        lines.append(f"Headline: {profile.headline}")
    if profile.years_experience is not None:
        lines.append(f"Years of experience: {profile.years_experience:g}")
    if profile.skills:
        lines.append("Skills: " + ", ".join(profile.skills[:MAX_BACKGROUND_SKILLS]))
    if profile.summary:
        lines.append(f"Summary: {profile.summary}")
    roles = [_role_line(entry) for entry in profile.experience[:MAX_BACKGROUND_ROLES]]
    if roles:
        lines.append("Experience:\n" + "\n".join(roles))
    schooling = [line for line in (_education_line(e) for e in profile.education) if line]
    if schooling:
        lines.append("Education:\n" + "\n".join(schooling))
    return fence("\n".join(lines), "candidate_background")


def question_prompt(ctx: QuestionContext) -> RenderedPrompt:
    brief = ctx.brief
    if ctx.kind == "follow_up":
        return load_prompt("follow_up").render(
            language=ctx.language,
            track=brief.track,
            topic=brief.topic,
            difficulty=str(brief.difficulty),
            bank_question=brief.text,
            key_points=_key_point_lines(brief.key_points, with_terms=False),
            previous_question=ctx.previous_question or brief.text,
            previous_answer=fence(_truncate(ctx.previous_answer or "", MAX_ANSWER_CHARS), "previous_answer"),
            missed_points=", ".join(ctx.missed_points) or "(none recorded)",
        )
    return load_prompt("question").render(
        language=ctx.language,
        kind=ctx.kind,
        index=str(ctx.index),
        total=str(ctx.total),
        track=brief.track,
        topic=brief.topic,
        difficulty=str(brief.difficulty),
        style=brief.style,
        company_style=ctx.company_style or "neutral",
        bank_question=brief.text,
        key_points=_key_point_lines(brief.key_points, with_terms=False),
        focus_skill=ctx.focus_skill or "(none)",
        candidate_background=candidate_background(ctx.resume),
        job_description=fence(
            _truncate(ctx.job_description or "", MAX_JOB_DESCRIPTION_CHARS), "job_description"
        ),
    )


def feedback_prompt(request: EvaluationRequest) -> RenderedPrompt:
    brief = request.brief
    return load_prompt("feedback").render(
        language=request.language,
        kind=request.kind,
        topic=brief.topic,
        difficulty=str(brief.difficulty),
        question=request.question_text,
        key_points=_key_point_lines(brief.key_points, with_terms=False),
        model_answer=_model_answer_lines(brief),
        answer=fence(_truncate(request.answer, MAX_ANSWER_CHARS), "candidate_answer"),
    )


def scores_prompt(request: EvaluationRequest, feedback: str) -> RenderedPrompt:
    brief = request.brief
    return load_prompt("scores").render(
        language=request.language,
        criteria_names=", ".join(CRITERIA),
        kind=request.kind,
        topic=brief.topic,
        difficulty=str(brief.difficulty),
        question=request.question_text,
        key_points=_key_point_lines(brief.key_points, with_terms=True),
        model_answer=_model_answer_lines(brief),
        answer=fence(_truncate(request.answer, MAX_ANSWER_CHARS), "candidate_answer"),
        feedback=_truncate(feedback.strip(), MAX_FEEDBACK_CHARS) or NOT_PROVIDED,
    )


def resume_prompt(text: str) -> RenderedPrompt:
    return load_prompt("resume").render(resume_text=fence(_truncate(text, MAX_RESUME_CHARS), "resume_text"))


def _clean_phrases(items: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    cleaned: list[str] = []
    for item in items:
        phrase = " ".join(item.split())
        if phrase and phrase.casefold() not in seen:
            seen.add(phrase.casefold())
            cleaned.append(phrase)
    return cleaned[:MAX_LIST_ITEMS]


def normalise_scores(scores: EvaluationScores, brief: QuestionBrief) -> EvaluationScores:
    """Clamp every criterion to 0-10 and keep point labels to the brief's own labels.

    A label the model invented is dropped; a brief label the model put in neither list counts
    as missed, because nothing showed it was covered.
    """
    labels = {point.label.casefold(): point.label for point in brief.key_points}
    covered = [labels[name.casefold()] for name in scores.covered_points if name.casefold() in labels]
    covered = list(dict.fromkeys(covered))
    missed = [label for label in labels.values() if label not in covered]
    return EvaluationScores(
        criteria={name: clamp_score(scores.criteria[name]) for name in CRITERIA},
        strengths=_clean_phrases(scores.strengths),
        improvements=_clean_phrases(scores.improvements),
        covered_points=covered,
        missed_points=missed,
    )


def _digits(text: str) -> str:
    return "".join(char for char in text if char.isdigit())


def _blank_to_none(value: str | None) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    return value or None


def ground_profile(profile: Profile, text: str) -> Profile:
    """Drop contact details that do not occur in the resume text: they are the facts a model
    is most likely to make up, and the easiest to check."""
    email = _blank_to_none(profile.email)
    if email is not None and email.casefold() not in text.casefold():
        email = None
    phone = _blank_to_none(profile.phone)
    phone_digits = _digits(phone or "")
    if phone is not None and (len(phone_digits) < 5 or phone_digits not in _digits(text)):
        phone = None
    years = profile.years_experience
    if years is not None and (not math.isfinite(years) or years < 0 or years > 70):
        years = None
    return Profile(
        name=_blank_to_none(profile.name),
        headline=_blank_to_none(profile.headline),
        email=email,
        phone=phone,
        location=_blank_to_none(profile.location),
        summary=_blank_to_none(profile.summary),
        skills=list(dict.fromkeys(skill for skill in (_blank_to_none(s) for s in profile.skills) if skill)),
        experience=profile.experience,
        education=profile.education,
        years_experience=years,
    )


class ModelBackedProvider(ABC):
    """An `InterviewerProvider` backed by a hosted model; subclasses supply the transport."""

    name: ProviderName
    model: str

    def __init__(self, *, api_key: str, model: str) -> None:
        self._api_key = api_key.strip()
        self.model = model

    @property
    def configured(self) -> bool:
        return bool(self._api_key)

    def supports_language(self, language: str) -> bool:
        return is_language_tag(language)

    @property
    def evaluation_prompt_version(self) -> str:
        return f"{load_prompt('feedback').tag}+{load_prompt('scores').tag}"

    def question_prompt_version(self, ctx: QuestionContext) -> str:
        return load_prompt("follow_up" if ctx.kind == "follow_up" else "question").tag

    def _require_configured(self) -> None:
        if not self.configured:
            raise ProviderError("no API key configured", provider=self.name, retryable=False)

    async def stream_question(self, ctx: QuestionContext) -> AsyncIterator[str]:
        self._require_configured()
        async for piece in self._stream_text(question_prompt(ctx)):
            if piece:
                yield piece

    async def stream_feedback(self, request: EvaluationRequest) -> AsyncIterator[str]:
        self._require_configured()
        async for piece in self._stream_text(feedback_prompt(request)):
            if piece:
                yield piece

    async def score_answer(self, request: EvaluationRequest, feedback: str) -> EvaluationScores:
        self._require_configured()
        scores = await self._structured(scores_prompt(request, feedback), SCORES_OUTPUT)
        return normalise_scores(scores, request.brief)

    async def structure_resume(self, text: str) -> Profile:
        self._require_configured()
        if not text.strip():
            raise EmptyInputError("resume text is empty")
        profile = await self._structured(resume_prompt(text), PROFILE_OUTPUT)
        return ground_profile(profile, text)

    async def _structured(self, prompt: RenderedPrompt, output: StructuredOutput[T]) -> T:
        turns = [ChatTurn("user", prompt.user)]
        first_reply = await self._complete_json(prompt.system, turns, output)

        async def ask_again(previous_reply: str, problem: str) -> str:
            logger.warning(
                "llm_structured_output_invalid", provider=self.name, output=output.name, problem=problem
            )
            repair = load_prompt("repair").render(error=problem)
            retry_turns = [*turns, ChatTurn("model", previous_reply), ChatTurn("user", repair.user)]
            return await self._complete_json(prompt.system, retry_turns, output)

        return await parse_with_repair(output, first_reply, ask_again)

    @abstractmethod
    def _stream_text(self, prompt: RenderedPrompt) -> AsyncIterator[str]:
        """Stream the reply to a system + user prompt as text pieces; raise `ProviderError`."""

    @abstractmethod
    async def _complete_json(
        self, system: str, turns: Sequence[ChatTurn], output: StructuredOutput[T]
    ) -> str:
        """Return the raw JSON text of one structured reply; raise `ProviderError`."""

    @abstractmethod
    async def aclose(self) -> None:
        """Release the HTTP client."""
