"""Feeds applied to the catalogue and stock levels, each message once (models/feeds.py): products and prices,
stock counts, receipts and adjustments. Each writes its movements to the ledger and remembers its message id in one
transaction, so a retried message is answered with what the first one did. Each takes an open Session."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from models.db import merchants, stock_ledger
from models.db.tables import LocationRow, ProductRow, StockLevelRow, StockReservationRow
from models.feeds import CountShortfall, FeedError, ProductItem, StockCount, StockMovement, movement_problem

ATTEMPTS = 5  # a level read and written again when an order changed it in between


def replayed(session: Session, message_id: str, kind: str) -> dict[str, Any] | None:
    """What the message did the first time it came, or None when it is new."""
    seen = stock_ledger.applied(session, message_id)
    if seen is None:
        return None
    if seen.kind != kind:
        raise FeedError("message_id", f"message {message_id} was already used for a {seen.kind} feed")
    return {**seen.outcome, "replayed": True}


def upsert_products(
    session: Session, message_id: str, products: list[ProductItem], actor: str, now: datetime
) -> dict[str, Any]:
    created = updated = 0
    owners = {item.merchant_id for item in products if item.merchant_id}
    known = merchants.known_merchants(session, owners) if owners else set()
    for index, item in enumerate(products):  # a product of an unknown merchant refuses the whole message
        if item.merchant_id and item.merchant_id not in known:
            raise FeedError(f"products[{index}].merchant_id", f"unknown merchant {item.merchant_id}")
    for item in products:
        row = session.get(ProductRow, item.sku)
        if row is None:
            row = ProductRow(sku=item.sku, style="", name="", size="", colour="", price_amount=0, currency="")
            created += 1
        else:
            updated += 1
        row.style, row.name, row.size, row.colour = item.style, item.name, item.size, item.colour
        row.price_amount, row.currency = item.price.amount, item.price.currency
        if item.electronic is not None:
            row.electronic = item.electronic
        if item.tax_class is not None:
            row.tax_class = item.tax_class
        if item.merchant_id is not None:
            merchants.set_product_owner(session, item.sku, item.merchant_id)
        session.add(row)
    outcome = {"message_id": message_id, "created": created, "updated": updated}
    stock_ledger.remember(session, message_id, "products", actor, outcome, now)
    session.commit()
    return outcome


def _check_places(session: Session, places: list[tuple[str, str, str]]) -> None:
    """(field, sku, location) each known; FeedError naming the first that is not."""
    for field, sku, location_id in places:
        if session.get(ProductRow, sku) is None:
            raise FeedError(f"{field}.sku", f"unknown SKU {sku}: send it in a product feed first")
        if session.get(LocationRow, location_id) is None:
            raise FeedError(f"{field}.location_id", f"unknown location {location_id}")


def _read(session: Session, location_id: str, sku: str) -> tuple[int, int]:
    """(on hand, reserved) as stored now; a level is made (empty) the first time stock is reported there."""
    query = select(StockLevelRow.on_hand, StockLevelRow.reserved).where(
        StockLevelRow.location_id == location_id, StockLevelRow.sku == sku
    )
    found = session.exec(query).first()
    if found is None:
        session.add(StockLevelRow(location_id=location_id, sku=sku, on_hand=0, reserved=0))
        session.flush()
        return 0, 0
    return found[0], found[1]


def _set_on_hand(session: Session, location_id: str, sku: str, read: tuple[int, int], on_hand: int) -> bool:
    """Write on-hand only if the level is as read (an order may have reserved meanwhile)."""
    result = session.exec(
        update(StockLevelRow)
        .where(
            col(StockLevelRow.location_id) == location_id,
            col(StockLevelRow.sku) == sku,
            col(StockLevelRow.on_hand) == read[0],
            col(StockLevelRow.reserved) == read[1],
        )
        .values(on_hand=on_hand)
    )
    return bool(result.rowcount)


def apply_counts(
    session: Session, message_id: str, counts: list[StockCount], reason: str, actor: str, now: datetime
) -> tuple[dict[str, Any], list[tuple[CountShortfall, list[str]]]]:
    """Set each counted level. A count below what is reserved keeps on-hand at the reservations (nothing goes
    negative) and is returned as a shortfall with the orders holding that stock, for them to be alerted."""
    _check_places(session, [(f"counts[{i}]", c.sku, c.location_id) for i, c in enumerate(counts)])
    shortfalls: list[tuple[CountShortfall, list[str]]] = []
    for count in counts:
        for _ in range(ATTEMPTS):
            was, reserved = _read(session, count.location_id, count.sku)
            on_hand = max(count.on_hand, reserved)
            if _set_on_hand(session, count.location_id, count.sku, (was, reserved), on_hand):
                break
        else:
            raise RuntimeError(f"stock of {count.sku} at {count.location_id} kept changing; send the count again")
        if on_hand != was:
            stock_ledger.record(
                session, count.location_id, count.sku, "count", on_hand=on_hand - was,
                actor=actor, reason=reason, message_id=message_id, now=now,
            )  # fmt: skip
        if count.on_hand < reserved:
            shortfall = CountShortfall(
                sku=count.sku,
                location_id=count.location_id,
                counted=count.on_hand,
                reserved=reserved,
                message_id=message_id,
            )
            shortfalls.append((shortfall, holding_orders(session, count.location_id, count.sku)))
    outcome = {
        "message_id": message_id,
        "counted": len(counts),
        "shortfalls": [dict(s.model_dump(exclude={"message_id"}), orders=orders) for s, orders in shortfalls],
    }
    stock_ledger.remember(session, message_id, "counts", actor, outcome, now)
    session.commit()
    return outcome, shortfalls


def apply_movements(
    session: Session, message_id: str, movements: list[StockMovement], actor: str, now: datetime
) -> dict[str, Any]:
    """Add each delta; all or none. A delta that would take stock below what is reserved is refused: a count says
    what is really on the shelf, and alerts the orders short of it."""
    _check_places(session, [(f"movements[{i}]", m.sku, m.location_id) for i, m in enumerate(movements)])
    for index, movement in enumerate(movements):
        problem = movement_problem(movement)
        if problem:
            raise FeedError(f"movements[{index}].delta", problem)
        for _ in range(ATTEMPTS):
            was, reserved = _read(session, movement.location_id, movement.sku)
            on_hand = was + movement.delta
            if on_hand < reserved:
                session.rollback()
                raise FeedError(
                    f"movements[{index}].delta",
                    f"{movement.location_id} holds {was} of {movement.sku}, {reserved} reserved: "
                    f"{movement.delta} would take it below its reservations (send a stock count instead)",
                )
            if _set_on_hand(session, movement.location_id, movement.sku, (was, reserved), on_hand):
                break
        else:
            raise RuntimeError(f"stock of {movement.sku} at {movement.location_id} kept changing; send it again")
        stock_ledger.record(
            session, movement.location_id, movement.sku, movement.kind.value, on_hand=movement.delta,
            actor=actor, reason=movement.reason, message_id=message_id, now=now,
        )  # fmt: skip
    outcome = {"message_id": message_id, "applied": len(movements)}
    stock_ledger.remember(session, message_id, "movements", actor, outcome, now)
    session.commit()
    return outcome


def holding_orders(session: Session, location_id: str, sku: str) -> list[str]:
    """The orders holding a reservation of the SKU at the location."""
    query = select(StockReservationRow.order_number).where(
        StockReservationRow.location_id == location_id,
        StockReservationRow.sku == sku,
        StockReservationRow.status == "reserved",
    )
    return sorted(set(session.exec(query)))
