"""`./baton backtest --from DATE --to DATE --sla FILE [--payments FILE]`: what proposed SLA settings (and payment
policy) would have done to the orders placed in a period, beside what today's did, without touching anything.

It lists the period's orders from Temporal (visibility), reads each one's history through its `view` query (a
worker must be running; nothing is changed), replays its status timeline through today's SLA clocks and the
proposed ones (models/backtest.py; each store with its own overrides), and reports per store and alert type how many
alerts each would have raised and how much earlier or later; with --payments, how many orders each payment policy
would have held for approval. A table on stdout, a CSV and a bar chart (PNG)."""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import sys
from datetime import UTC, date, datetime, time
from pathlib import Path

from sqlmodel import Session
from temporalio.client import Client
from tqdm import tqdm

from models.backtest import PastOrder, Row, approvals, compare
from models.db import make_engine
from models.db.catalogue import list_stores
from models.db.policies import get_payment_policy, get_sla_policy
from models.payment_policy import PaymentPolicy
from models.settings import Settings
from models.sla import SlaPolicy, effective_policy
from workflows.client import connect_temporal


def _day(text: str) -> datetime:
    return datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)


def _payment_policy(settings: Settings) -> PaymentPolicy:
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            return get_payment_policy(session)
    finally:
        engine.dispose()


def _policies(
    settings: Settings, proposed_global: SlaPolicy | None
) -> tuple[dict[str, SlaPolicy], dict[str, SlaPolicy]]:
    """Each store's policy today and under the proposal (the file replaces the global settings; overrides stay)."""
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            today_global = get_sla_policy(session)
            stores = list_stores(session)
    finally:
        engine.dispose()
    today = {s.store_id: effective_policy(today_global, s.sla_overrides) for s in stores}
    proposed = {s.store_id: effective_policy(proposed_global or today_global, s.sla_overrides) for s in stores}
    return today, proposed


async def read_orders(client: Client, start: datetime, end: datetime, task_queue: str | None) -> list[PastOrder]:
    query = f'WorkflowType = "Order" AND StartTime >= "{start.isoformat()}" AND StartTime < "{end.isoformat()}"'
    if task_queue:
        query += f' AND TaskQueue = "{task_queue}"'
    ids = sorted({execution.id async for execution in client.list_workflows(query)})  # runs continued as new: once
    orders = []
    for workflow_id in tqdm(ids, desc="reading order histories", unit="order", file=sys.stderr):
        view = await client.get_workflow_handle(workflow_id).query("view")
        orders.append(PastOrder.from_view(view))
    return orders


def write_csv(rows: list[Row], path: Path) -> None:
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["store_id", "alert", "today", "proposed", "mean_shift_minutes", "differing_orders"])
        for row in rows:
            shift = "" if row.mean_shift_minutes is None else f"{row.mean_shift_minutes:.1f}"
            writer.writerow([row.store_id, row.clock, row.today, row.proposed, shift, " ".join(row.differing)])


def write_chart(rows: list[Row], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display: a file
    from matplotlib import pyplot

    labels = [f"{row.store_id}\n{row.clock}" for row in rows]
    positions = range(len(rows))
    figure, axes = pyplot.subplots(figsize=(max(6.0, 1.2 * len(rows)), 4.5))
    axes.bar([p - 0.2 for p in positions], [r.today for r in rows], width=0.4, label="today")
    axes.bar([p + 0.2 for p in positions], [r.proposed for r in rows], width=0.4, label="proposed")
    axes.set_xticks(list(positions), labels, fontsize=8)
    axes.set_ylabel("alerts")
    axes.set_title("SLA alerts per store and clock: today's settings and the proposed ones")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, format="png")
    pyplot.close(figure)


def table(rows: list[Row]) -> str:
    lines = [f"{'store':<8} {'alert':<22} {'today':>6} {'proposed':>9} {'shift (min)':>12}  orders that differ"]
    for row in rows:
        shift = "" if row.mean_shift_minutes is None else f"{row.mean_shift_minutes:+.1f}"
        differing = ", ".join(row.differing[:8]) + (" …" if len(row.differing) > 8 else "")
        lines.append(f"{row.store_id:<8} {row.clock:<22} {row.today:>6} {row.proposed:>9} {shift:>12}  {differing}")
    if not rows:
        lines.append("(no alerts under either settings)")
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> int:
    settings = Settings()
    start, end = _day(args.from_), _day(args.to)
    if end <= start:
        print("--to must be after --from", file=sys.stderr)
        return 2
    if not args.sla and not args.payments:
        print("give --sla FILE, --payments FILE or both", file=sys.stderr)
        return 2
    proposed = SlaPolicy.model_validate(json.loads(Path(args.sla).read_text())) if args.sla else None
    today_policies, proposed_policies = _policies(settings, proposed)
    client = await connect_temporal(settings)
    orders = await read_orders(client, start, end, args.task_queue)
    orders = [o for o in orders if o.store_id in today_policies]
    rows = compare(orders, today_policies, proposed_policies, min(end, datetime.now(UTC))) if proposed else []
    if args.payments:
        proposed_payments = PaymentPolicy.model_validate(json.loads(Path(args.payments).read_text()))
        rows.append(approvals(orders, _payment_policy(settings), proposed_payments))
    print(f"{len(orders)} orders placed from {start:%Y-%m-%d} to {end:%Y-%m-%d}")
    print(table(rows))
    write_csv(rows, Path(args.csv))
    write_chart(rows, Path(args.chart))
    print(f"wrote {args.csv} and {args.chart}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="from_", required=True, help="first day (YYYY-MM-DD, UTC), included")
    parser.add_argument("--to", required=True, help="last day (YYYY-MM-DD, UTC), excluded")
    parser.add_argument("--sla", help="the proposed SLA settings, JSON as PUT /settings/sla takes")
    parser.add_argument("--payments", help="a proposed payment policy, JSON as PUT /settings/payments takes")
    parser.add_argument("--csv", default="backtest.csv", help="where the CSV goes (backtest.csv)")
    parser.add_argument("--chart", default="backtest.png", help="where the chart goes (backtest.png)")
    parser.add_argument("--task-queue", help="only orders on this task queue (a shared Temporal)")
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
