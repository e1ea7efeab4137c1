"""Head Office actions' round trip over the API, with the order's store healthy and with its endpoint down.

After the journeys: one store's webhook_url is pointed at a tiny HTTP receiver this process starts (answers
200: "healthy"), another's at a closed local port ("down"); each store's other settings and its webhook
secret are kept (the PUT leaves the secret out, which keeps it) and restored afterwards. A few orders are
placed at each; once all are awaiting_acknowledgement (at a down store that waits for the first push to give
up), each order gets, one after the other, an internal note, a prompt-store (which pushes to the store) and
the cancellation of one unit of its two-unit line: the healthy store's orders first, then the down store's.
An answer 200 or 409 (refused by a rule) counts as answered; anything else (e.g. 503 when the update
outlasts the API's update timeout) is an error.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import aiohttp
from baton_run import Lines, StepTimeout, order_body, wait_for_status
from figures import fmt, percentile, print_rows

CONDITIONS = ("healthy", "down")
ACTIONS = ("note", "prompt-store", "cancel-lines")
# Orders at a down store take over a minute to await acknowledgement: polling them every 0.1 s would load the
# API for nothing (and slow the healthy store's orders down), so these waits poll once a second.
READY_POLL_SECONDS = 1.0


@dataclass
class HeadOfficeFigures:
    orders: dict[str, int] = field(default_factory=dict)  # condition -> orders placed
    ready_s: dict[str, list[float]] = field(default_factory=dict)  # placement -> awaiting_acknowledgement
    ms: dict[tuple[str, str], list[float]] = field(default_factory=dict)  # answered (200/409) round trips
    codes: dict[tuple[str, str], Counter[int]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    failed_ms: dict[str, list[float]] = field(default_factory=dict)  # "down prompt-store: 503" -> round trips
    pushes_received: int = 0
    healthy_url: str = ""
    down_url: str = ""


class _Receiver(BaseHTTPRequestHandler):
    received = 0
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802  (the http.server name)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with _Receiver.lock:
            _Receiver.received += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def start_receiver() -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def store_settings(store: dict[str, Any], webhook_url: str | None) -> dict[str, Any]:
    """The PUT body that keeps a store's settings (and, by leaving it out, its secret) but the webhook URL."""
    overrides = {key: value for key, value in (store.get("sla_overrides") or {}).items() if value is not None}
    return {
        "name": store["name"],
        "kind": store["kind"],
        "click_and_collect_enabled": store["click_and_collect_enabled"],
        "webhook_url": webhook_url,
        "sla_overrides": overrides,
    }


async def head_office_run(
    api: str,
    ho_key: str,
    stores: dict[str, str],  # condition -> store id
    plans: dict[str, list[Lines]],  # condition -> lines per order
    down_url: str,
    concurrency: int,
    ready_timeout: float,
) -> HeadOfficeFigures:
    figures = HeadOfficeFigures(down_url=down_url)
    auth = {"Authorization": f"Bearer {ho_key}"}
    run_id = uuid.uuid4().hex[:8]
    receiver = start_receiver()
    received_before = _Receiver.received
    figures.healthy_url = f"http://127.0.0.1:{receiver.server_address[1]}/"
    urls = {"healthy": figures.healthy_url, "down": down_url}
    async with aiohttp.ClientSession(api, timeout=aiohttp.ClientTimeout(total=60), raise_for_status=False) as http:
        originals = {c: await _json(http, "GET", f"/stores/{s}", auth) for c, s in stores.items()}
        try:
            for condition, store in stores.items():
                body = store_settings(originals[condition], urls[condition])
                await _json(http, "PUT", f"/stores/{store}", auth, body)
            # All orders are placed and ready before any action is timed, so neither condition is measured while
            # the stack is busy placing the other's orders.
            ready = await asyncio.gather(
                *(
                    _place(http, auth, run_id, c, stores[c], plans[c], figures, concurrency, ready_timeout)
                    for c in stores
                )
            )
            for condition, views in zip(stores, ready, strict=True):
                await _act(http, auth, run_id, condition, views, figures, concurrency)
        finally:
            for condition, store in stores.items():
                restore = store_settings(originals[condition], originals[condition]["webhook_url"])
                async with http.put(f"/stores/{store}", json=restore, headers=auth) as response:
                    if response.status not in (200, 201):
                        figures.errors[f"restoring store {store}: {response.status}"] += 1
            receiver.shutdown()
    figures.pushes_received = _Receiver.received - received_before
    return figures


async def _json(http: aiohttp.ClientSession, method: str, url: str, auth: dict[str, str], body: Any = None) -> Any:
    async with http.request(method, url, json=body, headers=auth) as response:
        response.raise_for_status()
        return await response.json()


async def _place(
    http: aiohttp.ClientSession,
    auth: dict[str, str],
    run_id: str,
    condition: str,
    store: str,
    plans: list[Lines],
    figures: HeadOfficeFigures,
    concurrency: int,
    ready_timeout: float,
) -> list[dict[str, Any]]:
    """Place the orders; returns the views of those that reached awaiting_acknowledgement."""
    ready: list[dict[str, Any]] = []
    figures.ready_s[condition] = []
    semaphore = asyncio.Semaphore(concurrency)

    async def one(index: int) -> None:
        async with semaphore:
            key = f"bench-ho-{run_id}-{condition}-{index}"
            began = time.perf_counter()
            try:
                async with http.post(
                    "/orders",
                    json=order_body(key, index, store, plans[index]),
                    headers={**auth, "Idempotency-Key": key},
                ) as response:
                    if response.status != 201:
                        figures.errors[f"{condition}: POST /orders answered {response.status}"] += 1
                        return
                    view = await response.json()
            except aiohttp.ClientError as error:
                figures.errors[f"{condition}: POST /orders: {type(error).__name__}"] += 1
                return
            figures.orders[condition] = figures.orders.get(condition, 0) + 1
        try:
            await wait_for_status(
                http, auth, view["order_number"], "awaiting_acknowledgement", READY_POLL_SECONDS, ready_timeout
            )
        except (StepTimeout, aiohttp.ClientError) as error:
            figures.errors[f"{condition}: {type(error).__name__}: {error}"[:160]] += 1
            return
        figures.ready_s[condition].append(time.perf_counter() - began)
        ready.append(view)

    await asyncio.gather(*(one(index) for index in range(len(plans))))
    return ready


async def _act(
    http: aiohttp.ClientSession,
    auth: dict[str, str],
    run_id: str,
    condition: str,
    views: list[dict[str, Any]],
    figures: HeadOfficeFigures,
    concurrency: int,
) -> None:
    semaphore = asyncio.Semaphore(concurrency)

    async def action(number: str, name: str, body: dict[str, Any]) -> None:
        headers = {**auth, "Idempotency-Key": f"bench-ho-{run_id}-{number}-{name}"}
        began = time.perf_counter()
        try:
            path = f"/orders/{number}/{'notes' if name == 'note' else name}"
            async with http.post(path, json=body, headers=headers) as response:
                await response.read()
                code = response.status
        except aiohttp.ClientError as error:
            figures.errors[f"{condition} {name}: {type(error).__name__}"] += 1
            return
        elapsed = (time.perf_counter() - began) * 1000
        figures.codes.setdefault((condition, name), Counter())[code] += 1
        if code in (200, 409):
            figures.ms.setdefault((condition, name), []).append(elapsed)
        else:
            figures.failed_ms.setdefault(f"{condition} {name}: answered {code}", []).append(elapsed)

    async def order_actions(view: dict[str, Any]) -> None:
        number = view["order_number"]
        two_unit = next((line for line in view["lines"] if line["quantity"] >= 2), view["lines"][0])
        async with semaphore:
            await action(number, "note", {"text": "bench: customer called", "client_facing": False})
            await action(number, "prompt-store", {"reason": "bench: prompt the store"})
            await action(
                number,
                "cancel-lines",
                {
                    "reason": "bench: customer wants one fewer",
                    "lines": [{"line_id": two_unit["line_id"], "quantity": 1}],
                },
            )

    await asyncio.gather(*(order_actions(view) for view in views))


def print_head_office(figures: HeadOfficeFigures, stores: dict[str, str]) -> None:
    print(
        f"\nHead Office actions (ms, round trip over the API): healthy = store {stores.get('healthy', '-')} with "
        f"webhook_url at a local receiver that answers 200 ({figures.pushes_received} pushes received); "
        f"down = store {stores.get('down', '-')} with webhook_url {figures.down_url}"
    )
    rows = [
        ("", *(f"{c} {p}" for c in CONDITIONS for p in ("p50", "p99")), *(f"{c} 200/409/other" for c in CONDITIONS))
    ]
    for name in (*ACTIONS, "all"):
        names = ACTIONS if name == "all" else (name,)
        cells = []
        for condition in CONDITIONS:
            values = [ms for n in names for ms in figures.ms.get((condition, n), [])]
            cells += [fmt(percentile(values, 50), 0), fmt(percentile(values, 99), 0)]
        for condition in CONDITIONS:
            codes = sum((figures.codes.get((condition, n), Counter()) for n in names), Counter())
            other = sum(count for code, count in codes.items() if code not in (200, 409))
            cells.append(f"{codes[200]}/{codes[409]}/{other}")
        rows.append((name, *cells))
    ready = [
        (
            "placed -> awaiting_acknowledgement (s)",
            *(fmt(percentile(figures.ready_s.get(c, []), p), 1) for c in CONDITIONS for p in (50, 99)),
            *(f"{len(figures.ready_s.get(c, []))} of {figures.orders.get(c, 0)} orders" for c in CONDITIONS),
        )
    ]
    print_rows(rows + ready)
    if figures.errors or figures.failed_ms:
        print("Head Office errors:")
        for message, times in sorted(figures.failed_ms.items()):
            print(f"  {len(times):>5} x {message} (p50 {fmt(percentile(times, 50), 0)} ms)")
        for message, count in figures.errors.most_common(10):
            print(f"  {count:>5} x {message}")
