"""Records an order following a milestone queue (stages, invoices, a cancellation refused past its point of no return)
into tests/histories/, which tests/workflows/test_replay.py replays against today's code. Record it again with
`BATON_RECORD_HISTORIES=1 .venv/bin/python -m pytest tests/workflows/test_record_invoicing.py`."""

from __future__ import annotations

import pytest

from tests.support import CHANNEL, HO, order_body, wait_for_status
from tests.workflows.test_replay import RECORD, _save, _send


@pytest.mark.skipif(not RECORD, reason="set BATON_RECORD_HISTORIES=1 to record histories")
async def test_record_a_milestone_order(stack):
    stages = [
        {"name": "deposit", "event": "placed", "milestone": {"percent_bp": 3000}},
        {"name": "accepted", "event": "accepted", "point_of_no_return": True},
        {"name": "ready", "event": "ready", "milestone": {"percent_bp": 5000}},
    ]
    queues = {"queues": [{"name": "m", "invoicing": "milestone", "stages": stages}], "rules": [{"queue": "m"}]}
    assert (await stack.http.put("/settings/queues", json=queues, headers=HO)).status_code == 200
    number = (await stack.http.post("/orders", json=order_body(), headers=CHANNEL)).json()["order_number"]
    await wait_for_status(stack.http, number, "awaiting_acknowledgement")
    await _send(stack, number, "acknowledged")
    await wait_for_status(stack.http, number, "acknowledged")
    refused = await stack.http.post(f"/orders/{number}/cancel", json={"reason": "too late"}, headers=HO)
    assert refused.status_code == 409
    await _send(stack, number, "picked", picked={"L1": 2, "L2": 1})
    await wait_for_status(stack.http, number, "ready_for_collection")
    await _send(stack, number, "collected")
    await wait_for_status(stack.http, number, "completed")
    assert len((await stack.http.get(f"/orders/{number}/invoices", headers=HO)).json()) == 3
    await _save(stack, number, "milestone_order_invoiced_then_completed")
