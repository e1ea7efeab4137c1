"""The order's queue and invoices (models/queues.py, models/invoicing.py): after every decided change, before it is
committed, the order records the stages it reached and issues the invoices now due (a local activity numbers each
once). A final invoice is thus issued before the completion that needs it is written - except a direct sale, which
completes as it is sent out (with its reservation) and is invoiced in the commit right after. Orders that follow
no queue (every order placed before queues, and any order no rule picks) do nothing here; an order with a queue
records the INVOICING patch, so orders running older code are never asked for commands they did not make."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.invoices import InvoiceActivities, IssueInvoices
    from models import invoicing
    from models.effects import Effects
    from models.order import OrderState
    from workflows.order import calls

# Patch id: an order following a queue records its stages and issues its invoices.
INVOICING = "queues-and-invoices"


class Invoicing:
    """Mixed into OrderWorkflow, which provides the state; called from its funnel, under its lock."""

    _state: OrderState

    # OrderWorkflow's commit: declared, not defined, so the mixin has no body of its own to call by mistake.
    _commit: Callable[[Effects], Awaitable[None]]

    async def _follow_queue_once_sent(self) -> None:
        """The order was just sent out (its reservation and the change committed together): a stage it reached there,
        or a direct sale completed at the till, is followed now and committed on its own. Not before the reservation:
        an invoice issued for a sale the stock then refused could not be taken back."""
        version = self._state.version
        await self._follow_queue()
        if self._state.version != version:
            await self._commit(Effects())

    async def _follow_queue(self) -> None:
        state = self._state
        if state.queue is None or not workflow.patched(INVOICING):
            return
        now = workflow.now()
        drafts = invoicing.follow_queue(state, now)
        if drafts:
            issued = await workflow.execute_local_activity_method(
                InvoiceActivities.issue_invoices,
                IssueInvoices(drafts=drafts, issued_at=now),
                start_to_close_timeout=calls.DATABASE_TIMEOUT,
                retry_policy=calls.DATABASE_RETRY,
            )
            invoicing.record_issued(state, issued, now)
