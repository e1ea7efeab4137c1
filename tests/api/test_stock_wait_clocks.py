"""The SLA clocks of orders waiting for stock, on the real stack with time skipping: a backorder not replenished within
the policy's `backorder_overdue` raises that alert and keeps waiting (replenishment sends it out and clears it); a
preorder still not reserved `preorder_not_reserved` after its release date raises that alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from models.db import stock as stock_db
from tests.support import HO, TEE, eventually, order_body, place, wait_for_status


async def _available(stack, sku: str, location: str) -> int:
    holding = (await stack.http.get(f"/stock/{sku}")).json()
    return next(loc["available"] for loc in holding["locations"] if loc["location_id"] == location)


async def _open_alerts(stack, number: str) -> list[str]:
    view = (await stack.http.get(f"/orders/{number}", headers=HO)).json()
    return sorted(a["type"] for a in view["alerts"] if not a["cleared_at"])


async def _alerted(stack, number: str, alert: str) -> None:
    async def raised() -> bool:
        return alert in await _open_alerts(stack, number)

    await eventually(raised)


async def test_a_backorder_not_replenished_in_time_raises_backorder_overdue_then_replenishment_clears_it(
    skipping_stack,
):
    stack = skipping_stack
    policy = (await stack.http.get("/settings/sla", headers=HO)).json()
    policy["backorder_overdue"] = "P2D"
    assert (await stack.http.put("/settings/sla", json=policy, headers=HO)).status_code == 200
    short = await _available(stack, TEE, "S003") + 1
    number = await place(
        stack.http, order_body("S003", lines=[(TEE, short)], backorder_for="P7D"), status="backordered"
    )

    await stack.env.sleep(timedelta(days=1, hours=23))
    assert await _open_alerts(stack, number) == []
    await stack.env.sleep(timedelta(hours=1, minutes=1))
    await _alerted(stack, number, "backorder_overdue")
    view = (await stack.http.get(f"/orders/{number}", headers=HO)).json()
    assert view["status"] == "backordered"

    with Session(stack.engine) as session:
        stock_db.top_up(session, "S003", {TEE: short})  # replenishment arrives in the stock ledger
    await stack.env.sleep(timedelta(hours=1, minutes=1))
    await wait_for_status(stack.http, number, "awaiting_acknowledgement")
    assert await _open_alerts(stack, number) == []


async def test_a_preorder_not_reserved_after_its_release_date_raises_preorder_not_reserved(skipping_stack):
    stack = skipping_stack
    release = datetime.now(UTC) + timedelta(days=2)
    short = await _available(stack, TEE, "S003") + 1
    body = order_body("S003", lines=[(TEE, short)], backorder_for="P7D", release_at=release.isoformat())
    number = await place(stack.http, body, status="awaiting_release")

    await stack.env.sleep(timedelta(days=2, minutes=1))
    await wait_for_status(stack.http, number, "backordered")  # released, but short of stock
    assert await _open_alerts(stack, number) == []
    await stack.env.sleep(timedelta(days=1))
    await _alerted(stack, number, "preorder_not_reserved")
