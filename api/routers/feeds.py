"""Catalogue and stock in: products and prices from an ERP (JSON or CSV), stock counts, receipts and adjustments
from a WMS or a store; each message applied once by its id. A count below what is reserved alerts the orders
holding that stock. The stock ledger: every movement, with who and why."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, Field
from sqlmodel import Session
from temporalio.client import Client
from temporalio.service import RPCError

from api.deps import (
    HEAD_OFFICE,
    STORE_STAFF,
    Caller,
    HeadOffice,
    SessionDep,
    TemporalDep,
    in_threadpool,
    require_role,
)
from api.params import Offset, search_text
from api.problems import Forbidden, field_error, problem_responses
from models.db import stock_feeds, stock_ledger
from models.feeds import (
    CountShortfall,
    FeedError,
    ProductFeed,
    StockCountFeed,
    StockMovementFeed,
    products_from_csv,
)
from models.order import order_workflow_id
from models.settings import ApiKeyHolder
from models.text import TEXT_PATTERN
from workflows.order import OrderWorkflow

router = APIRouter(tags=["catalogue and stock feeds"])
log = logging.getLogger(__name__)

MessageIdHeader = Annotated[
    str, Header(alias="Baton-Message-Id", min_length=1, max_length=120, pattern=r"^[A-Za-z0-9._:@/-]+$")
]


class FeedOutcome(BaseModel):
    message_id: str
    replayed: bool = Field(default=False, description="The message was applied before: this is what it did then")
    created: int | None = None
    updated: int | None = None
    counted: int | None = None
    applied: int | None = None
    shortfalls: list[dict[str, Any]] | None = Field(
        default=None, description="Counts below what is reserved: {sku, location_id, counted, reserved, orders}"
    )


class Movement(BaseModel):
    location_id: str
    sku: str
    kind: str = Field(description="reserve, release, commit, transfer_out, transfer_in, count, receipt, adjustment")
    on_hand_delta: int
    reserved_delta: int
    actor: str
    reason: str
    order_number: str | None
    message_id: str | None
    created_at: datetime


class MovementPage(BaseModel):
    items: list[Movement]
    total: int
    limit: int
    offset: int


def _actor(caller: ApiKeyHolder) -> str:
    return f"{caller.role.value}:{caller.name}"


def _stock_reporter(caller: ApiKeyHolder, locations: list[tuple[str, str]]) -> None:
    """Head Office reports anywhere; a store key only for its own location."""
    require_role(caller, HEAD_OFFICE | STORE_STAFF, lambda: Forbidden("stock feeds need a Head Office or store key"))
    if caller.store_id is None:
        return
    for field, location_id in locations:
        if location_id != caller.store_id:
            raise Forbidden(f"{field}: a store key reports only its own location ({caller.store_id})")


def _apply(session: Session, message_id: str, kind: str, work: Any) -> dict[str, Any]:
    """Answer a retried message from what it did, else apply it; a FeedError is a 422 naming the field."""
    try:
        earlier = stock_feeds.replayed(session, message_id, kind)
        if earlier is not None:
            return earlier
        outcome: dict[str, Any] = work()
        return outcome
    except FeedError as error:
        session.rollback()
        raise field_error(error.field, str(error)) from None


@router.post("/feeds/products", response_model=FeedOutcome, responses=problem_responses(422))
async def feed_products(body: ProductFeed, session: SessionDep, caller: HeadOffice) -> FeedOutcome:
    """Create or update products (variants) and their prices; a message id seen before changes nothing."""
    now, actor = datetime.now(UTC), _actor(caller)

    def work() -> dict[str, Any]:
        return stock_feeds.upsert_products(session, body.message_id, body.products, actor, now)

    return FeedOutcome(**await in_threadpool(session, _apply, session, body.message_id, "products", work))


@router.post(
    "/feeds/products/csv",
    response_model=FeedOutcome,
    responses=problem_responses(422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/csv": {"schema": {"type": "string", "maxLength": 262_144, "pattern": TEXT_PATTERN}}},
        }
    },
)
async def feed_products_csv(
    request: Request, session: SessionDep, caller: HeadOffice, message_id: MessageIdHeader
) -> FeedOutcome:
    """The same as a CSV price list: header `sku,style,name,size,colour,price,currency` (price in minor units),
    the message id in the `Baton-Message-Id` header."""
    body = await request.body()
    try:
        products = products_from_csv(body.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise field_error("body", "the CSV is not UTF-8") from None
    except FeedError as error:
        raise field_error(error.field, str(error)) from None
    now, actor = datetime.now(UTC), _actor(caller)

    def work() -> dict[str, Any]:
        return stock_feeds.upsert_products(session, message_id, products, actor, now)

    return FeedOutcome(**await in_threadpool(session, _apply, session, message_id, "products", work))


@router.post("/feeds/stock-counts", response_model=FeedOutcome, responses=problem_responses(403, 422))
async def feed_stock_counts(
    body: StockCountFeed, session: SessionDep, temporal: TemporalDep, caller: Caller
) -> FeedOutcome:
    """Set stock levels to what was counted. A count below what orders hold reserved keeps the reservations (the
    level never goes negative) and raises a `stock_count_short` alert on each order holding that stock."""
    _stock_reporter(caller, [(f"counts[{i}].location_id", c.location_id) for i, c in enumerate(body.counts)])
    now, actor = datetime.now(UTC), _actor(caller)
    shortfalls: list[tuple[CountShortfall, list[str]]] = []

    def work() -> dict[str, Any]:
        outcome, found = stock_feeds.apply_counts(session, body.message_id, body.counts, body.reason, actor, now)
        shortfalls.extend(found)
        return outcome

    outcome = await in_threadpool(session, _apply, session, body.message_id, "counts", work)
    if outcome.get("replayed"):
        # Sent again (perhaps because the first answer was lost before the orders heard): tell them again; an order
        # already alerted for it is not alerted twice.
        shortfalls = [
            (CountShortfall(**{k: v for k, v in s.items() if k != "orders"}, message_id=body.message_id), s["orders"])
            for s in outcome.get("shortfalls") or []
        ]
    await _alert_orders(temporal, shortfalls)
    return FeedOutcome(**outcome)


async def _alert_orders(temporal: Client, shortfalls: list[tuple[CountShortfall, list[str]]]) -> None:
    async def alert(number: str, shortfall: CountShortfall) -> None:
        try:
            await temporal.get_workflow_handle(order_workflow_id(number)).signal(
                OrderWorkflow.stock_count_short, shortfall
            )
        except RPCError as error:  # a closed order holds nothing any more
            log.info("order %s not alerted of a count shortfall: %s", number, error)

    await asyncio.gather(*(alert(number, s) for s, numbers in shortfalls for number in numbers))


@router.post("/feeds/stock-movements", response_model=FeedOutcome, responses=problem_responses(403, 422))
async def feed_stock_movements(body: StockMovementFeed, session: SessionDep, caller: Caller) -> FeedOutcome:
    """Receipts (goods in) and adjustments (damage, loss, found stock), as deltas with a reason; all or none. A
    delta that would take a level below its reservations is refused (send a stock count instead)."""
    _stock_reporter(caller, [(f"movements[{i}].location_id", m.location_id) for i, m in enumerate(body.movements)])
    now, actor = datetime.now(UTC), _actor(caller)

    def work() -> dict[str, Any]:
        return stock_feeds.apply_movements(session, body.message_id, body.movements, actor, now)

    return FeedOutcome(**await in_threadpool(session, _apply, session, body.message_id, "movements", work))


@router.get("/stock/ledger", response_model=MovementPage, responses=problem_responses(403))
def stock_ledger_page(
    session: SessionDep,
    caller: Caller,
    sku: Annotated[str | None, search_text(max_length=64)] = None,
    location_id: Annotated[str | None, search_text(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Offset = 0,
) -> MovementPage:
    """Every stock movement, newest first: what moved where, by whom and why (a store key sees its own location)."""
    require_role(
        caller, HEAD_OFFICE | STORE_STAFF, lambda: Forbidden("the stock ledger needs a Head Office or store key")
    )
    if caller.store_id is not None:
        if location_id not in (None, caller.store_id):
            raise Forbidden(f"a store key reads only its own location ({caller.store_id})")
        location_id = caller.store_id
    rows, total = stock_ledger.movements(session, sku, location_id, limit, offset)
    items = [Movement.model_validate(row, from_attributes=True) for row in rows]
    return MovementPage(items=items, total=total, limit=limit, offset=offset)
