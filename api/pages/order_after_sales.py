"""The order page's after-sales panel: the customer's requests (an open one with Accept, and Decline with a reason)
and the order's returns with their stages, clocks and refunds. Loaded into the order page when it opens and after
each answer; the buttons run the API's own accept and decline (api/routers/requests.py), so the page and
`POST /requests/{id}/accept|decline` apply the same checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session
from temporalio.client import Client

from api import orders_service
from api.deps import HEAD_OFFICE, SessionDep, TemporalDep, has_role, in_threadpool
from api.pages.session import HeadOfficeUser, User
from api.pages.shared import page
from api.problems import NotFound, Problem
from api.routers.requests import Accept, Decline, accept_request, decline_request
from models.db import policies
from models.db import requests as request_rows
from models.db import returns as return_rows
from models.requests import CustomerRequest
from models.returns import ReturnPolicy, ReturnState, ReturnStatus
from models.settings import ApiKeyHolder

router = APIRouter(prefix="/ui", include_in_schema=False)


@dataclass
class ReturnRow:
    """A return as the panel shows it: its stage, the clock it runs against now, and what it refunded."""

    state: ReturnState
    clock: str | None  # what the running clock waits for
    due: datetime | None

    @property
    def refunded_units(self) -> int:
        return sum(self.state.refunded_lines.values())


def _inspected_at(state: ReturnState) -> datetime | None:
    return next((at for at, _actor, what in state.history if what.startswith("inspected")), None)


def return_row(state: ReturnState, policy: ReturnPolicy) -> ReturnRow:
    """The clock running now: the goods to arrive (receipt_days after the request), or the refund to be issued
    (refund_hours after the inspection); none once the return is done."""
    if state.status in (ReturnStatus.authorised, ReturnStatus.in_transit):
        return ReturnRow(state, "goods to arrive", state.requested_at + timedelta(days=policy.receipt_days))
    inspected = _inspected_at(state)
    if state.status is ReturnStatus.received and inspected is not None:
        return ReturnRow(state, "refund to be issued", inspected + timedelta(hours=policy.refund_hours))
    if state.status is ReturnStatus.received:
        return ReturnRow(state, "inspection", None)
    return ReturnRow(state, None, None)


def _panel(session: Session, order_number: str, user: ApiKeyHolder) -> dict[str, Any]:
    orders_service.order_record(session, order_number, user)  # 404: not this user's order
    policy = policies.get_return_policy(session)
    requests = request_rows.for_order(session, order_number)
    return {
        "order_number": order_number,
        "requests": requests,
        "returns": [return_row(state, policy) for state in return_rows.for_order(session, order_number)],
        "may_answer": has_role(user, HEAD_OFFICE),
    }


@router.get("/orders/{order_number}/after-sales")
async def after_sales(order_number: str, request: Request, session: SessionDep, user: User) -> Response:
    context = await in_threadpool(session, _panel, session, order_number, user)
    return page(request, "_order_after_sales.html", user, answered=None, refusal=None, **context)


async def _answer(
    session: Session, temporal: Client, request_id: str, button: str, form: Any, user: ApiKeyHolder
) -> tuple[CustomerRequest | None, str | None]:
    """Accept or decline through the API's own routes; (the answered request, None) or (None, why not)."""
    try:
        if button == "accept":
            body = Accept(note=str(form.get("note", "")).strip())
            return await accept_request(request_id, body, session, temporal, user), None
        reason = str(form.get("reason", "")).strip()
        if not reason:
            return None, "Say why the request is declined: the customer is told."
        answered = await decline_request(request_id, Decline(reason=reason), session, temporal, user)
        return answered, None
    except Problem as error:
        return None, error.detail
    except ValidationError as error:
        return None, "; ".join(str(e["msg"]) for e in error.errors())


@router.post("/orders/{order_number}/requests/{request_id}/{button}")
async def answer_request(
    order_number: str,
    request_id: str,
    button: str,
    request: Request,
    session: SessionDep,
    temporal: TemporalDep,
    user: HeadOfficeUser,
) -> Response:
    """Head Office answers a customer request from the order page."""
    found = await in_threadpool(session, request_rows.get, session, request_id)
    if button not in ("accept", "decline") or found is None or found.order_number != order_number:
        raise NotFound(f"no request {request_id} on order {order_number}", type_="page-not-found")
    answered, refusal = await _answer(session, temporal, request_id, button, await request.form(), user)
    context = await in_threadpool(session, _panel, session, order_number, user)
    if answered is not None:  # the read model may lag the workflow's answer by a moment: show the answer itself
        context["requests"] = [answered if r.request_id == request_id else r for r in context["requests"]]
    return page(request, "_order_after_sales.html", user, answered=answered, refusal=refusal, **context)
