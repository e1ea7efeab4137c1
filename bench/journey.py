"""Click & collect journey benchmark: N orders through a RUNNING Baton stack over HTTP, then the same number
of bare Temporal workflows of the same shape on the same Temporal server, side by side with the ratio.

    .venv/bin/python bench/journey.py --orders 200 --concurrency 20 --api http://127.0.0.1:8100 \
        --temporal 127.0.0.1:7300

Baton run, per order: POST /orders, poll GET /orders/{n} until awaiting_acknowledgement, then signed store
webhooks acknowledged -> picked (every line in full) -> collected, polling for each status in between, until
completed. Stock: before the run the collection store's stock of every SKU used is topped up directly in the
database (stock_levels.on_hand raised to reserved + what this run reserves), so no order goes on hold for
stock; --no-top-up skips that (then the demo's 10 units per SKU run out after a few dozen orders).

Bare run: an in-process worker on a unique task queue runs bench/bare_workflow.py (8 local activities,
1 regular activity, 3 signals, no-op bodies); the driver starts it, sends the 3 signals and waits for the
result. Like the Baton driver, which waits until the projection shows each status before the next webhook,
the bare driver sends each signal once the no-op projection activity of the previous step has run (it is
told in-process, so waiting costs the server nothing); --bare-pacing none sends the signals back to back.

Prints figures only; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
for path in (str(ROOT), str(BENCH)):
    if path not in sys.path:
        sys.path.insert(0, path)

from bare_workflow import COMMIT, PROJECT, PUSH, RESERVE, BareOrder, BareOrderWorkflow, Projection  # noqa: E402
from sqlmodel import Session  # noqa: E402
from temporalio import activity  # noqa: E402
from temporalio.api.enums.v1 import EventType  # noqa: E402
from temporalio.api.history.v1 import HistoryEvent  # noqa: E402
from temporalio.client import Client, WorkflowExecutionStatus  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from models.db import make_engine, stock  # noqa: E402
from models.db.catalogue import store_webhook  # noqa: E402
from models.order import order_workflow_id  # noqa: E402
from models.settings import Settings  # noqa: E402
from models.signing import SIGNATURE_HEADER, sign  # noqa: E402
from workflows.client import connect_temporal  # noqa: E402

VAR = Path(os.environ.get("BATON_VAR_DIR", ROOT / "var")).resolve()
STEPS = (  # webhook type, status to wait for after it
    ("acknowledged", "acknowledged"),
    ("picked", "ready_for_collection"),
    ("collected", "completed"),
)


# ---- figures ---------------------------------------------------------------------------------


@dataclass
class RunFigures:
    requested: int = 0
    completed: int = 0
    wall_seconds: float = 0.0
    start_ms: list[float] = field(default_factory=list)
    signal_ms: list[float] = field(default_factory=list)
    journey_s: list[float] = field(default_factory=list)
    polls: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    history_events: list[int] = field(default_factory=list)
    open_histories: int = 0  # sampled workflows still running when counted
    event_types: Counter[str] = field(default_factory=Counter)
    completed_ids: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.completed / self.wall_seconds if self.wall_seconds else 0.0


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


async def run_pool(count: int, concurrency: int, journey: Callable[[int], Awaitable[None]]) -> float:
    """Run journey(0..count-1) with at most `concurrency` at once; returns the wall time in seconds."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(count):
        queue.put_nowait(index)

    async def runner() -> None:
        while True:
            try:
                index = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            await journey(index)

    started = time.perf_counter()
    await asyncio.gather(*(runner() for _ in range(min(concurrency, count))))
    return time.perf_counter() - started


def event_label(event: HistoryEvent) -> str:
    """The event type, with the marker's name for markers (local activity vs. patch/version marker)."""
    label = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_").lower()
    if event.HasField("marker_recorded_event_attributes"):
        label += f" ({event.marker_recorded_event_attributes.marker_name})"
    return label


async def sample_histories(client: Client, workflow_ids: list[str], sample: int, figures: RunFigures) -> None:
    """Count history events of up to `sample` workflows spread evenly over the run (after they close)."""
    if not workflow_ids or sample <= 0:
        return
    step = max(1, len(workflow_ids) // sample)
    chosen = workflow_ids[::step][:sample]

    async def one(workflow_id: str) -> None:
        handle = client.get_workflow_handle(workflow_id)
        try:
            # A workflow may stay open after the journey (e.g. a refund window): count what it wrote so far.
            for _ in range(15):
                if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
                    break
                await asyncio.sleep(0.2)
            else:
                figures.open_histories += 1
            history = await handle.fetch_history()
        except Exception as error:  # noqa: BLE001  (a figure we could not get is reported, not fatal)
            figures.errors[f"history: {type(error).__name__}: {error}"[:160]] += 1
            return
        figures.history_events.append(len(history.events))
        figures.event_types.update(event_label(event) for event in history.events)

    semaphore = asyncio.Semaphore(10)

    async def limited(workflow_id: str) -> None:
        async with semaphore:
            await one(workflow_id)

    await asyncio.gather(*(limited(workflow_id) for workflow_id in chosen))


# ---- the Baton run ---------------------------------------------------------------------------


@dataclass
class BatonTarget:
    api: str
    api_key: str
    store: str
    store_secret: str
    lines: list[list[tuple[str, int, int]]]  # per order: (sku, quantity, unit price)
    poll_interval: float
    step_timeout: float


class StepTimeout(Exception):
    pass


def plan_lines(products: list[dict[str, Any]], orders: int) -> list[list[tuple[str, int, int]]]:
    """Two lines per order (2 of one SKU, 1 of the next), rotating over the catalogue."""
    catalogue = sorted((p["sku"], p["price"]["amount"]) for p in products if p["price"]["currency"] == "GBP")
    if len(catalogue) < 2:
        raise SystemExit("the catalogue needs at least two GBP products")
    plans = []
    for index in range(orders):
        (sku_a, price_a), (sku_b, price_b) = catalogue[index % len(catalogue)], catalogue[(index + 1) % len(catalogue)]
        plans.append([(sku_a, 2, price_a), (sku_b, 1, price_b)])
    return plans


def order_body(run_id: str, index: int, store: str, lines: list[tuple[str, int, int]]) -> dict[str, Any]:
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
        "payment": {"mode": "prepaid", "method": "card", "amount": {"amount": total, "currency": "GBP"}},
        "loyalty_offers": [],
        "notes": [],
    }


def top_up_stock(database_url: str, store: str, plans: list[list[tuple[str, int, int]]]) -> dict[str, int]:
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


async def baton_run(target: BatonTarget, orders: int, concurrency: int) -> RunFigures:
    figures = RunFigures(requested=orders)
    run_id = uuid.uuid4().hex[:8]
    auth = {"Authorization": f"Bearer {target.api_key}"}
    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2)
    numbers: list[str] = []

    async with httpx.AsyncClient(base_url=target.api, timeout=30, limits=limits) as http:

        async def wait_for(number: str, status: str) -> None:
            deadline = time.perf_counter() + target.step_timeout
            while True:
                figures.polls += 1
                response = await http.get(f"/orders/{number}", headers=auth)
                if response.status_code == 200:
                    current = response.json()["status"]
                    if current == status:
                        return
                    if current in ("on_hold", "cancelled") or (current == "completed" and status != "completed"):
                        raise StepTimeout(f"order went {current} while waiting for {status}")
                if time.perf_counter() > deadline:
                    raise StepTimeout(f"not {status} within {target.step_timeout:.0f}s")
                await asyncio.sleep(target.poll_interval)

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
            response = await http.post(f"/webhooks/stores/{target.store}", content=body, headers=headers)
            figures.signal_ms.append((time.perf_counter() - started) * 1000)
            if response.status_code != 202:
                raise StepTimeout(f"webhook {type_} answered {response.status_code}: {response.text[:120]}")

        async def journey(index: int) -> None:
            body = order_body(run_id, index, target.store, target.lines[index])
            began = time.perf_counter()
            try:
                response = await http.post(
                    "/orders", json=body, headers={**auth, "Idempotency-Key": f"bench-{run_id}-{index}"}
                )
                figures.start_ms.append((time.perf_counter() - began) * 1000)
                if response.status_code != 201:
                    raise StepTimeout(f"POST /orders answered {response.status_code}: {response.text[:120]}")
                view = response.json()
                number = view["order_number"]
                numbers.append(number)
                picked = [{"line_id": line["line_id"], "quantity": line["quantity"]} for line in view["lines"]]
                await wait_for(number, "awaiting_acknowledgement")
                for type_, status in STEPS:
                    await webhook(number, type_, picked if type_ == "picked" else None)
                    await wait_for(number, status)
            except (StepTimeout, httpx.HTTPError) as error:
                figures.errors[f"{type(error).__name__}: {error}"[:160]] += 1
                return
            figures.journey_s.append(time.perf_counter() - began)
            figures.completed += 1
            figures.completed_ids.append(order_workflow_id(number))

        figures.wall_seconds = await run_pool(orders, concurrency, journey)
    return figures


# ---- the bare run ----------------------------------------------------------------------------


class BareActivities:
    """No-op activities; the projection tells the driver in-process which status a workflow reached."""

    def __init__(self) -> None:
        self.waiters: dict[tuple[str, str], asyncio.Future[None]] = {}

    def expect(self, workflow_id: str, status: str) -> asyncio.Future[None]:
        return self.waiters.setdefault((workflow_id, status), asyncio.get_running_loop().create_future())

    @activity.defn(name=PROJECT)
    async def project(self, projection: Projection) -> None:
        waiter = self.waiters.get((projection.workflow_id, projection.status))
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    @activity.defn(name=RESERVE)
    async def reserve(self, _order_id: str) -> None:
        return None

    @activity.defn(name=COMMIT)
    async def commit(self, _order_id: str) -> None:
        return None

    @activity.defn(name=PUSH)
    async def push(self, _order_id: str) -> None:
        return None


async def bare_run(
    client: Client, orders: int, concurrency: int, paced: bool, extras: bool, timeout: float
) -> RunFigures:
    figures = RunFigures(requested=orders)
    run_id = uuid.uuid4().hex[:8]
    task_queue = f"bench-bare-{run_id}"
    activities = BareActivities()
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[BareOrderWorkflow],
        activities=[activities.project, activities.reserve, activities.commit, activities.push],
        max_concurrent_activities=32,  # as worker.py
    )

    async def journey(index: int) -> None:
        workflow_id = f"bare-{run_id}-{index}"
        waits = {
            s: activities.expect(workflow_id, s)
            for s in ("awaiting_acknowledgement", "acknowledged", "ready_for_collection")
        }
        began = time.perf_counter()
        try:
            handle = await client.start_workflow(
                BareOrderWorkflow.run,
                BareOrder(order_id=str(index), extras=extras),
                id=workflow_id,
                task_queue=task_queue,
            )
            figures.start_ms.append((time.perf_counter() - began) * 1000)
            previous = "awaiting_acknowledgement"
            for type_, status in STEPS:
                if paced:
                    await asyncio.wait_for(waits[previous], timeout)
                started = time.perf_counter()
                await handle.signal(BareOrderWorkflow.store_event, type_)
                figures.signal_ms.append((time.perf_counter() - started) * 1000)
                previous = status
            await asyncio.wait_for(handle.result(), timeout)
        except Exception as error:  # noqa: BLE001  (count every failure, keep going)
            figures.errors[f"{type(error).__name__}: {error}"[:160]] += 1
            return
        finally:
            for status in waits:
                activities.waiters.pop((workflow_id, status), None)
        figures.journey_s.append(time.perf_counter() - began)
        figures.completed += 1
        figures.completed_ids.append(workflow_id)

    async with worker:
        figures.wall_seconds = await run_pool(orders, concurrency, journey)
    return figures


# ---- output ----------------------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _ratio(baton: float | None, bare: float | None) -> str:
    if baton is None or bare is None or bare == 0:
        return "-"
    return f"{baton / bare:.2f}x"


NO_RATIO = ("orders completed", "orders failed", "histories sampled", "  of them still open", "GET polls/order")


def mean(values: list[int]) -> float | None:
    return statistics.fmean(values) if values else None


def print_table(baton: RunFigures | None, bare: RunFigures | None) -> None:
    def get(figures: RunFigures | None, fn: Callable[[RunFigures], float | None]) -> float | None:
        return None if figures is None else fn(figures)

    rows: list[tuple[str, Callable[[RunFigures], float | None], int]] = [
        ("orders completed", lambda f: f.completed, 0),
        ("orders failed", lambda f: f.requested - f.completed, 0),
        ("wall time (s)", lambda f: f.wall_seconds, 2),
        ("orders/s", lambda f: f.per_second, 2),
        ("start p50 (ms)", lambda f: percentile(f.start_ms, 50), 1),
        ("start p99 (ms)", lambda f: percentile(f.start_ms, 99), 1),
        ("signal p50 (ms)", lambda f: percentile(f.signal_ms, 50), 1),
        ("signal p99 (ms)", lambda f: percentile(f.signal_ms, 99), 1),
        ("journey p50 (s)", lambda f: percentile(f.journey_s, 50), 2),
        ("journey p99 (s)", lambda f: percentile(f.journey_s, 99), 2),
        ("history events/order", lambda f: mean(f.history_events), 1),
        ("histories sampled", lambda f: len(f.history_events), 0),
        ("  of them still open", lambda f: f.open_histories, 0),
        ("GET polls/order", lambda f: f.polls / f.requested if f.requested else None, 1),
    ]
    header = ("metric", "baton", "bare", "ratio")
    table = [header]
    for name, fn, digits in rows:
        a, b = get(baton, fn), get(bare, fn)
        ratio = "" if name in NO_RATIO else _ratio(a, b)
        if name == "GET polls/order" and bare is not None:
            b = None  # the bare driver is told in-process
        table.append((name, _fmt(a, digits), _fmt(b, digits), ratio))
    _print_rows(table)

    types = sorted(set(baton.event_types if baton else Counter()) | set(bare.event_types if bare else Counter()))
    if types:
        print("\nhistory events by type (mean per workflow):")
        breakdown = [("event type", "baton", "bare")]
        for name in types:
            a = baton.event_types[name] / len(baton.history_events) if baton and baton.history_events else None
            b = bare.event_types[name] / len(bare.history_events) if bare and bare.history_events else None
            breakdown.append((name, _fmt(a, 2), _fmt(b, 2)))
        _print_rows(breakdown)

    for label, figures in (("baton", baton), ("bare", bare)):
        if figures and figures.errors:
            print(f"\n{label} errors:")
            for message, count in figures.errors.most_common(10):
                print(f"  {count:>5} x {message}")


def _print_rows(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for index, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        print(" | ".join(cells))
        if index == 0:
            print("-+-".join("-" * width for width in widths))


# ---- main ------------------------------------------------------------------------------------


def default_api_key() -> str | None:
    """A channel key (else any key) from the dev stack's credentials file."""
    credentials = VAR / "dev-credentials.json"
    if not credentials.exists():
        return None
    keys: dict[str, dict[str, str]] = json.loads(credentials.read_text())
    channel = [key for key, holder in keys.items() if holder.get("role") == "channel"]
    return (channel or list(keys) or [None])[0]


def default_store_secret(database_url: str, store: str) -> str | None:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return store_webhook(session, store)[1]
    finally:
        engine.dispose()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=10,
        help="orders in flight at once (above ~15 the API stalls on its DB pool: see bench/README.md)",
    )
    parser.add_argument("--api", default="http://127.0.0.1:8000", help="Baton API base URL")
    parser.add_argument("--temporal", default="127.0.0.1:7233", help="Temporal frontend the stack uses")
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--api-key", help=f"channel or HO key (default: from {VAR / 'dev-credentials.json'})")
    parser.add_argument("--store", default="S001", help="collection store for every order")
    parser.add_argument("--store-secret", help="the store's webhook secret (default: read from the database)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BATON_DATABASE_URL", f"sqlite:///{VAR / 'baton.db'}"),
        help="the stack's database, for the store secret and the stock top-up",
    )
    parser.add_argument("--no-top-up", action="store_true", help="do not raise stock in the database first")
    parser.add_argument("--poll-interval", type=float, default=0.1, help="seconds between GET /orders/{n} polls")
    parser.add_argument("--step-timeout", type=float, default=60.0, help="seconds one step may take")
    parser.add_argument("--history-sample", type=int, default=50, help="histories to fetch per run (0: none)")
    parser.add_argument("--bare-pacing", choices=("step", "none"), default="step")
    parser.add_argument(
        "--bare-extras",
        action="store_true",
        help="bare workflow also starts/cancels an SLA-like timer per wait and upserts OrderStatus, like Baton",
    )
    parser.add_argument("--only", choices=("baton", "bare"), help="run one side only")
    return parser.parse_args()


async def main() -> int:
    args = parse_args()
    client = await connect_temporal(Settings(temporal_address=args.temporal, temporal_namespace=args.namespace))
    baton = bare = None

    if args.only != "bare":
        api_key = args.api_key or default_api_key()
        if not api_key:
            raise SystemExit("no --api-key and no dev-credentials.json under BATON_VAR_DIR")
        secret = args.store_secret or default_store_secret(args.database_url, args.store)
        if not secret:
            raise SystemExit(f"no --store-secret and store {args.store} has none in {args.database_url}")
        async with httpx.AsyncClient(base_url=args.api, timeout=30) as http:
            products = (await http.get("/products")).raise_for_status().json()
        plans = plan_lines(products, args.orders)
        if args.no_top_up:
            stock_note = "stock: not topped up"
        else:
            needed = top_up_stock(args.database_url, args.store, plans)
            stock_note = (
                f"stock: on_hand of {len(needed)} SKUs at {args.store} raised to at least reserved + this run's "
                f"need (up to {max(needed.values())} units)"
            )
        print(
            f"baton: {args.orders} orders, concurrency {args.concurrency}, store {args.store}, api {args.api}, "
            f"temporal {args.temporal}; {stock_note}",
            flush=True,
        )
        target = BatonTarget(args.api, api_key, args.store, secret, plans, args.poll_interval, args.step_timeout)
        baton = await baton_run(target, args.orders, args.concurrency)
        await sample_histories(client, baton.completed_ids, args.history_sample, baton)

    if args.only != "baton":
        print(
            f"bare: {args.orders} workflows, concurrency {args.concurrency}, pacing {args.bare_pacing}, "
            f"extras {'on' if args.bare_extras else 'off'}, temporal {args.temporal}",
            flush=True,
        )
        bare = await bare_run(
            client, args.orders, args.concurrency, args.bare_pacing == "step", args.bare_extras, args.step_timeout
        )
        await sample_histories(client, bare.completed_ids, args.history_sample, bare)

    print()
    print_table(baton, bare)
    failed = (baton.requested - baton.completed if baton else 0) + (bare.requested - bare.completed if bare else 0)
    return 1 if failed else 0


if __name__ == "__main__":
    code = asyncio.run(main())
    sys.stdout.flush()
    sys.stderr.flush()
    # The Temporal client's Rust threads can abort interpreter teardown ("PyGILState_Release: thread state
    # ... must be current", temporalio/sdk-python#300); everything is printed, so skip the teardown.
    os._exit(code)
