"""B2B accounts (`PUT/GET /b2b/accounts/{id}`, Head Office) and an account approver's answer to a buyer's order
(`POST /orders/{n}/contact-approval`, with a channel key): the order's own `approve`/`reject` action, run in the
approver's name so its history names who approved. Only an approver listed on the order's account may answer."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path
from pydantic import BaseModel, ConfigDict, Field

from api import orders_service
from api.deps import HeadOffice, OrderPlacer, SessionDep, SettingsDep, TemporalDep, in_threadpool
from api.interventions_service import run_action
from api.params import OrderNumber
from api.problems import Forbidden, NotFound, field_error, problem_responses
from api.responses import JSONBody
from models.actions import ACTIONS
from models.b2b import B2BAccount, B2BOrder, CustomerId
from models.b2b_orders import approver_actor, contact_approval_problem
from models.db import b2b as b2b_db
from models.intervention_commands import ApproveOrder, RejectOrder
from models.text import LINE_PATTERN, Line
from models.views import OrderView

router = APIRouter(tags=["b2b"])

AccountId = Annotated[str, Path(min_length=1, max_length=64, pattern=LINE_PATTERN)]
_APPROVE, _REJECT = (next(a for a in ACTIONS if a.name == name) for name in ("approve_order", "reject_order"))


@router.get("/b2b/accounts/{account_id}", response_model=B2BAccount, responses=problem_responses(404))
def get_account(account_id: AccountId, session: SessionDep, _ho: HeadOffice) -> B2BAccount:
    """One B2B account: its buyers, approvers and limits. Head Office only."""
    account = b2b_db.get_account(session, account_id)
    if account is None:
        raise NotFound(f"no B2B account {account_id}")
    return account


@router.put("/b2b/accounts/{account_id}", response_model=B2BAccount)
def put_account(account_id: AccountId, account: B2BAccount, session: SessionDep, _ho: HeadOffice) -> B2BAccount:
    """Create or replace a B2B account. A customer buys for one account only; orders placed from now on are judged
    by its limits (amounts in the account's currency, minor units)."""
    if elsewhere := b2b_db.buyers_elsewhere(session, account_id, account):
        taken = ", ".join(f"{buyer} (account {other})" for buyer, other in sorted(elsewhere.items()))
        raise field_error("buyers", f"already buying for another account: {taken}")
    if not b2b_db.put_account(session, account_id, account):  # a concurrent PUT took one of these buyers first
        raise field_error("buyers", "a buyer was just given to another account; read it and try again")
    return account


class ContactApproval(BaseModel):
    """An account approver's answer to a buyer's order waiting for it."""

    model_config = ConfigDict(extra="forbid")

    approver_id: CustomerId = Field(description="The approver's customer id, listed on the order's account")
    decision: Literal["approve", "reject"]
    reason: Line = Field(min_length=1, max_length=500, description="Why; kept in the order's history")


@router.post(
    "/orders/{order_number}/contact-approval",
    response_model=OrderView,
    responses=problem_responses(403, 404, 409),
)
async def contact_approval(
    order_number: OrderNumber,
    body: ContactApproval,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    caller: OrderPlacer,
    idempotency_key: Annotated[str | None, Header(max_length=200, pattern=LINE_PATTERN)] = None,
) -> JSONBody:
    """The account's approver approves (the order goes on to its store) or rejects (it is cancelled) a buyer's order
    waiting for it; Head Office can still approve or reject it as any order (`/approve`, `/reject`)."""
    view = await in_threadpool(session, orders_service.order_view, session, order_number, caller)
    placed_for = B2BOrder.model_validate(view["b2b"]) if view.get("b2b") else None
    account_id = placed_for.account_id if placed_for is not None else None
    account = await in_threadpool(session, b2b_db.get_account, session, account_id) if account_id else None
    problem = contact_approval_problem(placed_for, view.get("approval_reason"), body.approver_id, account)
    if problem is not None:
        status, message = problem
        raise Forbidden(message, type_="not-an-approver") if status == 403 else field_error("approver_id", message)
    assert account_id is not None
    command = (ApproveOrder if body.decision == "approve" else RejectOrder)(reason=body.reason)
    command.actor = approver_actor(account_id, body.approver_id)
    action = _APPROVE if body.decision == "approve" else _REJECT
    timeout = settings.update_timeout_seconds
    return JSONBody(await run_action(session, temporal, order_number, action, command, idempotency_key, timeout))
