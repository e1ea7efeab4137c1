"""A further delivery's own stock work, beside the order's: automatic re-sourcing (models/resourcing.py): after a
store event, a further delivery Baton sourced that its location has just rejected is sourced again and its stock
reserved at the new location (one local activity), then moved there through the order's one funnel; and a
backordered delivery's reservation tried again when due (models/stock_waits.py). Kept here so the shell stays
readable."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models import resourcing, stock_waits
    from models.catalogue import LineReservation
    from models.effects import Effects
    from models.order import OrderState
    from workflows.order import calls

# Patch id: a rejected delivery Baton sourced is re-sourced at once (before, it waited for Head Office).
AUTO_RESOURCE = "auto-resource-rejected-delivery"


class Resourcing:
    """Mixed into OrderWorkflow, which provides the state and the funnel; called under its lock."""

    _state: OrderState

    # OrderWorkflow's funnel: declared, not defined, so the mixin has no body of its own to call by mistake.
    _decide: Callable[[Callable[[datetime], Effects | None]], Awaitable[None]]

    async def _resource_rejected(self) -> None:
        request = resourcing.wanted(self._state, workflow.now())
        if request is None or not workflow.patched(AUTO_RESOURCE):
            return
        outcome = await calls.resource_delivery(request)
        await self._decide(lambda now: resourcing.apply(self._state, request, outcome, now))

    async def _retry_backorders(self) -> None:
        """Each backordered delivery due a try: reserve its lines at its location; replenished, it goes out."""
        for delivery in stock_waits.due_backorders(self._state, workflow.now()):
            assert delivery.location_id is not None
            lines = [self._state.line(line_id) for line_id in delivery.line_ids]
            wanted = [LineReservation(line_id=l.line_id, sku=l.sku, quantity=l.quantity) for l in lines if l]
            outcome = await calls.reserve(self._state.order_number, delivery.location_id, wanted)

            def tried(
                now: datetime, delivery_id: str = delivery.delivery_id, reserved: bool = outcome.reserved
            ) -> Effects:
                return stock_waits.backorder_tried(self._state, delivery_id, reserved, now)

            await self._decide(tried)
