"""Helpers shared by the tests: order bodies, signed store webhooks, waiting for a state."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlmodel import Session, select

from models.db.demo import demo_skus
from models.db.tables import GatewayTestOperationRow
from models.signing import SIGNATURE_HEADER, sign

STORE_SECRETS = {
    "S001": "s001-test-secret-0123456789",
    "S002": "s002-test-secret-0123456789",
    "S003": "s003-test-secret-0123456789",
    "S004": "s004-test-secret-0123456789",
    "W001": "w001-test-secret-0123456789",
}
HO_KEY = "test-ho-key"
CHANNEL_KEY = "test-channel-key"
API_KEYS = {
    HO_KEY: {"name": "alice", "role": "head_office"},
    "test-ho-key-2": {"name": "bob", "role": "head_office"},
    CHANNEL_KEY: {"name": "webstore", "role": "channel"},
    "test-store-s001": {"name": "oxford-street", "role": "store", "store_id": "S001"},
    "test-store-s002": {"name": "manchester", "role": "store", "store_id": "S002"},
    "test-web-only": {"name": "webstore-eu", "role": "channel", "channels": ["web"]},
}
WEB_ONLY = {"Authorization": "Bearer test-web-only"}
HO = {"Authorization": f"Bearer {HO_KEY}"}
HO_BOB = {"Authorization": "Bearer test-ho-key-2"}
CHANNEL = {"Authorization": f"Bearer {CHANNEL_KEY}"}
STORE_S001 = {"Authorization": "Bearer test-store-s001"}
STORE_S002 = {"Authorization": "Bearer test-store-s002"}

PRICES = {sku: price for sku, _style, _name, _size, price, _colour in demo_skus()}
TEE = "TEE-WHI-M"
JEANS = "JEAN-IND-32"


def order_body(store_id: str = "S001", lines: list[tuple[str, int]] | None = None, **overrides: Any) -> dict:
    lines = lines or [(TEE, 2), (JEANS, 1)]
    total = sum(PRICES[sku] * qty for sku, qty in lines)
    body = {
        "web_reference": f"WEB-{uuid.uuid4().hex[:8]}",
        "channel": "web",
        "customer": {"id": "C42", "name": "Ada Lovelace", "email": "ada@example.com", "phone": "+441234567890"},
        "fulfilment": {"method": "click_and_collect", "store_id": store_id},
        "lines": [
            {"sku": sku, "quantity": qty, "unit_price": {"amount": PRICES[sku], "currency": "GBP"}}
            for sku, qty in lines
        ],
        "payment": {
            "mode": "prepaid",
            "method": "card",
            "amount": {"amount": total, "currency": "GBP"},
            "reference": "PSP-4242",
        },
        "loyalty_offers": [],
        "notes": ["Please gift wrap"],
    }
    body.update(overrides)
    return body


def signed_headers(store_id: str, body: bytes, *, secret: str | None = None, at: int | None = None) -> dict:
    secret = secret or STORE_SECRETS[store_id]
    return {SIGNATURE_HEADER: sign(secret, body, at or int(time.time())), "Content-Type": "application/json"}


def store_event(order_number: str, type_: str, picked: dict[str, int] | None = None, **extra: Any) -> dict:
    event: dict[str, Any] = {
        "event_id": extra.pop("event_id", f"evt-{uuid.uuid4().hex}"),
        "type": type_,
        "order_number": order_number,
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    if picked is not None:
        event["picked"] = [{"line_id": line, "quantity": qty} for line, qty in picked.items()]
    event.update(extra)
    return event


async def post_store_event(client: httpx.AsyncClient, store_id: str, event: dict, **sign_args: Any) -> httpx.Response:
    body = json.dumps(event).encode()
    return await client.post(
        f"/webhooks/stores/{store_id}", content=body, headers=signed_headers(store_id, body, **sign_args)
    )


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 20.0, interval: float = 0.1) -> Any:
    """Retry `check` until it returns a truthy value (workflows project asynchronously)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(interval)


async def wait_for_status(client: httpx.AsyncClient, order_number: str, status: str, timeout: float = 20.0) -> dict:
    async def check() -> dict | None:
        view = (await client.get(f"/orders/{order_number}", headers=HO)).json()
        return view if view.get("status") == status else None

    return await eventually(check, timeout)


async def settled(client: httpx.AsyncClient, order_number: str, timeout: float = 20.0) -> dict:
    """The order once no gateway operation is queued or running (money moves after the action that asked)."""

    async def check() -> dict | None:
        view = (await client.get(f"/orders/{order_number}", headers=HO)).json()
        return view if all(op["status"] == "unknown" for op in view["operations"]) else None

    return await eventually(check, timeout)


def gateway_operations(engine: Any, order_number: str) -> list[tuple[str, str, int]]:
    """The test gateway's books for one order, oldest first: (kind, outcome, amount)."""
    with Session(engine) as session:
        rows = session.exec(
            select(GatewayTestOperationRow)
            .where(GatewayTestOperationRow.order_number == order_number)
            .order_by(GatewayTestOperationRow.created_at)
        ).all()
        return [(row.kind, row.outcome, row.amount) for row in rows]


# ---- an order's journey, one step at a time (each waits for the order to get there) -----------------------------


async def place(client: httpx.AsyncClient, body: dict | None = None, status: str = "awaiting_acknowledgement") -> str:
    """Place an order through the channel API and wait for `status`; its number."""
    response = await client.post("/orders", json=body or order_body(), headers=CHANNEL)
    assert response.status_code == 201, response.text
    number = response.json()["order_number"]
    await wait_for_status(client, number, status)
    return number


async def store_says(client: httpx.AsyncClient, number: str, type_: str, store_id: str = "S001", **extra: Any) -> None:
    """A signed store webhook, accepted."""
    response = await post_store_event(client, store_id, store_event(number, type_, **extra))
    assert response.status_code == 202, response.text


async def act(client: httpx.AsyncClient, number: str, action: str, body: dict, status: int = 200) -> dict:
    """A Head Office action (`POST /orders/{n}/<action>`) answered with `status`."""
    response = await client.post(f"/orders/{number}/{action}", json=body, headers=HO)
    assert response.status_code == status, response.text
    return response.json()


async def make_ready(client: httpx.AsyncClient, number: str, store_id: str = "S001") -> dict:
    """The store acknowledges and picks every line in full: the order is ready for collection."""
    await store_says(client, number, "acknowledged", store_id)
    await wait_for_status(client, number, "acknowledged")
    view = (await client.get(f"/orders/{number}", headers=HO)).json()
    picked = {line["line_id"]: line["quantity"] for line in view["lines"] if line["quantity"]}
    await store_says(client, number, "picked", store_id, picked=picked)
    return await wait_for_status(client, number, "ready_for_collection")


async def collect(client: httpx.AsyncClient, number: str, store_id: str = "S001") -> dict:
    """The customer collects: the order completes (money due at handover is then on its way)."""
    await store_says(client, number, "collected", store_id)
    return await wait_for_status(client, number, "completed")


def csrf_token_in(html: str) -> str:
    """The CSRF token a page carries: in a form's hidden field, or in htmx's headers on the body."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html) or re.search(r'"X-CSRF-Token": "([^"]+)"', html)
    assert found is not None, f"no CSRF token in the page: {html[:500]}"
    return found.group(1)


async def ui_sign_in(client: httpx.AsyncClient, key: str) -> httpx.Response:
    """Sign in on the pages as a browser does (the sign-in form's token first); once signed in, the client sends
    the session's CSRF token with every request afterwards, as htmx does from the page's hx-headers."""
    client.headers.pop("X-CSRF-Token", None)
    form = await client.get("/ui/sign-in")
    response = await client.post("/ui/sign-in", data={"api_key": key, "csrf_token": csrf_token_in(form.text)})
    if response.status_code == 303:
        home = await client.get(response.headers["location"])
        client.headers["X-CSRF-Token"] = csrf_token_in(home.text)
    return response
