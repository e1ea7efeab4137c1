"""Every error the API can meet answers problem+json: an order whose workflow task keeps failing, Temporal
refusing a call, and an unforeseen failure (the last resort: 500, no trace)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine
from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker

from api.app import create_app
from models.order import order_workflow_id
from tests.support import CHANNEL, HO, order_body, place
from workflows.client import DATA_CONVERTER


@workflow.defn(name="WedgedOrder", sandboxed=False)  # the test module imports what the sandbox refuses
class WedgedOrder:
    """Stands in for an order whose every workflow task fails (a bug, a setting it cannot digest)."""

    @workflow.run
    async def run(self) -> None:
        raise RuntimeError("this workflow task fails, every time")


@pytest.fixture
def stack_settings() -> dict[str, Any]:
    return {"update_timeout_seconds": 2.0}


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert "Traceback" not in response.text
    return body


async def test_an_action_on_an_order_whose_workflow_task_fails_answers_503_problem(stack):
    number = await place(stack.http)
    await stack.client.get_workflow_handle(order_workflow_id(number)).terminate("replaced by a wedged one")
    queue = f"wedged-{uuid.uuid4().hex[:8]}"
    async with Worker(stack.client, task_queue=queue, workflows=[WedgedOrder]):
        await stack.client.start_workflow(
            "WedgedOrder", id=order_workflow_id(number), task_queue=queue, task_timeout=timedelta(seconds=1)
        )
        response = await stack.http.post(
            f"/orders/{number}/notes", json={"text": "anyone there?"}, headers={**HO, "Idempotency-Key": "k-1"}
        )
        problem = _problem(response, 503)
        assert problem["type"].endswith("/outcome-unknown")
        assert problem["idempotency_key"] == "k-1"
        await stack.client.get_workflow_handle(order_workflow_id(number)).terminate("test finished")


async def test_temporal_refusing_a_call_answers_503_problem(stack):
    """A client on a namespace Temporal does not have: every call is refused with an RPC error."""
    target = stack.client.service_client.config.target_host
    lost = await Client.connect(target, namespace="no-such-namespace", data_converter=DATA_CONVERTER)
    app = create_app(stack.settings, temporal=lost)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://baton.test") as http:
            problem = _problem(await http.post("/orders", json=order_body(), headers=CHANNEL), 503)
            assert problem["type"].endswith("/temporal-unavailable")


async def test_an_unforeseen_failure_answers_500_problem_without_a_trace(stack, tmp_path):
    """A database without Baton's tables: the query fails in a way no route expects."""
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    create_engine(empty).connect().close()
    settings = stack.settings.model_copy(update={"database_url": empty, "database_auto_create": False})
    app = create_app(settings, temporal=stack.client)
    async with app.router.lifespan_context(app):
        # The server error middleware re-raises after answering (so servers log it); the client sees the answer.
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://baton.test") as http:
            problem = _problem(await http.get("/orders", headers=HO), 500)
            assert problem["type"].endswith("/internal-error")
            assert "sqlite" not in problem["detail"].lower() and "no such table" not in response_text(problem)


def response_text(problem: dict[str, Any]) -> str:
    return str(problem).lower()
