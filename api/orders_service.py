"""Placing orders and reading them back: idempotent start of the order workflow, every read from the read model."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client

from activities import placement
from api.deps import visible_channels, visible_store
from api.problems import Forbidden, InvalidInput, NotFound, field_error
from models.db import catalogue, orders
from models.db.tables import OrderRecordRow
from models.order import OrderState
from models.placing import PlaceOrder
from models.settings import ApiKeyHolder
from models.views import for_api


def _prepare(
    session: Session, caller: ApiKeyHolder, order: PlaceOrder, key: str | None, gateway: str
) -> tuple[OrderState, bool]:
    try:
        return placement.prepare(session, caller.name, order, key, gateway)
    except placement.PlacementRefused as refused:
        raise InvalidInput([{"field": p.field, "message": p.message} for p in refused.problems]) from None
    except placement.KeyReused as reused:
        raise field_error("Idempotency-Key", str(reused)) from None
    except placement.StillPlacing as placing:
        raise NotFound(str(placing), type_="order-not-found") from None


async def place_order(
    session: Session,
    temporal: Client,
    task_queue: str,
    caller: ApiKeyHolder,
    order: PlaceOrder,
    idempotency_key: str | None,
    gateway: str = "test",
) -> tuple[dict[str, Any], bool]:
    """Claim a number, keep the first state, start the workflow once; returns the view and whether it is new.

    A retry with the same key (from the same key holder) answers the order it placed, and starts its workflow if
    a crash left it unstarted. Database work runs in the thread pool and gives its connection back before any
    wait on Temporal."""
    if caller.channels is not None and order.channel not in caller.channels:
        allowed = ", ".join(caller.channels) or "none"
        raise Forbidden(f"this key places orders for {allowed} only, not {order.channel}", type_="channel-not-allowed")

    def prepare() -> tuple[OrderState, bool]:
        try:
            return _prepare(session, caller, order, idempotency_key, gateway)
        finally:
            session.close()

    state, created = await run_in_threadpool(prepare)
    if not await placement.start_order(temporal, state, task_queue):
        created = False  # a retry of a placement whose workflow is already running

    def read() -> dict[str, Any]:
        try:
            if not created:
                return order_view(session, state.order_number)  # a replay: the order may have moved on
            view = for_api(state).model_dump(mode="json")  # as just written: no need to read it back
            view["stock"] = catalogue.stock_holdings(session, list(dict.fromkeys(line.sku for line in state.lines)))
            return view
        finally:
            session.close()

    return await run_in_threadpool(read), created


def order_record(session: Session, order_number: str, caller: ApiKeyHolder | None = None) -> OrderRecordRow:
    """The order's read-model row; a store caller gets 404 for another store's order, a bound
    channel key for another channel's (no existence leak)."""
    record = orders.get_order_record(session, order_number)
    own_store = visible_store(caller) if caller is not None else None
    senders = orders.senders(record.view) if record is not None else set()
    channels = visible_channels(caller) if caller is not None else None
    other_channel = record is not None and channels is not None and record.channel not in channels
    if record is None or other_channel or (own_store is not None and own_store not in senders):
        raise NotFound(f"order {order_number} not found", type_="order-not-found")
    return record


def order_view(session: Session, order_number: str, caller: ApiKeyHolder | None = None) -> dict[str, Any]:
    """The one place single-order reads come from: the view the workflow committed, with live stock figures."""
    view = dict(order_record(session, order_number, caller).view)
    view["stock"] = catalogue.stock_holdings(session, list(dict.fromkeys(line["sku"] for line in view["lines"])))
    return view
