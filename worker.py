"""The Temporal worker: runs order workflows, the outbox lanes, the stuck-order sweep and their activities.
`python worker.py`"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.gateways import build_gateways
from activities.inventory import InventoryActivities
from activities.invoices import InvoiceActivities
from activities.outbox import OutboxActivities
from activities.payments import PaymentActivities
from activities.projection import ProjectionActivities
from activities.quotes import QuoteActivities
from activities.refunds import RefundActivities
from activities.requests import RequestActivities
from activities.returns import ReturnActivities
from activities.scheduling import SchedulingActivities
from activities.store_links import StoreLinkActivities
from activities.subscriptions import SubscriptionActivities
from activities.sweep import SweepActivities
from activities.targets import outbound_client
from models.db import create_tables, make_engine
from models.settings import Settings, get_settings
from workflows.client import connect_temporal
from workflows.order import OrderWorkflow
from workflows.outbox import OutboxLaneWorkflow, ensure_lanes
from workflows.quotes import QuoteWorkflow
from workflows.refunds import RefundWorkflow
from workflows.requests import CustomerRequestWorkflow
from workflows.returns import ReturnWorkflow
from workflows.store_link import StoreLinkWorkflow
from workflows.subscriptions import SubscriptionWorkflow
from workflows.sweep import StuckOrderSweepWorkflow, ensure_sweep_schedule
from workflows.telemetry import configure_tracing, start_health_server, worker_runtime

WORKFLOWS = [
    OrderWorkflow,
    StoreLinkWorkflow,
    OutboxLaneWorkflow,
    StuckOrderSweepWorkflow,
    ReturnWorkflow,
    CustomerRequestWorkflow,
    RefundWorkflow,
    SubscriptionWorkflow,
    QuoteWorkflow,
]
# Every outbox lane keeps one relay activity running (mostly waiting on its table), so the worker takes many
# activities at once. Its regular activities are async; the sync ones (database work) run as local activities,
# at most max_concurrent_local_activities at a time, so the executor's threads (made as needed) stay few.
MAX_CONCURRENT_ACTIVITIES = 500
LANE_CHECK_SECONDS = 300.0


def build_activities(
    engine: Engine, http: httpx.AsyncClient, settings: Settings | None = None, client: Client | None = None
) -> list[Callable[..., Any]]:
    """Every activity; the stuck-order sweep's only with a Temporal client (it queries and signals orders)."""
    settings = settings or get_settings()
    inventory = InventoryActivities(engine)
    projection = ProjectionActivities(engine, settings)
    payments = PaymentActivities(engine, build_gateways(settings, engine))
    store_links = StoreLinkActivities(engine)
    outbox = OutboxActivities(engine, http, settings)
    refunds = RefundActivities(engine, projection)
    activities: list[Callable[..., Any]] = [
        inventory.reserve_stock,
        inventory.resize_reservations,
        inventory.resource_delivery,
        SchedulingActivities(engine).source_on_the_day,
        inventory.commit_stock,
        inventory.dispatch_transfer,
        inventory.receive_transfer,
        payments.record_payment_transaction,
        payments.call_gateway,
        projection.commit_transition,
        projection.commit_if_reserved,
        InvoiceActivities(engine).issue_invoices,  # an order's invoices, numbered once
        refunds.keep_closed_order,  # closed orders and their late refunds
        refunds.claim_late_refund,
        refunds.settle_late_refund,
        refunds.note_late_refund_unknown,
        QuoteActivities(engine).expire_quote,  # a quote's validity ends
        store_links.load_store_link,
        store_links.record_store_link,
        store_links.tell_open_orders,
        outbox.relay,  # the outbox lanes: subscribers, stores, extracts, exporters, mail, availability
    ]
    if client is not None:  # the sweep and the returns query, signal and update orders
        activities.append(SweepActivities(engine, client, settings).sweep_stuck_orders)
        returns = ReturnActivities(engine, client, projection)
        activities += [returns.save_return, returns.restock, returns.tell_order_returned, returns.refund_through_order]
        activities.append(returns.place_replacement)
        requests = RequestActivities(engine, client, settings.task_queue, projection)
        activities += [requests.save_request, requests.tell_order, requests.carry_out]
        renewals = SubscriptionActivities(engine, client, settings.payment_gateway)
        activities += [renewals.place_renewal, renewals.renewal_outcome]
        activities += [renewals.retry_renewal_payment, renewals.cancel_renewal]
    return activities


# Workflow code stays in the sandbox (its runtime checks still refuse non-deterministic calls), but the modules it
# imports are not loaded again for every order: they are pure rules and pydantic models without module state
# (tests/test_layout.py keeps I/O out of them), and re-importing them per workflow run was a tenth of the worker's CPU.
WORKFLOW_RUNNER = SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_all_modules())


def build_worker(
    client: Client, settings: Settings, engine: Engine, http: httpx.AsyncClient, executor: ThreadPoolExecutor
) -> Worker:
    """The worker; its outbox lanes are started by `keep_outbox_lanes` (or `ensure_lanes`), not by this."""
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        activities=build_activities(engine, http, settings, client),
        activity_executor=executor,
        max_concurrent_activities=MAX_CONCURRENT_ACTIVITIES,
        workflow_runner=WORKFLOW_RUNNER,
    )


async def keep_outbox_lanes(
    client: Client, engine: Engine, settings: Settings, every: float = LANE_CHECK_SECONDS
) -> None:
    """Start every outbox lane that should run, now and every few minutes (one start request per lane; a lane that
    runs already is left alone, at no history cost), until cancelled."""
    while True:
        try:
            await ensure_lanes(client, engine, settings)
        except Exception:  # Temporal or the database away for a moment: the next round starts what is missing
            logging.exception("starting the outbox lanes failed; trying again in %.0f s", every)
        await asyncio.sleep(every)


async def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")
    settings = get_settings()
    engine = make_engine(settings.database_url)
    if settings.database_auto_create:  # production runs migrations instead (./baton migrate)
        create_tables(engine)
    tracer_provider = configure_tracing("baton-worker") if settings.otel_enabled else None
    client = await connect_temporal(settings, runtime=worker_runtime(settings))  # SDK + Baton metrics if set
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with outbound_client(settings, settings.store_push_timeout_seconds) as http:
        with ThreadPoolExecutor(max_workers=MAX_CONCURRENT_ACTIVITIES) as executor:
            worker = build_worker(client, settings, engine, http, executor)
            async with worker:
                logging.info("worker polling task queue %s on %s", settings.task_queue, settings.temporal_address)
                health = None
                if settings.worker_health_address:
                    health = await start_health_server(settings.worker_health_address, lambda: worker.is_running)
                    logging.info("worker health on http://%s/", settings.worker_health_address)
                if settings.worker_metrics_address:
                    logging.info("worker metrics on http://%s/metrics", settings.worker_metrics_address)
                lanes = asyncio.create_task(keep_outbox_lanes(client, engine, settings))
                try:
                    await ensure_sweep_schedule(client, settings)
                except Exception:  # noqa: BLE001  (Temporal away: the next worker start creates it)
                    logging.exception("the stuck-order sweep's schedule could not be created")
                await stop.wait()
                lanes.cancel()
                if health is not None:
                    health.close()
    if tracer_provider is not None:
        tracer_provider.shutdown()  # flush the last spans


if __name__ == "__main__":
    asyncio.run(main())
