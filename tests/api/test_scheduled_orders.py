"""Scheduled orders (`fulfil_on`), on the real stack with time skipping: nothing is reserved or sent to any location
before the date, and on the date the order goes out as one placed that day would (a home delivery sourced again
against that day's stock); Head Office moves the date and the order starts on the new one; a cancellation before the
date reserves and sends nothing and voids the card's authorisation."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, col, select, update
from temporalio.api.enums.v1 import EventType
from temporalio.worker import Replayer

from models.db.dashboard import DashboardFilter, dashboard_rows
from models.db.tables import StockLevelRow, StoreMessageRow
from models.order import order_workflow_id
from tests.api.test_deliveries import TOTAL, home_delivery
from tests.support import (
    CHANNEL,
    HO,
    HO_KEY,
    JEANS,
    TEE,
    act,
    eventually,
    gateway_operations,
    order_body,
    place,
    ui_sign_in,
)
from workflows.client import DATA_CONVERTER
from workflows.order import OrderWorkflow

SCHEDULED = "awaiting_release"
HISTORIES = Path(__file__).resolve().parent.parent / "histories"


async def _reserved(stack, sku: str, location: str) -> int:
    holding = (await stack.http.get(f"/stock/{sku}")).json()
    return next(loc["reserved"] for loc in holding["locations"] if loc["location_id"] == location)


def _store_messages(stack, number: str) -> list[tuple[str, str]]:
    with Session(stack.engine) as session:
        rows = session.exec(select(StoreMessageRow).where(col(StoreMessageRow.order_number) == number))
        return [(row.store_id, row.type) for row in rows]


def _scheduled_on_dashboard(stack) -> dict[str, datetime | None]:
    with Session(stack.engine) as session:
        rows, _total = dashboard_rows(session, DashboardFilter(scheduled=True))
        return {row.order_number: row.fulfil_on for row in rows}


async def _view(stack, number: str) -> dict:
    return (await stack.http.get(f"/orders/{number}", headers=HO)).json()


async def _status(stack, number: str, status: str) -> dict:
    async def reached() -> dict | None:
        view = await _view(stack, number)
        return view if view["status"] == status else None

    return await eventually(reached)


def _scheduled_body(fulfil_on: str, store_id: str = "S001") -> dict:
    payment = {"mode": "authorise", "method": "card", "token": "tok_approve"}
    body = order_body(store_id, fulfil_on=fulfil_on)
    body["payment"] = {**payment, "amount": body["payment"]["amount"]}
    return body


async def test_a_scheduled_collection_waits_for_its_date_then_is_reserved_and_sent(skipping_stack):
    stack = skipping_stack
    before = await _reserved(stack, TEE, "S001")
    fulfil_on = datetime.now(UTC) + timedelta(days=3)
    number = await place(stack.http, _scheduled_body(fulfil_on.isoformat()), status=SCHEDULED)

    view = await eventually(lambda: _authorised(stack, number))
    assert datetime.fromisoformat(view["fulfil_on"]) == fulfil_on
    assert view["history"][-1]["action"] == "scheduled"
    assert await _reserved(stack, TEE, "S001") == before  # nothing reserved
    assert _store_messages(stack, number) == []  # nothing sent to the store
    assert _scheduled_on_dashboard(stack) == {number: fulfil_on}

    await stack.env.sleep(timedelta(days=2, hours=23))
    assert (await _view(stack, number))["status"] == SCHEDULED
    assert await _reserved(stack, TEE, "S001") == before
    assert _store_messages(stack, number) == []

    await stack.env.sleep(timedelta(hours=1, minutes=1))
    view = await _status(stack, number, "awaiting_acknowledgement")
    assert await _reserved(stack, TEE, "S001") == before + 2
    assert _store_messages(stack, number) == [("S001", "order_created")]
    assert _scheduled_on_dashboard(stack) == {}  # started: no longer scheduled
    assert datetime.fromisoformat(view["fulfil_on"]) == fulfil_on  # the order still says when it was for


async def _authorised(stack, number: str) -> dict | None:
    view = await _view(stack, number)
    return view if view["payments"][0]["status"] == "authorised" and view["status"] == SCHEDULED else None


async def test_head_office_moves_the_date_and_the_order_starts_on_the_new_one(skipping_stack):
    stack = skipping_stack
    before = await _reserved(stack, TEE, "S001")
    first = datetime.now(UTC) + timedelta(days=2)
    number = await place(stack.http, _scheduled_body(first.date().isoformat()), status=SCHEDULED)
    placed = await eventually(lambda: _authorised(stack, number))
    midnight = datetime.combine(first.date(), datetime.min.time(), UTC)
    assert datetime.fromisoformat(placed["fulfil_on"]) == midnight  # a date alone: 00:00 UTC that day

    past = await stack.http.post(
        f"/orders/{number}/reschedule", json={"fulfil_on": "2020-01-01", "reason": "typo"}, headers=HO
    )
    assert past.status_code == 422 and past.json()["errors"][0]["field"] == "fulfil_on", past.text
    later = midnight + timedelta(days=3)
    moved = await act(stack.http, number, "reschedule", {"fulfil_on": later.isoformat(), "reason": "customer away"})
    assert datetime.fromisoformat(moved["fulfil_on"]) == later
    assert moved["history"][-1]["action"] == "rescheduled"
    assert _scheduled_on_dashboard(stack) == {number: later}

    await stack.env.sleep(midnight + timedelta(days=1) - datetime.now(UTC))  # a day past the first date
    assert (await _view(stack, number))["status"] == SCHEDULED
    assert await _reserved(stack, TEE, "S001") == before and _store_messages(stack, number) == []

    await stack.env.sleep(timedelta(days=2, minutes=1))  # past the new date
    await _status(stack, number, "awaiting_acknowledgement")
    assert await _reserved(stack, TEE, "S001") == before + 2
    assert _store_messages(stack, number) == [("S001", "order_created")]
    refused = await stack.http.post(
        f"/orders/{number}/reschedule", json={"fulfil_on": later.isoformat(), "reason": "again"}, headers=HO
    )
    assert refused.status_code == 409 and refused.json()["rule"] == "schedule_started", refused.text


async def test_cancelled_before_its_date_nothing_is_reserved_or_sent_and_the_authorisation_is_voided(skipping_stack):
    stack = skipping_stack
    before = await _reserved(stack, TEE, "S001")
    number = await place(
        stack.http, _scheduled_body((datetime.now(UTC) + timedelta(days=2)).isoformat()), status=SCHEDULED
    )
    await eventually(lambda: _authorised(stack, number))
    await act(stack.http, number, "cancel", {"reason": "customer changed their mind"})

    async def voided() -> bool:
        return gateway_operations(stack.engine, number)[-1][0] == "void"

    await eventually(voided)
    await stack.env.sleep(timedelta(days=2, minutes=1))
    view = await _view(stack, number)
    assert view["status"] == "cancelled" and view["payments"][0]["status"] == "voided"
    assert await _reserved(stack, TEE, "S001") == before
    assert _store_messages(stack, number) == []
    assert _scheduled_on_dashboard(stack) == {}


async def test_a_scheduled_home_delivery_is_sourced_again_on_its_date(skipping_stack):
    stack = skipping_stack
    body = home_delivery()
    body["fulfil_on"] = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    number = await place(stack.http, body, status=SCHEDULED)
    view = await eventually(lambda: _authorised(stack, number))
    assert (view["deliveries"][0]["location_id"], view["dispatch_location"]) == ("W001", "W001")  # for now
    with Session(stack.engine) as session:  # the warehouse sells out before the date
        session.exec(
            update(StockLevelRow)
            .where(col(StockLevelRow.location_id) == "W001", col(StockLevelRow.sku).in_([TEE, JEANS]))
            .values(on_hand=StockLevelRow.reserved)
        )
        session.commit()

    await stack.env.sleep(timedelta(days=1, minutes=1))
    view = await _status(stack, number, "awaiting_dispatch")
    location = view["deliveries"][0]["location_id"]
    assert location != "W001" and view["dispatch_location"] == view["store_id"] == location
    assert any(h["action"] == "sourced_on_the_day" and "W001 →" in h["detail"] for h in view["history"])
    assert await _reserved(stack, TEE, location) >= 2
    assert _store_messages(stack, number) == [(location, "delivery_created")]
    assert gateway_operations(stack.engine, number)[0] == ("authorise", "approved", TOTAL)
    await _replays(stack, number, "scheduled_home_delivery_sourced_on_its_date")


async def _replays(stack, number: str, name: str) -> None:
    """The order's history (sourced on its date, behind its patch) replays against the workflow code; with
    BATON_RECORD_HISTORIES=1 it is kept in tests/histories/ for tests/workflows/test_replay.py."""
    handle = stack.client.get_workflow_handle(order_workflow_id(number))
    for _ in range(100):
        history = await handle.fetch_history()
        if history.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            break
        await asyncio.sleep(0.1)
    assert any(e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED for e in history.events)  # the patch
    await Replayer(workflows=[OrderWorkflow], data_converter=DATA_CONVERTER).replay_workflow(history)
    if os.environ.get("BATON_RECORD_HISTORIES") == "1":
        (HISTORIES / f"{name}.json").write_text(history.to_json())


async def test_fulfil_on_is_checked_at_placement(stack):
    now = datetime.now(UTC)
    cases = [
        (_scheduled_body((now - timedelta(hours=1)).isoformat()), "fulfil_on", "not in the future"),
        (_scheduled_body((now + timedelta(days=91)).date().isoformat()), "fulfil_on", "more than 90 days ahead"),
        (_scheduled_body("2026-13-01"), "fulfil_on", ""),
        (_scheduled_body((now + timedelta(days=1)).isoformat()) | {"release_at": now.isoformat()}, "fulfil_on", ""),
    ]
    for body, field, message in cases:
        response = await stack.http.post("/orders", json=body, headers=CHANNEL)
        assert response.status_code == 422, response.text
        errors = response.json()["errors"]
        assert errors[0]["field"] == field and message in errors[0]["message"], errors
    till = order_body(fulfil_on=(now + timedelta(days=1)).isoformat(), channel="store")
    till["fulfilment"] = {"method": "direct_sale", "store_id": "S001"}
    response = await stack.http.post("/orders", json=till, headers=CHANNEL)
    assert response.status_code == 422 and "direct sale" in response.json()["errors"][0]["message"], response.text
    unscheduled = await place(stack.http, order_body())
    refused = await stack.http.post(
        f"/orders/{unscheduled}/reschedule",
        json={"fulfil_on": (now + timedelta(days=2)).isoformat(), "reason": "x"},
        headers=HO,
    )
    assert refused.status_code == 409 and refused.json()["rule"] == "not_scheduled", refused.text


async def test_the_dashboard_shows_scheduled_orders_with_their_date_and_filters_them(stack):
    fulfil_on = datetime.now(UTC) + timedelta(days=2)
    scheduled = await place(stack.http, _scheduled_body(fulfil_on.isoformat()), status=SCHEDULED)
    ordinary = await place(stack.http, order_body())
    assert (await ui_sign_in(stack.http, HO_KEY)).status_code == 303

    page = (await stack.http.get("/ui/orders", params={"view": "all", "scheduled": "scheduled"})).text
    assert f'data-order="{scheduled}"' in page and f'data-order="{ordinary}"' not in page
    assert f'data-fulfil-on="{fulfil_on.isoformat()}"' in page  # the scheduled badge, with its date
    everything = (await stack.http.get("/ui/orders", params={"view": "all"})).text
    assert f'data-order="{ordinary}"' in everything and everything.count("data-fulfil-on=") == 1
    listed = (await stack.http.get("/orders", params={"scheduled": "true"}, headers=HO)).json()
    assert [(o["order_number"], datetime.fromisoformat(o["fulfil_on"])) for o in listed["items"]] == [
        (scheduled, fulfil_on)
    ]
    unscheduled = (await stack.http.get("/orders", params={"scheduled": "false"}, headers=HO)).json()
    assert [o["order_number"] for o in unscheduled["items"]] == [ordinary]
    order_page = (await stack.http.get(f"/ui/orders/{scheduled}")).text
    assert 'id="fulfil-on"' in order_page and "nothing reserved or sent until then" in order_page


async def test_the_card_authorisation_is_renewed_while_the_order_waits_for_its_date(skipping_stack):
    stack = skipping_stack
    policy = (await stack.http.get("/settings/payments", headers=HO)).json()
    policy |= {"authorisation_lifetime": "P2D", "reauthorise_before": "PT12H"}
    assert (await stack.http.put("/settings/payments", json=policy, headers=HO)).status_code == 200
    number = await place(
        stack.http, _scheduled_body((datetime.now(UTC) + timedelta(days=5)).isoformat()), status=SCHEDULED
    )
    first = (await eventually(lambda: _authorised(stack, number)))["payments"][0]

    await stack.env.sleep(timedelta(days=1, hours=13))

    async def renewed() -> dict | None:
        view = await _view(stack, number)
        return view if "authorisation_replaced" in [h["action"] for h in view["history"]] else None

    view = await eventually(renewed)
    assert view["status"] == SCHEDULED and view["payments"][0]["status"] == "authorised"
    assert view["payments"][0]["authorisation_reference"] != first["authorisation_reference"]
    assert [kind for kind, _outcome, _amount in gateway_operations(stack.engine, number)] == [
        "authorise",
        "authorise",
        "void",
    ]
