"""Structured output: JSON schemas derived from our msgspec Structs, and validation with repair.

`msgspec.json.schema` gives a standard JSON Schema (with `$ref`/`$defs`, defaults, optional
fields). Each API accepts a narrower dialect:

- OpenAI strict `json_schema`: every object lists all its properties as required and sets
  `additionalProperties: false`; unsupported keywords such as `default` are rejected, and
  open-ended maps (`dict[str, float]`) are impossible, so such maps are rewritten into objects
  with a fixed key set.
- Gemini `response_json_schema` (google-genai 3.x): a JSON Schema subset that accepts `anyOf`
  with `null`, `required` and `additionalProperties`; `$ref` support varies by model, so refs
  are inlined here too, and `default` is dropped because the API does not use it.

A model's reply is decoded into the Struct; when that fails, the error is sent back once with a
request for corrected JSON (`parse_with_repair`), and a second failure raises
`StructuredOutputError`.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import msgspec

T = TypeVar("T")

JSONSchema = dict[str, Any]

MAX_PROBLEM_CHARS = 400
_OPENAI_DROPPED_KEYWORDS = frozenset({"default", "title"})
_GEMINI_DROPPED_KEYWORDS = frozenset({"default"})


class SchemaError(Exception):
    """A Struct cannot be expressed in an API's structured-output dialect."""


class OutputValidationError(ValueError):
    """One model reply did not decode into the expected Struct. The message is safe to send back
    to the model and to log: it names the problem and the JSON path, never the reply's content."""


class StructuredOutputError(Exception):
    """The model returned invalid structured output twice (the reply and one repair attempt)."""

    def __init__(self, output_name: str, problem: str) -> None:
        self.output_name = output_name
        self.problem = problem
        super().__init__(
            f"the model's {output_name} reply was not valid JSON for the schema, "
            f"even after one repair attempt: {problem}"
        )


def inline_refs(schema: JSONSchema) -> JSONSchema:
    """Replace every local `$ref` with the definition it points to and drop `$defs`."""
    definitions: Mapping[str, Any] = schema.get("$defs", {})

    def resolve(node: Any, trail: tuple[str, ...]) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                prefix = "#/$defs/"
                if not ref.startswith(prefix) or ref[len(prefix) :] not in definitions:
                    raise SchemaError(f"cannot resolve schema reference {ref!r}")
                name = ref[len(prefix) :]
                if name in trail:
                    raise SchemaError(f"recursive type {name!r} cannot be inlined")
                siblings = {key: value for key, value in node.items() if key != "$ref"}
                resolved = resolve(definitions[name], (*trail, name))
                return {**resolved, **resolve(siblings, trail)}
            return {key: resolve(value, trail) for key, value in node.items() if key != "$defs"}
        if isinstance(node, list):
            return [resolve(item, trail) for item in node]
        return node

    result = resolve(schema, ())
    if not isinstance(result, dict):  # pragma: no cover - a dict always resolves to a dict
        raise SchemaError("schema root is not an object")
    return result


def _drop_keywords(node: Any, keywords: frozenset[str]) -> Any:
    if isinstance(node, dict):
        cleaned: dict[str, Any] = {}
        for key, value in node.items():
            if key in keywords:
                continue
            # "properties" maps field names to schemas: a field called "title" is not a keyword.
            if key == "properties" and isinstance(value, dict):
                cleaned[key] = {name: _drop_keywords(sub, keywords) for name, sub in value.items()}
            else:
                cleaned[key] = _drop_keywords(value, keywords)
        return cleaned
    if isinstance(node, list):
        return [_drop_keywords(item, keywords) for item in node]
    return node


def _close_objects(node: Any) -> Any:
    """Make every object list all properties as required and forbid extra properties."""
    if isinstance(node, dict):
        closed = {key: _close_objects(value) for key, value in node.items()}
        if closed.get("type") == "object":
            properties = closed.get("properties")
            if properties is None:
                if "additionalProperties" in closed and closed["additionalProperties"] is not False:
                    raise SchemaError(
                        "open-ended maps are not allowed in strict structured output; "
                        "give the map a fixed key set"
                    )
                closed["properties"] = {}
            closed["required"] = list(closed["properties"])
            closed["additionalProperties"] = False
        return closed
    if isinstance(node, list):
        return [_close_objects(item) for item in node]
    return node


def _fix_map_keys(schema: JSONSchema, fixed_keys: Mapping[str, Sequence[str]]) -> JSONSchema:
    """Rewrite top-level `dict[str, X]` properties into objects with exactly the given keys."""
    properties = schema.get("properties", {})
    for field, keys in fixed_keys.items():
        if field not in properties:
            raise SchemaError(f"fixed keys given for unknown field {field!r}")
        value_schema = properties[field].get("additionalProperties")
        if properties[field].get("type") != "object" or not isinstance(value_schema, dict):
            raise SchemaError(f"field {field!r} is not a map and cannot take fixed keys")
        properties[field] = {
            "type": "object",
            "properties": {key: copy.deepcopy(value_schema) for key in keys},
            "required": list(keys),
            "additionalProperties": False,
        }
    return schema


def _short(problem: str) -> str:
    problem = " ".join(problem.split())
    return problem if len(problem) <= MAX_PROBLEM_CHARS else problem[: MAX_PROBLEM_CHARS - 1] + "…"


def _strip_code_fence(raw: str) -> str:
    """Some models wrap JSON in a Markdown fence even in JSON mode; the content is still usable."""
    text = raw.strip()
    if text.startswith("```") and text.endswith("```") and len(text) >= 6:
        text = text[3:-3]
        first_newline = text.find("\n")
        if first_newline != -1 and text[:first_newline].strip().isalpha():
            text = text[first_newline + 1 :]
    return text.strip()


class StructuredOutput(Generic[T]):
    """One Struct the models must return, with its schema in each API's dialect.

    `fixed_keys` turns map fields (`dict[str, float]`) into objects with exactly these keys in
    the schema and makes validation insist on the same key set.
    """

    def __init__(
        self,
        name: str,
        target: type[T],
        *,
        fixed_keys: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        if not name.replace("_", "").isalnum():
            raise SchemaError(f"structured output name {name!r} must be alphanumeric with underscores")
        self.name = name
        self.target = target
        self.fixed_keys: Mapping[str, tuple[str, ...]] = {
            field: tuple(keys) for field, keys in (fixed_keys or {}).items()
        }
        base = _fix_map_keys(inline_refs(msgspec.json.schema(target)), self.fixed_keys)
        self.json_schema: JSONSchema = base
        self.openai_schema: JSONSchema = _close_objects(_drop_keywords(base, _OPENAI_DROPPED_KEYWORDS))
        self.gemini_schema: JSONSchema = _close_objects(_drop_keywords(base, _GEMINI_DROPPED_KEYWORDS))
        self._decoder = msgspec.json.Decoder(target)

    def openai_response_format(self) -> dict[str, Any]:
        return {
            "type": "json_schema",
            "json_schema": {"name": self.name, "strict": True, "schema": self.openai_schema},
        }

    def parse(self, raw: str) -> T:
        """Decode one reply, or raise `OutputValidationError` naming what is wrong."""
        text = _strip_code_fence(raw)
        if not text:
            raise OutputValidationError("the reply was empty; expected a JSON object")
        try:
            value = self._decoder.decode(text)
        except msgspec.ValidationError as exc:
            raise OutputValidationError(_short(f"JSON does not match the schema: {exc}")) from None
        except msgspec.DecodeError as exc:
            raise OutputValidationError(_short(f"the reply is not valid JSON: {exc}")) from None
        for field, keys in self.fixed_keys.items():
            mapping = getattr(value, field)
            missing = [key for key in keys if key not in mapping]
            unexpected = sorted(set(mapping) - set(keys))
            if missing or unexpected:
                parts = []
                if missing:
                    parts.append(f"missing keys {', '.join(missing)}")
                if unexpected:
                    parts.append(f"unexpected keys {', '.join(unexpected)}")
                raise OutputValidationError(
                    _short(f"`$.{field}` must have exactly the keys {', '.join(keys)}: {'; '.join(parts)}")
                )
        return value


async def parse_with_repair(
    output: StructuredOutput[T],
    first_reply: str,
    ask_again: Callable[[str, str], Awaitable[str]],
) -> T:
    """Decode `first_reply`; if it is invalid, call `ask_again(previous_reply, problem)` once for
    a corrected reply. A second invalid reply raises `StructuredOutputError`."""
    try:
        return output.parse(first_reply)
    except OutputValidationError as first_problem:
        second_reply = await ask_again(first_reply, str(first_problem))
    try:
        return output.parse(second_reply)
    except OutputValidationError as second_problem:
        raise StructuredOutputError(output.name, str(second_problem)) from None
