"""Stock ledger activities: reserve, resize, commit and transfer stock. Each is safe to repeat; the ledger
(models/db/stock.py) keeps stock from going negative even when two copies run at once."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.write_errors import uncurable_writes_are_final
from models.catalogue import (
    CommitStock,
    DispatchTransfer,
    LineReservation,
    ReceiveTransfer,
    ReservationOutcome,
    ReserveStock,
    ResizeReservations,
)
from models.db import policies, stock
from models.db import sourcing as sourcing_db
from models.db.stock import ReservationChanged, StockShortage, UnknownTransfer
from models.resourcing import Resourced, ResourceDelivery
from models.sourcing import source


class InventoryActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn
    def reserve_stock(self, request: ReserveStock) -> ReservationOutcome:
        """Reserve all lines at one location or none; a line already reserved there is not reserved again."""
        with uncurable_writes_are_final(f"stock for order {request.order_number}"), Session(self._engine) as session:
            short = stock.reserve(session, request)
        if short:
            skus = ", ".join(line.sku for line in request.lines if line.line_id in short)
            return ReservationOutcome(
                reserved=False, short_lines=short, detail=f"not enough stock at {request.location_id}: {skus}"
            )
        return ReservationOutcome(reserved=True)

    @activity.defn
    def resource_delivery(self, request: ResourceDelivery) -> Resourced:
        """Source a delivery again among the locations that have not failed it, and reserve its lines at the one
        chosen (all or none). Not reserved when no one location holds every line, or it was taken meanwhile."""
        with uncurable_writes_are_final(f"stock for order {request.order_number}"), Session(self._engine) as session:
            skus = {line.sku for line in request.lines}
            found = [
                c for c in sourcing_db.candidates(session, skus, request.at) if c.location_id not in request.excluded
            ]
            line_ids = {line.line_id for line in request.lines}
            sourcing_db.count_own_reservations(session, found, request.order_number, line_ids)  # safe to repeat
            decision = source(request.lines, found, policies.get_sourcing_policy(session), request.postcode, request.at)
            if decision.unsourced or len(decision.assignments) != 1:
                return Resourced(decision=decision)
            (location_id,) = decision.assignments
            lines = [LineReservation(line_id=l.line_id, sku=l.sku, quantity=l.quantity) for l in request.lines]
            reserve = ReserveStock(order_number=request.order_number, location_id=location_id, lines=lines)
            return Resourced(decision=decision, reserved=not stock.reserve(session, reserve))

    @activity.defn
    def resize_reservations(self, request: ResizeReservations) -> None:
        """Set each line's reservation to its target quantity; 0 releases it. Targets make repeats harmless."""
        with Session(self._engine) as session:
            try:
                stock.resize(session, request)
            except StockShortage as shortage:
                raise ApplicationError(str(shortage), type="stock_shortage", non_retryable=True) from None
            except ReservationChanged as race:
                raise ApplicationError(str(race), type="reservation_race") from None

    @activity.defn
    def commit_stock(self, request: CommitStock) -> None:
        """The goods left with the customer: reduce on-hand and consume the reservations, once."""
        with Session(self._engine) as session:
            stock.commit(session, request)

    @activity.defn
    def dispatch_transfer(self, request: DispatchTransfer) -> None:
        """Send stock from a warehouse or store towards the collection store (once per transfer id)."""
        with uncurable_writes_are_final(f"transfer {request.transfer_id}"), Session(self._engine) as session:
            try:
                stock.dispatch_transfer(session, request, datetime.now(UTC))
            except StockShortage as shortage:
                raise ApplicationError(str(shortage), type="stock_shortage", non_retryable=True) from None

    @activity.defn
    def receive_transfer(self, request: ReceiveTransfer) -> None:
        """The store confirmed the transfer arrived: its stock grows, once."""
        with uncurable_writes_are_final(f"transfer {request.transfer_id}"), Session(self._engine) as session:
            try:
                stock.receive_transfer(session, request.transfer_id, datetime.now(UTC))
            except UnknownTransfer as unknown:
                raise ApplicationError(str(unknown), non_retryable=True) from None
