"""WebhookResendWorkflow: Head Office sends one logged webhook delivery again (same body, same event id).

Id "webhook-resend-<delivery_id>", started by the API. No messages; returns whether it was delivered.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.outbound import OutboundActivities
    from models.outbound import PlanRequest, WebhookDelivery
from workflows.notifications import LOCAL_TIMEOUT, deliver


def resend_workflow_id(delivery_id: str) -> str:
    return f"webhook-resend-{delivery_id}"


@workflow.defn
class WebhookResendWorkflow:
    @workflow.run
    async def run(self, delivery: WebhookDelivery) -> bool:
        plan = await workflow.execute_local_activity_method(
            OutboundActivities.plan_notifications, PlanRequest(event_types=[]), start_to_close_timeout=LOCAL_TIMEOUT
        )
        return await deliver(delivery, plan.retry)
