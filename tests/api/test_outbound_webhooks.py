"""Outbound webhooks and chained exporters, end to end: real HTTP receivers on 127.0.0.1, the API, a worker with the
outbox lanes, the Temporal dev server and the database."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from models.db.tables import OrderEventRow
from models.events import OrderEventType
from models.order import order_workflow_id
from models.outbox import lane_workflow_id, subscriber_lane
from models.signing import verify
from tests.conftest import _stack
from tests.http_receiver import Received, Receiver, http_receiver
from tests.outbox_support import rows
from tests.support import CHANNEL, HO, act, collect, eventually, make_ready, place, settled
from workflows.outbox import OutboxLaneWorkflow

EXPORTER_SECRET = "exporter-erp-secret-0123456789"
JOURNEY = ["placed", "payment_confirmed", "sent_to_store", "acknowledged", "ready_for_collection", "collected"]
JOURNEY += ["completed"]
RETRY_INITIAL, RETRY_MAX = 0.3, 1.0


@pytest.fixture
def erp() -> Iterator[Receiver]:
    with http_receiver(path="/exports/erp") as receiver:
        yield receiver


@pytest.fixture
def crm() -> Iterator[Receiver]:
    with http_receiver(path="/exports/crm") as receiver:
        yield receiver


@pytest.fixture
def stack_settings(erp: Receiver, crm: Receiver) -> dict[str, Any]:
    """Retries in fractions of a second, and a chain of two webhook exporters: erp on INITPAID, crm after erp."""
    return {
        "outbound_retry_initial_seconds": RETRY_INITIAL,
        "outbound_retry_max_interval_seconds": RETRY_MAX,
        "outbound_retry_horizon_seconds": 300,
        "outbox_poll_seconds": 0.05,
        "exporters": [
            {"name": "erp", "kind": "webhook", "on_state": "INITPAID", "sets_state": "ERP_COMPLETED",
             "url": erp.url, "secret": EXPORTER_SECRET},
            {"name": "crm", "kind": "webhook", "on_state": "ERP_COMPLETED", "url": crm.url},
        ],
    }  # fmt: skip


async def _subscribe(stack, receiver: Receiver, name: str, event_types: list[str] = JOURNEY) -> dict:
    body = {"name": name, "url": receiver.url, "event_types": event_types}
    response = await stack.http.post("/webhook-subscribers", json=body, headers=HO)
    assert response.status_code == 201, response.text
    return response.json()


async def _completed_order(http: Any) -> str:
    number = await place(http)
    await make_ready(http, number)
    await collect(http, number)
    return number


async def _log(stack, subscriber_id: str, number: str | None = None) -> list[dict]:
    params = {"order_number": number} if number else {}
    response = await stack.http.get(f"/webhook-subscribers/{subscriber_id}/deliveries", params=params, headers=HO)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def _all_delivered(stack, subscriber_id: str, number: str, count: int) -> list[dict] | None:
    log = await _log(stack, subscriber_id, number)
    return log if len(log) == count and all(entry["status"] == "delivered" for entry in log) else None


def _assert_signed(received: list[Received], secret: str) -> None:
    for request in received:
        verify(secret, request.headers.get("baton-signature"), request.body, time.time())
        assert request.headers["baton-event-id"] == request.json.get("event_id", request.json.get("export_id"))


async def test_each_subscriber_gets_its_events_once_in_order_signed_and_a_failing_one_holds_up_nobody(stack):
    with http_receiver(200, path="/hooks/steady") as steady_url, http_receiver(503, path="/hooks/flaky") as flaky_url:
        steady = await _subscribe(stack, steady_url, "steady")
        flaky = await _subscribe(stack, flaky_url, "flaky")
        number = await _completed_order(stack.http)
        expected = [f"{number}:{n}" for n in range(1, len(JOURNEY) + 1)]

        await eventually(lambda: _all_delivered(stack, steady["subscriber_id"], number, len(JOURNEY)), timeout=60)
        # Meanwhile the flaky subscriber's lane keeps trying its first event, backing off (Temporal retries the relay).
        lane = stack.client.get_workflow_handle(lane_workflow_id(subscriber_lane(flaky["subscriber_id"])))

        async def retrying() -> Any:
            [pending] = (await lane.describe()).raw_description.pending_activities or [None]
            return pending if pending is not None and pending.attempt >= 2 else None

        relay = await eventually(retrying, timeout=60)
        assert relay.activity_type.name == "relay" and "answered 503" in relay.last_failure.message
        assert flaky_url.accepted == [] and {r.json["event_id"] for r in flaky_url.requests} == {expected[0]}

        flaky_url.answer(200)  # back up
        await eventually(lambda: _all_delivered(stack, flaky["subscriber_id"], number, len(JOURNEY)), timeout=60)

    for subscriber, receiver in ((steady, steady_url), (flaky, flaky_url)):
        got = receiver.accepted
        assert [r.json["event_id"] for r in got] == expected  # each once, in order
        assert [r.json["type"] for r in got] == JOURNEY
        assert {r.json["order_number"] for r in got} == {number}
        _assert_signed(got, subscriber["secret"])
    log = await _log(stack, flaky["subscriber_id"], number)
    assert [entry["event_id"] for entry in log] == expected
    refused = [r for r in flaky_url.requests if r.status == 503]
    assert [entry["attempts"] for entry in log] == [len(refused) + 1] + [1] * (len(JOURNEY) - 1)
    assert log[0]["last_status_code"] == 200 and log[0]["last_error"] is None
    assert [entry["attempts"] for entry in await _log(stack, steady["subscriber_id"], number)] == [1] * len(JOURNEY)
    # The relay's retry policy: exponential backoff from the configured interval up to its maximum.
    history = await lane.fetch_history()
    [policy, *_] = [
        e.activity_task_scheduled_event_attributes.retry_policy
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert policy.initial_interval.ToTimedelta().total_seconds() == RETRY_INITIAL
    assert policy.maximum_interval.ToTimedelta().total_seconds() == RETRY_MAX
    assert (policy.backoff_coefficient, policy.maximum_attempts) == (2.0, 0)


async def test_a_subscriber_hears_its_types_from_when_it_registered_and_a_deactivated_one_nothing(stack):
    with http_receiver(200, path="/hooks/picky") as picky_url, http_receiver(200, path="/hooks/gone") as gone_url:
        gone = await _subscribe(stack, gone_url, "gone", [t.value for t in OrderEventType])
        deleted = await stack.http.delete(f"/webhook-subscribers/{gone['subscriber_id']}", headers=HO)
        assert deleted.status_code == 200 and deleted.json()["active"] is False
        number = await place(stack.http)
        picky = await _subscribe(stack, picky_url, "picky", ["placed", "collected"])  # after the order was placed
        await make_ready(stack.http, number)
        await collect(stack.http, number)

        [delivery] = await eventually(lambda: _all_delivered(stack, picky["subscriber_id"], number, 1), timeout=60)
        assert (delivery["event_type"], delivery["event_id"]) == ("collected", f"{number}:6")
        assert [r.json["type"] for r in picky_url.requests] == ["collected"]
        # The deactivated subscriber's lane retired without delivering anything.
        gone_lane = stack.client.get_workflow_handle_for(
            OutboxLaneWorkflow.run, lane_workflow_id(subscriber_lane(gone["subscriber_id"]))
        )
        report = await asyncio.wait_for(gone_lane.result(), timeout=60)
        assert report is not None and report.retired and report.delivered == 0
    assert gone_url.requests == []
    assert await _log(stack, gone["subscriber_id"]) == []


async def test_head_office_resends_a_delivery_with_the_same_event_id(stack):
    with http_receiver(200, path="/hooks/crm") as receiver:
        subscriber = await _subscribe(stack, receiver, "crm", ["placed"])
        number = await place(stack.http)
        event_id = f"{number}:1"
        await eventually(lambda: _all_delivered(stack, subscriber["subscriber_id"], number, 1), timeout=60)

        path = f"/webhook-subscribers/{subscriber['subscriber_id']}/deliveries/{event_id}/resend"
        resent = await stack.http.post(path, headers=HO)
        assert resent.status_code == 202, resent.text
        assert (resent.json()["kind"], resent.json()["requested_by"]) == ("resend", "ho:alice")
        log = await eventually(lambda: _all_delivered(stack, subscriber["subscriber_id"], number, 2), timeout=60)
    assert [(entry["kind"], entry["event_id"]) for entry in log] == [("event", event_id), ("resend", event_id)]
    got = receiver.accepted
    assert [r.headers["baton-event-id"] for r in got] == [event_id, event_id]
    assert got[0].json == got[1].json
    _assert_signed(got, subscriber["secret"])

    assert (await stack.http.post(path.replace(event_id, f"{number}:99"), headers=HO)).status_code == 404
    assert (await stack.http.post(path, headers=CHANNEL)).status_code == 403
    gone = await stack.http.delete(f"/webhook-subscribers/{subscriber['subscriber_id']}", headers=HO)
    assert gone.status_code == 200 and gone.json()["active"] is False
    refused = await stack.http.post(path, headers=HO)
    assert refused.status_code == 409 and refused.json()["rule"] == "subscriber_inactive"


async def test_subscribers_are_validated_listed_and_never_show_their_secret_again(stack, erp):
    url = "http://127.0.0.1:9/hooks"
    for bad, field_name in [
        ({"name": "x", "url": "not a url", "event_types": ["placed"]}, "url"),
        ({"name": "x", "url": url, "event_types": []}, "event_types"),
        ({"name": "x", "url": url, "event_types": ["no_such_event"]}, "event_types[0]"),
    ]:
        response = await stack.http.post("/webhook-subscribers", json=bad, headers=HO)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == field_name
    created = await _subscribe(stack, erp, "wms", ["collected"])
    assert created["secret"].startswith("whsec_")
    one = (await stack.http.get(f"/webhook-subscribers/{created['subscriber_id']}", headers=HO)).json()
    listed = (await stack.http.get("/webhook-subscribers", headers=HO)).json()
    assert "secret" not in one and [s["subscriber_id"] for s in listed] == [created["subscriber_id"]]
    assert (await stack.http.get("/webhook-subscribers/whs_nope", headers=HO)).status_code == 404
    assert (await stack.http.get("/webhook-subscribers", headers=CHANNEL)).status_code == 403


async def test_a_chain_of_two_exporters_runs_from_initpaid_once_each_and_is_audited(stack, erp, crm):
    erp.answer(503, 503, 200)  # erp fails twice, then takes it
    number = await place(stack.http)  # prepaid: payment_confirmed at placement reaches INITPAID

    async def exports() -> list[dict] | None:
        runs = (await stack.http.get(f"/orders/{number}/exports", headers=CHANNEL)).json()
        return runs if len(runs) == 2 and all(run["outcome"] == "succeeded" for run in runs) else None

    first, second = await eventually(exports, timeout=60)
    assert (first["run_id"], first["exporter"], first["kind"], first["state"], first["sets_state"]) == (
        f"{number}:erp:INITPAID", "erp", "webhook", "INITPAID", "ERP_COMPLETED")  # fmt: skip
    assert first["attempts"] == 3 and first["finished_at"] is not None  # failed twice, then succeeded
    assert (second["run_id"], second["exporter"], second["state"], second["attempts"]) == (
        f"{number}:crm:ERP_COMPLETED", "crm", "ERP_COMPLETED", 1)  # fmt: skip
    assert [r.status for r in erp.requests] == [503, 503, 200]
    assert {r.json["export_id"] for r in erp.requests} == {first["run_id"]}
    [handed_on] = crm.requests
    assert handed_on.at > erp.accepted[0].at  # crm only once erp had succeeded
    document = erp.accepted[0].json
    assert (document["exporter"], document["state"], document["order_number"]) == ("erp", "INITPAID", number)
    assert document["order"]["order_number"] == number and document["order"]["status"] == "awaiting_acknowledgement"
    _assert_signed(erp.accepted, EXPORTER_SECRET)
    assert handed_on.json["state"] == "ERP_COMPLETED" and handed_on.headers["baton-event-id"] == second["run_id"]
    assert "baton-signature" not in handed_on.headers  # no secret configured for it


# ---- what an order costs in Temporal -------------------------------------------------------------------------


async def _journey(http: Any) -> str:
    """Placed, acknowledged, picked, collected, then partly refunded by Head Office; each step awaited."""
    number = await _completed_order(http)
    await act(http, number, "refunds", {"amount": {"amount": 500, "currency": "GBP"}, "reason": "late"})
    await settled(http, number)
    return number


async def _history_at_rest(client: Any, number: str) -> list[int]:
    """The event types of the order's history once no workflow task is pending."""
    handle = client.get_workflow_handle(order_workflow_id(number))

    async def at_rest() -> list[int] | None:
        if (await handle.describe()).raw_description.HasField("pending_workflow_task"):
            return None
        return [event.event_type for event in (await handle.fetch_history()).events]

    return await eventually(at_rest, timeout=30)


async def test_an_orders_history_does_not_grow_with_subscribers_or_exporters(
    stack, dev_env, db, database_url, executor
):
    receivers = [http_receiver(200, path=f"/hooks/{n}") for n in range(3)]
    with receivers[0] as a, receivers[1] as b, receivers[2] as c:
        subscribers = [await _subscribe(stack, r, f"sub{n}", [t.value for t in OrderEventType])
                       for n, r in enumerate((a, b, c))]  # fmt: skip
        busy = await _journey(stack.http)
        events = len(rows(stack.engine, OrderEventRow, order_number=busy))
        for subscriber in subscribers:  # every event delivered three times, both exporters ran
            await eventually(lambda s=subscriber: _all_delivered(stack, s["subscriber_id"], busy, events), timeout=60)

        async def exported() -> bool:
            runs = (await stack.http.get(f"/orders/{busy}/exports", headers=HO)).json()
            return [(run["exporter"], run["outcome"]) for run in runs] == [("erp", "succeeded"), ("crm", "succeeded")]

        await eventually(exported, timeout=60)
        with_outbound = await _history_at_rest(stack.client, busy)
        for subscriber in subscribers:
            await stack.http.delete(f"/webhook-subscribers/{subscriber['subscriber_id']}", headers=HO)

    # The same journey on a stack with no exporters and no subscribers.
    async with asynccontextmanager(_stack)(dev_env, db, database_url, executor) as bare:
        assert bare.settings.exporters == []
        quiet = await _journey(bare.http)
        without = await _history_at_rest(bare.client, quiet)
    assert len(with_outbound) == len(without), (with_outbound, without)
    assert with_outbound == without
