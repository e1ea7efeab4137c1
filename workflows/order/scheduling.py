"""A scheduled order on its date (models/scheduling.py): before it goes out, its home deliveries that Baton sourced
at placement are sourced again against that day's stock (one local activity), so the reservation that follows is
made where the stock is now. The wait itself is the preorder's (models/stock_waits.py, the order's one alarm); moving
the date is an ordinary Head Office action (`reschedule`). Kept here so the shell stays readable."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.scheduling import SchedulingActivities
    from models import scheduling
    from models.order import OrderState
    from workflows.order import calls

# Patch id: a scheduled order is sourced again on its date (orders before scheduled orders never reach it).
SOURCE_ON_THE_DAY = "scheduled-order-sourced-on-its-date"


class Scheduling:
    """Mixed into OrderWorkflow, which provides the state; called from its funnel, under its lock, just before the
    order is sent out."""

    _state: OrderState

    async def _source_on_the_day(self) -> None:
        request = scheduling.sourcing_wanted(self._state, workflow.now())
        if request is None or not workflow.patched(SOURCE_ON_THE_DAY):
            return
        decisions = await workflow.execute_local_activity_method(
            SchedulingActivities.source_on_the_day,
            request,
            start_to_close_timeout=calls.DATABASE_TIMEOUT,
            retry_policy=calls.DATABASE_RETRY,
        )
        scheduling.apply_sourcing(self._state, decisions, workflow.now())
