"""Builders for the outbox tests: order changes as the order workflow commits them, settings for quick lanes, and
one relay run in an activity environment."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.client import Client
from temporalio.testing import ActivityEnvironment

from activities.outbox import OutboxActivities
from models.events import OrderEvent, OrderEventType
from models.order import OrderState, OrderStatus
from models.outbox import RelayReport
from models.settings import Settings
from models.transition import EXTRACT_FOR_EVENT, ExtractToMake, StockWork, StoreMessageOut, Transition, projection_of
from models.views import for_event, for_extract
from tests.models.factories import make_line, make_state
from tests.support import API_KEYS

_numbers = itertools.count(900001)


def new_order(status: OrderStatus = OrderStatus.ready_for_collection, **updates: Any) -> OrderState:
    """An order of the demo catalogue at S001, with a number of its own."""
    fields: dict[str, Any] = {
        "order_number": str(next(_numbers)),
        "lines": [make_line("L1", 2, 1500, sku="TEE-WHI-M"), make_line("L2", 1, 4500, sku="JEAN-IND-32")],
    }
    return make_state(status, **(fields | updates))


def event(state: OrderState, sequence: int, event_type: OrderEventType, at: datetime) -> OrderEvent:
    return OrderEvent(
        event_id=f"{state.order_number}:{sequence}",
        sequence=sequence,
        type=event_type,
        occurred_at=at,
        order_number=state.order_number,
        actor="system",
        order=for_event(state),
    )


def change(
    state: OrderState,
    version: int,
    events: list[OrderEvent] = (),  # type: ignore[assignment]
    messages: list[str] = (),  # type: ignore[assignment]
    stock: StockWork | None = None,
) -> Transition:
    """One committed change of `state` at `version`: its events, their extracts, store messages of these types."""
    extracts = [
        ExtractToMake(extract_id=f"{e.event_id}:extract", type=EXTRACT_FOR_EVENT[e.type], occurred_at=e.occurred_at)
        for e in events
        if e.type in EXTRACT_FOR_EVENT
    ]
    projection = projection_of(state).model_copy(update={"version": version})
    return Transition(
        order_number=state.order_number,
        projection=projection,
        stock=stock or StockWork(),
        events=list(events),
        extracts=extracts,
        extract_order=for_extract(state) if extracts else None,
        store_messages=[
            StoreMessageOut(
                message_id=f"order-{state.order_number}:push:{version}:{n}",
                store_id=state.store_id,
                order_number=state.order_number,
                type=message_type,
                body={"order_number": state.order_number, "version": version},
            )
            for n, message_type in enumerate(messages, start=1)
        ],
    )


def outbox_settings(database_url: str, task_queue: str = "outbox-tests", **overrides: Any) -> Settings:
    """Lanes that give up waiting quickly, so a relay returns within a second when there is nothing to do."""
    values: dict[str, Any] = {
        "outbox_idle_seconds": 0.3,
        "outbox_poll_seconds": 0.05,
        "outbound_retry_initial_seconds": 0.2,
        "outbound_retry_max_interval_seconds": 1.0,
        "outbound_timeout_seconds": 2.0,
        "store_push_timeout_seconds": 2.0,
        "allow_private_targets": True,  # the receivers run on 127.0.0.1
    }
    return Settings(database_url=database_url, task_queue=task_queue, api_keys=API_KEYS, **(values | overrides))  # type: ignore[arg-type]


async def relay(engine: Engine, settings: Settings, lane: str, client: Client | None = None) -> RelayReport:
    """One relay of `lane`, as the lane's workflow runs it (without Temporal's retries)."""
    async with httpx.AsyncClient() as http:
        activities = OutboxActivities(engine, http, settings)
        return await ActivityEnvironment(client=client).run(activities.relay, lane)


def rows(engine: Engine, table: type, **where: Any) -> list[Any]:
    with Session(engine) as session:
        query = select(table)
        for name, value in where.items():
            query = query.where(getattr(table, name) == value)
        return list(session.exec(query))
