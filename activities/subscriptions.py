"""A subscription's I/O: place a period's order through the same placement as `POST /orders` (as an exchange's
replacement is placed, activities/returns.py), keyed by the subscription and the period so a retry answers the
order placed the first time; read how its payment went; retry a declined payment, or cancel the order when the
retries give up, through the order's own actions (update ids name the subscription, period and attempt)."""

from __future__ import annotations

import asyncio
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities import placement
from models.actions import ActionOutcome
from models.db import catalogue, placements
from models.intervention_commands import CancelOrder, RetryPayment
from models.money import Money
from models.order import OrderState, order_workflow_id
from models.placing import LineRequest, LoyaltyOffer, PaymentRequest, PlaceOrder
from models.subscriptions import SUBSCRIPTION_HOLDER, SubscriptionState, renewal_key, unit_price

LOCKED_OFFER = "subscription-locked-price"
Outcome = Literal["paid", "declined", "cancelled", "pending", "closed"]
OUTCOME_WAIT = 20.0  # seconds an outcome activity waits for the gateway before the workflow looks again later


class RenewalAsk(BaseModel):
    state: SubscriptionState
    period: int


class Renewal(BaseModel):
    order_number: str | None = None
    amount: int | None = None
    refused: str | None = None


class OrderAsk(BaseModel):
    order_number: str
    update_id: str
    actor: str
    reason: str
    token: str | None = None


def renewal_order(state: SubscriptionState, period: int, prices: dict[str, int], charged: int = 0) -> PlaceOrder:
    """The period's order: catalogue prices on its lines (placement checks them), a locked price kept by a
    discount, and one auth_capture card payment of what it comes to."""
    lines = [
        LineRequest(
            sku=line.sku, quantity=line.quantity, unit_price=Money(amount=prices[line.sku], currency=state.currency)
        )
        for line in state.lines
    ]
    kept = sum((prices[line.sku] - (unit_price(state, line, prices) or 0)) * line.quantity for line in state.lines)
    offers = (
        [
            LoyaltyOffer(
                code=LOCKED_OFFER,
                description="the price locked when subscribed",
                discount=Money(amount=kept, currency=state.currency),
            )
        ]
        if kept
        else []
    )
    total = sum(prices[line.sku] * line.quantity for line in state.lines) - kept + charged
    return PlaceOrder(
        web_reference=f"SUB-{state.subscription_id}-{period}"[:64],
        channel=state.channel,
        customer=state.customer,
        fulfilment=state.fulfilment,
        lines=lines,
        loyalty_offers=offers,
        payment=PaymentRequest(
            mode="auth_capture",  # type: ignore[arg-type]
            method="card",
            amount=Money(amount=total, currency=state.currency),
            token=state.token,
        ),
    )


class SubscriptionActivities:
    def __init__(self, engine: Engine, client: Client, gateway: str) -> None:
        self._engine = engine
        self._client = client
        self._gateway = gateway

    @activity.defn
    async def place_renewal(self, ask: RenewalAsk) -> Renewal:
        """Place the period's order once (its key is the subscription's and the period's) and start it."""
        state, key = ask.state, renewal_key(ask.state.subscription_id, ask.period)

        def prepare() -> OrderState | str:
            with Session(self._engine) as session:
                placed = placements.find_placement(session, SUBSCRIPTION_HOLDER, key)
                if placed is not None:  # placed before (a retry): the same order, whatever it did since
                    if placed.initial_state is None:
                        raise ApplicationError(f"renewal {placed.order_number} is still being placed")
                    return OrderState.model_validate(placed.initial_state)
                products = catalogue.products_by_sku(session, {line.sku for line in state.lines})
                prices = {sku: product.price.amount for sku, product in products.items()}
                missing = [line.sku for line in state.lines if line.sku not in prices]
                if missing:
                    return f"the catalogue no longer sells {', '.join(missing)}"
                try:
                    charged = placement.check(session, renewal_order(state, ask.period, prices), None).charged
                    body = renewal_order(state, ask.period, prices, charged)
                    return placement.prepare(session, SUBSCRIPTION_HOLDER, body, key, self._gateway)[0]
                except placement.PlacementRefused as refused:
                    return str(refused)

        prepared = await asyncio.to_thread(prepare)
        if isinstance(prepared, str):
            return Renewal(refused=prepared)
        await placement.start_order(self._client, prepared, activity.info().task_queue)
        return Renewal(order_number=prepared.order_number, amount=sum(p.amount.amount for p in prepared.payments))

    @activity.defn
    async def renewal_outcome(self, order_number: str) -> Outcome:
        """How the order's payment stands, asked of its workflow (the live state, not the read model); waits up to
        OUTCOME_WAIT for a gateway answer (in real time: the gateway call is the order's own activity)."""
        handle = self._client.get_workflow_handle(order_workflow_id(order_number))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + OUTCOME_WAIT
        while True:
            try:
                view = await handle.query("view")
            except RPCError as error:
                if error.status is RPCStatusCode.NOT_FOUND:
                    return "closed"
                raise
            statuses = [payment["status"] for payment in view["payments"]]
            if view["status"] == "cancelled" and "declined" in statuses:
                return "cancelled"  # the payment policy cancels declined orders: nothing left to retry
            if "declined" in statuses:
                return "declined"
            if not any(status in ("pending", "unknown") for status in statuses):
                return "paid"
            if loop.time() >= deadline:
                return "pending"
            activity.heartbeat()
            await asyncio.sleep(0.2)

    @activity.defn
    async def retry_renewal_payment(self, ask: OrderAsk) -> str:
        """The order's retry_payment action with the subscription's card: "" when it ran, else why not."""
        command = RetryPayment(reason=ask.reason, actor=ask.actor, token=ask.token)
        return await self._act(ask, "retry_payment", command)

    @activity.defn
    async def cancel_renewal(self, ask: OrderAsk) -> str:
        """Cancel the order of a period whose payment never went through (nothing was taken)."""
        return await self._act(ask, "cancel_order", CancelOrder(reason=ask.reason, actor=ask.actor))

    async def _act(self, ask: OrderAsk, name: str, command: BaseModel) -> str:
        handle = self._client.get_workflow_handle(order_workflow_id(ask.order_number))
        try:
            await handle.execute_update(name, command, id=ask.update_id, result_type=ActionOutcome)
        except WorkflowUpdateFailedError as error:
            cause = error.cause
            return cause.message if isinstance(cause, ApplicationError) else str(cause or error)
        except RPCError as error:
            if error.status is not RPCStatusCode.NOT_FOUND:
                raise
            return f"order {ask.order_number} has closed"
        return ""
