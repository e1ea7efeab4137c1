"""CustomerRequestWorkflow (type "CustomerRequest", id `request-<order>-<k>`): one customer request from filing to
its answer (models/requests.py). The order shows it as a `customer_request` alert until it is answered; past the
policy's answer_within a `request_not_answered` alert joins it. Updates: accept, decline (Head Office), each
refused once the request is answered. Query: view. A request the policy allows is accepted at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.requests import CarryOut, OrderNotice, RequestActivities
    from models.requests import (
        CustomerRequest,
        RequestNotice,
        RequestPolicy,
        RequestStatus,
        automatically_accepted,
    )

REQUEST_WORKFLOW = "CustomerRequest"
TIMEOUT = timedelta(seconds=30)
RETRY = RetryPolicy(maximum_interval=timedelta(minutes=5))


class RequestStart(BaseModel):
    request: CustomerRequest
    policy: RequestPolicy
    order_status: str


class Answer(BaseModel):
    actor: str
    text: str = ""  # a note when accepting, the reason when declining
    command: dict[str, Any] | None = None  # accepting: the action's command, resolved by the API (catalogue, stock)


def request_workflow_id(order_number: str, k: int | str) -> str:
    return f"request-{order_number}-{k}"


@workflow.defn(name=REQUEST_WORKFLOW)
class CustomerRequestWorkflow:
    @workflow.init
    def __init__(self, start: RequestStart) -> None:
        self._request = start.request
        self._answer: tuple[RequestStatus, Answer] | None = None

    @workflow.run
    async def run(self, start: RequestStart) -> CustomerRequest:
        request = self._request
        await self._save()
        if automatically_accepted(request.kind, start.order_status, start.policy):
            request.automatic = True
            self._answer = (RequestStatus.accepted, Answer(actor="policy", text="applied at once by policy"))
        else:
            await self._tell("opened", request.note)
            try:
                await workflow.wait_condition(lambda: self._answer is not None, timeout=start.policy.answer_within)
            except TimeoutError:
                request.overdue = True
                await self._save()
                await self._tell("overdue")
                await workflow.wait_condition(lambda: self._answer is not None)
        assert self._answer is not None
        status, answer = self._answer
        request.answered_by, request.answered_at, request.answer = answer.actor, workflow.now(), answer.text
        if status is RequestStatus.accepted:
            carried = await workflow.execute_activity_method(
                RequestActivities.carry_out,
                CarryOut(request=request, command=answer.command),
                start_to_close_timeout=TIMEOUT,
                retry_policy=RETRY,
            )
            if carried.refused:
                status, request.answer = RequestStatus.failed, f"accepted, but the order refused: {carried.refused}"
            elif carried.return_id:
                request.answer = f"{answer.text}; return {carried.return_id} opened".lstrip("; ")
        request.status = status
        await self._save()
        await self._tell("answered", f"{status.value}: {request.answer}".rstrip(": "))
        await workflow.wait_condition(workflow.all_handlers_finished)  # the accept or decline update answers first
        return request

    @workflow.query
    def view(self) -> CustomerRequest:
        return self._request

    @workflow.update
    async def accept(self, answer: Answer) -> CustomerRequest:
        self._refuse_if_answered()
        self._answer = (RequestStatus.accepted, answer)
        await workflow.wait_condition(lambda: self._request.status is not RequestStatus.open)
        return self._request

    @accept.validator
    def _validate_accept(self, answer: Answer) -> None:
        self._refuse_if_answered()

    @workflow.update
    async def decline(self, answer: Answer) -> CustomerRequest:
        self._refuse_if_answered()
        self._answer = (RequestStatus.declined, answer)
        await workflow.wait_condition(lambda: self._request.status is not RequestStatus.open)
        return self._request

    @decline.validator
    def _validate_decline(self, answer: Answer) -> None:
        self._refuse_if_answered()

    def _refuse_if_answered(self) -> None:
        if self._answer is not None:
            raise ApplicationError(f"the request is {self._answer[0].value} already", type="request_answered")

    async def _save(self) -> None:
        await workflow.execute_local_activity_method(
            RequestActivities.save_request, self._request, start_to_close_timeout=TIMEOUT, retry_policy=RETRY
        )

    async def _tell(self, stage: Literal["opened", "overdue", "answered"], detail: str = "") -> None:
        notice = RequestNotice(request_id=self._request.request_id, kind=self._request.kind, stage=stage, detail=detail)
        await workflow.execute_activity_method(
            RequestActivities.tell_order,
            OrderNotice(order_number=self._request.order_number, notice=notice),
            start_to_close_timeout=TIMEOUT,
            retry_policy=RETRY,
        )
