"""A worker killed with SIGKILL and started again: orders carry on, and stock is reserved and committed once.

The API runs in-process (no worker); the worker is the real entry point, `python worker.py`, run as a
subprocess against the session's Temporal dev server and the test database, so it can be killed for real.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from models.db.tables import GatewayTestOperationRow, PaymentTransactionRow, StockLevelRow, StockReservationRow
from tests.conftest import Stack, _stack
from tests.support import (
    CHANNEL,
    HO,
    JEANS,
    TEE,
    eventually,
    order_body,
    post_store_event,
    settled,
    store_event,
    wait_for_status,
)

ROOT = Path(__file__).resolve().parents[2]
STORE = "S001"
LINES = [(TEE, 2), (JEANS, 1)]
PICKED = {"L1": 2, "L2": 1}
# A killed worker leaves its workflow task to time out (10 s) or its sticky queue to expire (5 s) first.
RECOVERY_TIMEOUT = 40.0
POLLING_LINE = "worker polling task queue"


class WorkerProcesses:
    """Starts `python worker.py` subprocesses on one task queue; kills them with SIGKILL; never leaks one."""

    def __init__(self, address: str, task_queue: str, database_url: str, log_dir: Path) -> None:
        self._env = {
            **os.environ,
            "BATON_TEMPORAL_ADDRESS": address,
            "BATON_TASK_QUEUE": task_queue,
            "BATON_DATABASE_URL": database_url,
            "PYTHONUNBUFFERED": "1",
        }
        self._log_dir = log_dir
        self._started: list[tuple[subprocess.Popen, Path]] = []

    def start(self, **env: str) -> subprocess.Popen:
        log = self._log_dir / f"worker-{len(self._started) + 1}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "worker.py"],
                cwd=ROOT,
                env={**self._env, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self._started.append((process, log))
        return process

    def log(self, process: subprocess.Popen) -> str:
        path = next(log for started, log in self._started if started is process)
        return path.read_text(errors="replace")

    async def wait_polling(self, process: subprocess.Popen, timeout: float = 30.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while POLLING_LINE not in self.log(process):
            if process.poll() is not None:
                raise AssertionError(f"worker exited with {process.returncode}:\n{self.log(process)}")
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"worker did not start polling in {timeout} s:\n{self.log(process)}")
            await asyncio.sleep(0.05)

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        """SIGKILL: no shutdown hook runs, in-flight tasks and connections are simply dropped."""
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        assert process.returncode == -signal.SIGKILL

    def kill_all(self) -> None:
        for process, _log in self._started:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')}" for _p, log in self._started)


@pytest_asyncio.fixture
async def api(
    dev_env: WorkflowEnvironment, db: Engine, database_url: str, executor: ThreadPoolExecutor
) -> AsyncIterator[Stack]:
    """The API in-process against the dev server, with no in-process worker."""
    async for stack in _stack(dev_env, db, database_url, executor, run_worker=False):
        yield stack


@pytest.fixture
def workers(dev_env: WorkflowEnvironment, api: Stack, database_url: str, tmp_path: Path) -> Iterator[WorkerProcesses]:
    processes = WorkerProcesses(
        dev_env.client.service_client.config.target_host, api.settings.task_queue, database_url, tmp_path
    )
    try:
        yield processes
    finally:
        processes.kill_all()


def _reservations(engine: Engine, order_number: str) -> list[tuple[str, str, str, int, str]]:
    with Session(engine) as session:
        rows = session.exec(select(StockReservationRow).where(StockReservationRow.order_number == order_number)).all()
        return sorted((r.line_id, r.location_id, r.sku, r.quantity, r.status) for r in rows)


def _levels(engine: Engine, location_id: str = STORE) -> dict[str, tuple[int, int]]:
    """(on_hand, reserved) of each SKU on the order at the store."""
    with Session(engine) as session:
        rows = session.exec(
            select(StockLevelRow).where(
                StockLevelRow.location_id == location_id, StockLevelRow.sku.in_([sku for sku, _ in LINES])
            )
        ).all()
        return {r.sku: (r.on_hand, r.reserved) for r in rows}


def _expected_reservations(status: str) -> list[tuple[str, str, str, int, str]]:
    return [(f"L{i}", STORE, sku, qty, status) for i, (sku, qty) in enumerate(LINES, start=1)]


async def _post(api: Stack, event: dict) -> None:
    response = await post_store_event(api.http, STORE, event)
    assert response.status_code == 202, response.text


async def _place(api: Stack) -> str:
    response = await api.http.post("/orders", json=order_body(STORE, lines=LINES), headers=CHANNEL)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "received"
    return response.json()["order_number"]


def _transitions(view: dict) -> list[tuple[str, str]]:
    return [(h["from_status"], h["to_status"]) for h in view["history"] if h["to_status"]]


def _actions(view: dict) -> list[str]:
    return [h["action"] for h in view["history"]]


async def test_worker_killed_mid_journey_and_restarted_completes_with_stock_reserved_once(
    api: Stack, db: Engine, workers: WorkerProcesses
):
    before = _levels(db)
    number = await _place(api)

    first = workers.start()
    try:
        await wait_for_status(api.http, number, "awaiting_acknowledgement", timeout=30)
        assert _reservations(db, number) == _expected_reservations("reserved")
        assert _levels(db) == {sku: (before[sku][0], before[sku][1] + qty) for sku, qty in LINES}

        acknowledged = store_event(number, "acknowledged")
        await _post(api, acknowledged)
        await wait_for_status(api.http, number, "acknowledged")

        # The pick is durably with Temporal (202); the worker dies while it may be processing it.
        picked = store_event(number, "picked", picked=PICKED)
        await _post(api, picked)
        workers.kill(first)

        second = workers.start()
        await workers.wait_polling(second)
        # The store retries its webhooks after the outage: the same event ids are accepted and applied once.
        await _post(api, acknowledged)
        await _post(api, picked)
        await wait_for_status(api.http, number, "ready_for_collection", timeout=RECOVERY_TIMEOUT)

        # The collection commits the stock; the worker dies again while that may be in flight.
        collected = store_event(number, "collected")
        await _post(api, collected)
        workers.kill(second)

        third = workers.start()
        await workers.wait_polling(third)
        await _post(api, collected)
        await _post(api, picked)
        view = await wait_for_status(api.http, number, "completed", timeout=RECOVERY_TIMEOUT)
    except AssertionError as error:
        raise AssertionError(f"{error}\n{workers.logs()}") from error

    assert _reservations(db, number) == _expected_reservations("committed")
    assert _levels(db) == {sku: (before[sku][0] - qty, before[sku][1]) for sku, qty in LINES}
    assert _transitions(view) == [
        ("received", "awaiting_acknowledgement"),
        ("awaiting_acknowledgement", "acknowledged"),
        ("acknowledged", "ready_for_collection"),
        ("ready_for_collection", "collected"),
        ("collected", "completed"),
    ]
    actions = _actions(view)
    for action in ("order_placed", "stock_reserved", "sent_to_store", "acknowledged", "picked", "collected"):
        assert actions.count(action) == 1, actions
    assert view["store_exceptions"] == []
    assert [(line["line_id"], line["picked_quantity"]) for line in view["lines"]] == list(PICKED.items())


async def test_order_placed_while_no_worker_runs_is_reserved_once_when_a_worker_finally_starts(
    api: Stack, db: Engine, workers: WorkerProcesses
):
    before = _levels(db)
    number = await _place(api)  # no worker polls the task queue: the workflow's first task waits in Temporal

    # A worker that dies before it ever ran: killed while the interpreter is still starting.
    stillborn = workers.start()
    workers.kill(stillborn)
    assert POLLING_LINE not in workers.log(stillborn)
    assert _reservations(db, number) == []
    assert _levels(db) == before

    first = workers.start()
    try:
        await wait_for_status(api.http, number, "awaiting_acknowledgement", timeout=30)
        assert _reservations(db, number) == _expected_reservations("reserved")
        assert _levels(db) == {sku: (before[sku][0], before[sku][1] + qty) for sku, qty in LINES}

        # With no worker running again, the store's events are queued as signals; a retried webhook repeats one.
        workers.kill(first)
        acknowledged = store_event(number, "acknowledged")
        await _post(api, acknowledged)
        await _post(api, acknowledged)
        assert (await api.http.get(f"/orders/{number}", headers=HO)).json()["status"] == "awaiting_acknowledgement"

        second = workers.start()
        view = await wait_for_status(api.http, number, "acknowledged", timeout=RECOVERY_TIMEOUT)
    except AssertionError as error:
        raise AssertionError(f"{error}\n{workers.logs()}") from error
    workers.kill(second)

    assert _reservations(db, number) == _expected_reservations("reserved")
    assert _levels(db) == {sku: (before[sku][0], before[sku][1] + qty) for sku, qty in LINES}
    assert _transitions(view) == [
        ("received", "awaiting_acknowledgement"),
        ("awaiting_acknowledgement", "acknowledged"),
    ]
    actions = _actions(view)
    assert actions.count("stock_reserved") == 1, actions
    assert actions.count("acknowledged") == 1, actions
    assert view["store_exceptions"] == []


def _captures(
    engine: Engine, order_number: str, kind: str = "capture"
) -> tuple[list[tuple[str, int, int]], list[tuple[str, int]]]:
    """Operations of one kind on the gateway's books (outcome, amount, calls) and in Baton's ledger (status,
    amount, attempt)."""
    with Session(engine) as session:
        booked = session.exec(
            select(GatewayTestOperationRow).where(
                GatewayTestOperationRow.order_number == order_number, GatewayTestOperationRow.kind == kind
            )
        ).all()
        ledger = session.exec(
            select(PaymentTransactionRow).where(
                PaymentTransactionRow.order_number == order_number, PaymentTransactionRow.kind == kind
            )
        ).all()
        return [(r.outcome, r.amount, r.calls) for r in booked], [(r.status, r.amount, r.attempts) for r in ledger]


async def test_worker_killed_right_after_the_gateway_captured_captures_exactly_once(
    api: Stack, db: Engine, workers: WorkerProcesses
):
    # tok_slow: the gateway books each operation, then answers 3 s later — the window in which the worker dies.
    # A gateway call is retried after 5 s here (the payment policy's gateway_timeout), with the same key.
    policy = (await api.http.get("/settings/payments", headers=HO)).json()
    assert (await api.http.put("/settings/payments", json={**policy, "gateway_timeout": "PT5S"}, headers=HO)).is_success
    body = order_body(STORE, lines=LINES)
    body["payment"] = {"mode": "authorise", "method": "card", "token": "tok_slow", "amount": body["payment"]["amount"]}
    response = await api.http.post("/orders", json=body, headers=CHANNEL)
    assert response.status_code == 201, response.text
    number, total = response.json()["order_number"], response.json()["total"]["amount"]

    slow = {"BATON_TEST_GATEWAY_SLOW_SECONDS": "3"}
    first = workers.start(**slow)
    try:
        await wait_for_status(api.http, number, "awaiting_acknowledgement", timeout=30)
        await _post(api, store_event(number, "acknowledged"))
        await _post(api, store_event(number, "picked", picked=PICKED))
        await wait_for_status(api.http, number, "ready_for_collection")
        await _post(api, store_event(number, "collected"))

        async def captured_at_gateway():
            return _captures(db, number)[0] == [("approved", total, 1)]

        await eventually(captured_at_gateway, timeout=30, interval=0.02)
        workers.kill(first)  # the money moved; the worker never heard the answer
        assert _captures(db, number)[1] == []  # Baton's ledger has not recorded it yet

        second = workers.start(**slow)
        await wait_for_status(api.http, number, "completed", timeout=RECOVERY_TIMEOUT)
        view = await settled(api.http, number, timeout=RECOVERY_TIMEOUT)
    except AssertionError as error:
        raise AssertionError(f"{error}\n{workers.logs()}") from error

    booked, ledger = _captures(db, number)
    assert booked == [("approved", total, 1)]  # captured once at the gateway
    assert ledger == [("approved", total, 2)]  # recorded by the retry, which the gateway answered from its books
    assert view["paid"]["amount"] == total and view["outstanding"]["amount"] == 0
    assert _actions(view).count("payment_captured") == 1
    workers.kill(second)


async def test_worker_killed_between_a_refund_at_the_gateway_and_its_ledger_write_refunds_once(
    api: Stack, db: Engine, workers: WorkerProcesses
):
    # tok_slow: the gateway books the refund, then answers 3 s later — the worker dies in between.
    policy = (await api.http.get("/settings/payments", headers=HO)).json()
    assert (await api.http.put("/settings/payments", json={**policy, "gateway_timeout": "PT5S"}, headers=HO)).is_success
    body = order_body(STORE, lines=LINES)
    body["payment"] = {
        "mode": "auth_capture",
        "method": "card",
        "token": "tok_slow",
        "amount": body["payment"]["amount"],
    }
    response = await api.http.post("/orders", json=body, headers=CHANNEL)
    assert response.status_code == 201, response.text
    number = response.json()["order_number"]

    slow = {"BATON_TEST_GATEWAY_SLOW_SECONDS": "3"}
    first = workers.start(**slow)
    try:
        await wait_for_status(api.http, number, "awaiting_acknowledgement", timeout=30)
        refund = {"amount": {"amount": 1500, "currency": "GBP"}, "reason": "price match"}
        answered = await api.http.post(f"/orders/{number}/refunds", json=refund, headers=HO)
        assert answered.status_code == 200, answered.text

        async def refunded_at_gateway():
            return _captures(db, number, "refund")[0] == [("approved", 1500, 1)]

        await eventually(refunded_at_gateway, timeout=30, interval=0.02)
        workers.kill(first)  # the money went back; the worker never heard the answer
        assert _captures(db, number, "refund")[1] == []

        second = workers.start(**slow)
        view = await settled(api.http, number, timeout=RECOVERY_TIMEOUT)
    except AssertionError as error:
        raise AssertionError(f"{error}\n{workers.logs()}") from error

    booked, ledger = _captures(db, number, "refund")
    assert booked == [("approved", 1500, 1)]  # refunded once at the gateway
    assert ledger == [("approved", 1500, 2)]  # recorded by the retry, which the gateway answered from its books
    assert [(r["status"], r["amount"]["amount"]) for r in view["refunds"]] == [("refunded", 1500)]
    assert view["refunded"]["amount"] == 1500
    workers.kill(second)
