"""The returns workflow's side effects (workflows/returns.py): its read-model row, the accepted units back into
stock through the ledger (once per return), the order told the goods came back, and the refund asked of the order
(its `refund` action, with the return's id as the update id, so a retried call refunds once; once the order's
workflow has closed, a Refund workflow keyed by the return: workflows/refunds.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities import placement
from activities.notifications import build_extract, validate_extract
from activities.projection import ProjectionActivities
from activities.refunds import change_kept_order, refund_after_close
from models.actions import ActionOutcome
from models.closing import ORDER_CLOSING
from models.db import placements, returns, stock_feeds
from models.db.catalogue import get_store, products_by_sku
from models.db.extracts import add_extract, get_extract
from models.db.orders import get_order_record
from models.exchanges import exchange_key, replacement_order
from models.extracts import ExtractType
from models.feeds import MovementKind, StockMovement
from models.intervention_commands import IssueRefund, LineQuantity
from models.late_refunds import LateRefundAsk, refund_workflow_id
from models.money import Money
from models.order import OrderState, order_workflow_id
from models.return_extracts import extract_order_of_view, extracts_due, for_return_extract, return_extract_id
from models.returns import ReturnNotice, ReturnState, on_return_received
from models.views import OrderView

RETURN_RECEIVED_SIGNAL = "return_received"
EXCHANGE_HOLDER = "baton:exchange"  # who places replacement orders (the placements' key holder)
NO_GATEWAY = "test"  # a replacement's one payment is prepaid at zero: no gateway is ever asked


def keep_return_extracts(session: Session, state: ReturnState) -> None:
    """Put the extracts the return's stage has reached (authorised, received, refunded) into the extract outbox,
    each once, validated against the schema; the order as the read model holds it is the document's Order."""
    due = [
        kind for kind in extracts_due(state) if get_extract(session, return_extract_id(state.return_id, kind)) is None
    ]
    record = get_order_record(session, state.order_number) if due else None
    if record is None:
        return
    order = extract_order_of_view(OrderView.model_validate(record.view))
    store = get_store(session, order.store_id)
    descriptions = {sku: p.name for sku, p in products_by_sku(session, {line.sku for line in order.lines}).items()}
    occurred = {
        ExtractType.return_authorised: state.requested_at,
        ExtractType.return_received: state.received_at or state.requested_at,
        ExtractType.return_refunded: state.history[-1][0],
    }
    now = datetime.now(UTC)
    for kind in due:
        extract_id = return_extract_id(state.return_id, kind)
        payload = build_extract(
            extract_id, kind, order, occurred[kind], store_name=store.name if store else None,
            descriptions=descriptions, returned=for_return_extract(state),
        )  # fmt: skip
        validate_extract(payload)  # a document the schema refuses is a bug: the activity fails and says so
        add_extract(session, extract_id, state.order_number, kind.value, occurred[kind], payload.decode(), now)
    session.commit()


class ToldOrder(BaseModel):
    order_number: str
    notice: ReturnNotice


class RefundAsk(BaseModel):
    state: ReturnState
    amount: int  # what is refunded (minor units), after the fee
    currency: str
    fee: int  # the restocking fee kept
    lines: dict[str, int] | None = None  # the units to refund per line; None: every unit inspected (before exchanges)


class Replacement(BaseModel):
    """The exchange's replacement order, or why it could not be placed."""

    order_number: str = ""
    refused: str = ""


class Restock(BaseModel):
    return_id: str
    location_id: str
    units: dict[str, int]  # sku -> units accepted at inspection


class ReturnActivities:
    def __init__(self, engine: Engine, client: Client, projection: ProjectionActivities | None = None) -> None:
        self._engine, self._client, self._projection = engine, client, projection

    @activity.defn
    def save_return(self, state: ReturnState) -> None:
        with Session(self._engine) as session:
            returns.save(session, state, datetime.now(UTC))
            keep_return_extracts(session, state)

    @activity.defn
    async def restock(self, restock: Restock) -> None:
        message_id = f"{restock.return_id}:restock"
        movements = [
            StockMovement(
                sku=sku, location_id=restock.location_id, kind=MovementKind.receipt, delta=units,
                reason=f"return {restock.return_id}",
            )
            for sku, units in sorted(restock.units.items())
        ]  # fmt: skip

        def apply() -> None:
            with Session(self._engine) as session:
                if stock_feeds.replayed(session, message_id, "movements") is None:
                    stock_feeds.apply_movements(
                        session, message_id, movements, f"return:{restock.return_id}", datetime.now(UTC)
                    )

        await asyncio.to_thread(apply)

    @activity.defn
    async def tell_order_returned(self, told: ToldOrder) -> None:
        try:
            await self._client.get_workflow_handle(order_workflow_id(told.order_number)).signal(
                RETURN_RECEIVED_SIGNAL, told.notice
            )
        except RPCError as error:  # the order's workflow has ended: its kept state records the return
            if error.status != RPCStatusCode.NOT_FOUND or not await asyncio.to_thread(self._tell_closed_order, told):
                activity.logger.info(
                    "order %s not told of return %s: %s", told.order_number, told.notice.return_id, error
                )

    def _tell_closed_order(self, told: ToldOrder) -> bool:
        """Record the return on the closed order's kept state, as the order would (its history, the `returned`
        event, the RETURNED export state); False when it kept none (closed before orders kept their state)."""
        return change_kept_order(
            self._engine,
            self._projection,
            told.order_number,
            lambda state, now: on_return_received(state, told.notice, now),
        )

    @activity.defn
    async def place_replacement(self, state: ReturnState) -> Replacement:
        """Place the order that sends the exchanged units (models/exchanges.py), through the same placement as
        `POST /orders`, keyed by the return: a retry answers the order placed the first time."""
        key = exchange_key(state.return_id)

        def prepare() -> OrderState | str:
            with Session(self._engine) as session:
                placed = placements.find_placement(session, EXCHANGE_HOLDER, key)
                if placed is not None:  # placed before (the order may have moved on since): the same order
                    if placed.initial_state is None:
                        raise ApplicationError(f"replacement {placed.order_number} is still being placed")
                    return OrderState.model_validate(placed.initial_state)
                record = get_order_record(session, state.order_number)
                if record is None:
                    return f"order {state.order_number} is not known"
                body = replacement_order(state, OrderView.model_validate(record.view))
                if body is None:
                    return "nothing accepted to exchange"
                try:
                    return placement.prepare(session, EXCHANGE_HOLDER, body, key, NO_GATEWAY)[0]
                except placement.PlacementRefused as refused:
                    return str(refused)

        prepared = await asyncio.to_thread(prepare)
        if isinstance(prepared, str):
            return Replacement(refused=prepared)
        await placement.start_order(self._client, prepared, activity.info().task_queue)
        return Replacement(order_number=prepared.order_number)

    @activity.defn
    async def refund_through_order(self, ask: RefundAsk) -> str:
        """Ask the order to refund the returned units (less the restocking fee, when one is set); "" when it did,
        else why it refused."""
        state = ask.state
        reason = f"return {state.return_id}" + (f" (restocking fee {ask.fee})" if ask.fee else "")
        actor = f"return:{state.return_id}"
        if ask.fee:
            command = IssueRefund(amount=Money(amount=ask.amount, currency=ask.currency), reason=reason, actor=actor)
        else:
            units = [(line.line_id, line.accepted + line.written_off) for line in state.inspected]
            if ask.lines is not None:
                units = sorted(ask.lines.items())
            lines = [LineQuantity(line_id=line_id, quantity=count) for line_id, count in units if count]
            command = IssueRefund(lines=lines, reason=reason, actor=actor)
        handle = self._client.get_workflow_handle(order_workflow_id(state.order_number))
        try:
            await handle.execute_update("refund", command, id=f"{state.return_id}:refund", result_type=ActionOutcome)
        except WorkflowUpdateFailedError as error:
            if not (isinstance(error.cause, ApplicationError) and error.cause.type == ORDER_CLOSING):
                return str(error.cause or error)
            return await self._refund_after_close(state, command)
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            return await self._refund_after_close(state, command)
        return ""

    async def _refund_after_close(self, state: ReturnState, command: IssueRefund) -> str:
        """The order's workflow has closed: a Refund workflow keyed by the return pays it, once."""
        refund_id = refund_workflow_id(state.order_number, state.return_id)
        ask = LateRefundAsk(refund_id=refund_id, order_number=state.order_number, command=command)
        outcome = await refund_after_close(self._client, ask, activity.info().task_queue)
        return outcome.refused_message
