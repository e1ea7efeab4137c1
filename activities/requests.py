"""A customer request's side effects (workflows/requests.py): its read-model row, the order told (opened,
overdue, answered: its `customer_request` signal), and the accepted request carried out: the matching Head Office
action on the order (the request's id as the update id, so once), or a return opened for return_lines."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.projection import ProjectionActivities
from activities.refunds import change_kept_order
from models.actions import BY_NAME, ActionOutcome
from models.db import policies, requests, returns
from models.db.orders import get_order_record
from models.exchanges import exchange_problems
from models.order import order_workflow_id
from models.queues import past_point_of_no_return_in_view
from models.requests import ACTION_OF, CustomerRequest, RequestKind, RequestNotice, on_notice
from models.returns import RETURN_WORKFLOW, RequestReturn, ReturnStart, return_workflow_id

CUSTOMER_REQUEST_SIGNAL = "customer_request"


class OrderNotice(BaseModel):
    order_number: str
    notice: RequestNotice


class CarryOut(BaseModel):
    request: CustomerRequest
    command: dict[str, Any] | None = None  # resolved by the API when Head Office accepted; else built from details


class Carried(BaseModel):
    """How carrying out an accepted request went: "" when done, else why not."""

    refused: str = ""
    return_id: str | None = None


class RequestActivities:
    def __init__(
        self, engine: Engine, client: Client, task_queue: str, projection: ProjectionActivities | None = None
    ) -> None:
        self._engine, self._client, self._task_queue = engine, client, task_queue
        self._projection = projection

    @activity.defn
    def save_request(self, request: CustomerRequest) -> None:
        with Session(self._engine) as session:
            requests.save(session, request, datetime.now(UTC))

    @activity.defn
    async def tell_order(self, told: OrderNotice) -> None:
        order_number, notice = told.order_number, told.notice
        try:
            await self._client.get_workflow_handle(order_workflow_id(order_number)).signal(
                CUSTOMER_REQUEST_SIGNAL, notice
            )
        except RPCError as error:  # the order's workflow has ended: its kept state records the request
            if error.status is not RPCStatusCode.NOT_FOUND or not await asyncio.to_thread(
                self._tell_closed_order, told
            ):
                activity.logger.info("order %s not told of request %s: %s", order_number, notice.request_id, error)

    def _tell_closed_order(self, told: OrderNotice) -> bool:
        """A request on an order that has closed (a return asked for after collection) shows on it all the same: its
        alert, its answer and the channel's `request_answered` event, written on the kept state as the order would."""
        return change_kept_order(
            self._engine, self._projection, told.order_number, lambda state, now: on_notice(state, told.notice, now)
        )

    @activity.defn
    async def carry_out(self, job: CarryOut) -> Carried:
        request = job.request
        actor = request.answered_by or "policy"
        reason = f"customer request {request.request_id}: {request.note}"[:500]
        if request.kind is RequestKind.return_lines:
            return await self._open_return(request, actor)
        action = BY_NAME[ACTION_OF[request.kind]]
        try:
            given = job.command if job.command is not None else request.details
            command = action.command.model_validate({**given, "reason": reason, "actor": actor})
        except ValidationError as error:
            return Carried(refused=f"the request's details do not fit {action.name}: {error.errors()[0]['msg']}")
        handle = self._client.get_workflow_handle(order_workflow_id(request.order_number))
        try:
            await handle.execute_update(
                action.name, command, id=f"{request.request_id}:apply", result_type=ActionOutcome
            )
        except WorkflowUpdateFailedError as error:
            cause = error.cause
            return Carried(refused=cause.message if isinstance(cause, ApplicationError) else str(cause or error))
        except RPCError as error:
            if error.status is not RPCStatusCode.NOT_FOUND:
                raise  # the server is unavailable: tried again
            # The order has closed (completed or cancelled and settled): nothing on it can change any more.
            return Carried(refused=f"order {request.order_number} has closed")
        return Carried()

    async def _open_return(self, request: CustomerRequest, actor: str) -> Carried:
        try:
            asked = RequestReturn.model_validate(request.details)
        except ValidationError as error:
            return Carried(refused=f"the request's details are not a return: {error.errors()[0]['msg']}")

        def read() -> ReturnStart | str:
            with Session(self._engine) as session:
                record = get_order_record(session, request.order_number)
                if record is None:
                    return f"order {request.order_number} is not known"
                if why := past_point_of_no_return_in_view(record.view):  # reached since the request was filed
                    return f"{why}: a return of its delivered items is refused"
                facts = returns.order_facts(session, request.order_number, record.view)
                if problems := exchange_problems(facts, asked, returns.wanted_products(session, asked)):
                    return "; ".join(f"{p.field}: {p.message}" for p in problems)  # the catalogue changed since
                return ReturnStart(
                    return_id=return_workflow_id(request.order_number, "q" + request.request_id.rsplit("-", 1)[-1]),
                    facts=facts,
                    request=asked,
                    policy=policies.get_return_policy(session),
                    actor=actor,
                )

        start = await asyncio.to_thread(read)
        if isinstance(start, str):
            return Carried(refused=start)
        await self._client.start_workflow(
            RETURN_WORKFLOW,
            start,
            id=start.return_id,
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        return Carried(return_id=start.return_id)
