"""The Head Office dashboard: every order, filtered and paginated, with counts and store links; polled live."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session

from api.deps import HEAD_OFFICE, SessionDep, holder_with, in_threadpool
from api.pages.session import HeadOfficeUser, Redirect, signed_in
from api.pages.shared import money, page
from models.catalogue import LocationKind
from models.db.catalogue import list_stores
from models.db.orders import count_open_alerts_by_type, count_orders_by_status, search_orders
from models.db.store_links import list_links
from models.deliveries import DeliveryMethod
from models.order import AlertType, OrderStatus
from models.settings import ApiKeyHolder

PAGE_SIZE = 25

router = APIRouter(prefix="/ui", include_in_schema=False)

# A store user who opens the dashboard lands on their Pick Manager instead.
DashboardUser = Annotated[ApiKeyHolder, holder_with(signed_in, HEAD_OFFICE, lambda: Redirect("/ui/store"))]


@dataclass
class Filters:
    store_id: str = ""
    customer: str = ""
    web_reference: str = ""
    order_number: str = ""
    status: str = ""
    alert: str = ""  # "" any, "yes" with an open alert, "no" without, or an alert type
    method: str = ""  # a delivery method: orders with a delivery of it
    page: int = 1

    @classmethod
    def of(cls, request: Request) -> Filters:
        q = request.query_params
        try:
            page = max(1, int(q.get("page", "1")))
        except ValueError:
            page = 1
        status = q.get("status", "")
        return cls(
            store_id=q.get("store_id", "").strip(),
            customer=q.get("customer", "").strip(),
            web_reference=q.get("web_reference", "").strip(),
            order_number=q.get("order_number", "").strip(),
            status=status if status in OrderStatus.__members__ else "",
            alert=q.get("alert", "") if q.get("alert") in ("yes", "no", *AlertType.__members__) else "",
            method=q.get("method", "") if q.get("method") in DeliveryMethod.__members__ else "",
            page=page,
        )

    def query(self, **changes: Any) -> str:
        values = {**self.__dict__, **changes}
        return urlencode({k: v for k, v in values.items() if v not in ("", None) and not (k == "page" and v == 1)})


def _dashboard(session: Session, filters: Filters) -> dict[str, Any]:
    rows, total = search_orders(
        session,
        store_id=filters.store_id or None,
        customer=filters.customer or None,
        web_reference=filters.web_reference or None,
        order_number=filters.order_number or None,
        status=filters.status or None,
        has_alert={"yes": True, "no": False}.get(filters.alert),
        alert_type=filters.alert if filters.alert in AlertType.__members__ else None,
        fulfilment_method=filters.method or None,
        limit=PAGE_SIZE,
        offset=(filters.page - 1) * PAGE_SIZE,
    )
    orders = []
    for row in rows:
        open_alerts = sorted({a["type"] for a in row.view.get("alerts", []) if not a.get("cleared_at")})
        orders.append({"row": row, "open_alerts": open_alerts, "total": money(row.view.get("total"))})
    return {
        "orders": orders,
        "total": total,
        "filters": filters,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "status_counts": count_orders_by_status(session),
        "alert_counts": count_open_alerts_by_type(session),
        "statuses": list(OrderStatus),
        "alert_types": list(AlertType),
        "methods": list(DeliveryMethod),
        "stores": list_stores(session, LocationKind.store),
        # Only stores that send heartbeats have a link to show; the others are unmonitored.
        "store_links": [link for link in list_links(session) if link.since is not None],
        "refreshed_at": datetime.now(UTC),
    }


@router.get("/orders")
async def dashboard(request: Request, session: SessionDep, user: DashboardUser) -> Response:
    context = await in_threadpool(session, _dashboard, session, Filters.of(request))
    return page(request, "orders.html", user, **context)


@router.get("/orders/live")
async def dashboard_live(request: Request, session: SessionDep, user: HeadOfficeUser) -> Response:
    """The counts and the table, polled by the dashboard every 2 seconds."""
    context = await in_threadpool(session, _dashboard, session, Filters.of(request))
    return page(request, "_orders_live.html", user, **context)
