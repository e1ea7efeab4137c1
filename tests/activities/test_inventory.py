"""The stock ledger on a real database: all-or-nothing, idempotent, never negative under races."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from sqlmodel import Session, select

from activities.inventory import InventoryActivities
from models.catalogue import CommitStock, LineReservation, ReserveStock, ResizeReservations
from models.db.tables import StockLevelRow, StockReservationRow
from models.resourcing import ResourceDelivery
from models.sourcing import LineToSource
from tests.support import JEANS, TEE


def _level(engine, sku: str, location: str = "S001") -> tuple[int, int]:
    with Session(engine) as session:
        row = session.get(StockLevelRow, (location, sku))
        return row.on_hand, row.reserved


def _reserve(order: str, *lines: tuple[str, str, int]) -> ReserveStock:
    return ReserveStock(
        order_number=order,
        location_id="S001",
        lines=[LineReservation(line_id=line_id, sku=sku, quantity=qty) for line_id, sku, qty in lines],
    )


def test_reserve_stock_twice_reserves_once(db):
    inventory = InventoryActivities(db)
    request = _reserve("T1", ("L1", TEE, 3))
    assert inventory.reserve_stock(request).reserved
    assert inventory.reserve_stock(request).reserved
    assert _level(db, TEE) == (10, 3)


def test_reserve_stock_short_line_reserves_nothing(db):
    inventory = InventoryActivities(db)
    outcome = inventory.reserve_stock(_reserve("T2", ("L1", JEANS, 2), ("L2", TEE, 11)))
    assert not outcome.reserved
    assert outcome.short_lines == ["L2"]
    assert _level(db, JEANS) == (10, 0)
    assert _level(db, TEE) == (10, 0)


def test_concurrent_reservations_never_oversell(db):
    inventory = InventoryActivities(db)
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda i: inventory.reserve_stock(_reserve(f"R{i}", ("L1", TEE, 3))), range(12)))
    assert sum(o.reserved for o in outcomes) == 3  # 10 on hand fits three orders of 3
    assert _level(db, TEE) == (10, 9)
    with Session(db) as session:
        assert len(session.exec(select(StockReservationRow)).all()) == 3


def test_resize_and_commit_are_idempotent(db):
    inventory = InventoryActivities(db)
    inventory.reserve_stock(_reserve("T3", ("L1", TEE, 4), ("L2", JEANS, 2)))
    shrink = ResizeReservations(order_number="T3", targets={"L1": 1})
    inventory.resize_reservations(shrink)
    inventory.resize_reservations(shrink)
    assert _level(db, TEE) == (10, 1)
    assert _level(db, JEANS) == (10, 2)
    inventory.commit_stock(CommitStock(order_number="T3"))
    inventory.commit_stock(CommitStock(order_number="T3"))
    assert _level(db, TEE) == (9, 0)
    assert _level(db, JEANS) == (8, 0)


def test_release_all_returns_stock(db):
    inventory = InventoryActivities(db)
    inventory.reserve_stock(_reserve("T4", ("L1", TEE, 4)))
    inventory.resize_reservations(ResizeReservations(order_number="T4", targets={"L1": 0}))
    inventory.resize_reservations(ResizeReservations(order_number="T4", targets={"L1": 0}))
    assert _level(db, TEE) == (10, 0)


def test_resource_delivery_twice_chooses_the_same_location_and_reserves_once(db):
    """A retried re-sourcing (its first attempt committed) counts the delivery's own reservation as available where
    it is held: the same location is chosen and nothing more is reserved."""
    inventory = InventoryActivities(db)
    request = ResourceDelivery(
        order_number="T9",
        delivery_id="D2",
        lines=[LineToSource(line_id="L2", sku=JEANS, quantity=10)],  # all of a store's JEANS: one store only
        excluded=["W001", "S001"],
        at=datetime.now(UTC),
    )
    first = inventory.resource_delivery(request)
    again = inventory.resource_delivery(request)
    assert first.reserved and again.reserved
    assert first.decision.assignments == again.decision.assignments
    (location,) = first.decision.assignments
    assert _level(db, JEANS, location) == (10, 10)
