"""The customer view and analytics, shared by the API routers (api/routers/customers.py, analytics.py) and the
pages (api/pages/customers.py, analytics.py): one place builds each answer, so a page shows what the API says."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import Response
from sqlmodel import Session

from api.problems import NotFound, field_error
from models.db import analytics, customers
from models.db.analytics import Scope
from models.db.insight import CustomerRow

DEFAULT_DAYS = 30
EARLIEST, LATEST = date(2000, 1, 1), date(9999, 12, 30)  # a range's end is the day after `to`: it must exist
CUSTOMER_ORDERS_SHOWN = 100  # a customer's newest orders in full; the count says how many there are in all
CSV_ROWS = 100_000


def scope_of(first: date | None, last: date | None, store_id: str | None, channel: str | None) -> Scope:
    """The date range asked for (default: the last 30 days to today, UTC); `from` after `to` is a 422."""
    for field, day in (("from", first), ("to", last)):
        if day is not None and not EARLIEST <= day <= LATEST:
            raise field_error(field, f"must be between {EARLIEST} and {LATEST}")
    last = last or datetime.now(UTC).date()
    first = first or max(EARLIEST, last - timedelta(days=DEFAULT_DAYS - 1))
    if first > last:
        raise field_error("from", "must not be after 'to'")
    return Scope(first=first, last=last, store_id=store_id or None, channel=channel or None)


def scope_json(scope: Scope) -> dict[str, Any]:
    return {"from": scope.first, "to": scope.last, "store_id": scope.store_id, "channel": scope.channel}


def dashboard(session: Session, scope: Scope) -> dict[str, Any]:
    """Everything the analytics page shows, in one read."""
    return {
        "scope": scope_json(scope),
        "by_day": analytics.orders_by(session, scope, "day"),
        "by_channel": analytics.orders_by(session, scope, "channel"),
        "by_store": analytics.orders_by(session, scope, "store"),
        "breaches": analytics.breaches_by_store_and_type(session, scope),
        "breach_rates": analytics.breach_rates(session, scope),
        "stage_times": analytics.stage_times(session, scope),
        "cancellations": analytics.cancellation_reasons(session, scope),
        "refunds": analytics.refund_reasons(session, scope),
    }


# ---- the customer view ---------------------------------------------------------------------------------------


def search(session: Session, q: str, channels: list[str] | None, limit: int, offset: int) -> dict[str, Any]:
    found, total = customers.search_customers(session, q, channels, limit, offset)
    items = [{**_profile(row), "orders": count} for row, count in found]
    return {"items": items, "total": total, "limit": limit, "offset": offset}


def _profile(row: CustomerRow) -> dict[str, Any]:
    return {
        "customer_id": row.customer_id,
        "name": row.name,
        "email": row.email,
        "phone": row.phone or None,
        "last_order_at": row.last_order_at,
    }


def customer_view(session: Session, customer_id: str, channels: list[str] | None) -> dict[str, Any]:
    """One customer: profile, addresses seen on orders, every order (newest first) with its status and money, and
    across them payments, refunds, notes, alerts and the e-mail sent. 404 for a customer the caller cannot see."""
    row = customers.get_customer(session, customer_id, channels)
    if row is None:
        raise NotFound(f"customer {customer_id} not found", type_="customer-not-found")
    records, total = customers.customer_orders(session, customer_id, channels, CUSTOMER_ORDERS_SHOWN)
    orders: list[dict[str, Any]] = []
    payments: list[dict[str, Any]] = []
    refunds: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    alerts: list[dict[str, Any]] = []
    addresses: list[dict[str, Any]] = []
    for record in records:
        view, number = record.view, record.order_number
        orders.append(
            {
                "order_number": number,
                "status": view["status"],
                "status_since": view["status_since"],
                "created_at": view["created_at"],
                "store_id": view["store_id"],
                "channel": view["channel"],
                "web_reference": view["web_reference"],
                "fulfilment_method": view.get("fulfilment_method"),
                "total": view["total"],
                "paid": view["paid"],
                "refunded": view["refunded"],
                "outstanding": view["outstanding"],
                "has_alert": view["has_alert"],
                "href": f"/orders/{number}",
            }
        )
        payments += [{"order_number": number, **payment} for payment in view.get("payments", [])]
        refunds += [{"order_number": number, **refund} for refund in view.get("refunds", [])]
        notes += [{"order_number": number, **note} for note in view.get("notes", [])]
        alerts += [{"order_number": number, **alert} for alert in view.get("alerts", [])]
        address = view.get("delivery_address")
        if address and address not in [a["address"] for a in addresses]:
            addresses.append({"address": address, "first_seen_on": number})
    emails = [
        {
            "order_number": mail.order_number,
            "event_type": mail.event_type,
            "address": mail.address,
            "subject": mail.subject,
            "status": mail.status,
            "created_at": mail.created_at,
            "sent_at": mail.sent_at,
        }
        for mail in customers.mail_about(session, [record.order_number for record in records])
    ]
    return {
        "customer": _profile(row),
        "addresses": addresses,
        "orders": orders,
        "orders_total": total,
        "payments": payments,
        "refunds": refunds,
        "notes": sorted(notes, key=lambda n: _moment(n["at"]), reverse=True),
        "alerts": sorted(alerts, key=lambda a: _moment(a["raised_at"]), reverse=True),
        "emails": emails,
    }


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


# ---- CSV -----------------------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula is quoted with a leading apostrophe (OWASP)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value


def csv_response(rows: list[dict[str, Any]], columns: list[str], filename: str) -> Response:
    """`rows` as an RFC 4180 CSV download, a header line first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


SUMMARY_COLUMNS = ["day", "store_id", "channel", "currency", "orders", "cancelled", "breached_orders", "revenue",
                   "refunded"]  # fmt: skip
CUSTOMER_COLUMNS = ["customer_id", "name", "email", "currency", "orders", "cancelled", "revenue", "refunded",
                    "first_order_at", "last_order_at"]  # fmt: skip


def summary_csv(session: Session, scope: Scope) -> Response:
    rows = analytics.orders_summary(session, scope)
    return csv_response(rows, SUMMARY_COLUMNS, f"orders-summary-{scope.first}-{scope.last}.csv")


def customers_csv(session: Session, scope: Scope) -> Response:
    rows, _total = analytics.customer_orders(session, scope, CSV_ROWS)
    return csv_response(rows, CUSTOMER_COLUMNS, f"customer-orders-{scope.first}-{scope.last}.csv")
