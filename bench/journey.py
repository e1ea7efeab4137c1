"""Click & collect journey benchmark: N orders through a RUNNING Baton stack over HTTP, then the same number
of bare Temporal workflows of the same shape on the same Temporal server, side by side with the ratio, at
one or more concurrency levels; then Head Office actions with the order's store healthy and down.

    .venv/bin/python bench/journey.py --orders 200 --concurrency 10,50 --api http://127.0.0.1:8100 \\
        --temporal 127.0.0.1:7300

Baton run (bench/baton_run.py), per order: POST /orders, poll GET /orders/{n} until awaiting_acknowledgement,
then signed store webhooks acknowledged -> picked (every line in full) -> collected, polling for each status
in between, until completed. Stock: before each run the collection store's stock of every SKU used is
topped up directly in the database (stock_levels.on_hand raised to reserved + what the run reserves), so no
order goes on hold for stock; --no-top-up skips that.

Bare run (bench/bare_run.py): an in-process worker on a unique task queue runs bench/bare_workflow.py
(8 local activities, 1 regular activity, 3 signals, no-op bodies), paced like the Baton driver.

Per run it also counts history events per order over every workflow the order started plus the shared
workflows' events amortized (bench/histories.py), and the CPU milliseconds per order of the Temporal server,
the worker, the API and the benchmark itself (bench/cpu.py, pids from $BATON_VAR_DIR/pids.json). Head Office
actions: bench/head_office.py.

Prints figures only; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
for path in (str(ROOT), str(BENCH)):
    if path not in sys.path:
        sys.path.insert(0, path)

from bare_run import bare_run  # noqa: E402
from baton_run import BatonTarget, baton_run, default_store_secret, plan_lines, top_up_stock  # noqa: E402
from cpu import CpuMeter, idle_rates, load_pids  # noqa: E402
from figures import RunFigures, fmt, print_table, summary_line  # noqa: E402
from head_office import head_office_run, print_head_office  # noqa: E402
from histories import count_bare_events, count_baton_events, snapshot_shared  # noqa: E402
from temporalio.client import Client  # noqa: E402

from models.settings import Settings  # noqa: E402
from workflows.client import connect_temporal  # noqa: E402

VAR = Path(os.environ.get("BATON_VAR_DIR", ROOT / "var")).resolve()


def credential(role: str) -> str | None:
    """A key of this role from the dev stack's credentials file."""
    credentials = VAR / "dev-credentials.json"
    if not credentials.exists():
        return None
    keys: dict[str, dict[str, str]] = json.loads(credentials.read_text())
    return next((key for key, holder in keys.items() if holder.get("role") == role), None)


def concurrency_levels(text: str) -> list[int]:
    try:
        levels = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of numbers: {text!r}") from error
    if not levels or min(levels) < 1:
        raise argparse.ArgumentTypeError("concurrency levels must be 1 or more")
    return levels


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--orders", type=int, default=200, help="orders (and bare workflows) per concurrency level")
    parser.add_argument(
        "--concurrency", type=concurrency_levels, default=[10], help="orders in flight at once; 10,50 runs both"
    )
    parser.add_argument("--api", default="http://127.0.0.1:8000", help="Baton API base URL")
    parser.add_argument("--temporal", default="127.0.0.1:7233", help="Temporal frontend the stack uses")
    parser.add_argument("--namespace", default="default")
    parser.add_argument(
        "--api-key", help=f"channel key for the journeys (default: from {VAR / 'dev-credentials.json'})"
    )
    parser.add_argument("--store", default="S001", help="collection store for every journey")
    parser.add_argument("--store-secret", help="the store's webhook secret (default: read from the database)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BATON_DATABASE_URL", f"sqlite:///{VAR / 'baton.db'}"),
        help="the stack's database, for the store secret and the stock top-up",
    )
    parser.add_argument("--no-top-up", action="store_true", help="do not raise stock in the database first")
    parser.add_argument("--poll-interval", type=float, default=0.1, help="seconds between GET /orders/{n} polls")
    parser.add_argument("--step-timeout", type=float, default=60.0, help="seconds one step may take")
    parser.add_argument(
        "--history-sample", type=int, default=50, help="orders per run whose histories are fetched (0: none)"
    )
    parser.add_argument(
        "--settle", type=float, default=2.0, help="seconds after the last Baton journey before CPU and events are read"
    )
    parser.add_argument("--pids", type=Path, default=VAR / "pids.json", help="the stack's pids (written by ./baton up)")
    parser.add_argument("--bare-pacing", choices=("step", "none"), default="step")
    parser.add_argument(
        "--bare-extras",
        action="store_true",
        help="bare workflow also starts/cancels an SLA-like timer per wait and upserts OrderStatus, like Baton",
    )
    parser.add_argument("--only", choices=("baton", "bare"), help="run one side only")
    parser.add_argument("--ho-orders", type=int, default=20, help="orders per condition for the HO actions (0: skip)")
    parser.add_argument("--ho-key", help="Head Office key (default: from dev-credentials.json)")
    parser.add_argument("--ho-stores", default="S002,S003", help="healthy store, down store (both are restored)")
    parser.add_argument("--ho-down-url", default="http://127.0.0.1:9/", help="webhook_url of the down store")
    parser.add_argument(
        "--ho-concurrency",
        type=int,
        default=2,
        help="Head Office users acting at once (each acts on one order at a time)",
    )
    parser.add_argument(
        "--ho-ready-timeout", type=float, default=300.0, help="seconds an HO order may take to await acknowledgement"
    )
    return parser.parse_args()


@dataclass
class Baton:
    target: BatonTarget
    products: list[dict[str, Any]]


async def baton_level(
    args: argparse.Namespace, client: Client, baton: Baton, concurrency: int, pids: dict[str, int]
) -> RunFigures:
    plans = plan_lines(baton.products, args.orders)
    if args.no_top_up:
        stock_note = "stock: not topped up"
    else:
        needed = top_up_stock(args.database_url, args.store, plans)
        stock_note = (
            f"stock: on_hand of {len(needed)} SKUs at {args.store} raised to at least reserved + this run's "
            f"need (up to {max(needed.values())} units)"
        )
    print(
        f"baton: {args.orders} orders, concurrency {concurrency}, store {args.store}, api {args.api}, "
        f"temporal {args.temporal}; {stock_note}",
        flush=True,
    )
    baton.target.lines = plans
    snapshot = await snapshot_shared(client)
    since = datetime.now(UTC)
    meter = CpuMeter({**pids, "driver": os.getpid()})
    meter.start()
    figures = await baton_run(baton.target, args.orders, concurrency)
    await asyncio.sleep(args.settle)  # work the orders left to do (deliveries, dispatchers) is theirs too
    figures.cpu_ms, figures.cpu_wall_s = meter.stop()
    figures.events = await count_baton_events(client, since, figures.numbers, snapshot, args.history_sample)
    return figures


async def bare_level(args: argparse.Namespace, client: Client, concurrency: int, pids: dict[str, int]) -> RunFigures:
    print(
        f"bare: {args.orders} workflows, concurrency {concurrency}, pacing {args.bare_pacing}, "
        f"extras {'on' if args.bare_extras else 'off'}, temporal {args.temporal}",
        flush=True,
    )
    measured = {"worker": os.getpid()} | ({"temporal": pids["temporal"]} if "temporal" in pids else {})
    figures = await bare_run(
        client,
        args.orders,
        concurrency,
        args.bare_pacing == "step",
        args.bare_extras,
        args.step_timeout,
        CpuMeter(measured),
    )
    figures.events = await count_bare_events(client, figures.completed_ids, args.history_sample)
    return figures


async def head_office(args: argparse.Namespace, baton: Baton) -> None:
    ho_key = args.ho_key or credential("head_office")
    if not ho_key:
        print("\nHead Office actions skipped: no --ho-key and no head_office key in dev-credentials.json")
        return
    healthy, down = (part.strip() for part in args.ho_stores.split(","))
    stores = {"healthy": healthy, "down": down}
    plans = {condition: plan_lines(baton.products, args.ho_orders) for condition in stores}
    if not args.no_top_up:
        for condition, store in stores.items():
            top_up_stock(args.database_url, store, plans[condition])
    print(
        f"\nhead office: {args.ho_orders} orders at {healthy} (healthy) and at {down} (down), then note, "
        f"prompt-store and cancel-lines on each, {args.ho_concurrency} orders at a time",
        flush=True,
    )
    figures = await head_office_run(
        args.api,
        ho_key,
        stores,
        plans,
        args.ho_down_url,
        args.ho_concurrency,
        args.ho_ready_timeout,
    )
    print_head_office(figures, stores)


async def main() -> int:
    args = parse_args()
    client = await connect_temporal(Settings(temporal_address=args.temporal, temporal_namespace=args.namespace))
    pids, cpu_problem = load_pids(args.pids)
    if cpu_problem:
        print(f"CPU figures unavailable: {cpu_problem}")
    if pids:
        idle = idle_rates(pids, 2.0)
        print("idle CPU before the runs (ms per second): " + ", ".join(f"{r} {fmt(v)}" for r, v in idle.items()))
        if max(idle.values(), default=0) > 50:
            print("  the stack is not idle (still starting, or busy with earlier work): its CPU figures include that")

    baton: Baton | None = None
    if args.only != "bare":
        api_key = args.api_key or credential("channel")
        if not api_key:
            raise SystemExit("no --api-key and no channel key in dev-credentials.json under BATON_VAR_DIR")
        secret = args.store_secret or default_store_secret(args.database_url, args.store)
        if not secret:
            raise SystemExit(f"no --store-secret and store {args.store} has none in {args.database_url}")
        async with aiohttp.ClientSession(args.api) as http, http.get("/products") as response:
            products = await response.json()
        target = BatonTarget(args.api, api_key, args.store, secret, [], args.poll_interval, args.step_timeout)
        baton = Baton(target, products)

    results: list[tuple[int, RunFigures | None, RunFigures | None]] = []
    for concurrency in args.concurrency:
        baton_figures = await baton_level(args, client, baton, concurrency, pids) if baton else None
        bare_figures = await bare_level(args, client, concurrency, pids) if args.only != "baton" else None
        print(f"\n== concurrency {concurrency}, {args.orders} orders ==")
        print_table(baton_figures, bare_figures)
        print(flush=True)
        results.append((concurrency, baton_figures, bare_figures))

    if baton and args.ho_orders > 0:
        await head_office(args, baton)

    print("\nsummary:")
    for concurrency, baton_figures, bare_figures in results:
        print(summary_line(concurrency, baton_figures, bare_figures))
    failed = sum(f.requested - f.completed for _c, *sides in results for f in sides if f is not None)
    return 1 if failed else 0


if __name__ == "__main__":
    code = asyncio.run(main())
    sys.stdout.flush()
    sys.stderr.flush()
    # The Temporal client's Rust threads can abort interpreter teardown ("PyGILState_Release: thread state
    # ... must be current", temporalio/sdk-python#300); everything is printed, so skip the teardown.
    os._exit(code)
