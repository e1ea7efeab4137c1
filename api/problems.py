"""RFC 9457 problem+json: one error type per HTTP answer, and the handlers that render them."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.exceptions import TemporalError
from temporalio.service import RPCError

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

    @app.exception_handler(RPCError)
    @app.exception_handler(TemporalError)
    async def _temporal(request: Request, error: Exception) -> JSONResponse:
        # Whatever Temporal said that the route did not expect: the order service is not usable just now.
        log.warning("Temporal error on %s %s: %r", request.method, request.url.path, error)
        status = error.status.name if isinstance(error, RPCError) else type(error).__name__
        return render_problem(
            503,
            "Service unavailable",
            "temporal-unavailable",
            f"Temporal could not serve this ({status}); try again",
            request.url.path,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        # The last resort: the trace goes to the log, never to the caller.
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
        return render_problem(
            500, "Internal error", "internal-error", "an unexpected error; it has been logged", request.url.path
        )


class ProblemDetails(BaseModel):
    """An RFC 9457 problem, as every error answer carries it; some add fields (`errors`, `rule`, `limit`...)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["https://baton.dev/problems/invalid-input"])
    title: str
    status: int
    detail: str
    instance: str
    errors: list[FieldProblem] | None = Field(default=None, description="422: each refused field and why")
    rule: str | None = Field(default=None, description="409: the rule that refused the action")


class FieldProblem(BaseModel):
    field: str = Field(description="Where in the request: a body path (customer.name, lines[0].sku) or a parameter")
    message: str


ProblemDetails.model_rebuild()

DESCRIPTIONS = {
    400: "Bad request",
    401: "No, unknown or invalid credentials",
    403: "The credentials do not allow this",
    404: "Not found (or not visible to this caller)",
    409: "Refused by a rule (`rule` names it); nothing changed",
    413: "The request body is larger than the limit",
    422: "Invalid input (`errors` name the fields); nothing changed",
    429: "Too many requests: wait for Retry-After",
    500: "An unexpected error (logged; no detail is given)",
    503: "A dependency (Temporal, the database) did not answer: try again",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route that answers these statuses besides the ones api/openapi.py works out."""
    return {status: {"description": DESCRIPTIONS[status], "content": {PROBLEM_JSON: {}}} for status in statuses}
