"""GET /analytics/*: exact figures from orders placed and moved through the real stack, filters, CSV exports."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from api import insight_schemas as schemas
from tests.insight_support import CANCEL_REASON, ORDER_TOTAL, build_world, seconds_to
from tests.support import CHANNEL, HO

SCHEMAS = {
    "orders": schemas.OrdersAnalytics,
    "sla": schemas.SlaAnalytics,
    "stage-times": schemas.StageTimesAnalytics,
    "reasons": schemas.ReasonsAnalytics,
    "summary": schemas.SummaryAnalytics,
    "customers": schemas.CustomerOrdersAnalytics,
}


async def _get(stack, path: str, **params) -> dict:
    response = await stack.http.get(f"/analytics/{path}", params=params, headers=HO)
    assert response.status_code == 200, response.text
    SCHEMAS[path].model_validate(response.json(), strict=False)  # what /openapi.json says it answers
    return response.json()


async def test_analytics_count_orders_revenue_breaches_times_and_reasons_exactly(stack):
    world = await build_world(stack.http)
    day = world.a["created_at"][:10]  # every order of the world was placed today (UTC)
    span = {"from": day, "to": world.g2["created_at"][:10]}

    by_store = await _get(stack, "orders", by="store", **span)
    assert by_store["rows"] == [
        {"store": "S001", "currency": "GBP", "orders": 2, "cancelled": 1, "revenue": ORDER_TOTAL,
         "refunded": ORDER_TOTAL},
        {"store": "S002", "currency": "GBP", "orders": 2, "cancelled": 0, "revenue": 2 * ORDER_TOTAL, "refunded": 0},
    ]  # fmt: skip
    by_channel = await _get(stack, "orders", by="channel", **span)
    assert [(r["channel"], r["orders"], r["revenue"]) for r in by_channel["rows"]] == [
        ("phone", 2, 2 * ORDER_TOTAL),
        ("web", 2, ORDER_TOTAL),
    ]
    by_day = await _get(stack, "orders", **span)
    assert [(r["day"], r["orders"], r["revenue"]) for r in by_day["rows"]] == [(day, 4, 3 * ORDER_TOTAL)]
    assert by_day["scope"] == {"from": span["from"], "to": span["to"], "store_id": None, "channel": None}

    sla = await _get(stack, "sla", **span)
    assert sla["breaches"] == [{"store_id": "S002", "alert_type": "not_acknowledged", "breaches": 1}]
    assert sla["rates"] == [
        {"store_id": "S001", "orders": 2, "breached_orders": 0, "breach_rate": 0.0},
        {"store_id": "S002", "orders": 2, "breached_orders": 1, "breach_rate": 0.5},
    ]

    times = {row["store_id"]: row for row in (await _get(stack, "stage-times", **span))["stores"]}
    ack = seconds_to(world.a, "acknowledged")
    collected = seconds_to(world.a, "collected")
    assert times["S001"]["acknowledged"] == {"orders": 1, "median_seconds": ack, "p90_seconds": ack}
    assert times["S001"]["collected"] == {"orders": 1, "median_seconds": collected, "p90_seconds": collected}
    assert times["S001"]["picked"]["orders"] == 1 and times["S001"]["ready"]["orders"] == 1
    assert times["S002"]["acknowledged"] == {"orders": 0, "median_seconds": None, "p90_seconds": None}
    assert times["*"]["acknowledged"] == times["S001"]["acknowledged"]

    reasons = await _get(stack, "reasons", **span)
    assert reasons["cancellations"] == [{"cancelled_by": "order_cancelled", "reason": CANCEL_REASON, "orders": 1}]
    assert reasons["refunds"] == [{"reason": CANCEL_REASON, "currency": "GBP", "refunds": 1, "amount": ORDER_TOTAL}]

    # Filters: a store, a channel, a range with none of the orders.
    only_s001 = await _get(stack, "orders", by="channel", store_id="S001", **span)
    assert [(r["channel"], r["orders"]) for r in only_s001["rows"]] == [("web", 2)]
    only_phone = await _get(stack, "sla", channel="phone", **span)
    assert [r["store_id"] for r in only_phone["rates"]] == ["S002"]
    tomorrow = (date.fromisoformat(span["to"]) + timedelta(days=1)).isoformat()
    assert (await _get(stack, "orders", **{"from": tomorrow, "to": tomorrow}))["rows"] == []
    assert len((await _get(stack, "orders"))["rows"]) == 1  # the default range ends today


async def test_orders_summary_and_customer_analysis_as_json_and_csv(stack):
    world = await build_world(stack.http)
    span = {"from": world.a["created_at"][:10], "to": world.g2["created_at"][:10]}
    day = span["from"]

    summary = await _get(stack, "summary", **span)
    assert summary["rows"] == [
        {"day": day, "store_id": "S001", "channel": "web", "currency": "GBP", "orders": 2, "cancelled": 1,
         "breached_orders": 0, "revenue": ORDER_TOTAL, "refunded": ORDER_TOTAL},
        {"day": day, "store_id": "S002", "channel": "phone", "currency": "GBP", "orders": 2, "cancelled": 0,
         "breached_orders": 1, "revenue": 2 * ORDER_TOTAL, "refunded": 0},
    ]  # fmt: skip
    response = await stack.http.get("/analytics/summary", params={**span, "format": "csv"}, headers=HO)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["store_id"], r["orders"], r["revenue"]) for r in rows] == [
        ("S001", "2", str(ORDER_TOTAL)),
        ("S002", "2", str(2 * ORDER_TOTAL)),
    ]

    customers = await _get(stack, "customers", **span)
    assert customers["total"] == 2
    figures = [(c["customer_id"], c["orders"], c["cancelled"], c["revenue"], c["refunded"]) for c in customers["items"]]
    assert figures == [
        ("C-GRACE", 2, 0, 2 * ORDER_TOTAL, 0),
        ("C-ADA", 2, 1, ORDER_TOTAL, ORDER_TOTAL),
    ]
    grace = customers["items"][0]
    assert grace["name"] == "Grace Hopper"
    assert grace["first_order_at"][:19] == world.g1["created_at"][:19]
    assert grace["last_order_at"][:19] == world.g2["created_at"][:19]
    second = await _get(stack, "customers", limit=1, offset=1, **span)
    assert [c["customer_id"] for c in second["items"]] == ["C-ADA"]
    exported = await stack.http.get("/analytics/customers", params={**span, "format": "csv"}, headers=HO)
    lines = list(csv.reader(io.StringIO(exported.text)))
    assert lines[0][:5] == ["customer_id", "name", "email", "currency", "orders"]
    assert [line[0] for line in lines[1:]] == ["C-GRACE", "C-ADA"]


async def test_analytics_are_for_head_office_and_refuse_a_backwards_range(stack):
    assert (await stack.http.get("/analytics/orders", headers=CHANNEL)).status_code == 403
    assert (await stack.http.get("/analytics/orders")).status_code == 401
    backwards = await stack.http.get("/analytics/sla", params={"from": "2026-12-02", "to": "2026-12-01"}, headers=HO)
    assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "from"
    bad = await stack.http.get("/analytics/orders", params={"by": "colour"}, headers=HO)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "by"
    assert (await stack.http.get("/analytics/orders", params={"channel": "fax"}, headers=HO)).status_code == 422
