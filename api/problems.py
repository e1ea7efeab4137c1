"""RFC 9457 problem+json: one error type per HTTP answer, and the handlers that render them."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"

log = logging.getLogger(__name__)


class Problem(Exception):
    status = 500
    title = "Internal error"

    def __init__(self, detail: str, *, type_: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.type = type_ or self.title.lower().replace(" ", "-")
        self.extra = extra


class NotFound(Problem):
    status, title = 404, "Not found"


class Unauthorized(Problem):
    status, title = 401, "Unauthorized"


class Forbidden(Problem):
    status, title = 403, "Forbidden"


class Conflict(Problem):
    """A refused action: `rule` names the rule that refused it."""

    status, title = 409, "Conflict"


class Unavailable(Problem):
    status, title = 503, "Service unavailable"


class OutcomeUnknown(Problem):
    """The order did not answer in time: the action may or may not be applied. The body names the
    Idempotency-Key to send again, which learns the outcome without applying it twice."""

    status, title = 503, "Outcome unknown"

    def __init__(self, detail: str, *, idempotency_key: str) -> None:
        super().__init__(detail, type_="outcome-unknown", idempotency_key=idempotency_key)


class InvalidInput(Problem):
    status, title = 422, "Invalid input"

    def __init__(self, errors: list[dict[str, str]]) -> None:
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        super().__init__(detail, type_="invalid-input", errors=errors)


def field_error(field: str, message: str) -> InvalidInput:
    return InvalidInput([{"field": field, "message": message}])


class ContentTooLarge(Problem):
    status, title = 413, "Content too large"


def render_problem(status: int, title: str, type_: str, detail: str, instance: str, **extra: Any) -> JSONResponse:
    body = {
        "type": f"https://baton.dev/problems/{type_}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _field_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or str(loc[0] if loc else "")


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, error: Problem) -> JSONResponse:
        return render_problem(error.status, error.title, error.type, error.detail, request.url.path, **error.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field_path(tuple(e["loc"])), "message": e["msg"]} for e in error.errors()]
        problem = InvalidInput(errors)
        return render_problem(422, problem.title, problem.type, problem.detail, request.url.path, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        try:
            title = HTTPStatus(error.status_code).phrase
        except ValueError:
            title = "HTTP error"
        type_ = "content-too-large" if error.status_code == 413 else "http-error"
        return render_problem(error.status_code, title, type_, str(error.detail), request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        # The last resort: the trace goes to the log, never to the caller.
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
        return render_problem(
            500, "Internal error", "internal-error", "an unexpected error; it has been logged", request.url.path
        )
