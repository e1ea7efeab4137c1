"""Scaling out on one machine: two worker processes and two API instances on one Temporal and one database.
One worker is killed with SIGKILL under load; every order still completes exactly once."""

from __future__ import annotations

import asyncio
from itertools import cycle

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, select

from api.app import create_app
from models.db.tables import StockLevelRow, StockReservationRow
from tests.support import CHANNEL, TEE, order_body, post_store_event, store_event, wait_for_status
from tests.workflows.test_worker_crash import RECOVERY_TIMEOUT, WorkerProcesses, api, workers  # noqa: F401

STORES = ("S001", "S002", "S003")
ORDERS_PER_STORE = 4


def _tees(engine: Engine) -> dict[str, tuple[int, int]]:
    with Session(engine) as session:
        rows = session.exec(select(StockLevelRow).where(StockLevelRow.sku == TEE)).all()
        return {r.location_id: (r.on_hand, r.reserved) for r in rows if r.location_id in STORES}


async def test_two_workers_one_killed_under_load_every_order_completes_once(api, db, workers, dev_env):  # noqa: F811
    second_app = create_app(api.settings, temporal=dev_env.client)
    async with (
        second_app.router.lifespan_context(second_app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=second_app), base_url="http://baton-2.test") as second_api,
    ):
        apis = cycle([api.http, second_api])
        before = _tees(db)
        doomed, survivor = workers.start(), workers.start()
        try:
            await asyncio.gather(workers.wait_polling(doomed), workers.wait_polling(survivor))
            placed = await asyncio.gather(
                *(
                    next(apis).post("/orders", json=order_body(store, lines=[(TEE, 1)]), headers=CHANNEL)
                    for store in STORES
                    for _ in range(ORDERS_PER_STORE)
                )
            )
            assert {r.status_code for r in placed} == {201}
            orders = [(r.json()["order_number"], r.json()["store_id"]) for r in placed]
            await asyncio.gather(*(wait_for_status(api.http, n, "awaiting_acknowledgement", 40) for n, _ in orders))

            async def journey(number: str, store: str, client: httpx.AsyncClient) -> None:
                for event in (
                    store_event(number, "acknowledged"),
                    store_event(number, "picked", picked={"L1": 1}),
                    store_event(number, "collected"),
                ):
                    response = await post_store_event(client, store, event)
                    assert response.status_code == 202, response.text
                    await asyncio.sleep(0.05)

            load = asyncio.gather(*(journey(n, s, next(apis)) for n, s in orders))
            await asyncio.sleep(0.3)
            workers.kill(doomed)  # mid-load: some orders' tasks were on it
            await load
            views = await asyncio.gather(
                *(wait_for_status(api.http, n, "completed", RECOVERY_TIMEOUT) for n, _ in orders)
            )
        except AssertionError as error:
            raise AssertionError(f"{error}\n{workers.logs()}") from error

    for view in views:
        transitions = [(h["from_status"], h["to_status"]) for h in view["history"] if h["to_status"]]
        assert transitions == [
            ("received", "awaiting_acknowledgement"),
            ("awaiting_acknowledgement", "acknowledged"),
            ("acknowledged", "ready_for_collection"),
            ("ready_for_collection", "collected"),
            ("collected", "completed"),
        ], view["order_number"]
    with Session(db) as session:
        numbers = [n for n, _ in orders]
        rows = session.exec(select(StockReservationRow).where(StockReservationRow.order_number.in_(numbers))).all()
    assert sorted((r.order_number, r.line_id, r.quantity, r.status) for r in rows) == sorted(
        (n, "L1", 1, "committed") for n in numbers
    )
    assert _tees(db) == {store: (on_hand - ORDERS_PER_STORE, reserved) for store, (on_hand, reserved) in before.items()}
