"""E-mail: what was sent about an order, and each customer's mail preferences (Head Office sets them on the
customer's behalf: no mail at all, or none of some event types)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from api import orders_service
from api.deps import Caller, HeadOffice, SessionDep, in_threadpool
from api.params import OrderNumber
from models.db import mail
from models.mail import MailedEvent, MailPreferences
from models.text import LINE_PATTERN

router = APIRouter(tags=["mail"])

CustomerId = Annotated[str, Path(min_length=1, max_length=64, pattern=LINE_PATTERN)]


class OrderMail(BaseModel):
    event_id: str
    event_type: str
    template: str
    audience: str = Field(description="customer, list (a mailing list) or head_office")
    address: str
    subject: str
    status: str = Field(description="pending, sent, suppressed (the customer opted out), retrying or failed")
    attempts: int
    detail: str | None
    created_at: datetime
    sent_at: datetime | None


class Preferences(BaseModel):
    model_config = ConfigDict(extra="forbid")

    suppressed: bool = Field(default=False, description="No e-mail at all")
    suppressed_types: list[MailedEvent] = Field(
        default_factory=list,
        max_length=len(MailedEvent),
        description="Event types the customer is not e-mailed about",
        examples=[["updated"]],
    )


@router.get("/orders/{order_number}/emails", response_model=list[OrderMail], tags=["orders"])
def list_order_mail(order_number: OrderNumber, session: SessionDep, caller: Caller) -> list[OrderMail]:
    """Every e-mail about the order, oldest first: to whom, about which event, and whether it was sent."""
    orders_service.order_record(session, order_number, caller)  # 404 for an unknown or another store's order
    return [OrderMail.model_validate(row, from_attributes=True) for row in mail.for_order(session, order_number)]


@router.get("/customers/{customer_id}/mail-preferences", response_model=Preferences)
def get_preferences(customer_id: CustomerId, session: SessionDep, _ho: HeadOffice) -> Preferences:
    """The customer's mail preferences (everything is sent until they are set)."""
    prefs = mail.preferences(session, customer_id) or MailPreferences()
    return Preferences(suppressed=prefs.suppressed, suppressed_types=list(prefs.suppressed_types))


@router.put("/customers/{customer_id}/mail-preferences", response_model=Preferences)
async def set_preferences(
    customer_id: CustomerId, body: Preferences, session: SessionDep, _ho: HeadOffice
) -> Preferences:
    """Replace the customer's mail preferences; mail not yet sent follows them."""
    prefs = MailPreferences(suppressed=body.suppressed, suppressed_types=sorted(set(body.suppressed_types)))
    await in_threadpool(session, mail.set_preferences, session, customer_id, prefs, datetime.now(UTC))
    return body.model_copy(update={"suppressed_types": prefs.suppressed_types})
