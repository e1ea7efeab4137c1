"""Head Office's refund on an order whose workflow has closed: a Refund workflow pays it (workflows/refunds.py),
keyed by the request's Idempotency-Key, so a retried request is one refund; its refusal answers 409 with the rule,
as the order's own refund action would."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session
from temporalio.client import Client

from activities.refunds import refund_after_close
from api import orders_service
from api.deps import in_threadpool
from api.problems import Conflict, OutcomeUnknown
from models.intervention_commands import IssueRefund
from models.late_refunds import LateRefundAsk, refund_workflow_id


async def refund_closed_order(
    session: Session,
    temporal: Client,
    order_number: str,
    command: BaseModel,
    key: str,
    task_queue: str,
    timeout_seconds: float,
) -> dict[str, Any]:
    """Pay the refund through its own workflow and answer the order's view, as an accepted action does."""
    assert isinstance(command, IssueRefund)
    ask = LateRefundAsk(refund_id=refund_workflow_id(order_number, key), order_number=order_number, command=command)
    try:
        outcome = await asyncio.wait_for(refund_after_close(temporal, ask, task_queue), timeout=timeout_seconds)
    except TimeoutError as error:
        raise OutcomeUnknown(
            f"the refund did not finish within {timeout_seconds:g} s; it goes on. Send it again with the same "
            "Idempotency-Key to learn its outcome: it is paid once.",
            idempotency_key=key,
        ) from error
    if outcome.refused_rule:
        rule = outcome.refused_rule
        raise Conflict(outcome.refused_message, type_=rule, rule=rule)
    return await in_threadpool(session, orders_service.order_view, session, order_number)
