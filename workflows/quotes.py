"""QuoteWorkflow (type "Quote", id `quote-<id>`): a priced quote's durable clock. Started with its first offer (signal
with start, `priced`), it waits for the customer's answer until the offer's `valid_until`, then expires the quote
(activities/quotes.py; the database's compare-and-set decides against a late answer). A re-pricing signals the new
validity and the wait starts again; an answer (accepted or declined, kept by the API) signals `answered` and ends it."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.quotes import ExpireQuote, QuoteActivities
    from models.quotes import QuoteStatus

QUOTE_WORKFLOW = "Quote"
TIMEOUT = timedelta(seconds=30)
RETRY = RetryPolicy(maximum_interval=timedelta(minutes=5))


def quote_workflow_id(quote_id: str) -> str:
    return f"quote-{quote_id}"


@workflow.defn(name=QUOTE_WORKFLOW)
class QuoteWorkflow:
    def __init__(self) -> None:
        self._valid_until: datetime | None = None
        self._answered = False

    @workflow.run
    async def run(self, quote_id: str) -> str:
        await workflow.wait_condition(lambda: self._answered or self._valid_until is not None)
        while not self._answered:
            valid_until = self._valid_until
            assert valid_until is not None
            wait = max(valid_until - workflow.now(), timedelta(seconds=1))
            try:
                await workflow.wait_condition(
                    lambda: self._answered or self._valid_until != valid_until,  # noqa: B023  (read while waiting)
                    timeout=wait,
                )
                continue
            except TimeoutError:
                pass
            now = await workflow.execute_local_activity_method(
                QuoteActivities.expire_quote,
                ExpireQuote(quote_id=quote_id, valid_until=valid_until),
                start_to_close_timeout=TIMEOUT,
                retry_policy=RETRY,
            )
            repriced = now.status is QuoteStatus.quoted and now.valid_until not in (None, valid_until)
            if not repriced:
                return now.status.value
            if self._valid_until == valid_until:
                self._valid_until = now.valid_until  # re-priced, its signal not handled yet
        return "answered"

    @workflow.signal
    def priced(self, valid_until: datetime) -> None:
        self._valid_until = valid_until

    @workflow.signal
    def answered(self) -> None:
        self._answered = True
