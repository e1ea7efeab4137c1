"""The OpenAPI document tells the truth about errors: every error answer is problem+json with the ProblemDetails
schema, each operation lists the statuses its dependencies can give, and every reference resolves."""

from __future__ import annotations

import json
import re
from typing import Any

from api.app import create_app
from models.settings import Settings


def _document() -> dict[str, Any]:
    return create_app(Settings(api_keys={}), temporal=object()).openapi()  # type: ignore[arg-type]


def _operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{m.upper()} {p}": op for p, item in document["paths"].items() for m, op in item.items()}


def test_every_error_answer_is_documented_as_problem_json() -> None:
    document = _document()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for name, operation in _operations(document).items():
        for status, answer in operation["responses"].items():
            if int(status) >= 400:
                assert answer["content"] == {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}
                }, f"{name} {status}"


def test_each_operation_lists_what_it_can_answer() -> None:
    operations = _operations(_document())

    def statuses(name: str) -> set[str]:
        return {s for s in operations[name]["responses"] if int(s) >= 400}

    assert statuses("POST /orders/{order_number}/cancel") >= {"401", "403", "404", "409", "413", "422", "503"}
    assert statuses("POST /orders") >= {"401", "403", "413", "422", "503"}
    assert statuses("GET /orders") >= {"401", "422"} and "403" not in statuses("GET /orders")
    assert statuses("PUT /settings/sla") >= {"401", "403", "413", "422"} and "503" not in statuses("PUT /settings/sla")
    assert statuses("POST /webhooks/stores/{store_id}") >= {"401", "404", "409", "413", "422", "503"}
    assert statuses("GET /health/live") == {"500"}


def test_every_reference_resolves() -> None:
    document = _document()
    text = json.dumps(document)
    for ref in set(re.findall(r'"\$ref": "([^"]+)"', text)):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.rsplit("/", 1)[-1] in document["components"]["schemas"], ref
