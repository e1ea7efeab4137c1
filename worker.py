"""The Temporal worker: runs order workflows and their activities. `python worker.py`"""

from __future__ import annotations

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.worker import Worker

from activities.extracts import ExtractActivities, ExtractDestinations
from activities.gateways import build_gateways
from activities.inventory import InventoryActivities
from activities.outbound import OutboundActivities
from activities.payments import PaymentActivities
from activities.projection import ProjectionActivities
from activities.store_links import StoreLinkActivities
from activities.stores import StoreActivities
from models.db import create_tables, make_engine
from models.settings import Settings, get_settings
from workflows.client import connect_temporal
from workflows.extracts import PublishExtractWorkflow
from workflows.notifications import OrderNotificationsWorkflow
from workflows.order import OrderWorkflow
from workflows.store_link import StoreLinkWorkflow
from workflows.telemetry import configure_tracing, start_health_server, worker_runtime
from workflows.webhook_resend import WebhookResendWorkflow

WORKFLOWS = [
    OrderWorkflow,
    OrderNotificationsWorkflow,
    WebhookResendWorkflow,
    StoreLinkWorkflow,
    PublishExtractWorkflow,
]


def build_activities(engine: Engine, http: httpx.AsyncClient, settings: Settings | None = None) -> list[object]:
    settings = settings or get_settings()
    inventory = InventoryActivities(engine)
    projection = ProjectionActivities(engine)
    stores = StoreActivities(engine, http)
    payments = PaymentActivities(engine, build_gateways(settings, engine))
    store_links = StoreLinkActivities(engine)
    extracts = ExtractActivities(engine, http, ExtractDestinations.from_settings(settings))
    outbound = OutboundActivities(engine, http, settings)
    return [
        inventory.reserve_stock,
        inventory.resize_reservations,
        inventory.commit_stock,
        inventory.dispatch_transfer,
        inventory.receive_transfer,
        payments.record_payment_transaction,
        payments.call_gateway,
        projection.commit_transition,
        stores.push_to_store,
        store_links.load_store_link,
        store_links.record_store_link,
        store_links.tell_open_orders,
        extracts.create_extract,
        extracts.deliver_extract,
        # outbound webhooks and exporters
        outbound.publish_events,
        outbound.plan_notifications,
        outbound.mark_delivery_failed,
        outbound.record_export,
        outbound.deliver_webhook,
        outbound.export_webhook,
    ]


def build_worker(
    client: Client, settings: Settings, engine: Engine, http: httpx.AsyncClient, executor: ThreadPoolExecutor
) -> Worker:
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        activities=build_activities(engine, http, settings),
        activity_executor=executor,
        max_concurrent_activities=32,
    )


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
    async with httpx.AsyncClient(timeout=settings.store_push_timeout_seconds) as http:
        with ThreadPoolExecutor(max_workers=32) as executor:
            worker = build_worker(client, settings, engine, http, executor)
            async with worker:
                logging.info("worker polling task queue %s on %s", settings.task_queue, settings.temporal_address)
                health = None
                if settings.worker_health_address:
                    health = await start_health_server(settings.worker_health_address, lambda: worker.is_running)
                    logging.info("worker health on http://%s/", settings.worker_health_address)
                if settings.worker_metrics_address:
                    logging.info("worker metrics on http://%s/metrics", settings.worker_metrics_address)
                await stop.wait()
                if health is not None:
                    health.close()
    if tracer_provider is not None:
        tracer_provider.shutdown()  # flush the last spans


if __name__ == "__main__":
    asyncio.run(main())
