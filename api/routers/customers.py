"""The customer view for customer service: find a customer, then see everything Baton knows of them in one place
(read from the read model; Head Office sees every customer, a channel key bound to channels those who ordered
through them, with only those orders)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from api import insight_service
from api.deps import ORDER_PLACERS, SessionDep, caller_dependency, holder_with, in_threadpool, visible_channels
from api.insight_schemas import CustomerPage, CustomerView
from api.params import Offset, search_text
from api.problems import Forbidden, problem_responses
from api.responses import JSONBody
from models.settings import ApiKeyHolder
from models.text import LINE_PATTERN

router = APIRouter(prefix="/customers", tags=["customers"])

CustomerReader = Annotated[
    ApiKeyHolder,
    holder_with(
        caller_dependency,
        ORDER_PLACERS,
        lambda: Forbidden("the customer view is for Head Office and channel keys", type_="forbidden"),
    ),
]
CustomerId = Annotated[str, Path(max_length=64, pattern=LINE_PATTERN)]


@router.get("", response_model=CustomerPage)
async def search_customers(
    session: SessionDep,
    caller: CustomerReader,
    q: Annotated[str, search_text("part of a name, e-mail, phone number or customer id (any case)", 254)],
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    offset: Offset = 0,
) -> Any:
    """Search customers by name, e-mail, phone or customer id: partial and case-insensitive, a phone by digits."""
    found = await in_threadpool(session, insight_service.search, session, q, visible_channels(caller), limit, offset)
    return JSONBody(found)


@router.get("/{customer_id}", response_model=CustomerView, responses=problem_responses(404))
async def get_customer(session: SessionDep, caller: CustomerReader, customer_id: CustomerId) -> Any:
    """One customer: profile, addresses, orders with status and money, payments, refunds, notes, alerts, e-mail."""
    view = await in_threadpool(session, insight_service.customer_view, session, customer_id, visible_channels(caller))
    return JSONBody(view)
