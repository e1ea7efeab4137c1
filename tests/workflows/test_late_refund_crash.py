"""A worker killed with SIGKILL while a refund after its order closed is at the gateway, then started again: the
Refund workflow pays it once (the gateway's books show one refund) and the payments ledger records it once.

The worker is the real entry point run as a subprocess (tests/workflows/test_worker_crash.py's WorkerProcesses);
the API runs in-process."""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine
from sqlmodel import Session, select

from models.db.tables import GatewayTestOperationRow, OrderEventRow, PaymentTransactionRow
from models.late_refunds import LateRefundOutcome, refund_workflow_id
from models.order import order_workflow_id
from tests.conftest import Stack
from tests.support import CHANNEL, HO, collect, eventually, make_ready, order_body
from tests.workflows.test_worker_crash import (  # noqa: F401  (api and workers are fixtures)
    LINES,
    RECOVERY_TIMEOUT,
    STORE,
    WorkerProcesses,
    api,
    workers,
)


def _refunds(engine: Engine, order_number: str) -> tuple[list[tuple[str, int, int]], list[tuple[str, str, int, int]]]:
    """Refunds on the gateway's books (outcome, amount, calls) and in Baton's ledger (id, status, amount, attempt)."""
    with Session(engine) as session:
        booked = session.exec(
            select(GatewayTestOperationRow).where(
                GatewayTestOperationRow.order_number == order_number, GatewayTestOperationRow.kind == "refund"
            )
        ).all()
        ledger = session.exec(
            select(PaymentTransactionRow).where(
                PaymentTransactionRow.order_number == order_number, PaymentTransactionRow.kind == "refund"
            )
        ).all()
        return (
            sorted((r.outcome, r.amount, r.calls) for r in booked),
            sorted((r.transaction_id, r.status, r.amount, r.attempts) for r in ledger),
        )


async def test_worker_killed_while_a_late_refund_is_at_the_gateway_pays_it_once(
    api: Stack,  # noqa: F811
    db: Engine,
    workers: WorkerProcesses,  # noqa: F811
):
    http = api.http
    # tok_slow: the gateway books each operation, then answers 3 s later — the window in which the worker dies. A
    # gateway call is retried after 5 s (the payment policy's gateway_timeout), with the same key. The order closes
    # a second after it completes.
    policy = (await http.get("/settings/payments", headers=HO)).json()
    assert (await http.put("/settings/payments", json={**policy, "gateway_timeout": "PT5S"}, headers=HO)).is_success
    sla = (await http.get("/settings/sla", headers=HO)).json()
    assert (await http.put("/settings/sla", json={**sla, "close_after": "PT1S"}, headers=HO)).is_success
    body = order_body(STORE, lines=LINES)
    body["payment"] = {
        "mode": "auth_capture",
        "method": "card",
        "token": "tok_slow",
        "amount": body["payment"]["amount"],
    }
    response = await http.post("/orders", json=body, headers=CHANNEL)
    assert response.status_code == 201, response.text
    number = response.json()["order_number"]

    slow = {"BATON_TEST_GATEWAY_SLOW_SECONDS": "3"}
    first = workers.start(**slow)
    refund = {"amount": {"amount": 1500, "currency": "GBP"}, "reason": "goodwill after collection"}
    headers = {**HO, "Idempotency-Key": "late-crash"}
    try:
        await make_ready(http, number, STORE)
        await collect(http, number, STORE)
        await asyncio.wait_for(api.client.get_workflow_handle(order_workflow_id(number)).result(), RECOVERY_TIMEOUT)

        asked = asyncio.create_task(http.post(f"/orders/{number}/refunds", json=refund, headers=headers))

        async def refunded_at_gateway() -> bool:
            return _refunds(db, number)[0] == [("approved", 1500, 1)]

        await eventually(refunded_at_gateway, timeout=30, interval=0.02)
        workers.kill(first)  # the money went back; the worker never heard the answer
        assert _refunds(db, number)[1] == []  # Baton's ledger has not recorded it yet
        first_answer = await asked
        assert first_answer.status_code in (200, 503), first_answer.text  # 503: outcome unknown, ask again

        second = workers.start(**slow)
        refund_id = refund_workflow_id(number, "late-crash")
        handle = api.client.get_workflow_handle(refund_id, result_type=LateRefundOutcome)
        outcome = await asyncio.wait_for(handle.result(), RECOVERY_TIMEOUT)
        again = await http.post(f"/orders/{number}/refunds", json=refund, headers=headers)  # asked again: same refund
        assert again.status_code == 200, again.text
    except AssertionError as error:
        raise AssertionError(f"{error}\n{workers.logs()}") from error

    assert outcome.refunded == 1500
    booked, ledger = _refunds(db, number)
    assert booked == [("approved", 1500, 1)]  # refunded once at the gateway
    assert ledger == [(f"{refund_id}:refund:1", "approved", 1500, 2)]  # recorded once, by the retry
    view = again.json()
    assert [(r["status"], r["amount"]["amount"]) for r in view["refunds"]] == [("refunded", 1500)]
    assert view["refunded"]["amount"] == 1500
    with Session(db) as session:
        events = session.exec(select(OrderEventRow).where(OrderEventRow.order_number == number)).all()
    assert [e.type for e in events].count("refunded") == 1
    workers.kill(second)
