"""Orders that bad data cannot wedge: a change the database refuses raises a projection_failed alert and the order
goes on answering Head Office; an SLA duration already stored too long for a datetime is clamped, not raised."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select
from temporalio.client import WorkflowExecutionStatus

import activities.placement
from models.db.policies import SLA_SETTING_KEY
from models.db.tables import LocationRow, SettingRow, StockReservationRow
from models.order import OrderState, order_workflow_id
from models.sla import CLOCKS
from models.views import OrderView
from tests.support import CHANNEL, HO, act, eventually, order_body, store_says, wait_for_status
from workflows.order import OrderWorkflow


def _largest_version(stack: Any) -> int:
    """The largest value the read model's integer `version` column holds: one more overflows it."""
    return 2**31 - 1 if stack.engine.dialect.name == "postgresql" else 2**63 - 1


async def test_a_change_the_database_refuses_raises_an_alert_and_the_order_goes_on(stack, monkeypatch):
    """A real refusal, not a simulated one: the order's first state (as the API stores it) carries the largest
    version the read model can hold, so the workflow's first change writes one past it and the database refuses
    it (OverflowError on SQLite, DataError on PostgreSQL) on every attempt."""
    placed = activities.placement.new_order

    def at_the_edge(*args: Any, **kwargs: Any) -> OrderState:
        state = placed(*args, **kwargs)
        state.version = _largest_version(stack)
        return state

    monkeypatch.setattr(activities.placement, "new_order", at_the_edge)  # where POST /orders places it
    response = await stack.http.post("/orders", json=order_body(), headers=CHANNEL)
    assert response.status_code == 201, response.text
    number = response.json()["order_number"]
    handle = stack.client.get_workflow_handle(order_workflow_id(number))

    async def alerted() -> OrderView | None:
        view = await handle.query(OrderWorkflow.view)
        return view if any(a.type == "projection_failed" and a.is_open for a in view.alerts) else None

    view = await eventually(alerted, timeout=30)
    (alert,) = [a for a in view.alerts if a.type == "projection_failed"]
    assert ("DataError" if stack.engine.dialect.name == "postgresql" else "OverflowError") in alert.detail

    # Later actions are answered (not 503): the workflow's lock is free and nothing is stuck retrying.
    await act(stack.http, number, "notes", {"text": "still here"})
    await act(stack.http, number, "notes", {"text": "and again"})
    view = await handle.query(OrderWorkflow.view)
    assert [n.text for n in view.notes][-2:] == ["still here", "and again"]
    # One alert however often the write is refused, and the order still runs.
    assert [a.type for a in view.alerts if a.is_open].count("projection_failed") == 1
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    # The refused change was not half-written: the order's stock was not reserved without its projection.
    with Session(stack.engine) as session:
        assert not session.exec(select(StockReservationRow).where(StockReservationRow.order_number == number)).all()
    assert (await stack.http.get(f"/orders/{number}", headers=HO)).status_code == 200


async def test_an_sla_duration_stored_too_long_for_a_datetime_does_not_stop_the_order(stack):
    """P999999999D, the longest timedelta there is, stored as the global SLA and as the store's overrides (as an
    older API let it through): every deadline the order computes from it would overflow. The order is placed,
    sent to its store, acknowledged and still answers Head Office, with no SLA alert raised early."""
    forever = "P999999999D"
    with Session(stack.engine) as session:
        # Written as the row an older API stored: the API refuses P999999999D now (tests/api/test_bounds.py).
        session.merge(SettingRow(key=SLA_SETTING_KEY, value={field: forever for field in CLOCKS}))
        store = session.get(LocationRow, "S001")
        assert store is not None
        store.sla_overrides = {"not_acknowledged": forever, "not_picked": forever, "collection_expiry": forever}
        session.add(store)
        session.commit()
    response = await stack.http.post("/orders", json=order_body(), headers=CHANNEL)
    assert response.status_code == 201, response.text
    number = response.json()["order_number"]
    await wait_for_status(stack.http, number, "awaiting_acknowledgement")
    await store_says(stack.http, number, "acknowledged")
    view = await wait_for_status(stack.http, number, "acknowledged")
    assert (await act(stack.http, number, "notes", {"text": "answered"}))["notes"][-1]["text"] == "answered"
    assert not [a for a in view["alerts"] if a["cleared_at"] is None]
    handle = stack.client.get_workflow_handle(order_workflow_id(number))
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
