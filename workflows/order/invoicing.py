"""The order's queue and invoices (models/queues.py, models/invoicing.py): after every decided change, before it is
committed, the order records the stages it reached and issues the invoices now due (a local activity numbers each
once). A final invoice is thus issued before the completion that needs it is written. Orders that follow no queue
(every order placed before queues, and any order no rule picks) do nothing here; an order with a queue records the
INVOICING patch, so orders running older code are never asked for commands they did not make."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.invoices import InvoiceActivities, IssueInvoices
    from models import invoicing
    from models.order import OrderState
    from workflows.order import calls

# Patch id: an order following a queue records its stages and issues its invoices.
INVOICING = "queues-and-invoices"


class Invoicing:
    """Mixed into OrderWorkflow, which provides the state; called from its funnel, under its lock."""

    _state: OrderState

    async def _follow_queue(self) -> None:
        if self._state.queue is None or not workflow.patched(INVOICING):
            return
        now = workflow.now()
        drafts = invoicing.follow_queue(self._state, now)
        if drafts:
            issued = await workflow.execute_local_activity_method(
                InvoiceActivities.issue_invoices,
                IssueInvoices(drafts=drafts, issued_at=now),
                start_to_close_timeout=calls.DATABASE_TIMEOUT,
                retry_policy=calls.DATABASE_RETRY,
            )
            invoicing.record_issued(self._state, issued, now)
