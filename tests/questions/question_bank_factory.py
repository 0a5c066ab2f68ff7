"""Builds question-bank files for tests: a valid track that meets every rule, which a test then
breaks in exactly one way, and a small TOML writer for the shapes the bank format uses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

COMPANY_STYLE_CYCLE = ("startup", "big_tech", "enterprise", "fintech", "consultancy")
WARMUP_POSITIONS = (0, 1, 5)  # difficulties 1, 2 and 1 in the cycle below


def valid_track(track_id: str = "backend", count: int = 30) -> dict[str, Any]:
    """A track meeting every integrity and coverage rule: difficulties cycle 1-5, company styles
    cycle through all five, and three gentle questions are warm-ups."""
    prefix = track_id.replace("_", "-")
    questions = []
    for position in range(count):
        questions.append(
            {
                "slug": f"{prefix}-generated-{position}",
                "difficulty": position % 5 + 1,
                "topic": f"topic-{position % 4}",
                "tags": ["python", f"tag-{position % 3}"],
                "company_styles": [COMPANY_STYLE_CYCLE[position % 5]],
                "style": "technical",
                "warmup": position in WARMUP_POSITIONS,
                "text": f"Generated question {position} for the {track_id} track: how would you do it?",
                "model_answer": [
                    f"First step {position}.",
                    f"Second step {position}.",
                    f"Third step {position}.",
                ],
                "key_points": [
                    {
                        "label": f"point {letter}",
                        "terms": [f"alpha {letter}", f"beta {letter}", f"gamma {letter}"],
                    }
                    for letter in ("a", "b", "c")
                ],
            }
        )
    return {
        "id": track_id,
        "name": f"Track {track_id}",
        "description": f"Generated {track_id} questions for tests.",
        "questions": questions,
    }


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as a TOML value")


def _is_table_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(item, dict) for item in value)


def _table(data: dict[str, Any], path: str) -> list[str]:
    lines = [f"{key} = {_value(value)}" for key, value in data.items() if not _is_table_list(value)]
    for key, value in data.items():
        if _is_table_list(value):
            child = f"{path}.{key}" if path else key
            for item in value:
                lines += ["", f"[[{child}]]", *_table(item, child)]
    return lines


def to_toml(data: dict[str, Any]) -> str:
    """TOML for a track: top-level scalars, then arrays of tables (questions, key points)."""
    return "\n".join(_table(data, "")) + "\n"


def write_bank(directory: Path, *tracks: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for track in tracks:
        (directory / f"{track['id']}.toml").write_text(to_toml(track), encoding="utf-8")
    return directory
