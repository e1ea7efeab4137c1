"""Analytics for Head Office and BI tools: orders placed in a date range (`from`, `to`, inclusive UTC days;
default the last 30 days), optionally at one store and through one channel, counted from the read model."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from api import insight_service
from api.deps import HeadOffice, SessionDep, in_threadpool
from api.insight_schemas import (
    CustomerOrdersAnalytics,
    OrdersAnalytics,
    ReasonsAnalytics,
    SlaAnalytics,
    StageTimesAnalytics,
    SummaryAnalytics,
)
from api.params import Offset, search_text
from api.responses import JSONBody
from models.db import analytics
from models.db.analytics import Scope
from models.placing import Channel

router = APIRouter(prefix="/analytics", tags=["analytics"])

First = Annotated[date | None, Query(alias="from", description="first day (UTC), default 29 days before `to`")]
Last = Annotated[date | None, Query(description="last day (UTC), inclusive; default today")]
StoreFilter = Annotated[str | None, search_text("only orders at this store", 32)]
ChannelFilter = Annotated[Channel | None, Query(description="only orders through this channel")]
Format = Annotated[Literal["json", "csv"], Query(description="csv: a download with a header line")]


def _scope(first: date | None, last: date | None, store_id: str | None, channel: Channel | None) -> Scope:
    return insight_service.scope_of(first, last, store_id, channel.value if channel else None)


@router.get("/orders", response_model=OrdersAnalytics)
async def orders(
    session: SessionDep,
    _caller: HeadOffice,
    by: Annotated[Literal["day", "channel", "store"], Query(description="what to group by")] = "day",
    first: First = None,
    to: Last = None,
    store_id: StoreFilter = None,
    channel: ChannelFilter = None,
) -> Any:
    """Orders, cancellations, revenue (order totals, minor units) and refunds by day, channel or store, per currency."""
    scope = _scope(first, to, store_id, channel)
    rows = await in_threadpool(session, analytics.orders_by, session, scope, by)
    return JSONBody({"scope": insight_service.scope_json(scope), "by": by, "rows": rows})


@router.get("/sla", response_model=SlaAnalytics)
async def sla(
    session: SessionDep,
    _caller: HeadOffice,
    first: First = None,
    to: Last = None,
    store_id: StoreFilter = None,
    channel: ChannelFilter = None,
) -> Any:
    """SLA breaches by store and alert type, and each store's breach rate (orders with a breach / orders)."""
    scope = _scope(first, to, store_id, channel)

    def read() -> dict[str, Any]:
        return {
            "scope": insight_service.scope_json(scope),
            "breaches": analytics.breaches_by_store_and_type(session, scope),
            "rates": analytics.breach_rates(session, scope),
        }

    return JSONBody(await in_threadpool(session, read))


@router.get("/stage-times", response_model=StageTimesAnalytics)
async def stage_times(
    session: SessionDep,
    _caller: HeadOffice,
    first: First = None,
    to: Last = None,
    store_id: StoreFilter = None,
    channel: ChannelFilter = None,
) -> Any:
    """Median and p90 seconds from placement to acknowledgement, pick, ready and collection, per store ("*": all)."""
    scope = _scope(first, to, store_id, channel)
    stores = await in_threadpool(session, analytics.stage_times, session, scope)
    return JSONBody({"scope": insight_service.scope_json(scope), "stores": stores})


@router.get("/reasons", response_model=ReasonsAnalytics)
async def reasons(
    session: SessionDep,
    _caller: HeadOffice,
    first: First = None,
    to: Last = None,
    store_id: StoreFilter = None,
    channel: ChannelFilter = None,
) -> Any:
    """Why orders were cancelled (the action and the reason given) and why money was refunded."""
    scope = _scope(first, to, store_id, channel)

    def read() -> dict[str, Any]:
        return {
            "scope": insight_service.scope_json(scope),
            "cancellations": analytics.cancellation_reasons(session, scope),
            "refunds": analytics.refund_reasons(session, scope),
        }

    return JSONBody(await in_threadpool(session, read))


@router.get("/summary", response_model=SummaryAnalytics, responses={200: {"content": {"text/csv": {}}}})
async def summary(
    session: SessionDep,
    _caller: HeadOffice,
    first: First = None,
    to: Last = None,
    store_id: StoreFilter = None,
    channel: ChannelFilter = None,
    format: Format = "json",
) -> Any:
    """The Orders Summary: per day, store, channel and currency (`format=csv` to download it)."""
    scope = _scope(first, to, store_id, channel)
    if format == "csv":
        return await in_threadpool(session, insight_service.summary_csv, session, scope)
    rows = await in_threadpool(session, analytics.orders_summary, session, scope)
    return JSONBody({"scope": insight_service.scope_json(scope), "rows": rows})


@router.get("/customers", response_model=CustomerOrdersAnalytics, responses={200: {"content": {"text/csv": {}}}})
async def customer_orders(
    session: SessionDep,
    _caller: HeadOffice,
    first: First = None,
    to: Last = None,
    store_id: StoreFilter = None,
    channel: ChannelFilter = None,
    format: Format = "json",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> Any:
    """The per-customer orders analysis, biggest revenue first (`format=csv`: every row, up to 100,000)."""
    scope = _scope(first, to, store_id, channel)
    if format == "csv":
        return await in_threadpool(session, insight_service.customers_csv, session, scope)
    rows, total = await in_threadpool(session, analytics.customer_orders, session, scope, limit, offset)
    body = {"scope": insight_service.scope_json(scope), "items": rows, "total": total, "limit": limit}
    return JSONBody({**body, "offset": offset})
