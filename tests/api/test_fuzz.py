"""Schemathesis over every operation of the OpenAPI document, against the real app (served by uvicorn on a
loopback port, with a real worker, Temporal and database), for a Head Office, a channel, a store key and none:
no 500, every answer's status, content type and body as the document says. Fixed seed, bounded examples
(BATON_FUZZ_EXAMPLES, 8 by default, raises them)."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from typing import Any

import hypothesis
import pytest
import pytest_asyncio
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given
from schemathesis import GenerationMode, checks
from schemathesis.openapi import from_dict

from api.app import create_app
from tests.support import CHANNEL, HO, STORE_S001

EXAMPLES = int(os.environ.get("BATON_FUZZ_EXAMPLES", "8"))
CALLERS = {"head_office": HO, "channel": CHANNEL, "store": STORE_S001, "no_key": {}}
CHECKS = [
    checks.not_a_server_error,
    checks.response_schema_conformance,
    checks.status_code_conformance,
    checks.content_type_conformance,
]


@pytest.fixture
def stack_settings() -> dict[str, Any]:
    return {"update_timeout_seconds": 2.0}  # an action on a fuzzed order answers 503 soon rather than late


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest_asyncio.fixture
async def live_api(stack) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """The app of this test's own stack, on a loopback port (schemathesis calls it from a thread)."""
    app = create_app(stack.settings, temporal=stack.client)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", app.openapi()
    finally:
        server.should_exit = True
        await serving


def _fuzz(base_url: str, document: dict[str, Any], headers: dict[str, str]) -> list[str]:
    """Every operation, EXAMPLES cases each; the failures found, one line per operation."""
    schema = from_dict(document)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @hypothesis.settings(
            max_examples=EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        # Valid requests and invalid ones (which must be refused with a documented problem, never a 500).
        @given(case=operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(GenerationMode.NEGATIVE))
        def check(case: schemathesis.Case) -> None:
            response = case.call(base_url=base_url, headers=headers, timeout=30)
            case.validate_response(response, checks=CHECKS)

        try:
            check()
        except (Exception, BaseExceptionGroup) as error:  # every operation's failures, not only the first's
            failures.append(f"{operation.label}: {str(error)[:1500]}")
    return failures


@pytest.mark.parametrize("caller", list(CALLERS))
async def test_the_api_meets_its_openapi_document(live_api, caller):
    base_url, document = live_api
    assert len(document["paths"]) > 30  # every operation, not a handful
    failures = await asyncio.to_thread(_fuzz, base_url, document, CALLERS[caller])
    assert failures == [], "\n\n".join(failures)
