"""The interview engine: a plain state machine with no transport, storage or model calls in it.

Each method takes the current `EngineState` and returns a `Transition`: the next state plus the
durable events to record. What to stream next (a question to phrase, an answer to evaluate) is
part of the state (`phase` with its `pending_*` fields), so whoever holds the work after a crash
can read it from the database and do it again.

    created --start--> in_progress --(questions, answers, evaluations)--> completed
                           |  \\--end--> completed (ended_by_candidate)
                           \\--abandon--> abandoned
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec
from msgspec.structs import replace

from server.interviews.report import ObserverNote, build_report
from server.llm.types import Evaluation, ProviderName, QuestionKind
from server.questions.bank import BankQuestion, QuestionBank
from server.questions.selection import NoQuestionAvailableError, Selection, choose_question
from server.resumes.profile import Profile

Status = Literal["created", "in_progress", "completed", "abandoned"]
Phase = Literal["idle", "asking", "awaiting_answer", "evaluating", "done"]
CompletionReason = Literal["finished", "ended_by_candidate"]

MIN_DIFFICULTY, MAX_DIFFICULTY = 1, 5
RAISE_DIFFICULTY_AT = 8.0  # an answer scored at least this moves the next question up a level
LOWER_DIFFICULTY_AT = 4.0  # at most this moves it down
FOLLOW_UP_DEPTH_BELOW = 5.0  # a thinner answer than this earns a follow-up


class EngineError(Exception):
    """A command that the interview cannot accept in its current state."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class InterviewPlan(msgspec.Struct, kw_only=True, frozen=True):
    """What the interview was created with; fixed for its lifetime."""

    interview_id: uuid.UUID
    track: str
    difficulty: int
    question_count: int
    company_style: str | None = None
    language: str = "en"
    resume_skills: list[str] = msgspec.field(default_factory=list)
    job_keywords: list[str] = msgspec.field(default_factory=list)
    # Snapshots taken at creation: the interview keeps the resume and job it was tailored to.
    resume: Profile | None = None
    job_description: str | None = None
    seed: int = 0


class AskedQuestion(msgspec.Struct, kw_only=True):
    question_id: uuid.UUID  # this asking of the question (what clients answer to)
    bank_id: uuid.UUID
    index: int  # 1-based among warm-up and core questions; a follow-up shares its parent's
    kind: QuestionKind
    difficulty: int
    topic: str
    focus_skill: str | None = None
    parent_question_id: uuid.UUID | None = None
    missed_points: list[str] = msgspec.field(default_factory=list)
    text: str | None = None  # set once streamed and recorded
    provider: ProviderName | None = None


class RecordedAnswer(msgspec.Struct, kw_only=True):
    answer_id: uuid.UUID
    question_id: uuid.UUID
    client_id: str
    text: str


class RecordedEvaluation(msgspec.Struct, kw_only=True):
    answer_id: uuid.UUID
    question_id: uuid.UUID
    score: float
    criteria: dict[str, float]
    feedback: str
    strengths: list[str]
    improvements: list[str]
    covered_points: list[str]
    missed_points: list[str]
    provider: ProviderName
    model: str
    rubric_version: str
    prompt_version: str


class EngineState(msgspec.Struct, kw_only=True):
    status: Status = "created"
    phase: Phase = "idle"
    difficulty: int = 2
    questions: list[AskedQuestion] = msgspec.field(default_factory=list)
    answers: list[RecordedAnswer] = msgspec.field(default_factory=list)
    evaluations: list[RecordedEvaluation] = msgspec.field(default_factory=list)
    completion_reason: CompletionReason | None = None

    @property
    def current_question(self) -> AskedQuestion | None:
        return self.questions[-1] if self.questions else None

    @property
    def pending_answer(self) -> RecordedAnswer | None:
        """The answer being evaluated, while phase is `evaluating`."""
        return self.answers[-1] if self.phase == "evaluating" and self.answers else None

    @property
    def primary_count(self) -> int:
        return sum(1 for q in self.questions if q.kind != "follow_up")

    def question(self, question_id: uuid.UUID) -> AskedQuestion | None:
        return next((q for q in self.questions if q.question_id == question_id), None)

    def answer_for(self, question_id: uuid.UUID) -> RecordedAnswer | None:
        return next((a for a in self.answers if a.question_id == question_id), None)

    def evaluation_for(self, answer_id: uuid.UUID) -> RecordedEvaluation | None:
        return next((e for e in self.evaluations if e.answer_id == answer_id), None)


class PendingEvent(msgspec.Struct, kw_only=True):
    """A durable event before the store gives it its `seq`."""

    type: str
    payload: dict[str, Any]


class Transition(msgspec.Struct, kw_only=True):
    state: EngineState
    events: list[PendingEvent]


Chooser = Callable[..., Selection]


def _copy(state: EngineState) -> EngineState:
    # Transitions never mutate their input: a failed commit leaves the caller's state intact.
    # Copied by hand because it runs on every transition and a generic deep copy (a round trip
    # through builtins or msgpack) costs several times more; only the lists, dicts and structs
    # need copying, as everything else in the state is immutable. Keep this in step with the
    # structs above: the engine tests check that no mutable part is shared with the original.
    return replace(
        state,
        questions=[
            replace(question, missed_points=list(question.missed_points)) for question in state.questions
        ],
        answers=[replace(answer) for answer in state.answers],
        evaluations=[
            replace(
                evaluation,
                criteria=dict(evaluation.criteria),
                strengths=list(evaluation.strengths),
                improvements=list(evaluation.improvements),
                covered_points=list(evaluation.covered_points),
                missed_points=list(evaluation.missed_points),
            )
            for evaluation in state.evaluations
        ],
    )


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class InterviewEngine:
    def __init__(
        self, plan: InterviewPlan, bank: QuestionBank, *, chooser: Chooser = choose_question
    ) -> None:
        self.plan = plan
        self.bank = bank
        self.chooser = chooser

    def initial_state(self) -> EngineState:
        return EngineState(difficulty=self.plan.difficulty)

    # ---- commands -------------------------------------------------------------------------

    def start(self, state: EngineState, *, now: datetime) -> Transition:
        if state.status != "created":
            raise EngineError("already_started", "the interview has already started")
        new = _copy(state)
        new.status = "in_progress"
        events = [PendingEvent(type="interview.started", payload={"at": _iso(now)})]
        events.extend(self._plan_next_primary(new))
        return Transition(state=new, events=events)

    def record_question(
        self, state: EngineState, *, question_id: uuid.UUID, text: str, provider: ProviderName
    ) -> Transition:
        """The question being asked has been streamed in full: record it."""
        current = state.current_question
        if state.phase != "asking" or current is None or current.question_id != question_id:
            raise EngineError("not_asking", "no question is being asked")
        new = _copy(state)
        asked = new.questions[-1]
        asked.text = text
        asked.provider = provider
        new.phase = "awaiting_answer"
        bank_question = self.bank.get(asked.bank_id)
        payload: dict[str, Any] = {
            "question_id": str(asked.question_id),
            "index": asked.index,
            "total": self.plan.question_count,
            "text": text,
            "difficulty": asked.difficulty,
            "topic": asked.topic,
            "kind": asked.kind,
            "provider": provider,
            "focus_skill": asked.focus_skill,
            "track": bank_question.track,
        }
        return Transition(state=new, events=[PendingEvent(type="question", payload=payload)])

    def record_answer(
        self,
        state: EngineState,
        *,
        question_id: uuid.UUID,
        client_id: str,
        text: str,
        answer_id: uuid.UUID,
        now: datetime,
    ) -> Transition:
        current = state.current_question
        if state.phase != "awaiting_answer" or current is None:
            raise EngineError("not_awaiting_answer", "no question is waiting for an answer")
        if current.question_id != question_id:
            raise EngineError("not_awaiting_answer", "that question is not the one waiting for an answer")
        new = _copy(state)
        new.answers.append(
            RecordedAnswer(answer_id=answer_id, question_id=question_id, client_id=client_id, text=text)
        )
        new.phase = "evaluating"
        payload = {
            "question_id": str(question_id),
            "answer_id": str(answer_id),
            "client_id": client_id,
            "text": text,
            "at": _iso(now),
        }
        return Transition(state=new, events=[PendingEvent(type="answer", payload=payload)])

    def record_evaluation(
        self,
        state: EngineState,
        *,
        answer_id: uuid.UUID,
        evaluation: Evaluation,
        now: datetime,
        notes: Sequence[ObserverNote] = (),
    ) -> Transition:
        pending = state.pending_answer
        if pending is None or pending.answer_id != answer_id:
            raise EngineError("not_evaluating", "that answer is not being evaluated")
        new = _copy(state)
        recorded = RecordedEvaluation(
            answer_id=answer_id,
            question_id=pending.question_id,
            score=evaluation.score,
            criteria=dict(evaluation.criteria),
            feedback=evaluation.feedback,
            strengths=list(evaluation.strengths),
            improvements=list(evaluation.improvements),
            covered_points=list(evaluation.covered_points),
            missed_points=list(evaluation.missed_points),
            provider=evaluation.provider,
            model=evaluation.model,
            rubric_version=evaluation.rubric_version,
            prompt_version=evaluation.prompt_version,
        )
        new.evaluations.append(recorded)
        new.difficulty = self._adapted_difficulty(new.difficulty, evaluation.score)
        events = [
            PendingEvent(
                type="evaluation",
                payload={
                    "answer_id": str(answer_id),
                    "question_id": str(pending.question_id),
                    "score": recorded.score,
                    "criteria": recorded.criteria,
                    "feedback": recorded.feedback,
                    "strengths": recorded.strengths,
                    "improvements": recorded.improvements,
                    "covered_points": recorded.covered_points,
                    "missed_points": recorded.missed_points,
                    "provider": recorded.provider,
                    "model": recorded.model,
                    "rubric_version": recorded.rubric_version,
                    "next_difficulty": new.difficulty,
                },
            )
        ]
        asked = new.question(pending.question_id)
        assert asked is not None
        if self._deserves_follow_up(new, asked, recorded):
            new.questions.append(
                AskedQuestion(
                    question_id=uuid.uuid4(),
                    bank_id=asked.bank_id,
                    index=asked.index,
                    kind="follow_up",
                    difficulty=asked.difficulty,
                    topic=asked.topic,
                    focus_skill=asked.focus_skill,
                    parent_question_id=asked.question_id,
                    missed_points=list(recorded.missed_points),
                )
            )
            new.phase = "asking"
            return Transition(state=new, events=events)
        if new.primary_count >= self.plan.question_count:
            events.extend(self._complete(new, "finished", now, notes))
            return Transition(state=new, events=events)
        events.extend(self._plan_next_primary(new, now=now, notes=notes))
        return Transition(state=new, events=events)

    def end(self, state: EngineState, *, now: datetime, notes: Sequence[ObserverNote] = ()) -> Transition:
        if state.status in ("completed", "abandoned"):
            raise EngineError("already_finished", "the interview is already over")
        new = _copy(state)
        events: list[PendingEvent] = []
        if new.status == "created":
            new.status = "in_progress"
            events.append(PendingEvent(type="interview.started", payload={"at": _iso(now)}))
        events.extend(self._complete(new, "ended_by_candidate", now, notes))
        return Transition(state=new, events=events)

    def abandon(self, state: EngineState, *, reason: str, now: datetime) -> Transition:
        if state.status in ("completed", "abandoned"):
            raise EngineError("already_finished", "the interview is already over")
        new = _copy(state)
        new.status = "abandoned"
        new.phase = "done"
        return Transition(
            state=new,
            events=[PendingEvent(type="interview.abandoned", payload={"reason": reason, "at": _iso(now)})],
        )

    # ---- decisions ------------------------------------------------------------------------

    @staticmethod
    def _adapted_difficulty(current: int, score: float) -> int:
        if score >= RAISE_DIFFICULTY_AT:
            return min(MAX_DIFFICULTY, current + 1)
        if score <= LOWER_DIFFICULTY_AT:
            return max(MIN_DIFFICULTY, current - 1)
        return current

    @staticmethod
    def _deserves_follow_up(state: EngineState, asked: AskedQuestion, evaluation: RecordedEvaluation) -> bool:
        """One follow-up at most per question, never on the warm-up: when the answer was thin or
        left most of the question's key points untouched."""
        if asked.kind != "core":
            return False
        if any(q.parent_question_id == asked.question_id for q in state.questions):
            return False
        key_points = len(evaluation.covered_points) + len(evaluation.missed_points)
        misses_most = key_points > 0 and len(evaluation.missed_points) * 2 > key_points
        thin = evaluation.criteria.get("depth", 10.0) < FOLLOW_UP_DEPTH_BELOW
        return misses_most or thin

    def _plan_next_primary(
        self, state: EngineState, *, now: datetime | None = None, notes: Sequence[ObserverNote] = ()
    ) -> list[PendingEvent]:
        """Choose the next warm-up or core question (stored in the state, streamed afterwards)."""
        index = state.primary_count + 1
        asked_bank_ids = {q.bank_id for q in state.questions}
        try:
            selection = self.chooser(
                self.bank,
                track=self.plan.track,
                difficulty=state.difficulty,
                company_style=self.plan.company_style,
                asked=asked_bank_ids,
                resume_skills=self.plan.resume_skills,
                job_keywords=self.plan.job_keywords,
                warmup=index == 1,
                seed=self.plan.seed + index,
            )
        except NoQuestionAvailableError:
            if index == 1:
                raise
            # The bank ran out for this track: finish with what was asked rather than repeat.
            return self._complete(state, "finished", now or datetime.now(UTC), notes)
        chosen: BankQuestion = selection.question
        state.questions.append(
            AskedQuestion(
                question_id=uuid.uuid4(),
                bank_id=chosen.id,
                index=index,
                kind="warmup" if index == 1 else "core",
                difficulty=chosen.difficulty,
                topic=chosen.topic,
                focus_skill=selection.focus_skill,
            )
        )
        state.phase = "asking"
        return []

    def _complete(
        self, state: EngineState, reason: CompletionReason, now: datetime, notes: Sequence[ObserverNote]
    ) -> list[PendingEvent]:
        state.status = "completed"
        state.phase = "done"
        state.completion_reason = reason
        # A question planned but never asked is dropped, so the report only shows what happened.
        if state.questions and state.questions[-1].text is None:
            state.questions.pop()
        report = build_report(state, self.bank, interview_id=self.plan.interview_id, notes=notes)
        return [
            PendingEvent(
                type="interview.completed",
                payload={
                    "overall_score": report.overall_score,
                    "report": msgspec.to_builtins(report),
                    "reason": reason,
                    "at": _iso(now),
                },
            )
        ]
