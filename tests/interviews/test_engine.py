"""The interview engine on its own: no sockets, no database, no model."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import msgspec
import pytest

from server.interviews import engine as engine_module
from server.interviews.engine import EngineError, EngineState, InterviewEngine, InterviewPlan, Transition
from server.interviews.report import ObserverNote
from server.llm.types import CRITERIA, Evaluation
from server.questions.bank import get_bank

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


def plan(**overrides: object) -> InterviewPlan:
    values: dict[str, object] = {
        "interview_id": uuid.UUID(int=7),
        "track": "backend",
        "difficulty": 3,
        "question_count": 4,
        "seed": 11,
    }
    values.update(overrides)
    return InterviewPlan(**values)  # type: ignore[arg-type]


def evaluation(score: float, *, depth: float | None = None, covered: int = 3, missed: int = 0) -> Evaluation:
    criteria = dict.fromkeys(CRITERIA, score)
    if depth is not None:
        criteria["depth"] = depth
    return Evaluation(
        score=score,
        criteria=criteria,
        feedback=f"feedback for {score}",
        strengths=["Clear structure"] if score >= 6 else [],
        improvements=["Add a concrete example"] if score < 8 else [],
        covered_points=[f"covered {i}" for i in range(covered)],
        missed_points=[f"missed {i}" for i in range(missed)],
        provider="offline",
        model="offline-heuristic-v1",
    )


class Driver:
    """Plays the runner's part: records each planned question and each evaluation."""

    def __init__(self, engine: InterviewEngine) -> None:
        self.engine = engine
        self.state = engine.initial_state()
        self.events: list[str] = []

    def apply(self, transition: Transition) -> Transition:
        self.state = transition.state
        self.events.extend(event.type for event in transition.events)
        return transition

    def ask(self) -> uuid.UUID:
        asked = self.state.current_question
        assert asked is not None and self.state.phase == "asking"
        self.apply(
            self.engine.record_question(
                self.state, question_id=asked.question_id, text=f"Q{asked.index}", provider="offline"
            )
        )
        return asked.question_id

    def answer(self, question_id: uuid.UUID, text: str = "an answer") -> uuid.UUID:
        answer_id = uuid.uuid4()
        self.apply(
            self.engine.record_answer(
                self.state,
                question_id=question_id,
                client_id=uuid.uuid4().hex,
                text=text,
                answer_id=answer_id,
                now=NOW,
            )
        )
        return answer_id

    def evaluate(
        self, answer_id: uuid.UUID, result: Evaluation, notes: list[ObserverNote] | None = None
    ) -> Transition:
        return self.apply(
            self.engine.record_evaluation(
                self.state, answer_id=answer_id, evaluation=result, now=NOW, notes=notes or []
            )
        )


def test_start_plans_a_warmup_first() -> None:
    driver = Driver(InterviewEngine(plan(), get_bank()))
    transition = driver.apply(driver.engine.start(driver.state, now=NOW))
    assert [e.type for e in transition.events] == ["interview.started"]
    assert driver.state.status == "in_progress"
    assert driver.state.phase == "asking"
    first = driver.state.current_question
    assert first is not None
    assert first.kind == "warmup"
    assert first.index == 1
    assert get_bank().get(first.bank_id).warmup


def test_start_twice_is_refused() -> None:
    engine = InterviewEngine(plan(), get_bank())
    started = engine.start(engine.initial_state(), now=NOW).state
    with pytest.raises(EngineError) as error:
        engine.start(started, now=NOW)
    assert error.value.code == "already_started"


def test_transitions_never_mutate_their_input() -> None:
    engine = InterviewEngine(plan(), get_bank())
    initial = engine.initial_state()
    engine.start(initial, now=NOW)
    assert initial.status == "created"
    assert initial.questions == []


def played_state() -> tuple[InterviewEngine, Driver]:
    """An interview part-way through, with follow-ups, answers and evaluations in its state."""
    driver = Driver(InterviewEngine(plan(question_count=6), get_bank()))
    driver.apply(driver.engine.start(driver.state, now=NOW))
    for _ in range(4):
        answer_id = driver.answer(driver.ask(), text="an answer with some detail")
        driver.evaluate(answer_id, evaluation(4.5, depth=3.0, covered=1, missed=3))
    assert any(q.kind == "follow_up" and q.missed_points for q in driver.state.questions)
    assert driver.state.evaluations and driver.state.answers
    return driver.engine, driver


IMMUTABLE = (str, int, float, bool, type(None), uuid.UUID)


def assert_nothing_mutable_shared(original: object, copy: object, where: str = "state") -> None:
    if isinstance(original, IMMUTABLE):
        assert type(copy) is type(original) and copy == original, where
        return
    assert copy is not original, f"{where} is shared with the original"
    if isinstance(original, msgspec.Struct):
        assert type(copy) is type(original), where
        for field in original.__struct_fields__:
            assert_nothing_mutable_shared(getattr(original, field), getattr(copy, field), f"{where}.{field}")
    elif isinstance(original, list):
        assert isinstance(copy, list) and len(copy) == len(original), where
        for at, (item, copied) in enumerate(zip(original, copy, strict=True)):
            assert_nothing_mutable_shared(item, copied, f"{where}[{at}]")
    elif isinstance(original, dict):
        assert isinstance(copy, dict) and list(copy) == list(original), where
        for key, value in original.items():
            assert_nothing_mutable_shared(value, copy[key], f"{where}[{key!r}]")
    else:
        raise AssertionError(f"{where}: teach this test (and engine._copy) about {type(original).__name__}")


def test_the_state_copy_is_equal_and_shares_nothing_mutable() -> None:
    _, driver = played_state()
    for state in (EngineState(), driver.state):
        copy = engine_module._copy(state)
        assert copy == state
        assert msgspec.json.encode(copy) == msgspec.json.encode(state)
        assert_nothing_mutable_shared(state, copy)


def test_later_transitions_never_mutate_their_input() -> None:
    engine, driver = played_state()
    state = driver.state
    snapshot = msgspec.json.encode(state)
    asked = state.current_question
    assert asked is not None
    recorded = engine.record_question(state, question_id=asked.question_id, text="Q", provider="offline")
    answer_id = uuid.uuid4()
    answered = engine.record_answer(
        recorded.state, question_id=asked.question_id, client_id="c", text="a", answer_id=answer_id, now=NOW
    )
    answered_snapshot = msgspec.json.encode(answered.state)
    engine.record_evaluation(answered.state, answer_id=answer_id, evaluation=evaluation(9.0), now=NOW)
    engine.end(answered.state, now=NOW)
    engine.abandon(answered.state, reason="test", now=NOW)
    assert msgspec.json.encode(answered.state) == answered_snapshot
    assert msgspec.json.encode(state) == snapshot


def test_a_whole_interview_completes_with_a_report() -> None:
    driver = Driver(InterviewEngine(plan(question_count=3), get_bank()))
    driver.apply(driver.engine.start(driver.state, now=NOW))
    for _ in range(3):
        question_id = driver.ask()
        answer_id = driver.answer(question_id)
        driver.evaluate(answer_id, evaluation(7.0))
    assert driver.state.status == "completed"
    assert driver.state.completion_reason == "finished"
    assert driver.events.count("question") == 3
    assert driver.events[-1] == "interview.completed"
    assert [q.kind for q in driver.state.questions] == ["warmup", "core", "core"]
    bank_ids = [q.bank_id for q in driver.state.questions]
    assert len(set(bank_ids)) == len(bank_ids), "no question repeats within an interview"


def test_difficulty_goes_up_after_a_strong_answer_and_down_after_a_weak_one() -> None:
    driver = Driver(InterviewEngine(plan(question_count=5, difficulty=3), get_bank()))
    driver.apply(driver.engine.start(driver.state, now=NOW))
    driver.evaluate(driver.answer(driver.ask()), evaluation(9.0))
    assert driver.state.difficulty == 4
    driver.evaluate(driver.answer(driver.ask()), evaluation(8.5))
    assert driver.state.difficulty == 5
    driver.evaluate(driver.answer(driver.ask()), evaluation(9.5))
    assert driver.state.difficulty == 5, "never above 5"


def test_difficulty_never_drops_below_one() -> None:
    driver = Driver(InterviewEngine(plan(question_count=6, difficulty=1), get_bank()))
    driver.apply(driver.engine.start(driver.state, now=NOW))
    # Weak but complete answers (no follow-up): depth fine, nothing missed.
    driver.evaluate(driver.answer(driver.ask()), evaluation(3.0, depth=6.0, missed=0))
    assert driver.state.difficulty == 1


def test_at_most_one_follow_up_per_core_question_and_never_on_the_warmup() -> None:
    driver = Driver(InterviewEngine(plan(question_count=3), get_bank()))
    driver.apply(driver.engine.start(driver.state, now=NOW))
    # A thin warm-up answer earns no follow-up.
    driver.evaluate(driver.answer(driver.ask()), evaluation(3.0, depth=2.0, covered=0, missed=4))
    assert driver.state.current_question is not None
    assert driver.state.current_question.kind == "core"
    core_id = driver.ask()
    driver.evaluate(driver.answer(core_id), evaluation(4.0, depth=3.0, covered=1, missed=3))
    follow_up = driver.state.current_question
    assert follow_up is not None
    assert follow_up.kind == "follow_up"
    assert follow_up.parent_question_id == core_id
    assert follow_up.index == 2
    assert follow_up.missed_points == ["missed 0", "missed 1", "missed 2"]
    follow_up_id = driver.ask()
    driver.evaluate(driver.answer(follow_up_id), evaluation(2.0, depth=1.0, covered=0, missed=4))
    nxt = driver.state.current_question
    assert nxt is not None
    assert nxt.kind == "core", "a follow-up is never followed up"
    assert nxt.index == 3


def test_follow_ups_do_not_count_towards_question_count() -> None:
    driver = Driver(InterviewEngine(plan(question_count=2), get_bank()))
    driver.apply(driver.engine.start(driver.state, now=NOW))
    driver.evaluate(driver.answer(driver.ask()), evaluation(7.0))
    driver.evaluate(driver.answer(driver.ask()), evaluation(4.0, depth=2.0, covered=0, missed=4))
    assert driver.state.status == "in_progress"
    driver.evaluate(driver.answer(driver.ask()), evaluation(6.0))
    assert driver.state.status == "completed"
    assert driver.state.primary_count == 2


def test_answers_only_to_the_waiting_question() -> None:
    driver = Driver(InterviewEngine(plan(), get_bank()))
    driver.apply(driver.engine.start(driver.state, now=NOW))
    with pytest.raises(EngineError) as early:
        driver.answer(uuid.uuid4())
    assert early.value.code == "not_awaiting_answer"
    driver.ask()
    with pytest.raises(EngineError) as wrong:
        driver.answer(uuid.uuid4())
    assert wrong.value.code == "not_awaiting_answer"


def test_a_stale_evaluation_is_refused() -> None:
    driver = Driver(InterviewEngine(plan(), get_bank()))
    driver.apply(driver.engine.start(driver.state, now=NOW))
    answer_id = driver.answer(driver.ask())
    driver.evaluate(answer_id, evaluation(7.0))
    with pytest.raises(EngineError):
        driver.evaluate(answer_id, evaluation(7.0))


def test_ending_early_builds_a_report_of_what_was_answered() -> None:
    driver = Driver(InterviewEngine(plan(question_count=5), get_bank()))
    driver.apply(driver.engine.start(driver.state, now=NOW))
    driver.evaluate(driver.answer(driver.ask()), evaluation(8.0))
    driver.ask()  # asked but never answered
    note = ObserverNote(
        note_id="n1", author="Coach", text="Good pace", about_seq=2, at="2026-11-21T10:00:00Z"
    )
    transition = driver.apply(driver.engine.end(driver.state, now=NOW, notes=[note]))
    completed = transition.events[-1]
    assert completed.type == "interview.completed"
    assert completed.payload["reason"] == "ended_by_candidate"
    report = completed.payload["report"]
    assert report["overall_score"] == 8.0
    assert [q["answer"] is not None for q in report["questions"]] == [True, False]
    assert report["notes"][0]["text"] == "Good pace"
    assert report["questions"][0]["model_answer"], "every question carries its model-answer outline"
    with pytest.raises(EngineError):
        driver.engine.end(driver.state, now=NOW)


def test_ending_before_starting_still_records_a_start() -> None:
    engine = InterviewEngine(plan(), get_bank())
    transition = engine.end(engine.initial_state(), now=NOW)
    assert [e.type for e in transition.events] == ["interview.started", "interview.completed"]
    assert transition.events[-1].payload["report"]["questions"] == []


def test_abandon() -> None:
    engine = InterviewEngine(plan(), get_bank())
    started = engine.start(engine.initial_state(), now=NOW).state
    transition = engine.abandon(started, reason="inactive", now=NOW)
    assert transition.state.status == "abandoned"
    assert transition.events[0].type == "interview.abandoned"
    with pytest.raises(EngineError):
        engine.abandon(transition.state, reason="again", now=NOW)


def test_resume_skills_tailor_the_questions() -> None:
    tailored = Driver(
        InterviewEngine(plan(resume_skills=["kafka", "postgresql"], question_count=5), get_bank())
    )
    tailored.apply(tailored.engine.start(tailored.state, now=NOW))
    focus = []
    for _ in range(5):
        asked = tailored.state.current_question
        assert asked is not None
        focus.append(asked.focus_skill)
        tailored.evaluate(tailored.answer(tailored.ask()), evaluation(7.0))
    assert any(skill in ("kafka", "postgresql") for skill in focus)


def test_report_criteria_average_the_evaluations() -> None:
    driver = Driver(InterviewEngine(plan(question_count=2), get_bank()))
    driver.apply(driver.engine.start(driver.state, now=NOW))
    driver.evaluate(driver.answer(driver.ask()), evaluation(6.0))
    transition = driver.evaluate(driver.answer(driver.ask()), evaluation(9.0))
    report = transition.events[-1].payload["report"]
    assert report["overall_score"] == 7.5
    assert set(report["criteria"]) == set(CRITERIA)
    assert report["criteria"]["relevance"] == 7.5
    assert report["provider"] == "offline"
    assert isinstance(EngineState().questions, list)
