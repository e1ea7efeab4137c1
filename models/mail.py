"""Who is e-mailed about an order event, with which template: the customer (unless they opted out of it), the
mailing lists that asked for the event (the call centre on cancellations), and Head Office when an order waits for
its approval. Pure: the mail lane (activities/mail.py) reads the event, the order and the customer's preferences
and sends what this decides."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class MailedEvent(StrEnum):
    """Order events the customer hears about by e-mail (shipped and delivered are the deliveries' own events)."""

    ready_for_collection = "ready_for_collection"
    collected = "collected"
    updated = "updated"
    cancelled = "cancelled"
    refunded = "refunded"
    shipped = "shipped"
    delivered = "delivered"


CUSTOMER_EVENTS = frozenset(event.value for event in MailedEvent)
# Told as the event it reads like to the customer: money taken outside a gateway is paid back by the channel, but
# the customer hears of a refund either way.
SAME_AS = {"refund_instructed": MailedEvent.refunded.value}
# Head Office hears of an order placed into this status: it waits for their approval.
APPROVAL_TEMPLATE = "approval_needed"
APPROVAL_STATUS = "awaiting_approval"


class Audience(StrEnum):
    customer = "customer"
    mailing_list = "list"
    head_office = "head_office"


class MailPreferences(BaseModel):
    """A customer's choice, set by Head Office on their behalf: no mail at all, or none of some event types."""

    suppressed: bool = False
    suppressed_types: list[MailedEvent] = Field(default_factory=list, max_length=len(MailedEvent))


class Recipient(BaseModel):
    address: str
    audience: Audience
    template: str  # the event type, or APPROVAL_TEMPLATE
    suppressed: bool = False  # recorded, never sent: the customer asked not to hear of it


def recipients(
    event_type: str,
    order_status: str,
    customer_email: str,
    preferences: MailPreferences | None,
    mailing_lists: dict[str, list[str]],
    head_office: list[str],
) -> list[Recipient]:
    """Everyone to mail about one event, each address once (the customer first, then the lists)."""
    chosen: list[Recipient] = []
    event_type = SAME_AS.get(event_type, event_type)
    if event_type == "placed" and order_status == APPROVAL_STATUS:
        chosen += [Recipient(address=a, audience=Audience.head_office, template=APPROVAL_TEMPLATE) for a in head_office]
    if event_type in CUSTOMER_EVENTS:
        if customer_email:
            prefs = preferences or MailPreferences()
            opted_out = prefs.suppressed or event_type in prefs.suppressed_types
            chosen.append(
                Recipient(address=customer_email, audience=Audience.customer, template=event_type, suppressed=opted_out)
            )
        chosen += [
            Recipient(address=a, audience=Audience.mailing_list, template=event_type)
            for a in mailing_lists.get(event_type, [])
        ]
    seen: set[str] = set()
    unique = []
    for recipient in chosen:
        if recipient.address.lower() not in seen:
            seen.add(recipient.address.lower())
            unique.append(recipient)
    return unique


def mailed_event(event_type: str) -> bool:
    """Whether the mail lane has anything to do for an event of this type (it moves past the others)."""
    return SAME_AS.get(event_type, event_type) in CUSTOMER_EVENTS or event_type == "placed"
