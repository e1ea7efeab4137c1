"""Merchants and marketplace orders on the real stack (Temporal dev server, SQLite): a two-merchant basket becomes two
child orders, each fulfilled at its merchant's store through that store's events; the parent completes when both do;
the ledger owes each merchant its sale less the commission, once; cancelling a parent cancels the children not past
their point of no return and reports the one that is."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from models.signing import verify
from tests.http_receiver import Receiver, http_receiver
from tests.support import (
    CHANNEL,
    HO,
    HO_KEY,
    JEANS,
    PRICES,
    TEE,
    collect,
    eventually,
    make_ready,
    order_body,
    store_says,
    ui_sign_in,
    wait_for_status,
)

ACME, BOLT = "acme", "bolt"
ACME_SECRET = "acme-webhook-secret-0123456789"


async def _marketplace(http) -> None:
    """Two merchants, each with a store (S002, S003) and a product (the tee, the jeans)."""
    for merchant_id, commission_bp, store_id in ((ACME, 1000, "S002"), (BOLT, 250, "S003")):
        body = {"name": merchant_id.title(), "payout_account": f"iban:{merchant_id}", "commission_bp": commission_bp}
        created = await http.put(f"/merchants/{merchant_id}", json=body, headers=HO)
        assert created.status_code in (200, 201), created.text
        store = (await http.get(f"/stores/{store_id}", headers=HO)).json()
        settings = {"name": store["name"], "merchant_id": merchant_id}
        owned = await http.put(f"/stores/{store_id}", json=settings, headers=HO)
        assert owned.status_code == 200 and owned.json()["merchant_id"] == merchant_id, owned.text
    feed = {
        "message_id": "merchants-products-1",
        "products": [
            {"sku": sku, "style": sku.split("-")[0], "name": sku, "price": {"amount": PRICES[sku], "currency": "GBP"},
             "merchant_id": merchant_id}
            for sku, merchant_id in ((TEE, ACME), (JEANS, BOLT))
        ],
    }  # fmt: skip
    fed = await http.post("/feeds/products", json=feed, headers=HO)
    assert fed.status_code == 200, fed.text


async def _place(http, key: str) -> dict:
    body = order_body(lines=[(TEE, 2), (JEANS, 1)])  # click & collect at S001, owned by neither merchant
    placed = await http.post("/marketplace-orders", json=body, headers={**CHANNEL, "Idempotency-Key": key})
    assert placed.status_code == 201, placed.text
    again = await http.post("/marketplace-orders", json=body, headers={**CHANNEL, "Idempotency-Key": key})
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["marketplace_order_id"] == placed.json()["marketplace_order_id"]
    other = {**body, "notes": ["another basket"]}
    reused = await http.post("/marketplace-orders", json=other, headers={**CHANNEL, "Idempotency-Key": key})
    assert reused.status_code == 422 and reused.json()["errors"][0]["field"] == "Idempotency-Key", reused.text
    return placed.json()


async def _status(http, parent_id: str, status: str) -> dict:
    async def check() -> dict | None:
        view = (await http.get(f"/marketplace-orders/{parent_id}", headers=HO)).json()
        return view if view["status"] == status else None

    return await eventually(check)


async def test_a_two_merchant_basket_becomes_two_orders_fulfilled_apart_and_the_merchants_are_owed_once(stack):
    http = stack.http
    await _marketplace(http)
    parent = await _place(http, "basket-mp-1")
    children = {child["merchant_id"]: child for child in parent["children"]}
    assert set(children) == {ACME, BOLT} and parent["status"] == "in_progress"
    tees, jeans = children[ACME]["order_number"], children[BOLT]["order_number"]
    assert tees != jeans
    assert children[ACME]["share"]["amount"] == PRICES[TEE] * 2 and children[BOLT]["share"]["amount"] == PRICES[JEANS]

    tee_order = await wait_for_status(http, tees, "awaiting_acknowledgement")
    jean_order = await wait_for_status(http, jeans, "awaiting_acknowledgement")
    assert tee_order["store_id"] == "S002" and [line["sku"] for line in tee_order["lines"]] == [TEE]
    assert jean_order["store_id"] == "S003" and [line["sku"] for line in jean_order["lines"]] == [JEANS]
    assert tee_order["total"]["amount"] == PRICES[TEE] * 2 and jean_order["total"]["amount"] == PRICES[JEANS]
    shares = [payment["amount"]["amount"] for payment in tee_order["payments"] + jean_order["payments"]]
    assert sum(shares) == parent["total"]["amount"]  # one payment, shared

    # Each child is fulfilled by its own store's events; the parent waits for both.
    await make_ready(http, tees, "S002")
    await collect(http, tees, "S002")
    assert (await _status(http, parent["marketplace_order_id"], "partially_completed"))["status"]
    await make_ready(http, jeans, "S003")
    await collect(http, jeans, "S003")
    done = await _status(http, parent["marketplace_order_id"], "completed")
    assert {child["status"] for child in done["children"]} == {"completed"}

    # The ledger: each merchant owed its child's sale less its commission, recorded once.
    acme = (await http.get(f"/merchants/{ACME}/ledger", headers=HO)).json()
    bolt = (await http.get(f"/merchants/{BOLT}/ledger", headers=HO)).json()
    tee_sale = PRICES[TEE] * 2
    assert [(e["order_number"], e["sale"]["amount"], e["owed"]["amount"]) for e in acme["entries"]] == [
        (tees, tee_sale, tee_sale - (tee_sale * 1000 + 5000) // 10_000)
    ]
    jean_sale = PRICES[JEANS]
    assert [(e["order_number"], e["owed"]["amount"]) for e in bolt["entries"]] == [
        (jeans, jean_sale - (jean_sale * 250 + 5000) // 10_000)
    ]
    # A note on a completed child writes its projection again: still one ledger entry.
    noted = await http.post(f"/orders/{tees}/notes", json={"text": "merchant paid"}, headers=HO)
    assert noted.status_code == 200, noted.text
    again = (await http.get(f"/merchants/{ACME}/ledger", headers=HO)).json()
    assert len(again["entries"]) == 1 and again["owed"] == acme["owed"]

    # Pages: the parent lists its children with their statuses; the dashboard filters by merchant.
    assert (await ui_sign_in(http, HO_KEY)).status_code == 303
    page = (await http.get(f"/ui/marketplace-orders/{parent['marketplace_order_id']}")).text
    assert 'data-parent-status="completed"' in page
    assert f'data-child="{tees}"' in page and f'data-child="{jeans}"' in page
    assert page.count('data-child-status="completed"') == 2
    child_page = (await http.get(f"/ui/orders/{tees}")).text
    assert f'/ui/marketplace-orders/{parent["marketplace_order_id"]}' in child_page
    listed = (await http.get("/ui/orders", params={"view": "all", "merchant": ACME})).text
    assert f"/ui/orders/{tees}" in listed and f"/ui/orders/{jeans}" not in listed


async def test_cancelling_the_parent_cancels_the_children_before_their_point_of_no_return_and_reports_the_rest(stack):
    http = stack.http
    await _marketplace(http)
    queue = {
        "name": "no-return",
        "invoicing": "upfront",
        "stages": [
            {"name": "placed", "event": "placed"},
            {"name": "accepted", "event": "accepted", "point_of_no_return": True},
        ],
    }
    settings = {"queues": [queue], "rules": [{"queue": "no-return"}]}  # fmt: skip
    assert (await http.put("/settings/queues", json=settings, headers=HO)).status_code == 200
    parent = await _place(http, "basket-mp-2")
    children = {child["merchant_id"]: child["order_number"] for child in parent["children"]}
    for number in children.values():
        await wait_for_status(http, number, "awaiting_acknowledgement")
    await store_says(http, children[ACME], "acknowledged", "S002")  # ACME's order is past its point of no return
    await wait_for_status(http, children[ACME], "acknowledged")

    answer = await http.post(
        f"/marketplace-orders/{parent['marketplace_order_id']}/cancel", json={"reason": "customer left"}, headers=HO
    )
    assert answer.status_code == 200, answer.text
    outcome = answer.json()
    assert outcome["cancelled"] == [children[BOLT]]
    assert [(n["order_number"], n["rule"]) for n in outcome["not_cancelled"]] == [
        (children[ACME], "point_of_no_return")
    ]
    assert (await wait_for_status(http, children[BOLT], "cancelled"))["status"] == "cancelled"
    assert (await http.get(f"/orders/{children[ACME]}", headers=HO)).json()["status"] == "acknowledged"
    assert outcome["status"] == "in_progress"  # one child still runs


async def test_a_basket_of_one_owner_or_an_unknown_merchant_is_refused_naming_the_field(stack):
    http = stack.http
    await _marketplace(http)
    one = await http.post("/marketplace-orders", json=order_body(lines=[(TEE, 1)]), headers=CHANNEL)
    assert one.status_code == 422 and one.json()["errors"][0]["field"] == "lines", one.text
    store = await http.put("/stores/S004", json={"name": "Bristol", "merchant_id": "nobody"}, headers=HO)
    assert store.status_code == 422 and store.json()["errors"][0]["field"] == "merchant_id", store.text
    assert (await http.get("/merchants/nobody/ledger", headers=HO)).status_code == 404


@pytest.fixture
def acme_endpoint() -> Iterator[Receiver]:
    with http_receiver(path="/acme/orders") as receiver:
        yield receiver


@pytest.fixture
def stack_settings() -> dict[str, Any]:
    return {"outbox_poll_seconds": 0.05}


async def test_a_merchant_hears_of_its_own_child_orders_only_signed_with_its_secret(stack, acme_endpoint):
    http = stack.http
    await _marketplace(http)
    no_secret = {"name": "Acme", "payout_account": "iban:acme", "commission_bp": 1000, "webhook_url": acme_endpoint.url}
    refused = await http.put(f"/merchants/{ACME}", json=no_secret, headers=HO)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "webhook_secret", refused.text
    with_hook = {**no_secret, "webhook_secret": ACME_SECRET}
    acme = await http.put(f"/merchants/{ACME}", json=with_hook, headers=HO)
    assert acme.status_code == 200 and acme.json()["webhook_secret_set"], acme.text
    assert ACME_SECRET not in acme.text
    parent = await _place(http, "basket-mp-3")
    children = {child["merchant_id"]: child["order_number"] for child in parent["children"]}
    await wait_for_status(http, children[BOLT], "awaiting_acknowledgement")
    await store_says(http, children[BOLT], "acknowledged", "S003")  # BOLT's events come first in the outbox
    await wait_for_status(http, children[BOLT], "acknowledged")
    await wait_for_status(http, children[ACME], "awaiting_acknowledgement")
    await store_says(http, children[ACME], "acknowledged", "S002")

    async def heard() -> list[dict] | None:
        placed = [r.json for r in acme_endpoint.accepted if r.json["type"] == "acknowledged"]
        return placed or None

    events = await eventually(heard)
    assert {event["order_number"] for event in events} == {children[ACME]}
    assert all(r.json["order_number"] == children[ACME] for r in acme_endpoint.accepted)  # never BOLT's child
    for request in acme_endpoint.accepted:
        verify(ACME_SECRET, request.headers.get("baton-signature"), request.body, time.time())
