"""Validation problems name the body field, whatever Litestar calls the body internally."""

from __future__ import annotations

from litestar.exceptions import ValidationException

from server.core.errors import from_validation_exception


def problem(message: str, key: str = "data") -> dict[str, object]:
    exc = ValidationException(
        detail="Validation failed", extra=[{"message": message, "key": key, "source": "body"}]
    )
    response = from_validation_exception(exc)
    assert response.status_code == 422
    assert isinstance(response.extra, dict)
    return response.extra


def test_missing_field_is_named() -> None:
    body = problem("Object missing required field `email`")
    assert body["code"] == "validation_error"
    assert body["errors"] == [{"field": "email", "message": "is required"}]


def test_wrong_type_at_a_path_is_named() -> None:
    body = problem("Expected `int`, got `str` - at `$.difficulty`")
    assert body["errors"] == [{"field": "difficulty", "message": "Expected `int`, got `str`"}]


def test_query_parameters_keep_their_name() -> None:
    body = problem("Expected `int >= 0`", key="skip")
    assert body["errors"] == [{"field": "skip", "message": "Expected `int >= 0`"}]


def test_unexplained_body_problem_falls_back_to_body() -> None:
    body = problem("Input data was truncated")
    assert body["errors"] == [{"field": "body", "message": "Input data was truncated"}]
