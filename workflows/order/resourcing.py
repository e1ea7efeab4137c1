"""The order's automatic re-sourcing (models/resourcing.py): after a store event, a further delivery Baton sourced
that its location has just rejected is sourced again and its stock reserved at the new location (one local activity),
then moved there through the order's one funnel. Kept here so the shell stays readable."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models import resourcing
    from models.effects import Effects
    from models.order import OrderState
    from workflows.order import calls

# Patch id: a rejected delivery Baton sourced is re-sourced at once (before, it waited for Head Office).
AUTO_RESOURCE = "auto-resource-rejected-delivery"


class Resourcing:
    """Mixed into OrderWorkflow, which provides the state and the funnel; called under its lock."""

    _state: OrderState

    async def _decide(self, rule: Callable[[datetime], Effects | None]) -> None:
        raise NotImplementedError  # OrderWorkflow's funnel

    async def _resource_rejected(self) -> None:
        request = resourcing.wanted(self._state, workflow.now())
        if request is None or not workflow.patched(AUTO_RESOURCE):
            return
        outcome = await calls.resource_delivery(request)
        await self._decide(lambda now: resourcing.apply(self._state, request, outcome, now))
