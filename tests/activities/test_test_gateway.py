"""The test gateway through the call_gateway activity: every token path, retries by Temporal, idempotency, and
the gateway's refusals. Worker paths run a real worker on the dev server; the rest use ActivityEnvironment."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

from activities.gateways import CardToken, GatewayErrorType, TestGateway
from activities.payments import PaymentActivities
from models.payments import GatewayOperationKind as Kind
from models.payments import GatewayRequest, GatewayResult
from tests.activities.gateway_support import (
    GatewayCallOutcome,
    GatewayCalls,
    GatewayCallsWorkflow,
    gateway_books,
    gateway_request,
    ledger,
    new_order_number,
)


@asynccontextmanager
async def _worker(env: WorkflowEnvironment, engine, slow_seconds: float = 0.0) -> AsyncIterator[str]:
    task_queue = f"gateway-{uuid.uuid4().hex[:8]}"
    payments = PaymentActivities(engine, {"test": TestGateway(engine, slow_seconds=slow_seconds)})
    async with Worker(
        env.client, task_queue=task_queue, workflows=[GatewayCallsWorkflow], activities=[payments.call_gateway]
    ):
        yield task_queue


async def _call(
    env: WorkflowEnvironment, task_queue: str, request: GatewayRequest, start_to_close_seconds: float = 10.0
) -> GatewayCallOutcome:
    [outcome] = await env.client.execute_workflow(
        GatewayCallsWorkflow.run,
        GatewayCalls(requests=[request], start_to_close_seconds=start_to_close_seconds),
        id=f"gateway-calls-{uuid.uuid4().hex[:8]}",
        task_queue=task_queue,
    )
    return outcome


def _activity(engine) -> PaymentActivities:
    return PaymentActivities(engine, {"test": TestGateway(engine, slow_seconds=0)})


async def _run(payments: PaymentActivities, request: GatewayRequest) -> GatewayResult:
    return await ActivityEnvironment().run(payments.call_gateway, request)


async def test_approved_authorise_capture_and_refund_are_recorded_with_references(dev_env, db):
    order = new_order_number()
    async with _worker(dev_env, db) as queue:
        auth = (await _call(dev_env, queue, gateway_request(order, Kind.authorise, 5000))).result
        capture = (
            await _call(dev_env, queue, gateway_request(order, Kind.capture, 3000, reference=auth.reference))
        ).result
        refund = (
            await _call(dev_env, queue, gateway_request(order, Kind.refund, 1000, reference=capture.reference))
        ).result
    assert auth.approved and capture.approved and refund.approved
    assert auth.expires_at is not None and auth.expires_at > auth.at
    assert len({auth.reference, capture.reference, refund.reference}) == 3
    rows = ledger(db, order)
    assert {(r.kind, r.status, r.amount, r.currency, r.gateway) for r in rows.values()} == {
        ("authorise", "approved", 5000, "GBP", "test"),
        ("capture", "approved", 3000, "GBP", "test"),
        ("refund", "approved", 1000, "GBP", "test"),
    }
    assert rows[capture.operation_id].gateway_reference == capture.reference
    assert rows[capture.operation_id].request_reference == auth.reference
    assert all(r.attempts == 1 for r in rows.values())


async def test_declined_card_is_a_result_and_not_retried(dev_env, db):
    order = new_order_number()
    async with _worker(dev_env, db) as queue:
        outcome = await _call(dev_env, queue, gateway_request(order, Kind.authorise, 2500, token=CardToken.decline))
    assert outcome.result is not None and not outcome.result.approved
    assert outcome.result.detail == "card declined"
    assert outcome.result.reference == ""
    [row] = ledger(db, order).values()
    assert (row.status, row.detail, row.attempts) == ("declined", "card declined", 1)
    [booked] = gateway_books(db, order)
    assert booked.calls == 1


async def test_error_then_approve_is_retried_by_temporal_and_recorded_once(dev_env, db):
    order = new_order_number()
    token = CardToken.error_then_approve
    async with _worker(dev_env, db) as queue:
        auth = (await _call(dev_env, queue, gateway_request(order, Kind.authorise, 4000, token=token))).result
        capture = (
            await _call(dev_env, queue, gateway_request(order, Kind.capture, 4000, reference=auth.reference))
        ).result
    assert auth.approved and capture.approved
    rows = ledger(db, order)
    assert len(rows) == 2
    # The first attempt of each failed at the gateway (capture follows the authorisation's token); the retry won.
    assert [(r.kind, r.status, r.attempts) for r in sorted(rows.values(), key=lambda r: r.created_at)] == [
        ("authorise", "approved", 2),
        ("capture", "approved", 2),
    ]
    books = gateway_books(db, order)
    assert sorted((b.kind, b.outcome, b.calls) for b in books) == [
        ("authorise", "approved", 2),
        ("capture", "approved", 2),
    ]


async def test_slow_gateway_that_committed_before_the_attempt_was_lost_captures_once(dev_env, db):
    """The gateway books the capture, then the activity attempt times out (as if its worker died): the retry gets
    the original answer, and the gateway holds one capture."""
    order = new_order_number()
    async with _worker(dev_env, db, slow_seconds=3.0) as queue:
        auth = (
            await _call(dev_env, queue, gateway_request(order, Kind.authorise, 1800, token=CardToken.slow), 1.0)
        ).result
        capture = (
            await _call(dev_env, queue, gateway_request(order, Kind.capture, 1800, reference=auth.reference), 1.0)
        ).result
    assert auth.approved and capture.approved
    captures = [b for b in gateway_books(db, order) if b.kind == "capture"]
    assert [(c.outcome, c.calls, c.reference) for c in captures] == [("approved", 1, capture.reference)]
    row = ledger(db, order)[capture.operation_id]
    assert (row.status, row.attempts) == ("approved", 2)  # recorded by the retry; the lost attempt never was


async def test_same_operation_twice_and_concurrently_moves_money_once(db):
    payments = _activity(db)
    order = new_order_number()
    auth = await _run(payments, gateway_request(order, Kind.authorise, 9000))
    capture = gateway_request(order, Kind.capture, 9000, reference=auth.reference)
    results = await asyncio.gather(*(_run(payments, capture) for _ in range(5)))
    again = await _run(payments, capture)
    assert {r.reference for r in [*results, again]} == {results[0].reference}
    assert all(r.approved for r in results)
    captures = [b for b in gateway_books(db, order) if b.kind == "capture"]
    assert len(captures) == 1 and captures[0].calls == 1
    assert [r.kind for r in ledger(db, order).values()].count("capture") == 1


async def test_capture_declined_token_authorises_but_declines_captures(db):
    payments = _activity(db)
    order = new_order_number()
    auth = await _run(payments, gateway_request(order, Kind.authorise, 3000, token=CardToken.capture_declined))
    capture = await _run(payments, gateway_request(order, Kind.capture, 3000, reference=auth.reference))
    assert auth.approved
    assert not capture.approved and capture.detail == "capture declined"
    assert ledger(db, order)[capture.operation_id].status == "declined"


async def test_gateway_refuses_capturing_more_than_authorised_and_refunding_more_than_captured(db):
    payments = _activity(db)
    order = new_order_number()
    auth = await _run(payments, gateway_request(order, Kind.authorise, 3000))
    first = await _run(payments, gateway_request(order, Kind.capture, 2000, reference=auth.reference))
    too_much = await _run(payments, gateway_request(order, Kind.capture, 1500, sequence=2, reference=auth.reference))
    refund = await _run(payments, gateway_request(order, Kind.refund, 2500, reference=first.reference))
    assert first.approved
    assert not too_much.approved
    assert too_much.detail == "capture of 15.00 GBP exceeds the 10.00 GBP still authorised"
    assert not refund.approved
    assert refund.detail == "refund of 25.00 GBP exceeds the 20.00 GBP not yet refunded"


async def test_gateway_refuses_capturing_a_voided_authorisation_and_voiding_a_captured_one(db):
    payments = _activity(db)
    order = new_order_number()
    voided = await _run(payments, gateway_request(order, Kind.authorise, 1000))
    void = await _run(payments, gateway_request(order, Kind.void, 1000, reference=voided.reference))
    late = await _run(payments, gateway_request(order, Kind.capture, 1000, reference=voided.reference))
    captured = await _run(payments, gateway_request(order, Kind.authorise, 1000, sequence=2))
    await _run(payments, gateway_request(order, Kind.capture, 1000, sequence=2, reference=captured.reference))
    void_after = await _run(payments, gateway_request(order, Kind.void, 1000, sequence=2, reference=captured.reference))
    assert void.approved
    assert not late.approved and late.detail == f"authorisation {voided.reference} was voided"
    assert not void_after.approved and void_after.detail == f"authorisation {captured.reference} is fully captured"


async def test_stored_value_methods_approve_without_a_token(db):
    payments = _activity(db)
    order = new_order_number()
    for sequence, method in enumerate(("gift_card", "wallet"), start=1):
        result = await _run(payments, gateway_request(order, Kind.sale, 1234, sequence=sequence, method=method))
        assert result.approved and result.amount.amount == 1234


async def test_unknown_gateway_and_unknown_reference_fail_without_retries(dev_env, db):
    order = new_order_number()
    async with _worker(dev_env, db) as queue:
        unknown_gateway = await _call(dev_env, queue, gateway_request(order, Kind.sale, 500, gateway="paypal"))
        unknown_reference = await _call(dev_env, queue, gateway_request(order, Kind.capture, 500, reference="tg_nope"))
    assert unknown_gateway.error_type == GatewayErrorType.misconfigured
    assert unknown_reference.error_type == GatewayErrorType.invalid_request
    rows = ledger(db, order)
    assert sorted((r.kind, r.status, r.attempts) for r in rows.values()) == [
        ("capture", "error", 1),
        ("sale", "error", 1),
    ]
    assert gateway_books(db, order) == []
