"""A marketplace order on a page (Head Office): its status, derived from its children's, and each child order with its
merchant, status and share, linking to the child's own order page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import SessionDep, in_threadpool
from api.marketplace_service import marketplace_view
from api.pages.session import HeadOfficeUser
from api.pages.shared import page

router = APIRouter(prefix="/ui", include_in_schema=False)


@router.get("/marketplace-orders/{parent_id}")
async def marketplace_order_page(
    parent_id: str, request: Request, session: SessionDep, user: HeadOfficeUser
) -> Response:
    view = await in_threadpool(session, marketplace_view, session, parent_id)
    return page(request, "marketplace_order.html", user, parent=view)
