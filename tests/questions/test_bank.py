"""Loading the question bank, its in-memory indexes, and every validation rule."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from question_bank_factory import to_toml, valid_track, write_bank

from server.llm.types import QuestionBrief
from server.questions.bank import (
    COMPANY_STYLES,
    DEFAULT_BANK_DIR,
    QUESTION_NAMESPACE,
    TRACK_IDS,
    BankError,
    UnknownQuestionError,
    UnknownTrackError,
    discover_track_ids,
    get_bank,
    load_bank,
    question_id_for,
    validate_bank,
    validate_command,
)

FIXTURES = Path(__file__).parent / "fixtures"
MINI_BANK = FIXTURES / "mini_bank"


# ---- the shipped bank ----


def test_shipped_bank_passes_every_rule() -> None:
    assert validate_bank(DEFAULT_BANK_DIR) == []


def test_shipped_bank_loads_with_stable_ids_and_known_company_styles() -> None:
    bank = get_bank()
    assert bank is get_bank()
    assert bank.track_ids == TRACK_IDS == discover_track_ids(DEFAULT_BANK_DIR)
    for question in bank:
        assert question.id == uuid.uuid5(QUESTION_NAMESPACE, question.slug)
        assert set(question.company_styles) <= set(COMPANY_STYLES)
        assert question.slug.startswith(question.track.replace("_", "-") + "-")


# ---- loading and indexes ----


def test_question_ids_never_change_for_a_slug() -> None:
    # Stored interviews refer to questions by this id: changing the namespace would orphan them.
    assert question_id_for("backend-idempotent-payment-api") == uuid.UUID(
        "c1d4c7e1-4a4d-5009-a892-e5327386dbe1"
    )


def test_mini_bank_loads_tracks_and_indexes() -> None:
    bank = load_bank(MINI_BANK)
    assert bank.track_ids == ("backend", "behavioural")
    assert len(bank) == 14
    assert len(bank.questions_in("backend")) == 12
    question = bank.by_slug("backend-mini-kafka-ordering")
    assert bank.get(question.id) is question
    assert bank.get(str(question.id)) is question
    assert bank.find("backend-mini-kafka-ordering") is question
    assert bank.find(str(question.id)) is question
    assert bank.find(question.id) is question
    assert bank.find("no-such-slug") is None
    assert {"kafka", "postgresql", "redis", "ownership"} <= bank.tags
    assert bank.track("behavioural").name == "Behavioural"


def test_to_brief_carries_everything_a_provider_needs() -> None:
    question = load_bank(MINI_BANK).by_slug("backend-mini-idempotent-payments")
    brief = question.to_brief()
    assert isinstance(brief, QuestionBrief)
    assert brief.id == question.id
    assert (brief.slug, brief.track, brief.difficulty, brief.topic) == (
        "backend-mini-idempotent-payments",
        "backend",
        4,
        "api-design",
    )
    assert brief.style == "technical"
    assert brief.tags == ["payments", "idempotency", "http"]
    assert [point.label for point in brief.key_points] == [
        "idempotency keys",
        "stored responses replayed",
        "concurrency control",
    ]
    assert "idempotency key" in brief.key_points[0].terms
    assert len(brief.model_answer) == 3
    assert brief.text.startswith("Design a payment endpoint")


def test_lookups_of_unknown_things_raise_typed_errors() -> None:
    bank = load_bank(MINI_BANK)
    with pytest.raises(UnknownQuestionError, match="no question with slug"):
        bank.by_slug("backend-nope")
    with pytest.raises(UnknownQuestionError, match="no question with id"):
        bank.get(uuid.uuid4())
    with pytest.raises(UnknownQuestionError, match="not a question id"):
        bank.get("not-a-uuid")
    with pytest.raises(UnknownTrackError, match="unknown track 'cooking'"):
        bank.questions_in("cooking")


def test_coverage_gaps_do_not_stop_loading_but_are_reported() -> None:
    bank = load_bank(MINI_BANK)
    assert len(bank) == 14
    problems = validate_bank(MINI_BANK)
    assert "backend.toml: 12 questions; at least 30 are needed" in problems
    assert "behavioural.toml: 1 question marked warmup; at least 3 are needed" in problems


def test_integrity_problems_stop_loading(tmp_path: Path) -> None:
    track = valid_track()
    track["questions"][3]["difficulty"] = 9
    write_bank(tmp_path, track)
    with pytest.raises(BankError) as caught:
        load_bank(tmp_path)
    assert caught.value.problems == [
        "backend.toml: question 'backend-generated-3': difficulty 9 is outside 1-5"
    ]


def test_generated_bank_is_valid(tmp_path: Path) -> None:
    write_bank(tmp_path, valid_track("backend"), valid_track("data_engineering"))
    assert validate_bank(tmp_path) == []
    bank = load_bank(tmp_path)
    assert bank.track_ids == ("backend", "data_engineering")
    assert discover_track_ids(tmp_path) == ("backend", "data_engineering")
    assert len(bank) == 60


# ---- every rule, each broken alone ----

Mutation = Callable[[dict[str, Any]], None]


def _set(question: int, field: str, value: Any) -> Mutation:
    def mutate(track: dict[str, Any]) -> None:
        track["questions"][question][field] = value

    return mutate


def _set_point(question: int, point: int, field: str, value: Any) -> Mutation:
    def mutate(track: dict[str, Any]) -> None:
        track["questions"][question]["key_points"][point][field] = value

    return mutate


def _delete(question: int, field: str) -> Mutation:
    def mutate(track: dict[str, Any]) -> None:
        del track["questions"][question][field]

    return mutate


def _copy_field(
    field: str, source: int, target: int, transform: Callable[[Any], Any] = lambda v: v
) -> Mutation:
    def mutate(track: dict[str, Any]) -> None:
        track["questions"][target][field] = transform(track["questions"][source][field])

    return mutate


def _extra_key_points(question: int, count: int) -> Mutation:
    def mutate(track: dict[str, Any]) -> None:
        track["questions"][question]["key_points"] = [
            {"label": f"extra {n}", "terms": [f"extra term {n}", f"more {n}", f"other {n}"]}
            for n in range(count)
        ]

    return mutate


def _set_track(field: str, value: Any) -> Mutation:
    def mutate(track: dict[str, Any]) -> None:
        track[field] = value

    return mutate


def _keep_questions(count: int) -> Mutation:
    def mutate(track: dict[str, Any]) -> None:
        track["questions"] = track["questions"][:count]

    return mutate


def _replace_everywhere(field: str, old: Any, new: Any) -> Mutation:
    def mutate(track: dict[str, Any]) -> None:
        for question in track["questions"]:
            if field == "company_styles":
                question[field] = [new if style == old else style for style in question[field]]
            elif question[field] == old:
                question[field] = new

    return mutate


# Question 10 has difficulty 1 and is not a warm-up: changing it never touches another rule.
SINGLE_RULE_CASES: list[tuple[str, Mutation, str]] = [
    ("duplicate slug", _copy_field("slug", 0, 1), "slug 'backend-generated-0' is used 2 times"),
    (
        "duplicate text, other case",
        _copy_field("text", 0, 1, str.upper),
        "the same question text is used 2 times",
    ),
    ("missing field", _delete(10, "model_answer"), "missing required field `model_answer`"),
    ("unknown field", _set(10, "hint", "think"), "unknown field `hint`"),
    (
        "wrong type",
        _set(10, "difficulty", "1"),
        "Expected `int`, got `str` - at `$.questions[10].difficulty`",
    ),
    ("empty text", _set(10, "text", "   "), "text is empty"),
    ("difficulty too low", _set(10, "difficulty", 0), "difficulty 0 is outside 1-5"),
    ("difficulty too high", _set(12, "difficulty", 6), "difficulty 6 is outside 1-5"),
    (
        "unknown company style",
        _set(10, "company_styles", ["startup", "unicorn"]),
        "unknown company style 'unicorn'",
    ),
    ("no company style", _set(10, "company_styles", []), "company_styles is empty"),
    (
        "company style twice",
        _set(10, "company_styles", ["startup", "startup"]),
        "company style 'startup' is listed 2 times",
    ),
    ("unknown style", _set(10, "style", "casual"), "style 'casual' is not one of technical, behavioural"),
    ("hard warm-up", _set(12, "warmup", True), "warm-up questions must have difficulty 1-2, not 3"),
    ("slug not kebab-case", _set(10, "slug", "backend_Generated"), "slug must be kebab-case"),
    (
        "slug without track prefix",
        _set(10, "slug", "frontend-generated-10"),
        "slug must start with 'backend-'",
    ),
    ("topic not kebab-case", _set(10, "topic", "API Design"), "topic 'API Design' must be a kebab-case slug"),
    ("no tags", _set(10, "tags", []), "has 0 tags, expected 1-6"),
    ("too many tags", _set(10, "tags", [f"t{n}" for n in range(7)]), "has 7 tags, expected 1-6"),
    ("uppercase tag", _set(10, "tags", ["Python"]), "tag 'Python' must be lowercase"),
    ("tag twice", _set(10, "tags", ["sql", "sql"]), "tag 'sql' is listed 2 times"),
    ("empty tag", _set(10, "tags", ["sql", ""]), "tag #2 is empty"),
    (
        "too few model-answer bullets",
        _set(10, "model_answer", ["a.", "b."]),
        "has 2 model-answer bullets, expected 3-6",
    ),
    (
        "too many model-answer bullets",
        _set(10, "model_answer", [f"bullet {n}." for n in range(7)]),
        "has 7 model-answer bullets, expected 3-6",
    ),
    (
        "empty model-answer bullet",
        _set(10, "model_answer", ["a.", "", "c."]),
        "model-answer bullet #2 is empty",
    ),
    ("too few key points", _extra_key_points(10, 2), "has 2 key points, expected 3-6"),
    ("too many key points", _extra_key_points(10, 7), "has 7 key points, expected 3-6"),
    ("empty key point label", _set_point(10, 1, "label", " "), "key point #2: label is empty"),
    (
        "duplicate key point label",
        _set_point(10, 1, "label", "Point A"),
        "key point label 'point a' is used 2 times",
    ),
    (
        "too few terms",
        _set_point(10, 0, "terms", ["one term", "two terms"]),
        "key point #1: has 2 terms, expected 3-8",
    ),
    (
        "too many terms",
        _set_point(10, 0, "terms", [f"term {n}" for n in range(9)]),
        "key point #1: has 9 terms, expected 3-8",
    ),
    (
        "uppercase term",
        _set_point(10, 0, "terms", ["Redis", "cache", "ttl"]),
        "term 'Redis' must be lowercase",
    ),
    ("generic term", _set_point(10, 0, "terms", ["data", "cache", "ttl"]), "term 'data' is too generic"),
    (
        "term without words",
        _set_point(10, 0, "terms", ["!!!", "cache", "ttl"]),
        "term '!!!' has no words to match",
    ),
    (
        "padded term",
        _set_point(10, 0, "terms", [" cache", "lru", "ttl"]),
        "term #1 has leading or trailing spaces",
    ),
    ("term twice", _set_point(10, 0, "terms", ["cache", "cache", "ttl"]), "term 'cache' is listed 2 times"),
    ("track id not the file name", _set_track("id", "backend_two"), "must match the file name 'backend'"),
    ("empty track name", _set_track("name", ""), "backend.toml: name is empty"),
    ("empty description", _set_track("description", "  "), "backend.toml: description is empty"),
    ("too few questions", _keep_questions(29), "backend.toml: 29 questions; at least 30 are needed"),
    (
        "a difficulty under-represented",
        _replace_everywhere("difficulty", 5, 4),
        "backend.toml: 0 questions of difficulty 5; at least 5 are needed",
    ),
    (
        "a company style under-represented",
        _replace_everywhere("company_styles", "consultancy", "fintech"),
        "0 questions for company style 'consultancy'; at least 5 are needed",
    ),
    (
        "too few warm-ups",
        _set(5, "warmup", False),
        "backend.toml: 2 questions marked warmup; at least 3 are needed",
    ),
]


@pytest.mark.parametrize(
    ("mutation", "expected"),
    [pytest.param(mutation, expected, id=name) for name, mutation, expected in SINGLE_RULE_CASES],
)
def test_each_rule_is_reported_alone(tmp_path: Path, mutation: Mutation, expected: str) -> None:
    track = copy.deepcopy(valid_track())
    mutation(track)
    (tmp_path / "backend.toml").write_text(to_toml(track), encoding="utf-8")
    problems = validate_bank(tmp_path)
    assert len(problems) == 1, problems
    assert expected in problems[0]
    assert problems[0].startswith("backend.toml") or "backend.toml" in problems[0]


def test_track_id_must_be_snake_case(tmp_path: Path) -> None:
    track = valid_track("Data-Engineering")
    write_bank(tmp_path, track)
    problems = validate_bank(tmp_path)
    assert any("track id 'Data-Engineering' must be snake_case" in problem for problem in problems)


def test_slugs_must_be_unique_across_tracks(tmp_path: Path) -> None:
    first, second = valid_track("backend"), valid_track("backend_two")
    second["questions"][0]["slug"] = first["questions"][0]["slug"]
    write_bank(tmp_path, first, second)
    problems = validate_bank(tmp_path)
    assert any(
        "slug 'backend-generated-0' is used 2 times (backend.toml, backend_two.toml)" in p for p in problems
    )


def test_question_texts_must_be_unique_across_tracks(tmp_path: Path) -> None:
    first, second = valid_track("backend"), valid_track("frontend")
    second["questions"][4]["text"] = "  " + first["questions"][7]["text"].lower() + " "
    write_bank(tmp_path, first, second)
    assert validate_bank(tmp_path) == [
        "the same question text is used 2 times "
        "(backend.toml:backend-generated-7, frontend.toml:frontend-generated-4)"
    ]


def test_files_that_do_not_parse_are_named(tmp_path: Path) -> None:
    assert validate_bank(FIXTURES / "broken_toml") == [
        "backend.toml: not valid TOML (Illegal character '\\n' (at line 2, column 28))"
    ]
    assert validate_bank(FIXTURES / "unknown_field") == [
        "backend.toml: Object contains unknown field `hint` - at `$.questions[0]`"
    ]
    with pytest.raises(BankError, match="unknown field `hint`"):
        load_bank(FIXTURES / "unknown_field")


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path) -> None:
    track = valid_track()
    track["questions"][10]["difficulty"] = 7
    track["questions"][11]["tags"] = ["Go"]
    track["questions"][12]["style"] = "chatty"
    write_bank(tmp_path, track, valid_track("frontend"))
    (tmp_path / "broken.toml").write_text("id = \n", encoding="utf-8")
    problems = validate_bank(tmp_path)
    assert len(problems) == 4
    assert problems[0].startswith("backend.toml")
    assert "difficulty 7" in problems[0]
    assert "tag 'Go' must be lowercase" in problems[1]
    assert "style 'chatty'" in problems[2]
    assert problems[3].startswith("broken.toml: not valid TOML")


def test_empty_or_missing_directory(tmp_path: Path) -> None:
    assert validate_bank(tmp_path) == [f"{tmp_path}: holds no track files (<track_id>.toml)"]
    missing = tmp_path / "nowhere"
    assert validate_bank(missing) == [f"{missing}: bank directory does not exist"]
    with pytest.raises(BankError, match="does not exist"):
        load_bank(missing)
    assert discover_track_ids(missing) == ()


# ---- the CLI entry point ----


def test_validate_command_reports_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_bank(tmp_path, valid_track("backend"), valid_track("frontend"))
    assert validate_command(tmp_path) == 0
    output = capsys.readouterr().out
    assert "question bank OK: 2 tracks, 60 questions (backend 30, frontend 30)" in output


def test_validate_command_lists_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    track = valid_track()
    track["questions"][10]["difficulty"] = 0
    track["questions"][11]["company_styles"] = ["agency"]
    write_bank(tmp_path, track)
    assert validate_command(tmp_path) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert "difficulty 0 is outside 1-5" in lines[0]
    assert "unknown company style 'agency'" in lines[1]
    assert lines[2] == f"question bank at {tmp_path}: 2 problem(s)"
