"""The Baton side of the journey benchmark: click & collect orders over HTTP against a running stack.

Per order: POST /orders, poll GET /orders/{n} until awaiting_acknowledgement, then signed store webhooks
acknowledged -> picked (every line in full) -> collected, polling for each status in between, until
completed. Stock is topped up directly in the database first (see top_up_stock).

The driver speaks HTTP with aiohttp: it shares the machine's cores with the stack it measures, and httpx's
connection pool cost it about 190 CPU-ms per order at 50 journeys in flight (more than any Baton process), which
the bare run's driver (the Temporal client) never pays.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
from figures import RunFigures, run_pool
from sqlmodel import Session

from models.db import make_engine, stock
from models.db.catalogue import store_webhook
from models.order import order_workflow_id
from models.signing import SIGNATURE_HEADER, sign

STEPS = (  # webhook type, status to wait for after it
    ("acknowledged", "acknowledged"),
    ("picked", "ready_for_collection"),
    ("collected", "completed"),
)
Lines = list[tuple[str, int, int]]  # (sku, quantity, unit price)


@dataclass
class BatonTarget:
    api: str
    api_key: str
    store: str
    store_secret: str
    lines: list[Lines]  # per order
    poll_interval: float
    step_timeout: float


class StepTimeout(Exception):
    pass


def plan_lines(products: list[dict[str, Any]], orders: int) -> list[Lines]:
    """Two lines per order (2 of one SKU, 1 of the next), rotating over the catalogue."""
    catalogue = sorted((p["sku"], p["price"]["amount"]) for p in products if p["price"]["currency"] == "GBP")
    if len(catalogue) < 2:
        raise SystemExit("the catalogue needs at least two GBP products")
    plans = []
    for index in range(orders):
        (sku_a, price_a), (sku_b, price_b) = catalogue[index % len(catalogue)], catalogue[(index + 1) % len(catalogue)]
        plans.append([(sku_a, 2, price_a), (sku_b, 1, price_b)])
    return plans


def order_body(run_id: str, index: int, store: str, lines: Lines) -> dict[str, Any]:
    total = sum(qty * price for _sku, qty, price in lines)
    return {
        "web_reference": f"BENCH-{run_id}-{index}",
        "channel": "web",
        "customer": {"id": f"BENCH-{index}", "name": "Bench Customer", "email": "bench@example.com"},
        "fulfilment": {"method": "click_and_collect", "store_id": store},
        "lines": [
            {"sku": sku, "quantity": qty, "unit_price": {"amount": price, "currency": "GBP"}}
            for sku, qty, price in lines
        ],
        "payment": {
            "mode": "prepaid",
            "method": "card",
            "amount": {"amount": total, "currency": "GBP"},
            "reference": f"PSP-{run_id}-{index}",
        },
        "loyalty_offers": [],
        "notes": [],
    }


def top_up_stock(database_url: str, store: str, plans: list[Lines]) -> dict[str, int]:
    """Raise on_hand so every SKU used has at least what this run reserves available at the store."""
    needed: Counter[str] = Counter()
    for lines in plans:
        for sku, qty, _price in lines:
            needed[sku] += qty
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            stock.top_up(session, store, dict(needed))
    finally:
        engine.dispose()
    return dict(needed)


async def wait_for_status(
    http: aiohttp.ClientSession,
    auth: dict[str, str],
    number: str,
    status: str,
    poll_interval: float,
    timeout: float,
    on_poll: Callable[[], None] = lambda: None,
) -> None:
    """Poll GET /orders/{n} until the order shows `status` (StepTimeout if it does not in time)."""
    deadline = time.perf_counter() + timeout
    while True:
        on_poll()
        current = None
        try:
            async with http.get(f"/orders/{number}", headers=auth) as response:
                if response.status == 200:
                    current = (await response.json())["status"]
        except aiohttp.ClientConnectionError:  # a dropped keep-alive connection: a poll is safe to make again
            pass
        if current == status:
            return
        if current in ("on_hold", "cancelled") or (current == "completed" and status != "completed"):
            raise StepTimeout(f"order went {current} while waiting for {status}")
        if time.perf_counter() > deadline:
            raise StepTimeout(f"not {status} within {timeout:.0f}s")
        await asyncio.sleep(poll_interval)


async def baton_run(target: BatonTarget, orders: int, concurrency: int) -> RunFigures:
    figures = RunFigures(requested=orders)
    run_id = uuid.uuid4().hex[:8]
    auth = {"Authorization": f"Bearer {target.api_key}"}
    connector = aiohttp.TCPConnector(limit=concurrency * 2)
    timeout = aiohttp.ClientTimeout(total=30)

    async with aiohttp.ClientSession(target.api, connector=connector, timeout=timeout) as http:

        def count_poll() -> None:
            figures.polls += 1

        async def wait_for(number: str, status: str) -> None:
            await wait_for_status(http, auth, number, status, target.poll_interval, target.step_timeout, count_poll)

        async def webhook(number: str, type_: str, picked: list[dict[str, Any]] | None) -> None:
            event: dict[str, Any] = {
                "event_id": f"bench-{run_id}-{number}-{type_}",
                "type": type_,
                "order_number": number,
                "occurred_at": datetime.now(UTC).isoformat(),
            }
            if picked is not None:
                event["picked"] = picked
            body = json.dumps(event, separators=(",", ":")).encode()
            headers = {
                SIGNATURE_HEADER: sign(target.store_secret, body, int(time.time())),
                "Content-Type": "application/json",
            }
            started = time.perf_counter()
            async with http.post(f"/webhooks/stores/{target.store}", data=body, headers=headers) as response:
                answer = await response.text()
            figures.signal_ms.append((time.perf_counter() - started) * 1000)
            if response.status != 202:
                raise StepTimeout(f"webhook {type_} answered {response.status}: {answer[:120]}")

        async def journey(index: int) -> None:
            body = order_body(run_id, index, target.store, target.lines[index])
            began = time.perf_counter()
            try:
                headers = {**auth, "Idempotency-Key": f"bench-{run_id}-{index}"}
                async with http.post("/orders", json=body, headers=headers) as response:
                    figures.start_ms.append((time.perf_counter() - began) * 1000)
                    if response.status != 201:
                        raise StepTimeout(f"POST /orders answered {response.status}: {(await response.text())[:120]}")
                    view = await response.json()
                number = view["order_number"]
                figures.numbers.append(number)
                figures.started += 1
                picked = [{"line_id": line["line_id"], "quantity": line["quantity"]} for line in view["lines"]]
                await wait_for(number, "awaiting_acknowledgement")
                for type_, status in STEPS:
                    await webhook(number, type_, picked if type_ == "picked" else None)
                    await wait_for(number, status)
            except (TimeoutError, StepTimeout, aiohttp.ClientError) as error:
                figures.errors[f"{type(error).__name__}: {error}"[:160]] += 1
                return
            figures.journey_s.append(time.perf_counter() - began)
            figures.completed += 1
            figures.completed_ids.append(order_workflow_id(number))

        figures.wall_seconds = await run_pool(orders, concurrency, journey)
    return figures


def default_store_secret(database_url: str, store: str) -> str | None:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return store_webhook(session, store)[1]
    finally:
        engine.dispose()
