"""Stock ledger activities: reserve, resize and commit an order's stock. Each is safe to repeat."""

from __future__ import annotations

from sqlalchemy import Engine, update
from sqlmodel import Session, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from models.catalogue import CommitStock, ReservationOutcome, ReserveStock, ResizeReservations
from models.tables import StockLevelRow, StockReservationRow


def _take(session: Session, location_id: str, sku: str, quantity: int) -> bool:
    """Move `quantity` from available to reserved, only if that much is available (atomic)."""
    result = session.exec(  # type: ignore[call-overload]
        update(StockLevelRow)
        .where(
            StockLevelRow.location_id == location_id,
            StockLevelRow.sku == sku,
            StockLevelRow.on_hand - StockLevelRow.reserved >= quantity,
        )
        .values(reserved=StockLevelRow.reserved + quantity)
    )
    return bool(result.rowcount)


def _give_back(session: Session, location_id: str, sku: str, quantity: int) -> None:
    session.exec(  # type: ignore[call-overload]
        update(StockLevelRow)
        .where(StockLevelRow.location_id == location_id, StockLevelRow.sku == sku)
        .values(reserved=StockLevelRow.reserved - quantity)
    )


class InventoryActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn
    def reserve_stock(self, request: ReserveStock) -> ReservationOutcome:
        """Reserve all lines at one location or none; a line already reserved is not reserved again."""
        with Session(self._engine) as session:
            existing = {
                row.line_id
                for row in session.exec(
                    select(StockReservationRow).where(StockReservationRow.order_number == request.order_number)
                )
            }
            short = []
            for line in request.lines:
                if line.line_id in existing:
                    continue
                if not _take(session, request.location_id, line.sku, line.quantity):
                    short.append(line.line_id)
                    continue
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
                skus = ", ".join(line.sku for line in request.lines if line.line_id in short)
                return ReservationOutcome(
                    reserved=False, short_lines=short, detail=f"not enough stock at {request.location_id}: {skus}"
                )
            session.commit()
            return ReservationOutcome(reserved=True)

    @activity.defn
    def resize_reservations(self, request: ResizeReservations) -> None:
        """Set each line's reservation to its target quantity; 0 releases it. Targets make repeats harmless."""
        with Session(self._engine) as session:
            rows = session.exec(
                select(StockReservationRow).where(
                    StockReservationRow.order_number == request.order_number,
                    StockReservationRow.status == "reserved",
                )
            ).all()
            for row in rows:
                target = request.targets.get(row.line_id, row.quantity)
                delta = target - row.quantity
                if delta < 0:
                    _give_back(session, row.location_id, row.sku, -delta)
                elif delta > 0 and not _take(session, row.location_id, row.sku, delta):
                    session.rollback()
                    raise ApplicationError(
                        f"not enough {row.sku} at {row.location_id} to reserve {target}",
                        type="stock_shortage",
                        non_retryable=True,
                    )
                row.quantity = target
                session.add(row)
            session.commit()

    @activity.defn
    def commit_stock(self, request: CommitStock) -> None:
        """The goods left with the customer: reduce on-hand and consume the reservations, once."""
        with Session(self._engine) as session:
            rows = session.exec(
                select(StockReservationRow).where(
                    StockReservationRow.order_number == request.order_number,
                    StockReservationRow.status == "reserved",
                )
            ).all()
            for row in rows:
                session.exec(  # type: ignore[call-overload]
                    update(StockLevelRow)
                    .where(StockLevelRow.location_id == row.location_id, StockLevelRow.sku == row.sku)
                    .values(
                        reserved=StockLevelRow.reserved - row.quantity,
                        on_hand=StockLevelRow.on_hand - row.quantity,
                    )
                )
                row.status = "committed"
                session.add(row)
            session.commit()
