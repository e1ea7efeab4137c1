"""Orders for the customer view and analytics tests: a small known world, placed and moved through the real stack.

- Ada (web): A collected at S001; B cancelled at S001 before the store acknowledged ("customer changed mind");
- Grace (phone): G1 at S002 left waiting; G2 at S002 placed under a 1-second acknowledgement SLA, so it breaches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from tests.support import (
    HO,
    JEANS,
    PRICES,
    TEE,
    act,
    collect,
    eventually,
    make_ready,
    order_body,
    place,
    wait_for_status,
)

ADA = {"id": "C-ADA", "name": "Ada Lovelace", "email": "Ada@Example.com", "phone": "+44 7700 900123"}
GRACE = {"id": "C-GRACE", "name": "Grace Hopper", "email": "grace@navy.example", "phone": "+1 555 0100"}
ORDER_TOTAL = 2 * PRICES[TEE] + PRICES[JEANS]  # order_body's default lines
CANCEL_REASON = "customer changed mind"


@dataclass
class World:
    a: dict[str, Any]  # each order's view at the end
    b: dict[str, Any]
    g1: dict[str, Any]
    g2: dict[str, Any]


def seconds_to(view: dict[str, Any], to_status: str) -> int:
    """Seconds from placement to the first time the order reached `to_status`, from its own history."""
    start = datetime.fromisoformat(view["created_at"])
    at = next(e["at"] for e in view["history"] if e.get("to_status") == to_status)
    return int((datetime.fromisoformat(at) - start).total_seconds())


async def build_world(http: httpx.AsyncClient) -> World:
    a = await place(http, order_body("S001", customer=ADA))
    await make_ready(http, a)
    await collect(http, a)
    b = await place(http, order_body("S001", customer=ADA))
    await act(http, b, "cancel", {"reason": CANCEL_REASON})
    await wait_for_status(http, b, "cancelled")
    g1 = await place(http, order_body("S002", customer=GRACE, channel="phone"))
    response = await http.put("/settings/sla", json={"not_acknowledged": 1}, headers=HO)
    assert response.status_code == 200, response.text
    g2 = await place(http, order_body("S002", customer=GRACE, channel="phone"))

    async def breached() -> dict | None:
        view = (await http.get(f"/orders/{g2}", headers=HO)).json()
        return view if view["has_alert"] else None

    await eventually(breached)

    async def refunded() -> dict | None:
        view = (await http.get(f"/orders/{b}", headers=HO)).json()
        return view if view["refunded"]["amount"] == ORDER_TOTAL else None

    await eventually(refunded)
    views = [(await http.get(f"/orders/{n}", headers=HO)).json() for n in (a, b, g1, g2)]
    return World(*views)
