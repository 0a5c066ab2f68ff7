from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from llm_stubs import scores_json

from server.llm.model_backed import PROFILE_OUTPUT, SCORES_OUTPUT
from server.llm.schema import (
    OutputValidationError,
    SchemaError,
    StructuredOutput,
    StructuredOutputError,
    parse_with_repair,
)
from server.llm.types import CRITERIA


def _nodes(schema: Any) -> Iterator[dict[str, Any]]:
    if isinstance(schema, dict):
        yield schema
        for key, value in schema.items():
            if key == "properties":
                for sub in value.values():
                    yield from _nodes(sub)
            else:
                yield from _nodes(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _nodes(item)


@pytest.mark.parametrize("output", [SCORES_OUTPUT, PROFILE_OUTPUT], ids=lambda o: o.name)
def test_openai_schema_is_strict(output: StructuredOutput[Any]) -> None:
    schema = output.openai_schema
    objects = [node for node in _nodes(schema) if node.get("type") == "object"]
    assert objects
    for node in objects:
        assert node["additionalProperties"] is False
        assert node["required"] == list(node["properties"])
    for node in _nodes(schema):
        assert not {"$ref", "$defs", "default", "title"} & set(node)
    response_format = output.openai_response_format()
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["strict"] is True
    assert response_format["json_schema"]["name"] == output.name


@pytest.mark.parametrize("output", [SCORES_OUTPUT, PROFILE_OUTPUT], ids=lambda o: o.name)
def test_gemini_schema_is_inlined_and_has_no_defaults(output: StructuredOutput[Any]) -> None:
    for node in _nodes(output.gemini_schema):
        assert not {"$ref", "$defs", "default"} & set(node)


def test_open_ended_criteria_map_becomes_an_object_with_exactly_the_rubric_keys() -> None:
    criteria = SCORES_OUTPUT.openai_schema["properties"]["criteria"]
    assert list(criteria["properties"]) == list(CRITERIA)
    assert criteria["required"] == list(CRITERIA)
    assert all(value == {"type": "number"} for value in criteria["properties"].values())


def test_nullable_profile_fields_stay_nullable_in_both_dialects() -> None:
    for schema in (PROFILE_OUTPUT.openai_schema, PROFILE_OUTPUT.gemini_schema):
        assert schema["properties"]["email"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}
        entry = schema["properties"]["experience"]["items"]
        assert entry["properties"]["title"] == {"anyOf": [{"type": "string"}, {"type": "null"}]}


def test_a_map_without_fixed_keys_cannot_be_strict() -> None:
    class Loose(msgspec.Struct):
        weights: dict[str, float]

    with pytest.raises(SchemaError, match="open-ended maps"):
        StructuredOutput("loose", Loose)
    with pytest.raises(SchemaError, match="unknown field"):
        StructuredOutput("loose", Loose, fixed_keys={"nope": ["a"]})


def test_parse_accepts_valid_json_and_markdown_fences() -> None:
    scores = SCORES_OUTPUT.parse(scores_json())
    assert scores.criteria["relevance"] == 8
    fenced = SCORES_OUTPUT.parse("```json\n" + scores_json(depth=4) + "\n```")
    assert fenced.criteria["depth"] == 4


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        ("", "empty"),
        ("{not json", "not valid JSON"),
        (json.dumps({"criteria": {}, "strengths": [], "improvements": []}), "missing keys relevance"),
        (scores_json(depth="deep"), r"Expected `float`, got `str` - at `\$.criteria\[...\]`"),
        (
            json.dumps(
                {"criteria": {**dict.fromkeys(CRITERIA, 5), "charm": 9}, "strengths": [], "improvements": []}
            ),
            "unexpected keys charm",
        ),
    ],
)
def test_parse_names_what_is_wrong(reply: str, problem: str) -> None:
    with pytest.raises(OutputValidationError, match=problem):
        SCORES_OUTPUT.parse(reply)


async def test_repair_sends_the_problem_back_once_and_uses_the_corrected_reply() -> None:
    requests: list[tuple[str, str]] = []

    async def ask_again(previous: str, problem: str) -> str:
        requests.append((previous, problem))
        return scores_json()

    scores = await parse_with_repair(SCORES_OUTPUT, "{broken", ask_again)
    assert scores.criteria["structure"] == 7
    assert len(requests) == 1
    assert requests[0][0] == "{broken"
    assert "not valid JSON" in requests[0][1]


async def test_valid_first_reply_needs_no_repair() -> None:
    async def ask_again(previous: str, problem: str) -> str:
        raise AssertionError("no repair should be requested")

    scores = await parse_with_repair(SCORES_OUTPUT, scores_json(), ask_again)
    assert scores.criteria["communication"] == 8


async def test_second_invalid_reply_raises_a_clear_error() -> None:
    calls = 0

    async def ask_again(previous: str, problem: str) -> str:
        nonlocal calls
        calls += 1
        return '{"criteria": "none"}'

    with pytest.raises(StructuredOutputError) as caught:
        await parse_with_repair(SCORES_OUTPUT, "nope", ask_again)
    assert calls == 1
    assert caught.value.output_name == "evaluation_scores"
    assert "even after one repair attempt" in str(caught.value)
    assert "Expected `object`" in str(caught.value)
