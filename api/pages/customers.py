"""The customer view for Head Office's customer service: search customers, then one customer's page with every
order (each linking to its order page), money, notes, alerts and e-mail. The same answers as GET /customers."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api import insight_service
from api.deps import SessionDep, in_threadpool
from api.pages.session import HeadOfficeUser
from api.pages.shared import page

PAGE_SIZE = 25
router = APIRouter(prefix="/ui/customers", include_in_schema=False)


@router.get("")
async def search(request: Request, session: SessionDep, user: HeadOfficeUser) -> Response:
    q = request.query_params.get("q", "").strip()[:254]
    try:
        number = max(1, min(int(request.query_params.get("page", "1")), 10_000))
    except ValueError:
        number = 1
    found = None
    if q:
        offset = (number - 1) * PAGE_SIZE
        found = await in_threadpool(session, insight_service.search, session, q, None, PAGE_SIZE, offset)
    pages = max(1, -(-found["total"] // PAGE_SIZE)) if found else 1
    return page(request, "customers.html", user, q=q, found=found, page_number=number, pages=pages)


@router.get("/{customer_id}")
async def customer(request: Request, session: SessionDep, user: HeadOfficeUser, customer_id: str) -> Response:
    view = await in_threadpool(session, insight_service.customer_view, session, customer_id[:64], None)
    return page(request, "customer.html", user, view=view)
