"""Placing orders: validation before anything starts, idempotency, credentials."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import Session, func, select

from models.db.tables import OrderPlacementRow, OrderRecordRow
from tests.support import CHANNEL, HO, JEANS, TEE, order_body


def _count_orders(stack) -> int:
    with Session(stack.engine) as session:
        return session.exec(select(func.count()).select_from(OrderRecordRow)).one()


async def _workflow_count(stack) -> int:
    """Order workflows on the test's task queue (each order also has its notifications workflow there)."""
    query = f'TaskQueue="{stack.settings.task_queue}" AND WorkflowType="Order"'
    return len([w async for w in stack.client.list_workflows(query)])


def _bad(body: dict, path: list, value) -> dict:
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: _bad(b, ["lines", 0, "sku"], "NOPE-1"), "lines[0].sku"),
        (lambda b: _bad(b, ["fulfilment", "store_id"], "S999"), "fulfilment.store_id"),
        (lambda b: _bad(b, ["fulfilment", "store_id"], "S004"), "fulfilment.store_id"),
        (lambda b: _bad(b, ["fulfilment", "store_id"], "W001"), "fulfilment.store_id"),
        (lambda b: _bad(b, ["lines", 0, "quantity"], 0), "lines[0].quantity"),
        (lambda b: _bad(b, ["lines", 1, "unit_price", "amount"], 1), "lines[1].unit_price.amount"),
        (lambda b: _bad(b, ["lines", 0, "unit_price", "currency"], "EUR"), "lines[0].unit_price.currency"),
        (lambda b: _bad(b, ["lines", 0, "unit_price", "amount"], 1.5), "lines[0].unit_price.amount"),
        (lambda b: _bad(b, ["payment", "amount", "amount"], 1), "payment.amount.amount"),
        (lambda b: _bad(b, ["channel"], "fax"), "channel"),
        (lambda b: _bad(b, ["customer", "email"], "not-an-email"), "customer.email"),
        (lambda b: _bad(b, ["fulfilment", "method"], "teleport"), "fulfilment.method"),
        (lambda b: _bad(b, ["lines"], []), "lines"),
    ],
)
async def test_place_order_rejects_bad_input_naming_the_field(stack, mutate, field):
    response = await stack.http.post("/orders", json=mutate(order_body()), headers=CHANNEL)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422
    assert field in [error["field"] for error in problem["errors"]], problem
    assert _count_orders(stack) == 0
    assert await _workflow_count(stack) == 0


async def test_place_order_rejects_malformed_json(stack):
    response = await stack.http.post(
        "/orders", content=b"{not json", headers={**CHANNEL, "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_place_order_with_same_idempotency_key_returns_same_order(stack):
    body = order_body()
    headers = {**CHANNEL, "Idempotency-Key": "web-basket-123"}
    first = await stack.http.post("/orders", json=body, headers=headers)
    second = await stack.http.post("/orders", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["order_number"] == second.json()["order_number"]
    assert second.headers["Idempotent-Replayed"] == "true"
    assert await _workflow_count(stack) == 1


async def test_place_order_concurrent_retries_with_one_key_start_one_workflow(stack):
    body = order_body()
    headers = {**CHANNEL, "Idempotency-Key": "race-key-1"}
    responses = await asyncio.gather(*(stack.http.post("/orders", json=body, headers=headers) for _ in range(5)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["order_number"] for r in responses}) == 1
    assert await _workflow_count(stack) == 1


async def test_place_order_same_key_different_body_is_refused(stack):
    headers = {**CHANNEL, "Idempotency-Key": "web-basket-456"}
    assert (await stack.http.post("/orders", json=order_body(), headers=headers)).status_code == 201
    response = await stack.http.post("/orders", json=order_body(lines=[(TEE, 1)]), headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    with Session(stack.engine) as session:
        assert (
            session.exec(
                select(func.count())
                .select_from(OrderPlacementRow)
                .where(OrderPlacementRow.idempotency_key == "web-basket-456")
            ).one()
            == 1
        )


async def test_place_order_without_credentials_is_401_and_creates_nothing(stack):
    response = await stack.http.post("/orders", json=order_body())
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    wrong = await stack.http.post("/orders", json=order_body(), headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert _count_orders(stack) == 0


async def test_place_order_with_loyalty_offer_charges_the_discounted_total(stack):
    body = order_body(lines=[(JEANS, 1)])
    body["loyalty_offers"] = [
        {"code": "SPRING10", "description": "10 off", "discount": {"amount": 1000, "currency": "GBP"}}
    ]
    body["payment"]["amount"]["amount"] = 4500 - 1000
    response = await stack.http.post("/orders", json=body, headers=CHANNEL)
    assert response.status_code == 201, response.text
    assert response.json()["total"] == {"amount": 3500, "currency": "GBP"}
    assert response.json()["loyalty_offers"][0]["code"] == "SPRING10"


async def test_get_unknown_order_is_404(stack):
    response = await stack.http.get("/orders/999999999", headers=HO)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_many_concurrent_placements_do_not_starve_the_connection_pool(stack):
    """More requests in flight than the pool has connections: none may hold one while it waits on Temporal."""
    responses = await asyncio.wait_for(
        asyncio.gather(*(stack.http.post("/orders", json=order_body(), headers=CHANNEL) for _ in range(40))),
        timeout=60,
    )
    assert [r.status_code for r in responses] == [201] * 40
    assert len({r.json()["order_number"] for r in responses}) == 40
