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

from activities.inventory import InventoryActivities
from activities.projection import ProjectionActivities
from activities.stores import StoreActivities
from models.db import create_tables, make_engine
from models.settings import Settings, get_settings
from workflows.client import connect_temporal
from workflows.order_workflow import OrderWorkflow

WORKFLOWS = [OrderWorkflow]


def build_activities(engine: Engine, http: httpx.AsyncClient) -> list[object]:
    inventory = InventoryActivities(engine)
    projection = ProjectionActivities(engine)
    stores = StoreActivities(engine, http)
    return [
        inventory.reserve_stock,
        inventory.resize_reservations,
        inventory.commit_stock,
        projection.project_order,
        stores.push_to_store,
    ]


def build_worker(
    client: Client, settings: Settings, engine: Engine, http: httpx.AsyncClient, executor: ThreadPoolExecutor
) -> Worker:
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        activities=build_activities(engine, http),
        activity_executor=executor,
        max_concurrent_activities=32,
    )


async def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")
    settings = get_settings()
    engine = make_engine(settings.database_url)
    if settings.database_auto_create:  # production runs migrations instead (./baton migrate)
        create_tables(engine)
    client = await connect_temporal(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with httpx.AsyncClient(timeout=settings.store_push_timeout_seconds) as http:
        with ThreadPoolExecutor(max_workers=32) as executor:
            worker = build_worker(client, settings, engine, http, executor)
            async with worker:
                logging.info("worker polling task queue %s on %s", settings.task_queue, settings.temporal_address)
                await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
