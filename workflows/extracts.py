"""Publishing XML notification extracts durably: create the extract in the outbox, then deliver it with retries.

`publish_extract` is for workflow code to await (the order's notifications workflow calls it per event).
`PublishExtractWorkflow` runs it on its own, one workflow per extract (`extract-<extract id>`), for callers
that must not wait through the delivery retries (start it as a child with ParentClosePolicy.ABANDON).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.extracts import ExtractActivities
    from models.extracts import CreateExtract, ExtractDelivery

CREATE_TIMEOUT = timedelta(seconds=30)
CREATE_DEADLINE = timedelta(minutes=5)
DELIVERY_ATTEMPT_TIMEOUT = timedelta(minutes=1)
# An endpoint or share may be down for a while: keep trying, backing off to hourly, for three days.
DELIVERY_DEADLINE = timedelta(days=3)
DELIVERY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(hours=1),
    non_retryable_error_types=["extract_not_found", "extract_refused", "extract_invalid"],
)


async def publish_extract(request: CreateExtract) -> ExtractDelivery:
    """Create the extract (a local activity: Baton's own database), then deliver it (a regular activity with
    retries). A failure is returned, not raised, so a notification never fails the workflow that sends it;
    the outbox keeps the extract and its last error for GET /extracts."""
    try:
        extract_id = await workflow.execute_local_activity_method(
            ExtractActivities.create_extract,
            request,
            start_to_close_timeout=CREATE_TIMEOUT,
            schedule_to_close_timeout=CREATE_DEADLINE,
        )
    except (ActivityError, ApplicationError) as error:  # a local activity's refusal arrives unwrapped
        return _failed(request.extract_id, "extract not created", error)
    try:
        return await workflow.execute_activity_method(
            ExtractActivities.deliver_extract,
            extract_id,
            start_to_close_timeout=DELIVERY_ATTEMPT_TIMEOUT,
            schedule_to_close_timeout=DELIVERY_DEADLINE,
            retry_policy=DELIVERY_RETRY,
        )
    except ActivityError as error:
        return _failed(extract_id, "extract not delivered", error)


def _failed(extract_id: str, what: str, error: ActivityError | ApplicationError) -> ExtractDelivery:
    cause = error.cause.message if isinstance(error, ActivityError) and error.cause else error.message
    workflow.logger.warning("%s %s: %s", what, extract_id, cause)
    return ExtractDelivery(extract_id=extract_id, delivered=False, detail=f"{what}: {cause}")


@workflow.defn
class PublishExtractWorkflow:
    """Create and deliver one extract. No signals, updates or queries."""

    @workflow.run
    async def run(self, request: CreateExtract) -> ExtractDelivery:
        return await publish_extract(request)
