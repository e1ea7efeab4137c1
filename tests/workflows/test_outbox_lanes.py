"""Outbox lanes on the Temporal dev server: a lane's workflow delivers a backlog at a history cost that does not grow
with it, idles cheaply, continues as new and retires; store lanes deliver signed messages, mark a store without an
endpoint, and tell the order's workflow when a message fails for good."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.projection import ProjectionActivities
from models.catalogue import StoreSettings
from models.db import catalogue, outbound
from models.db.tables import StoreMessageRow
from models.events import OrderEventType as E
from models.order import ORDER_WORKFLOW, OrderStatus, StoreMessageFailed, order_workflow_id
from models.outbox import (
    EXTRACTS_LANE,
    LaneInput,
    LaneRetry,
    RelayReport,
    exporter_lane,
    lane_workflow_id,
    store_lane,
    subscriber_lane,
)
from models.settings import Settings
from models.signing import verify
from tests.http_receiver import http_receiver
from tests.models.factories import at
from tests.outbox_support import change, event, new_order, outbox_settings, relay, rows
from tests.support import STORE_SECRETS, eventually
from worker import build_worker
from workflows.outbox import OutboxLaneWorkflow, ensure_lanes, wanted_lanes


@asynccontextmanager
async def _lanes_worker(env: WorkflowEnvironment, db: Engine, executor: ThreadPoolExecutor, **overrides: Any
                        ) -> AsyncIterator[Settings]:  # fmt: skip
    """A worker on a task queue of its own; every lane stopped afterwards (their ids are the same in every test)."""
    settings = outbox_settings(str(db.url), task_queue=f"lanes-{uuid.uuid4().hex[:8]}", **overrides)
    async with httpx.AsyncClient() as http, build_worker(env.client, settings, db, http, executor):
        try:
            yield settings
        finally:
            with Session(db) as session:
                lanes = wanted_lanes(session, settings, inactive_too=True)
            for lane in lanes:
                try:
                    await env.client.get_workflow_handle(lane_workflow_id(lane)).terminate("test finished")
                except RPCError:
                    pass  # ended already, or never started


def _commit(db: Engine, settings: Settings, transition: Any) -> None:
    ProjectionActivities(db, settings).commit_transition(transition)


def _placed_orders(db: Engine, settings: Settings, count: int) -> list[str]:
    """`count` orders placed, paid and sent to S001; the ids of their events."""
    ids = []
    for _ in range(count):
        state = new_order(OrderStatus.awaiting_acknowledgement)
        events = [event(state, 1, E.placed, at(0)), event(state, 2, E.payment_confirmed, at(0)),
                  event(state, 3, E.sent_to_store, at(1))]  # fmt: skip
        _commit(db, settings, change(state, 1, events))
        ids += [e.event_id for e in events]
    return ids


async def _history(client: Client, workflow_id: str, run_id: str | None = None) -> list[Any]:
    return (await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()).events


def _count(events: list[Any], event_type: int) -> int:
    return sum(1 for e in events if e.event_type == event_type)


async def test_lane_workflow_delivers_a_backlog_at_a_history_cost_that_does_not_grow_with_it(dev_env, db, executor):
    client = dev_env.client
    async with _lanes_worker(dev_env, db, executor, outbox_idle_seconds=5.0) as settings:
        with http_receiver(200) as receiver:
            with Session(db) as session:
                subscriber = outbound.create_subscriber(
                    session, "ERP", receiver.url, [E.placed, E.sent_to_store], datetime.now(UTC)
                ).subscriber_id
            lanes = await ensure_lanes(client, db, settings)
            assert subscriber_lane(subscriber) in lanes
            ids = [i for i in _placed_orders(db, settings, 10) if not i.endswith(":2")]

            async def all_received() -> bool:
                return len(receiver.requests) == len(ids)

            await eventually(all_received)
            assert [json.loads(r.body)["event_id"] for r in receiver.requests] == ids
            workflow_id = lane_workflow_id(subscriber_lane(subscriber))
            during = await _history(client, workflow_id)
            # 20 deliveries, one relay still running: started, a workflow task, the relay scheduled.
            assert len(during) <= 6, [e.event_type for e in during]
            first_run = (await client.get_workflow_handle(workflow_id).describe()).run_id
            await ensure_lanes(client, db, settings)  # already running: left alone
            assert (await client.get_workflow_handle(workflow_id).describe()).run_id == first_run

            handle: WorkflowHandle = client.get_workflow_handle(workflow_id)

            async def reported() -> RelayReport | None:
                report = await handle.query(OutboxLaneWorkflow.report)
                return report if report is not None and report.delivered else None

            report = await eventually(reported, timeout=15)
            assert (report.delivered, report.skipped, report.given_up) == (20, 10, 0)


async def test_idle_lane_costs_one_relay_per_idle_period_then_continues_as_new(dev_env, db, executor):
    client = dev_env.client
    async with _lanes_worker(dev_env, db, executor, outbox_idle_seconds=0.3) as settings:
        lane = store_lane("S003")
        retry = LaneRetry(initial_seconds=1, max_interval_seconds=1)
        handle = await client.start_workflow(
            OutboxLaneWorkflow.run,
            LaneInput(lane=lane, retry=retry, loops_per_run=4),
            id=lane_workflow_id(lane),
            task_queue=settings.task_queue,
        )
        first_run = handle.first_execution_run_id

        async def continued() -> bool:
            events = await _history(client, lane_workflow_id(lane), first_run)
            return _count(events, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW) == 1

        await eventually(continued, timeout=15)
        events = await _history(client, lane_workflow_id(lane), first_run)
        relays = _count(events, EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
        assert relays == 4
        # Started, the first workflow task (3) and continued-as-new; per relay: scheduled, started, completed and
        # the workflow task that schedules the next (3).
        assert len(events) == 5 + 6 * relays, [e.event_type for e in events]
        assert (await handle.describe()).run_id != first_run


async def test_lane_of_a_deactivated_subscriber_ends(dev_env, db, executor):
    client = dev_env.client
    async with _lanes_worker(dev_env, db, executor) as settings:
        with Session(db) as session:
            url, now = "http://127.0.0.1:9/", datetime.now(UTC)
            subscriber = outbound.create_subscriber(session, "CRM", url, [E.placed], now)
            outbound.deactivate_subscriber(session, subscriber.subscriber_id)
        lane = subscriber_lane(subscriber.subscriber_id)
        await ensure_lanes(client, db, settings, [lane])
        report = await client.get_workflow_handle_for(OutboxLaneWorkflow.run, lane_workflow_id(lane)).result()
        assert report is not None and report.retired


def test_wanted_lanes_follow_subscribers_store_webhooks_extracts_and_exporters(db, tmp_path):
    exporters = [{"name": "erp", "kind": "webhook", "on_state": "INITPAID", "url": "http://127.0.0.1:9/"}]
    with Session(db) as session:
        none = wanted_lanes(session, outbox_settings(str(db.url)))
    _webhook(db, "S002", "http://127.0.0.1:9/")  # only a store with a webhook has anything to send
    with Session(db) as session:
        plain = wanted_lanes(session, outbox_settings(str(db.url)))
        full = wanted_lanes(session, outbox_settings(str(db.url), exporters=exporters, extract_drop_folder=tmp_path))
        every = wanted_lanes(session, outbox_settings(str(db.url)), inactive_too=True)
    assert (none, plain) == ([], [store_lane("S002")])
    assert full == plain + [EXTRACTS_LANE, exporter_lane("erp")]
    assert every == [store_lane(s) for s in ("S001", "S002", "S003", "S004", "W001")]  # to stop them all


# ---- store lanes ------------------------------------------------------------------------------------------------


@workflow.defn(name=ORDER_WORKFLOW, sandboxed=False)  # a test double: this module imports the world
class RecordingOrder:
    """Stands in for the order workflow: records the store messages the outbox gave up on."""

    def __init__(self) -> None:
        self._failures: list[StoreMessageFailed] = []

    @workflow.run
    async def run(self, order_number: str) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.signal
    def store_message_failed(self, failure: StoreMessageFailed) -> None:
        self._failures.append(failure)

    @workflow.query
    def failures(self) -> list[StoreMessageFailed]:
        return self._failures


def _webhook(db: Engine, store_id: str, url: str | None) -> None:
    with Session(db) as session:
        store = catalogue.get_store(session, store_id)
        assert store is not None
        settings = StoreSettings(name=store.name, kind=store.kind, webhook_url=url)
        catalogue.put_store(session, store_id, settings)


def _messages(db: Engine, settings: Settings, store_id: str, *types: str) -> str:
    state = new_order(OrderStatus.awaiting_acknowledgement, store_id=store_id)
    _commit(db, settings, change(state, 1, [], list(types)))
    return state.order_number


async def test_store_lane_delivers_signed_messages_in_order(db):
    settings = outbox_settings(str(db.url))
    with http_receiver(200) as store:
        _webhook(db, "S002", store.url)
        first = _messages(db, settings, "S002", "order_created", "order_updated")
        second = _messages(db, settings, "S002", "order_cancelled")
        report = await relay(db, settings, store_lane("S002"))
    assert report.delivered == 3
    bodies = [json.loads(r.body) for r in store.requests]
    assert [(b["order"]["order_number"], b["type"]) for b in bodies] == [
        (first, "order_created"), (first, "order_updated"), (second, "order_cancelled")]  # fmt: skip
    assert bodies[0]["event_id"] == f"order-{first}:push:1:1" == store.requests[0].headers["baton-event-id"]
    verify(STORE_SECRETS["S002"], store.requests[0].headers["baton-signature"], store.requests[0].body, time.time())
    assert {(m.status, m.attempts) for m in rows(db, StoreMessageRow, store_id="S002")} == {("delivered", 1)}


async def test_store_without_an_endpoint_reads_its_orders_from_the_api(db):
    settings = outbox_settings(str(db.url))
    number = _messages(db, settings, "S003", "order_created")
    [message] = rows(db, StoreMessageRow, order_number=number)
    assert (message.status, message.attempts) == ("no_endpoint", 0)  # written so: no lane works on it
    report = await relay(db, settings, store_lane("S003"))
    assert (report.delivered, report.given_up) == (0, 0)


async def test_store_message_failing_for_good_tells_the_order(dev_env, db):
    client = dev_env.client
    settings = outbox_settings(str(db.url), store_message_horizon_seconds=2)
    queue = f"orders-{uuid.uuid4().hex[:8]}"
    orders = {}

    async def order_with_message(store_id: str) -> str:
        number = _messages(db, settings, store_id, "order_created")
        orders[number] = await client.start_workflow(
            RecordingOrder.run, number, id=order_workflow_id(number), task_queue=queue
        )
        return number

    async with Worker(client, task_queue=queue, workflows=[RecordingOrder]):
        with http_receiver(400) as refusing, http_receiver(503) as down:
            _webhook(db, "S001", refusing.url)
            refused = await order_with_message("S001")
            closed = _messages(db, settings, "S001", "order_updated")  # its workflow has ended: nobody to tell
            assert (await relay(db, settings, store_lane("S001"), client)).given_up == 2

            _webhook(db, "S002", down.url)
            unreachable = await order_with_message("S002")
            with pytest.raises(ApplicationError, match="answered 503"):  # retried, until the horizon
                await relay(db, settings, store_lane("S002"), client)
            await asyncio.sleep(2.1)  # past the horizon
            assert (await relay(db, settings, store_lane("S002"), client)).given_up == 1

        for number, detail in ((refused, "refused with 400"), (unreachable, "gave up after 2 s")):
            [failure] = await orders[number].query(RecordingOrder.failures)
            assert failure.store_id in ("S001", "S002") and detail in failure.detail
            [message] = rows(db, StoreMessageRow, order_number=number)
            assert (message.status, message.message_id) == ("failed", failure.message_id)
        assert rows(db, StoreMessageRow, order_number=closed)[0].status == "failed"
        for handle in orders.values():
            await handle.terminate("test finished")
