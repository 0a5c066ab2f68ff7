"""One error path: every error leaves the API as RFC 9457 problem details with a stable `code`.

Handlers raise `ApiError` (or a subclass); Litestar's own HTTP exceptions, validation errors
and unexpected exceptions are converted here, so clients only ever see one shape.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.plugins.problem_details import ProblemDetailsConfig, ProblemDetailsException

from server.core.logging import get_logger

log = get_logger(__name__)

PROBLEM_TYPE_BASE = "https://interviewace.dev/problems/"

# Stable codes for statuses raised by the framework itself (unknown route, wrong method, ...).
DEFAULT_CODES: dict[int, str] = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    423: "locked",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}


class ApiError(ProblemDetailsException):
    """An error with a stable machine-readable code, rendered as problem details."""

    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        detail: str = "",
        *,
        code: str | None = None,
        status_code: int | None = None,
        headers: dict[str, str] | None = None,
        errors: list[dict[str, str]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        status = status_code or self.status_code
        self.code = code or self.code
        body: dict[str, Any] = {"code": self.code}
        if errors is not None:
            body["errors"] = errors
        if extra:
            body.update(extra)
        super().__init__(
            detail=detail or HTTPStatus(status).phrase,
            status_code=status,
            headers=headers,
            extra=body,
            type_=PROBLEM_TYPE_BASE + self.code.replace("_", "-"),
            title=HTTPStatus(status).phrase,
        )


class NotFound(ApiError):
    status_code = 404
    code = "not_found"


class Conflict(ApiError):
    status_code = 409
    code = "conflict"


class Unauthorized(ApiError):
    status_code = 401
    code = "not_authenticated"


class Forbidden(ApiError):
    status_code = 403
    code = "forbidden"


class ValidationFailed(ApiError):
    status_code = 422
    code = "validation_error"

    def __init__(self, field: str, message: str, *, code: str | None = None) -> None:
        super().__init__(message, code=code, errors=[{"field": field, "message": message}])


class ServiceUnavailable(ApiError):
    status_code = 503
    code = "service_unavailable"


_MISSING_FIELD = re.compile(r"missing required field `([^`]+)`")
_AT_PATH = re.compile(r" - at `\$\.([^`]+)`$")


def _field_of(key: str, message: str) -> tuple[str, str]:
    """Litestar reports body problems under the key "data" with msgspec's message; name the
    body field itself (`$.difficulty`, "missing required field `email`") where the message says."""
    if key != "data":
        return key, message
    if missing := _MISSING_FIELD.search(message):
        return missing.group(1), "is required"
    if at_path := _AT_PATH.search(message):
        return at_path.group(1), message[: at_path.start()]
    return "body", message


def _validation_errors(exc: ValidationException) -> list[dict[str, str]]:
    errors: list[dict[str, str]] = []
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if isinstance(item, dict):
            key = str(item.get("key") or item.get("source") or "body")
            field, message = _field_of(key, str(item.get("message", "is invalid")))
            errors.append({"field": field, "message": message})
    if not errors:
        errors.append({"field": "body", "message": exc.detail or "is invalid"})
    return errors


def from_validation_exception(exc: ValidationException) -> ProblemDetailsException:
    errors = _validation_errors(exc)
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return ApiError(detail, code="validation_error", status_code=422, errors=errors)


def from_http_exception(exc: HTTPException) -> ProblemDetailsException:
    status = exc.status_code
    code = DEFAULT_CODES.get(status, "error")
    detail = exc.detail if exc.detail and exc.detail != HTTPStatus(status).phrase else ""
    return ApiError(detail, code=code, status_code=status, headers=exc.headers)


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Unexpected exceptions: log with the request id, answer 500 without internals."""
    log.exception("unhandled_error", path=request.url.path, method=request.method)
    problem = ApiError(
        "An unexpected error occurred; it has been logged.", status_code=500, code="internal_error"
    )
    return problem.to_response(request)


def problem_details_config() -> ProblemDetailsConfig:
    return ProblemDetailsConfig(
        enable_for_all_http_exceptions=True,
        exception_to_problem_detail_map={
            ValidationException: from_validation_exception,
            HTTPException: from_http_exception,
        },
    )
