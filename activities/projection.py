"""The commit of one order change: the one local activity the order workflow calls after each change.

Stock, the read model, outbound events, XML extracts, queued exporter runs and store messages are written in one
database transaction, so an event, extract or store message exists exactly when the change it reports does; the
outbox lanes (workflows/outbox.py) deliver them from there. Everything is keyed (event, extract, message and run
ids, a versioned projection, stock targets), so a retried commit of the same transition changes nothing twice.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.extracts import extract_documents
from activities.write_errors import uncurable_writes_are_final
from models.catalogue import CommitStock, ResizeReservations
from models.db import exports, outbox, stock
from models.db.extracts import add_extract, get_extract
from models.db.orders import write_projection
from models.db.policies import policy_for_store
from models.db.stock import ReservationChanged, StockShortage, UnknownTransfer
from models.events import OrderEvent
from models.exporting import reach_states
from models.settings import Settings
from models.sla import SlaPolicy
from models.transition import ExtractToMake, ReservedCommit, ReservedTransition, Transition


class ProjectionActivities:
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self._engine = engine
        self._exporters = [exporter.ref() for exporter in settings.exporters]
        # xml_extract exporters build their document from the order as it was when their state was reached.
        self._keep_snapshots = any(exporter.kind == "xml_extract" for exporter in settings.exporters)

    @activity.defn
    def commit_transition(self, transition: Transition) -> SlaPolicy:
        """Write one order change in one transaction: stock, projection, events, extracts, exporter runs and store
        messages. Returns the store's SLA policy as it stands now, so a running order picks up changed settings
        at its next step without spending a separate action on reading them."""
        with uncurable_writes_are_final(f"order {transition.order_number}'s change"), Session(self._engine) as session:
            documents = self._documents(session, transition)  # built before the transaction begins: no locks held
            policy = self._write(session, transition, documents)
            session.commit()
        return policy

    @activity.defn
    def commit_if_reserved(self, request: ReservedTransition) -> ReservedCommit:
        """Reserve the lines at the store and, if every one could be, write the change that sends the order there,
        in one transaction. Short of stock: nothing is written, and the answer says what is short."""
        reserve = request.reserve
        change = f"order {reserve.order_number}'s change"
        with uncurable_writes_are_final(change), Session(self._engine) as session:
            documents = self._documents(session, request.transition)
            for wanted in [reserve, *request.more]:
                short = stock.reserve(session, wanted, commit=False)  # first: a shortage rolls the session back
                if short:
                    skus = ", ".join(line.sku for line in wanted.lines if line.line_id in short)
                    detail = f"not enough stock at {wanted.location_id}: {skus}"
                    return ReservedCommit(reserved=False, detail=detail, short_at=wanted.location_id)
            policy = self._write(session, request.transition, documents)
            session.commit()
        return ReservedCommit(reserved=True, policy=policy)

    def write_change(self, session: Session, transition: Transition) -> None:
        """Write one order change in the caller's transaction, which commits it (a closed order's late refund,
        activities/refunds.py, writes it beside the order's kept state)."""
        self._write(session, transition, self._documents(session, transition))

    def _write(self, session: Session, transition: Transition, documents: list[tuple[ExtractToMake, str]]) -> SlaPolicy:
        now = datetime.now(UTC)
        try:
            self._stock(session, transition)
        except (StockShortage, ReservationChanged, UnknownTransfer) as error:
            session.rollback()
            raise _stock_error(error) from None
        write_projection(session, transition.projection, now)
        for extract, payload in documents:
            add_extract(
                session, extract.extract_id, transition.order_number, extract.type.value,
                extract.occurred_at, payload, now,
            )  # fmt: skip
        outbox.add_store_messages(session, transition.store_messages, now)
        policy = policy_for_store(session, transition.projection.store_id)
        fresh = outbox.add_events(session, transition.events, now)  # last: on PostgreSQL it locks until commit
        self._queue_exports(session, transition, fresh, now)
        return policy

    def _stock(self, session: Session, transition: Transition) -> None:
        number, work = transition.order_number, transition.stock
        for targets, location_id in work.releases:
            request = ResizeReservations(order_number=number, targets=targets, location_id=location_id)
            stock.resize(session, request, commit=False)
        if work.commit_at is not None:
            lines = work.commit_lines
            stock.commit(
                session, CommitStock(order_number=number, location_id=work.commit_at, line_ids=lines), commit=False
            )

    def _documents(self, session: Session, transition: Transition) -> list[tuple[ExtractToMake, str]]:
        """The XML documents of the change's extracts not kept yet. One that cannot be built is logged and left
        out: a customer message must never stop the order."""
        wanted = [extract for extract in transition.extracts if get_extract(session, extract.extract_id) is None]
        if not wanted:
            return []
        if transition.extract_order is None:
            activity.logger.error("order %s: extracts without an order to build them from", transition.order_number)
            return []
        made, problems = extract_documents(session, transition.extract_order, wanted)
        for extract_id, problem in problems.items():
            activity.logger.error("extract %s: %s", extract_id, problem)
        return made

    def _queue_exports(self, session: Session, transition: Transition, events: list[OrderEvent], now: datetime) -> None:
        """The export-eligibility states the new events reach, and a queued run of each exporter bound to them."""
        if not events:
            return
        number = transition.order_number
        progress = exports.export_progress(session, number)
        completed = progress.completed
        snapshot = None
        if self._keep_snapshots and transition.extract_order is not None:
            snapshot = transition.extract_order.model_dump(mode="json")
        for event in events:
            for state in reach_states(progress, event):
                if exports.reach(session, number, state, event.occurred_at, snapshot, now):
                    exports.queue_runs(session, number, state, self._exporters, now)
            if progress.completed and not completed:
                completed = True
                exports.reach(session, number, exports.COMPLETED_MARK, event.occurred_at, None, now)


def _stock_error(error: Exception) -> ApplicationError:
    if isinstance(error, ReservationChanged):
        return ApplicationError(str(error), type="reservation_race")  # another copy ran: retried
    kind = "stock_shortage" if isinstance(error, StockShortage) else "unknown_transfer"
    return ApplicationError(str(error), type=kind, non_retryable=True)
