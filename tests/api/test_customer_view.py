"""GET /customers and /customers/{id}: customers found by any part of their name, e-mail, phone or id, and
everything about one of them in one answer, scoped to what the caller may see."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session

from api.insight_schemas import CustomerPage, CustomerView
from models.db.mail import MailDeliveryRow
from tests.insight_support import ADA, CANCEL_REASON, GRACE, ORDER_TOTAL, build_world
from tests.support import CHANNEL, HO, STORE_S001, WEB_ONLY, act


async def _found(stack, q: str, headers: dict = HO) -> list[str]:
    response = await stack.http.get("/customers", params={"q": q}, headers=headers)
    assert response.status_code == 200, response.text
    return [item["customer_id"] for item in response.json()["items"]]


async def test_search_finds_customers_by_any_part_of_name_email_phone_or_id(stack):
    world = await build_world(stack.http)

    assert await _found(stack, "lovelace") == ["C-ADA"]
    assert await _found(stack, "ADA@EXAMPLE") == ["C-ADA"]  # e-mail, any case
    assert await _found(stack, "7700 900") == ["C-ADA"]  # phone digits, however spaced
    assert await _found(stack, "07700900123"[1:]) == ["C-ADA"]
    assert await _found(stack, "c-gra") == ["C-GRACE"]
    assert await _found(stack, "example") == ["C-GRACE", "C-ADA"]  # latest ordering first
    assert await _found(stack, "100%") == []  # a LIKE wildcard is a character, not a wildcard
    page = (await stack.http.get("/customers", params={"q": "example", "limit": 1, "offset": 1}, headers=HO)).json()
    CustomerPage.model_validate(page)
    assert page["total"] == 2
    assert page["items"] == [
        {
            "customer_id": "C-ADA",
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "phone": "+44 7700 900123",
            "last_order_at": page["items"][0]["last_order_at"],
            "orders": 2,
        }
    ]
    assert page["items"][0]["last_order_at"][:19] == world.b["created_at"][:19]

    # A channel key bound to the web sees customers who ordered through it, and only those orders.
    assert await _found(stack, "example", WEB_ONLY) == ["C-ADA"]
    assert await _found(stack, "example", CHANNEL) == ["C-GRACE", "C-ADA"]  # an unbound channel key sees all
    assert (await stack.http.get("/customers", params={"q": "ada"}, headers=STORE_S001)).status_code == 403
    assert (await stack.http.get("/customers", params={"q": "ada"})).status_code == 401
    missing = await stack.http.get("/customers", headers=HO)
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "q"


async def test_customer_view_shows_profile_orders_money_notes_alerts_and_links(stack):
    world = await build_world(stack.http)
    response = await stack.http.get("/customers/C-ADA", headers=HO)
    assert response.status_code == 200, response.text
    view = response.json()
    CustomerView.model_validate(view)  # what /openapi.json says it answers

    assert view["customer"]["name"] == ADA["name"] and view["customer"]["phone"] == ADA["phone"]
    assert view["orders_total"] == 2
    a, b = world.a["order_number"], world.b["order_number"]
    assert [(o["order_number"], o["status"], o["href"]) for o in view["orders"]] == [
        (b, "cancelled", f"/orders/{b}"),
        (a, "completed", f"/orders/{a}"),
    ]
    assert [o["total"]["amount"] for o in view["orders"]] == [0, ORDER_TOTAL]  # a cancelled order owes nothing
    assert [o["refunded"]["amount"] for o in view["orders"]] == [ORDER_TOTAL, 0]
    assert sorted((p["order_number"], p["amount"]["amount"]) for p in view["payments"]) == sorted(
        [(a, ORDER_TOTAL), (b, ORDER_TOTAL)]
    )
    assert [(r["order_number"], r["amount"]["amount"], r["reason"]) for r in view["refunds"]] == [
        (b, ORDER_TOTAL, CANCEL_REASON)
    ]
    assert sorted(n["order_number"] for n in view["notes"]) == sorted([a, b])  # "Please gift wrap" on each
    assert view["alerts"] == [] and view["addresses"] == []
    assert view["emails"] == []  # no mail configured in these tests

    g1, g2 = world.g1["order_number"], world.g2["order_number"]
    # Grace's first order goes to her home instead; and the mail lane has written to her about her second.
    address = {
        "name": "Grace Hopper",
        "line1": "1 Navy Yard",
        "city": "Arlington",
        "postcode": "22202",
        "country": "US",
    }
    await act(stack.http, g1, "home-delivery", {"address": address, "from_location": "W001", "reason": "by phone"})
    with Session(stack.engine) as session:
        session.add(
            MailDeliveryRow(
                event_id=f"order-{g2}:event:9", order_number=g2, event_type="updated", template="updated",
                audience="customer", address=GRACE["email"], subject="Your order was updated", status="sent",
                created_at=datetime.now(UTC), sent_at=datetime.now(UTC),
            )
        )  # fmt: skip
        session.commit()
    grace = (await stack.http.get("/customers/C-GRACE", headers=HO)).json()
    CustomerView.model_validate(grace)
    assert [(al["order_number"], al["type"]) for al in grace["alerts"]] == [(g2, "not_acknowledged")]
    assert grace["customer"]["email"] == GRACE["email"]
    assert grace["addresses"] == [{"address": {**address, "line2": None}, "first_seen_on": g1}]
    assert [(m["order_number"], m["subject"], m["status"]) for m in grace["emails"]] == [
        (g2, "Your order was updated", "sent")
    ]

    # Scoped: the web-only key does not see Grace (phone) at all, and a store key is refused.
    hidden = await stack.http.get("/customers/C-GRACE", headers=WEB_ONLY)
    assert hidden.status_code == 404 and hidden.json()["type"].endswith("customer-not-found")
    assert (await stack.http.get("/customers/C-ADA", headers=WEB_ONLY)).json()["orders_total"] == 2
    assert (await stack.http.get("/customers/C-ADA", headers=STORE_S001)).status_code == 403
    assert (await stack.http.get("/customers/nobody", headers=HO)).status_code == 404
