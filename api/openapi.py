"""The OpenAPI document, made to say what the API really answers: every error status an operation can give, as
`application/problem+json` with the Problem schema (FastAPI documents its 422 as plain JSON of another shape).

The statuses follow from each route's dependencies, so a new route is documented without a list to keep: a key
(401), a role check on it (403), a path parameter (404), a body (400, 413), any parameter or body (422), Temporal
(503), a rate limit (429), and a last-resort 500 for all. A route names any other status it answers with
`problem_responses()`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from api import deps, rate_limits
from api.problems import DESCRIPTIONS, PROBLEM_JSON, ProblemDetails
from api.schemas import ReturnWebhookEvent, StoreWebhookEvent

PROBLEM_REF = {"$ref": "#/components/schemas/ProblemDetails"}


def _calls(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _calls(sub)


def _api_routes(routes: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    """Every API route, inside included routers too (FastAPI keeps those as routers, not flat routes)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif (included := getattr(route, "original_router", None)) is not None:
            yield from _api_routes(included.routes)


def _statuses(route: APIRoute) -> set[int]:
    statuses = {500}
    dependants = list(_calls(route.dependant))
    calls: list[Callable[..., Any] | None] = [d.call for d in dependants]
    if deps.caller_dependency in calls:
        statuses.add(401)
    # A role check: a dependency, other than the key lookup itself, that takes the key holder.
    if any(d.call is not deps.caller_dependency and any(s.call is deps.caller_dependency for s in d.dependencies)
           for d in dependants):  # fmt: skip
        statuses.add(403)
    params = [p for d in [route.dependant, *dependants] for p in (*d.path_params, *d.query_params, *d.header_params)]
    if any(p for d in [route.dependant, *dependants] for p in d.path_params):
        statuses.add(404)
    if route.body_field is not None or route.openapi_extra and "requestBody" in route.openapi_extra:
        statuses |= {400, 413, 422}  # 400: a body that is not even text (FastAPI cannot decode it)
    if params:
        statuses.add(422)
    if deps.temporal_dependency in calls:
        statuses.add(503)
    if any(call in rate_limits.LIMITS for call in calls):
        statuses.add(429)
    return statuses


def _document(operation: dict[str, Any], statuses: set[int]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status in statuses | {int(s) for s in responses if s.isdigit() and int(s) >= 400}:
        answer = responses.setdefault(str(status), {"description": DESCRIPTIONS.get(status, "Error")})
        answer["content"] = {PROBLEM_JSON: {"schema": PROBLEM_REF}}


def install_openapi(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = generate()
        schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
        problem = ProblemDetails.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(problem.pop("$defs", {}))
        schemas["ProblemDetails"] = problem
        # The store webhooks read their bodies themselves (the signature covers the raw bytes): their schemas join here.
        for body in (StoreWebhookEvent, ReturnWebhookEvent):
            event = body.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(event.pop("$defs", {}))
            schemas[body.__name__] = event
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        routes = {route.unique_id: route for route in _api_routes(app.routes)}
        for item in document["paths"].values():
            for operation in item.values():
                if (route := routes.get(operation.get("operationId", ""))) is not None:
                    _document(operation, _statuses(route))
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
