"""Outbound calls: order events to webhook subscribers, order documents to webhook exporters.

Both are signed like the inbound store webhooks (`Baton-Signature`) and carry `Baton-Event-Id`. Every attempt
is written to the delivery log or the export audit, and a delivery already made is never made again.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import httpx
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from models.db import outbound
from models.db.orders import get_order_record
from models.db.tables import WebhookDeliveryRow
from models.exporting import ExporterConfig
from models.outbound import (
    EVENT_ID_HEADER,
    NOTIFICATIONS_WORKFLOW,
    PUBLISH_SIGNAL,
    DeliveryFailed,
    DeliveryOutcome,
    ExportAudit,
    ExportRun,
    NotificationBatch,
    NotificationPlan,
    OutboundRetry,
    PlanRequest,
    WebhookDelivery,
    notifications_workflow_id,
)
from models.settings import Settings
from models.signing import SIGNATURE_HEADER, sign


class OutboundActivities:
    def __init__(self, engine: Engine, http: httpx.AsyncClient, settings: Settings) -> None:
        self._engine = engine
        self._http = http
        self._settings = settings
        self._exporters = {exporter.name: exporter for exporter in settings.exporters}

    # ---- local: Baton's own database and Temporal ---------------------------------------------------

    @activity.defn
    def plan_notifications(self, request: PlanRequest) -> NotificationPlan:
        """Who hears about these event types, which exporters exist, and how long deliveries keep trying."""
        settings = self._settings
        with Session(self._engine) as session:
            subscribers = outbound.subscribers_for(session, {event_type.value for event_type in request.event_types})
        return NotificationPlan(
            subscribers=subscribers,
            exporters=[exporter.ref() for exporter in settings.exporters],
            retry=OutboundRetry(
                initial_seconds=settings.outbound_retry_initial_seconds,
                max_interval_seconds=settings.outbound_retry_max_interval_seconds,
                horizon_seconds=settings.outbound_retry_horizon_seconds,
                attempt_timeout_seconds=settings.outbound_timeout_seconds,
            ),
        )

    @activity.defn
    def mark_delivery_failed(self, failed: DeliveryFailed) -> None:
        """The delivery gave up (refused, or still failing at the end of the retry horizon)."""
        with Session(self._engine) as session:
            outbound.mark_delivery_failed(session, failed.delivery_id, failed.detail)

    @activity.defn
    def record_export(self, audit: ExportAudit) -> None:
        """Write an exporter run's audit row (started, succeeded or failed)."""
        with Session(self._engine) as session:
            outbound.record_export(session, audit)

    @activity.defn
    async def publish_events(self, batch: NotificationBatch) -> None:
        """Signal the order's notifications workflow with a batch, starting it with the first one.

        Safe to retry: the workflow drops events it already has (by sequence). Once it has finished (the order
        closed and everything was delivered) its id is not reused, so a retried last batch starts nothing.
        """
        try:
            await activity.client().start_workflow(
                NOTIFICATIONS_WORKFLOW,
                NotificationBatch(order_number=batch.order_number),
                id=notifications_workflow_id(batch.order_number),
                task_queue=activity.info().task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                start_signal=PUBLISH_SIGNAL,
                start_signal_args=[batch],
            )
        except WorkflowAlreadyStartedError:
            pass  # finished already: this batch was delivered before the retry

    # ---- regular: external systems -----------------------------------------------------------------

    @activity.defn
    async def deliver_webhook(self, delivery: WebhookDelivery) -> DeliveryOutcome:
        """POST one event to one subscriber; retried by Temporal until it answers 2xx or the horizon passes."""
        row = self._logged_delivery(delivery)
        if row.status == "delivered":
            return DeliveryOutcome(delivered=True, status_code=row.last_status_code, attempts=row.attempts)
        with Session(self._engine) as session:
            subscriber = outbound.get_subscriber(session, delivery.subscriber_id)
        if subscriber is None or not subscriber.active:
            self._count_attempt(row.delivery_id, "refused", None, "the subscriber is deactivated")
            raise ApplicationError("the subscriber is deactivated", type="subscriber_inactive", non_retryable=True)
        body = json.dumps(row.payload, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            EVENT_ID_HEADER: row.event_id,
            SIGNATURE_HEADER: sign(subscriber.secret, body, int(time.time())),
        }
        status_code = await self._post(subscriber.url, body, headers, row.delivery_id)
        attempts = self._count_attempt(row.delivery_id, "delivered", status_code, None)
        return DeliveryOutcome(delivered=True, status_code=status_code, attempts=attempts)

    @activity.defn
    async def export_webhook(self, run: ExportRun) -> None:
        """POST the order document to a webhook exporter's url, signed with its secret when it has one."""
        config = self._exporter(run)
        with Session(self._engine) as session:
            outbound.count_export_attempt(session, run.run_id, activity.info().attempt)
            record = get_order_record(session, run.order_number)
        if record is None:
            raise ApplicationError(f"order {run.order_number} is not in the read model yet", type="order_not_projected")
        body = json.dumps(
            {
                "export_id": run.run_id,
                "exporter": config.name,
                "state": run.state,
                "order_number": run.order_number,
                "occurred_at": run.occurred_at.isoformat(),
                "order": record.view,
            },
            separators=(",", ":"),
        ).encode()
        headers = {"Content-Type": "application/json", EVENT_ID_HEADER: run.run_id}
        if config.secret is not None:
            headers[SIGNATURE_HEADER] = sign(config.secret.get_secret_value(), body, int(time.time()))
        try:
            await self._post(config.url or "", body, headers, None)
        except ApplicationError as error:
            with Session(self._engine) as session:
                outbound.count_export_attempt(session, run.run_id, activity.info().attempt, error.message)
            raise

    # ---- helpers ------------------------------------------------------------------------------------

    def _exporter(self, run: ExportRun) -> ExporterConfig:
        config = self._exporters.get(run.exporter.name)
        if config is None or config.kind != "webhook":
            raise ApplicationError(
                f"exporter {run.exporter.name} is not a configured webhook exporter on this worker",
                type="exporter_not_configured",
                non_retryable=True,
            )
        return config

    def _logged_delivery(self, delivery: WebhookDelivery) -> WebhookDeliveryRow:
        """The delivery's log row, written on its first attempt (its body is what every attempt sends)."""
        with Session(self._engine) as session:
            row = outbound.logged_delivery(
                session, delivery.delivery_id, delivery.subscriber_id, delivery.event, datetime.now(UTC)
            )
        if row is None:
            raise ApplicationError(
                f"no logged delivery {delivery.delivery_id}", type="unknown_delivery", non_retryable=True
            )
        return row

    async def _post(self, url: str, body: bytes, headers: dict[str, str], delivery_id: str | None) -> int:
        """POST and classify the answer: 2xx delivered; 5xx, 408, 429 or no answer retried; others refused."""
        try:
            response = await self._http.post(
                url, content=body, headers=headers, timeout=self._settings.outbound_timeout_seconds
            )
        except httpx.HTTPError as error:
            detail = f"unreachable: {error!r}"
            self._count_attempt(delivery_id, "retrying", None, detail)
            raise ApplicationError(detail, type="receiver_unreachable") from error
        code = response.status_code
        if code >= 500 or code in (408, 429):
            self._count_attempt(delivery_id, "retrying", code, f"answered {code}")
            raise ApplicationError(f"answered {code}", type="receiver_unavailable")
        if not 200 <= code < 300:
            # The receiver refused this message itself; sending it again will not change its mind.
            self._count_attempt(delivery_id, "refused", code, f"refused with {code}")
            raise ApplicationError(f"refused with {code}", type="receiver_refused", non_retryable=True)
        return code

    def _count_attempt(self, delivery_id: str | None, status: str, code: int | None, error: str | None) -> int:
        if delivery_id is None:
            return 0
        with Session(self._engine) as session:
            return outbound.count_delivery_attempt(session, delivery_id, status, code, error, datetime.now(UTC))
