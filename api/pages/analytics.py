"""The Head Office analytics page: orders and revenue by day, channel and store, SLA breaches, stage times, and
cancellation and refund reasons over a date range, drawn by Chart.js (vendored in api/static, no CDN) from the
figures the page carries as JSON; the Orders Summary and customer analysis download as CSV."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session

from api import insight_service
from api.deps import SessionDep, in_threadpool
from api.pages.session import HeadOfficeUser
from api.pages.shared import page
from models.catalogue import LocationKind
from models.db import analytics
from models.db.analytics import Scope
from models.db.catalogue import list_stores
from models.placing import Channel

TOP_CUSTOMERS = 20
router = APIRouter(prefix="/ui/analytics", include_in_schema=False)


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None  # a page shows the default range rather than an error for a mistyped date


def _scope(request: Request) -> Scope:
    q = request.query_params
    first, last = _day(q.get("from")), _day(q.get("to"))
    if first and last and first > last:
        first, last = last, first
    channel = q.get("channel") if q.get("channel") in Channel.__members__ else None
    return insight_service.scope_of(first, last, q.get("store_id", "").strip()[:32] or None, channel)


def _page_data(session: Session, scope: Scope) -> dict[str, Any]:
    figures = insight_service.dashboard(session, scope)
    customers, customer_count = analytics.customer_orders(session, scope, TOP_CUSTOMERS)
    return {
        "figures": figures,
        "chart_data": orjson.loads(orjson.dumps(figures)),  # plain JSON (dates as text) for the page's script
        "customers": customers,
        "customer_count": customer_count,
        "stores": list_stores(session, LocationKind.store),
    }


@router.get("")
async def analytics_page(request: Request, session: SessionDep, user: HeadOfficeUser) -> Response:
    scope = _scope(request)
    context = await in_threadpool(session, _page_data, session, scope)
    query = urlencode(
        {"from": scope.first, "to": scope.last, "store_id": scope.store_id or "", "channel": scope.channel or ""}
    )
    totals = _totals(context["figures"]["by_store"], context["figures"]["breach_rates"])
    return page(
        request, "analytics.html", user, scope=scope, channels=list(Channel), query=query, totals=totals, **context
    )


def _totals(by_store: list[dict[str, Any]], rates: list[dict[str, Any]]) -> dict[str, Any]:
    revenue: dict[str, int] = {}
    for row in by_store:
        revenue[row["currency"]] = revenue.get(row["currency"], 0) + row["revenue"]
    orders = sum(rate["orders"] for rate in rates)
    breached = sum(rate["breached_orders"] for rate in rates)
    return {
        "orders": orders,
        "cancelled": sum(row["cancelled"] for row in by_store),
        "revenue": [{"amount": amount, "currency": currency} for currency, amount in sorted(revenue.items())],
        "breach_rate": round(100 * breached / orders, 1) if orders else 0.0,
    }


@router.get("/summary.csv")
async def summary_csv(request: Request, session: SessionDep, user: HeadOfficeUser) -> Response:
    return await in_threadpool(session, insight_service.summary_csv, session, _scope(request))


@router.get("/customers.csv")
async def customers_csv(request: Request, session: SessionDep, user: HeadOfficeUser) -> Response:
    return await in_threadpool(session, insight_service.customers_csv, session, _scope(request))
