"""The Head Office dashboard: what needs work first (open alerts, about to breach, on hold; by urgency), or every
order sorted by any column; free-text search, a date range, tiles that count what the filter shows, a CSV export of
the view, and pages that hold still while orders arrive (a snapshot moment). Polled live by morphing, so focus and
selections survive. Bulk actions are in api/pages/bulk.py."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session

from api.deps import HEAD_OFFICE, SessionDep, holder_with, in_threadpool
from api.pages import wording  # noqa: F401  (the templates' filters)
from api.pages.session import HeadOfficeUser, Redirect, signed_in
from api.pages.shared import money, page
from models.catalogue import LocationKind
from models.db.catalogue import list_stores
from models.db.custom_fields import filter_value, parse_filter
from models.db.dashboard import (
    SORTS,
    Candidate,
    DashboardFilter,
    attention_candidates,
    dashboard_counts,
    dashboard_rows,
    fingerprint,
    newer_than,
    open_returns_count,
    rows_by_number,
)
from models.db.policies import get_sla_policy
from models.db.store_links import list_links
from models.db.tables import OrderRecordRow
from models.deliveries import DeliveryMethod
from models.order import AlertType, OrderStatus
from models.settings import ApiKeyHolder
from models.sla import SlaPolicy
from models.waiting import status_deadline, urgency

PAGE_SIZE = 25
ATTENTION_SCAN = 2000  # the most open orders the "needs attention" view ranks by urgency at once
CSV_ROWS = 10_000

router = APIRouter(prefix="/ui", include_in_schema=False)

# A store user who opens the dashboard lands on their Pick Manager instead.
DashboardUser = Annotated[ApiKeyHolder, holder_with(signed_in, HEAD_OFFICE, lambda: Redirect("/ui/store"))]
_URGENCY_RANK = {"breached": 0, "soon": 1, "ok": 2, None: 3}


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _moment(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class Filters:
    """The dashboard's query string: what is shown, how it is sorted, which page of which snapshot."""

    view: str = "attention"  # "attention" (the default: what needs work) or "all"
    q: str = ""
    store_id: str = ""
    status: str = ""
    alert: str = ""
    created_from: str = ""  # dates, YYYY-MM-DD, inclusive
    created_to: str = ""
    sort: str = "created"
    direction: str = "desc"
    method: str = ""  # a delivery method: orders with a delivery of it
    returns: str = ""  # "open": orders with a return not yet done
    field: str = ""  # a custom field's value, name:value (models/db/custom_fields.py)
    scheduled: str = ""  # "scheduled": scheduled orders still waiting for their date
    origin: str = ""  # "subscription": orders a subscription placed
    merchant: str = ""  # a merchant id: its marketplace child orders
    reference: str = ""  # a B2B reference (customer reference, PO number, third-party invoice)
    b2b_account: str = ""  # a B2B account's buyers' orders
    page: int = 1
    as_of: str = ""  # the snapshot moment (ISO): set on the first page, carried by paging and polls

    @classmethod
    def of(cls, request: Request) -> Filters:
        q = request.query_params
        try:
            page_number = max(1, int(q.get("page", "1")))
        except ValueError:
            page_number = 1
        alert = q.get("alert", "")
        return cls(
            view=q.get("view", "attention") if q.get("view") in ("attention", "all") else "attention",
            q=q.get("q", "").strip()[:100],
            store_id=q.get("store_id", "").strip()[:32],
            status=q.get("status", "") if q.get("status", "") in OrderStatus.__members__ else "",
            alert=alert if alert in ("yes", "no", *AlertType.__members__) else "",
            created_from=q.get("created_from", "") if _date(q.get("created_from", "")) else "",
            created_to=q.get("created_to", "") if _date(q.get("created_to", "")) else "",
            sort=q.get("sort", "created") if q.get("sort") in SORTS or q.get("sort") == "urgency" else "created",
            direction="asc" if q.get("direction") == "asc" else "desc",
            page=page_number,
            as_of=q.get("as_of", "") if _moment(q.get("as_of", "")) else "",
            method=q.get("method", "") if q.get("method") in DeliveryMethod.__members__ else "",
            returns="open" if q.get("returns") == "open" else "",
            field=q.get("field", "").strip()[:541] if parse_filter(q.get("field", "")) else "",
            scheduled="scheduled" if q.get("scheduled") == "scheduled" else "",
            origin="subscription" if q.get("origin") == "subscription" else "",
            merchant=q.get("merchant", "").strip()[:32],
            reference=q.get("reference", "").strip()[:64],
            b2b_account=q.get("b2b_account", "").strip()[:64],
        )

    def query(self, **changes: Any) -> str:
        values = {**self.__dict__, **changes}
        defaults = {"page": 1, "view": "attention", "sort": "created", "direction": "desc"}
        return urlencode({k: v for k, v in values.items() if v not in ("", None) and defaults.get(k) != v})

    def sorted_by(self, column: str) -> str:
        """The query that sorts by `column` (the other way if it already does), from the first page."""
        direction = "asc" if self.sort == column and self.direction == "desc" else "desc"
        return self.query(sort=column, direction=direction, page=1, view="all")

    def aria_sort(self, column: str) -> str:
        if self.sort != column or self.view != "all":
            return "none"
        return "ascending" if self.direction == "asc" else "descending"

    def to_query(self, as_of: datetime) -> DashboardFilter:
        start, end = _date(self.created_from), _date(self.created_to)
        return DashboardFilter(
            text=self.q,
            store_id=self.store_id,
            status=self.status,
            alert=self.alert,
            created_from=datetime.combine(start, time(), UTC) if start else None,
            created_before=datetime.combine(end + timedelta(days=1), time(), UTC) if end else None,
            as_of=as_of,
            attention=self.view == "attention",
            method=self.method,
            returns=self.returns,
            custom_field=parse_filter(self.field),
            scheduled=self.scheduled == "scheduled",
            subscription=self.origin == "subscription",
            merchant_id=self.merchant,
            reference=self.reference,
            b2b_account=self.b2b_account,
        )

    def typed(self, session: Session) -> Filters:
        """The custom field filter's value as its definition reads it (yes: true, 3.0: 3), as the index holds it."""
        parsed = parse_filter(self.field)
        return replace(self, field=f"{parsed[0]}:{filter_value(session, *parsed)}") if parsed else self


@dataclass
class Row:
    record: OrderRecordRow
    open_alerts: list[str]
    total: str
    status_since: datetime
    due: datetime | None
    urgency: str | None


def _row(record: OrderRecordRow, policy: SlaPolicy, now: datetime) -> Row:
    view = record.view
    since = datetime.fromisoformat(view["status_since"])
    known = record.status in OrderStatus.__members__
    due = status_deadline(OrderStatus(record.status), since, policy) if known else None
    open_alerts = sorted({a["type"] for a in view.get("alerts", []) if not a.get("cleared_at")})
    level = "breached" if open_alerts else urgency(since, due, now)
    return Row(record, open_alerts, money(view.get("total")), since, due, level)


# The "needs attention" candidates of recent filters, kept while their fingerprint (count and latest write) holds:
# every viewer's 2-second poll then costs two small queries, not a scan of every open order, until orders change.
_CANDIDATES: dict[DashboardFilter, tuple[tuple[int, datetime | None], list[Candidate]]] = {}
_CANDIDATES_KEPT = 64


def _candidates(session: Session, query: DashboardFilter) -> list[Candidate]:
    key = replace(query, as_of=None)  # the snapshot moment only hides newer orders: the fingerprint sees them
    mark = fingerprint(session, query)
    kept = _CANDIDATES.get(key)
    if kept is not None and kept[0] == mark:
        return kept[1]
    found = attention_candidates(session, query, ATTENTION_SCAN)
    if len(_CANDIDATES) >= _CANDIDATES_KEPT:
        _CANDIDATES.pop(next(iter(_CANDIDATES)))
    _CANDIDATES[key] = (mark, found)
    return found


def _rank(candidate: Candidate, policy: SlaPolicy, now: datetime) -> tuple[int, datetime, datetime, str] | None:
    """Where an order stands in the "needs attention" view (None: it does not need attention)."""
    known = candidate.status in OrderStatus.__members__
    due = status_deadline(OrderStatus(candidate.status), candidate.status_since, policy) if known else None
    level = "breached" if candidate.has_alert else urgency(candidate.status_since, due, now)
    if not (candidate.has_alert or candidate.status == OrderStatus.on_hold or level in ("soon", "breached")):
        return None
    far = datetime.max.replace(tzinfo=UTC)
    return _URGENCY_RANK[level], due or far, candidate.status_since, candidate.order_number


def rows_of(session: Session, filters: Filters, as_of: datetime, limit: int, offset: int) -> tuple[list[Row], int]:
    """The rows the filters show: the "needs attention" view ranked by urgency (breached, about to breach, then
    on hold, each the longest waiting first), or every order in the chosen column's order."""
    policy, now, query = get_sla_policy(session), datetime.now(UTC), filters.to_query(as_of)
    if filters.view == "all":
        records, total = dashboard_rows(session, query, filters.sort, filters.direction == "desc", limit, offset)
        return [_row(r, policy, now) for r in records], total
    ranked = sorted(rank for c in _candidates(session, query) if (rank := _rank(c, policy, now)))
    shown = [rank[-1] for rank in ranked[offset : offset + limit]]
    return [_row(r, policy, now) for r in rows_by_number(session, shown)], len(ranked)


def _dashboard(session: Session, filters: Filters) -> dict[str, Any]:
    filters = filters.typed(session)
    as_of = _moment(filters.as_of) or datetime.now(UTC)
    filters = replace(filters, as_of=as_of.isoformat())
    rows, total = rows_of(session, filters, as_of, PAGE_SIZE, (filters.page - 1) * PAGE_SIZE)
    status_counts, alert_counts = dashboard_counts(session, filters.to_query(as_of))
    return {
        "rows": rows,
        "total": total,
        "filters": filters,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "newer": newer_than(session, filters.to_query(as_of), as_of),
        "status_counts": status_counts,
        "alert_counts": alert_counts,
        # Returns come after completion, which the "needs attention" view leaves out: the tile counts every order.
        "open_returns": open_returns_count(session, replace(filters.to_query(as_of), attention=False)),
        "statuses": list(OrderStatus),
        "alert_types": list(AlertType),
        "methods": list(DeliveryMethod),
        "stores": list_stores(session, LocationKind.store),
        # Only stores that send heartbeats have a link to show; the others are unmonitored.
        "store_links": [link for link in list_links(session) if link.since is not None],
        "refreshed_at": datetime.now(UTC),
        "bulk_id": str(uuid.uuid4()),
    }


@router.get("/orders")
async def dashboard(request: Request, session: SessionDep, user: DashboardUser) -> Response:
    context = await in_threadpool(session, _dashboard, session, Filters.of(request))
    return page(request, "orders.html", user, **context)


@router.get("/orders/live")
async def dashboard_live(request: Request, session: SessionDep, user: HeadOfficeUser) -> Response:
    """The tiles and the table, polled by the dashboard every 2 seconds."""
    context = await in_threadpool(session, _dashboard, session, Filters.of(request))
    return page(request, "_orders_live.html", user, **context)


def _csv(session: Session, filters: Filters) -> str:
    filters = filters.typed(session)
    as_of = _moment(filters.as_of) or datetime.now(UTC)
    rows, _ = rows_of(session, filters, as_of, CSV_ROWS, 0)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "order_number",
            "created_at_utc",
            "store_id",
            "customer_name",
            "customer_email",
            "web_reference",
            "channel",
            "status",
            "status_since_utc",
            "sla_due_utc",
            "sla_state",
            "open_alerts",
            "total",
        ]  # fmt: skip
    )
    for row in rows:
        r = row.record
        writer.writerow(
            [
                r.order_number,
                r.created_at.isoformat(),
                r.store_id,
                r.customer_name,
                r.customer_email,
                r.web_reference,
                r.channel,
                r.status,
                row.status_since.isoformat(),
                row.due.isoformat() if row.due else "",
                row.urgency or "",
                " ".join(row.open_alerts),
                row.total,
            ]  # fmt: skip
        )
    return out.getvalue()


@router.get("/orders/export.csv")
async def dashboard_csv(request: Request, session: SessionDep, user: HeadOfficeUser) -> Response:
    """The current view (its filters, sort and snapshot) as CSV, every page of it (up to 10,000 rows)."""
    text = await in_threadpool(session, _csv, session, Filters.of(request))
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    headers = {"Content-Disposition": f'attachment; filename="baton-orders-{stamp}.csv"'}
    return Response(content=text, media_type="text/csv; charset=utf-8", headers=headers)
