"""An order's diagnosis in one look, for GET /orders/{n}/diagnosis and the order page's panel: what it waits for,
from whom, since when; its next deadline and what happens at it; who acted last; what the outbox has not delivered
yet; which activities Temporal is retrying (attempts, last error, next retry, read from Temporal's description of
the workflows, not guessed); and a link to the order's latest history event in the Temporal UI. A store sees the
part that concerns it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlmodel import Session
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError

from api import orders_service
from api.deps import in_threadpool, visible_store
from models.db import undelivered as backlog
from models.db.undelivered import Undelivered
from models.diagnosis import LastActor, NextDeadline, OrderDiagnosis, Wait
from models.order import order_workflow_id
from models.outbox import lane_workflow_id, store_lane
from models.settings import ApiKeyHolder, Settings


class RetryingActivity(BaseModel):
    workflow_id: str
    activity_type: str
    state: str
    attempt: int
    last_error: str | None
    next_retry_at: datetime | None


class Diagnosis(BaseModel):
    order_number: str
    status: str
    waits: list[Wait]
    next_deadline: NextDeadline | None
    last_actor: LastActor | None
    open_alerts: list[str]
    undelivered: list[Undelivered] = Field(description="What the outbox has not delivered for the order")
    retrying: list[RetryingActivity] = Field(description="Activities Temporal is running or retrying for the order")
    temporal_ui_url: str | None = Field(description="The order's latest history event in the Temporal UI")
    live: bool = Field(description="False when the order's workflow could not answer: the read model's view is shown")


def _when(stamp: Any) -> datetime | None:
    return stamp.ToDatetime(tzinfo=UTC) if stamp is not None and stamp.seconds else None


async def _pending(handle: WorkflowHandle[Any, Any]) -> tuple[list[RetryingActivity], str | None, int]:
    """(its pending activities, its run id, its history length) from Temporal's description of the workflow."""
    described = await handle.describe()
    raw = described.raw_description
    activities = [
        RetryingActivity(
            workflow_id=handle.id,
            activity_type=pending.activity_type.name,
            state=str(pending.state).removeprefix("PENDING_ACTIVITY_STATE_"),
            attempt=pending.attempt,
            last_error=pending.last_failure.message or None,
            next_retry_at=_when(pending.next_attempt_schedule_time),
        )
        for pending in raw.pending_activities
    ]
    return activities, described.run_id, raw.workflow_execution_info.history_length


def _ui_link(settings: Settings, workflow_id: str, run_id: str | None, event_id: int) -> str | None:
    if not run_id:
        return None
    base = f"{settings.temporal_ui_url.rstrip('/')}/namespaces/{settings.temporal_namespace}"
    return f"{base}/workflows/{workflow_id}/{run_id}/history/events/{event_id}"


async def _diagnosis(temporal: Client, number: str, record_view: dict[str, Any]) -> tuple[OrderDiagnosis, bool]:
    try:
        handle = temporal.get_workflow_handle(order_workflow_id(number))
        answer = await handle.query("diagnosis", result_type=OrderDiagnosis)
        return answer, True
    except RPCError:
        pass
    except Exception:  # noqa: BLE001  (a query failing in the workflow: fall back on the read model)
        pass
    # The workflow did not answer (closed and gone, or its task failing): say what the read model knows.
    diagnosis = OrderDiagnosis(
        order_number=number,
        status=record_view["status"],
        waits=[],
        next_deadline=None,
        last_actor=None,
        open_alerts=[a["type"] for a in record_view.get("alerts", []) if a.get("cleared_at") is None],
    )
    return diagnosis, False


def _for_store(diagnosis: Diagnosis, store_id: str) -> Diagnosis:
    """A store sees what it is asked for and its own messages; not money, subscribers or Temporal."""
    own_lane, own_actor = store_lane(store_id), f"store:{store_id}"
    return diagnosis.model_copy(
        update={
            "waits": [w for w in diagnosis.waits if w.from_whom in (own_actor, "customer")],
            "undelivered": [u for u in diagnosis.undelivered if u.lane == own_lane],
            "retrying": [r for r in diagnosis.retrying if r.workflow_id == lane_workflow_id(own_lane)],
            "temporal_ui_url": None,
        }
    )


async def build(
    session: Session, temporal: Client, settings: Settings, order_number: str, caller: ApiKeyHolder
) -> Diagnosis:
    """What the order waits for, what happens next and when, and what is stuck on the way out."""
    record = await in_threadpool(session, orders_service.order_record, session, order_number, caller)
    delivers_extracts = bool(settings.extract_drop_folder or settings.extract_http_url)
    pending = await in_threadpool(session, backlog.for_order, session, order_number, delivers_extracts)
    answer, live = await _diagnosis(temporal, order_number, record.view)
    retrying: list[RetryingActivity] = []
    link = None
    try:
        workflow_id = order_workflow_id(order_number)
        retrying, run_id, last_event = await _pending(temporal.get_workflow_handle(workflow_id))
        link = _ui_link(settings, workflow_id, run_id, last_event)
        for lane in sorted({item.lane for item in pending}):
            lane_retrying, _, _ = await _pending(temporal.get_workflow_handle(lane_workflow_id(lane)))
            retrying += lane_retrying
    except RPCError:
        pass  # Temporal cannot describe it now: what the database knows is still shown
    diagnosis = Diagnosis(
        **answer.model_dump(), undelivered=pending, retrying=retrying, temporal_ui_url=link, live=live
    )
    store_id = visible_store(caller)
    if store_id is not None:
        return _for_store(diagnosis, store_id)
    return diagnosis
