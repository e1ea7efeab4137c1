"""Stock levels: reservations, commits and transfers. Each takes an open Session and commits (or rolls back)
what it did, unless told `commit=False`: then it leaves the transaction to the caller (the commit activity writes
a whole order change in one), and on failure the caller rolls back. The conditional updates keep stock from going
negative even when two copies run at once. Every movement is written to the ledger (stock_ledger.py) in the same
transaction, by the order that made it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from models.catalogue import CommitStock, DispatchTransfer, ReserveStock, ResizeReservations
from models.db import stock_ledger
from models.db.tables import StockLevelRow, StockReservationRow, StockTransferRow


def _moved(
    session: Session, order_number: str, location_id: str, sku: str, kind: str, *, on_hand: int = 0, reserved: int = 0
) -> None:
    actor, now = f"order:{order_number}", datetime.now(UTC)
    stock_ledger.record(
        session, location_id, sku, kind, on_hand=on_hand, reserved=reserved, actor=actor, order_number=order_number,
        now=now,
    )  # fmt: skip


class StockShortage(Exception):
    """Not enough stock available for the change; the message says what and where."""


class ReservationChanged(Exception):
    """A reservation changed between reading and writing it (another copy of the same work ran)."""


class UnknownTransfer(Exception):
    """No transfer with this id was dispatched."""


def _take(session: Session, location_id: str, sku: str, quantity: int) -> bool:
    """Move `quantity` from available to reserved, only if that much is available (atomic)."""
    result = session.exec(
        update(StockLevelRow)
        .where(
            col(StockLevelRow.location_id) == location_id,
            col(StockLevelRow.sku) == sku,
            col(StockLevelRow.on_hand) - col(StockLevelRow.reserved) >= quantity,
        )
        .values(reserved=StockLevelRow.reserved + quantity)
    )
    return bool(result.rowcount)


def _give_back(session: Session, location_id: str, sku: str, quantity: int) -> None:
    session.exec(
        update(StockLevelRow)
        .where(col(StockLevelRow.location_id) == location_id, col(StockLevelRow.sku) == sku)
        .values(reserved=StockLevelRow.reserved - quantity)
    )


def _set_reservation(session: Session, row: StockReservationRow, quantity: int) -> bool:
    """Change a reservation's quantity only if nobody changed it since we read it."""
    result = session.exec(
        update(StockReservationRow)
        .where(
            col(StockReservationRow.order_number) == row.order_number,
            col(StockReservationRow.line_id) == row.line_id,
            col(StockReservationRow.location_id) == row.location_id,
            col(StockReservationRow.quantity) == row.quantity,
            col(StockReservationRow.status) == "reserved",
        )
        .values(quantity=quantity)
    )
    return bool(result.rowcount)


def _reserved_rows(session: Session, order_number: str, location_id: str | None = None) -> list[StockReservationRow]:
    query = select(StockReservationRow).where(
        StockReservationRow.order_number == order_number, StockReservationRow.status == "reserved"
    )
    if location_id is not None:
        query = query.where(StockReservationRow.location_id == location_id)
    return list(session.exec(query).all())


def reserve(session: Session, request: ReserveStock, *, commit: bool = True) -> list[str]:
    """Reserve all lines at one location or none; a line already reserved there is not reserved again.
    Returns the lines short of stock (nothing was reserved then: the session is rolled back, so with
    `commit=False` the reservation must be the first thing the transaction writes)."""
    held = {
        row.line_id: row
        for row in session.exec(
            select(StockReservationRow).where(
                StockReservationRow.order_number == request.order_number,
                StockReservationRow.location_id == request.location_id,
            )
        )
    }
    short = []
    for line in request.lines:
        row = held.get(line.line_id)
        if row is not None and (row.quantity > 0 or row.status != "reserved"):
            continue
        if not _take(session, request.location_id, line.sku, line.quantity):
            short.append(line.line_id)
            continue
        _moved(session, request.order_number, request.location_id, line.sku, "reserve", reserved=line.quantity)
        if row is not None:
            _set_reservation(session, row, line.quantity)
        else:
            session.add(
                StockReservationRow(
                    order_number=request.order_number,
                    line_id=line.line_id,
                    location_id=request.location_id,
                    sku=line.sku,
                    quantity=line.quantity,
                )
            )
    if short:
        session.rollback()
        return short
    _finish(session, commit)
    return []


def _finish(session: Session, commit: bool) -> None:
    if commit:
        session.commit()


def _fail(session: Session, commit: bool, error: Exception) -> Exception:
    if commit:
        session.rollback()
    return error


def resize(session: Session, request: ResizeReservations, *, commit: bool = True) -> None:
    """Set each line's reservation to its target quantity; 0 releases it. Raises StockShortage or
    ReservationChanged (having changed nothing when it commits)."""
    for row in _reserved_rows(session, request.order_number, request.location_id):
        target = request.targets.get(row.line_id, row.quantity)
        delta = target - row.quantity
        if delta == 0:
            continue
        if delta > 0 and not _take(session, row.location_id, row.sku, delta):
            shortage = StockShortage(f"not enough {row.sku} at {row.location_id} to reserve {target}")
            raise _fail(session, commit, shortage)
        if not _set_reservation(session, row, target):
            raise _fail(session, commit, ReservationChanged("reservation changed concurrently; retrying"))
        if delta < 0:
            _give_back(session, row.location_id, row.sku, -delta)
        _moved(
            session, row.order_number, row.location_id, row.sku, "reserve" if delta > 0 else "release", reserved=delta
        )
    _finish(session, commit)


def commit(session: Session, request: CommitStock, *, commit: bool = True) -> None:
    """The goods left with the customer: reduce on-hand and consume the reservations, once."""
    for row in _reserved_rows(session, request.order_number, request.location_id):
        if request.line_ids is not None and row.line_id not in request.line_ids:
            continue
        claimed = session.exec(
            update(StockReservationRow)
            .where(
                col(StockReservationRow.order_number) == row.order_number,
                col(StockReservationRow.line_id) == row.line_id,
                col(StockReservationRow.location_id) == row.location_id,
                col(StockReservationRow.status) == "reserved",
            )
            .values(status="committed")
        )
        if not claimed.rowcount:
            continue  # another copy of this activity committed it
        session.exec(
            update(StockLevelRow)
            .where(col(StockLevelRow.location_id) == row.location_id, col(StockLevelRow.sku) == row.sku)
            .values(
                reserved=StockLevelRow.reserved - row.quantity,
                on_hand=StockLevelRow.on_hand - row.quantity,
            )
        )
        _moved(
            session, row.order_number, row.location_id, row.sku, "commit", on_hand=-row.quantity, reserved=-row.quantity
        )
    _finish(session, commit)


def dispatch_transfer(session: Session, request: DispatchTransfer, now: datetime) -> None:
    """Take the stock off the source and record the transfer, once per transfer id; raises StockShortage."""
    if session.get(StockTransferRow, request.transfer_id) is not None:
        return
    taken = session.exec(
        update(StockLevelRow)
        .where(
            col(StockLevelRow.location_id) == request.from_location,
            col(StockLevelRow.sku) == request.sku,
            col(StockLevelRow.on_hand) - col(StockLevelRow.reserved) >= request.quantity,
        )
        .values(on_hand=StockLevelRow.on_hand - request.quantity)
    )
    if not taken.rowcount:
        session.rollback()
        raise StockShortage(f"{request.from_location} has fewer than {request.quantity} {request.sku} available")
    _moved(session, request.order_number, request.from_location, request.sku, "transfer_out", on_hand=-request.quantity)
    session.add(
        StockTransferRow(
            transfer_id=request.transfer_id,
            order_number=request.order_number,
            sku=request.sku,
            quantity=request.quantity,
            from_location=request.from_location,
            to_location=request.to_location,
            dispatched_at=now,
        )
    )
    session.commit()


def receive_transfer(session: Session, transfer_id: str, now: datetime, *, commit: bool = True) -> None:
    """The transfer arrived: the receiving location's stock grows, once; raises UnknownTransfer."""
    transfer = session.get(StockTransferRow, transfer_id)
    if transfer is None:
        raise _fail(session, commit, UnknownTransfer(f"unknown transfer {transfer_id}"))
    arrived = session.exec(
        update(StockTransferRow)
        .where(col(StockTransferRow.transfer_id) == transfer_id, col(StockTransferRow.status) == "in_transit")
        .values(status="received", received_at=now)
    )
    if arrived.rowcount:
        level = session.get(StockLevelRow, (transfer.to_location, transfer.sku))
        if level is None:
            session.add(StockLevelRow(location_id=transfer.to_location, sku=transfer.sku, on_hand=0))
            session.flush()
        session.exec(
            update(StockLevelRow)
            .where(col(StockLevelRow.location_id) == transfer.to_location, col(StockLevelRow.sku) == transfer.sku)
            .values(on_hand=StockLevelRow.on_hand + transfer.quantity)
        )
        _moved(
            session, transfer.order_number, transfer.to_location, transfer.sku, "transfer_in", on_hand=transfer.quantity
        )
    _finish(session, commit)


def top_up(session: Session, location_id: str, needed: dict[str, int]) -> None:
    """Raise on-hand so each SKU has at least `needed` available at the location (bench/ runs)."""
    for sku, quantity in needed.items():
        level = session.get(StockLevelRow, (location_id, sku))
        if level is not None and level.on_hand < level.reserved + quantity:
            stock_ledger.record(
                session,
                location_id,
                sku,
                "adjustment",
                on_hand=level.reserved + quantity - level.on_hand,
                actor="bench",
                reason="topped up for a benchmark run",
                now=datetime.now(UTC),
            )
        session.exec(
            update(StockLevelRow)
            .where(
                col(StockLevelRow.location_id) == location_id,
                col(StockLevelRow.sku) == sku,
                col(StockLevelRow.on_hand) < col(StockLevelRow.reserved) + quantity,
            )
            .values(on_hand=StockLevelRow.reserved + quantity)
        )
    session.commit()
