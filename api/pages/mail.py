"""What Baton e-mailed, newest first: to whom, about which order and event, and whether it went (Head Office).
In the dev stack the messages themselves land in var/mail (a Maildir kept by the local SMTP sink)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.deps import SessionDep, in_threadpool
from api.pages.session import HeadOfficeUser
from api.pages.shared import page
from models.db import mail

PAGE_SIZE = 50

router = APIRouter(prefix="/ui", include_in_schema=False)


@router.get("/mail")
async def sent_mail(
    request: Request,
    session: SessionDep,
    user: HeadOfficeUser,
    page_number: Annotated[int, Query(ge=1, le=10_000, alias="page")] = 1,
) -> Response:
    rows = await in_threadpool(session, mail.latest, session, PAGE_SIZE + 1, (page_number - 1) * PAGE_SIZE)
    return page(
        request,
        "mail.html",
        user,
        rows=rows[:PAGE_SIZE],
        page_number=page_number,
        has_next=len(rows) > PAGE_SIZE,
        smtp_configured=request.app.state.settings.smtp_url is not None,
    )
