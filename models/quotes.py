"""Requests for quote: a channel asks, on behalf of a B2B customer, what some lines would cost; Head Office prices
them (a unit price per line, valid until a date); the customer accepts within the validity, which places an order at
the quoted prices (locked as an estimate locks its prices, models/estimates.py `Locked`), or declines. A quote left
unanswered expires (workflows/quotes.py). Pure: activities/quotes.py keeps and places them."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from models.money import Money
from models.placement import FieldProblem
from models.placing import Channel, Customer, Fulfilment, LineRequest, PaymentRequest, PlaceQuoted
from models.text import Line, Text

# A quote binds the shop to its prices: it may be valid for at most this long after it is priced.
LONGEST_VALIDITY = timedelta(days=90)


class QuoteStatus(StrEnum):
    requested = "requested"  # waiting for Head Office to price it
    quoted = "quoted"  # priced: waiting for the customer's answer until valid_until
    accepted = "accepted"  # an order was placed at the quoted prices
    declined = "declined"
    expired = "expired"  # not answered within its validity


ANSWERED = frozenset({QuoteStatus.accepted, QuoteStatus.declined, QuoteStatus.expired})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QuoteLine(_Strict):
    sku: Line = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=999)
    fulfilment: Fulfilment | None = Field(default=None, description="This line's own fulfilment (else the request's)")


class RequestQuote(_Strict):
    """`POST /quotes/requests`: what the customer would order, without prices."""

    channel: Channel = Channel.web
    customer: Customer
    fulfilment: Fulfilment
    lines: list[QuoteLine] = Field(min_length=1, max_length=100)
    notes: list[Annotated[Text, Field(max_length=2000)]] = Field(default_factory=list, max_length=20)


class PricedLine(_Strict):
    unit_price: Money


class PriceQuote(_Strict):
    """`POST /quotes/{id}/price`: a unit price for each requested line, in the request's order."""

    lines: list[PricedLine] = Field(min_length=1, max_length=100)
    valid_until: AwareDatetime
    notes: list[Annotated[Text, Field(max_length=2000)]] = Field(default_factory=list, max_length=20)


class AcceptQuote(_Strict):
    """`POST /quotes/{id}/accept`: how the customer pays, as `POST /orders` takes it."""

    web_reference: Line | None = Field(default=None, min_length=1, max_length=64, description="Else the quote id")
    payment: PaymentRequest | None = None
    payments: list[PaymentRequest] = Field(default_factory=list, max_length=2)


class DeclineQuote(_Strict):
    reason: Line = Field(min_length=1, max_length=500)


class Offer(BaseModel):
    lines: list[PricedLine]
    valid_until: datetime
    notes: list[str] = Field(default_factory=list)
    priced_by: str
    priced_at: datetime
    total: Money = Field(description="The quoted lines' value, before any charges")


class Quote(BaseModel):
    quote_id: str
    status: QuoteStatus
    requested_by: str
    requested_at: datetime
    request: RequestQuote
    offer: Offer | None = None
    order_number: str | None = None
    answered_at: datetime | None = None
    answer: str | None = Field(default=None, description="The decline's reason, or why it expired")
    href: str


def offer_of(request: RequestQuote, body: PriceQuote, actor: str, now: datetime) -> Offer | list[FieldProblem]:
    """The offer Head Office makes, or the problems naming each field: one price per requested line, in one
    currency, and a validity in the future but within LONGEST_VALIDITY."""
    problems: list[FieldProblem] = []
    if len(body.lines) != len(request.lines):
        problems.append(FieldProblem("lines", f"price each of the {len(request.lines)} requested line(s), in order"))
    currency = body.lines[0].unit_price.currency
    problems += [
        FieldProblem(f"lines[{index}].unit_price.currency", f"every price must be in {currency}")
        for index, line in enumerate(body.lines)
        if line.unit_price.currency != currency
    ]
    first_price: dict[str, tuple[int, Money]] = {}
    for index, (priced, line) in enumerate(zip(body.lines, request.lines, strict=False)):
        seen = first_price.setdefault(line.sku, (index, priced.unit_price))
        if seen[1] != priced.unit_price:  # one price per SKU: the order locks its prices by SKU
            problems.append(FieldProblem(f"lines[{index}].unit_price", f"{line.sku} is priced in lines[{seen[0]}]"))
    if body.valid_until <= now:
        problems.append(FieldProblem("valid_until", "must be in the future"))
    elif body.valid_until > now + LONGEST_VALIDITY:
        problems.append(FieldProblem("valid_until", f"a quote is valid for at most {LONGEST_VALIDITY.days} days"))
    if problems:
        return problems
    total = sum(
        priced.unit_price.amount * line.quantity for priced, line in zip(body.lines, request.lines, strict=True)
    )
    return Offer(
        lines=body.lines,
        valid_until=body.valid_until,
        notes=list(body.notes),
        priced_by=actor,
        priced_at=now,
        total=Money(amount=total, currency=currency),
    )


def as_order(request: RequestQuote, prices: list[Money], quote_id: str, web_reference: str) -> dict[str, Any]:
    """The order a quote stands for (priced at `prices`), without its payments: judged, and placed, as any order."""
    return {
        "web_reference": web_reference,
        "channel": request.channel,
        "customer": request.customer,
        "fulfilment": request.fulfilment,
        "lines": [
            LineRequest(sku=line.sku, quantity=line.quantity, unit_price=price, fulfilment=line.fulfilment)
            for line, price in zip(request.lines, prices, strict=True)
        ],
        "notes": request.notes,
        "quote_id": quote_id,
    }


def accepted_order(quote: Quote, body: AcceptQuote) -> PlaceQuoted:
    """The order an accepted quote places: its lines at the offer's prices, paid as the acceptance says."""
    assert quote.offer is not None
    prices = [line.unit_price for line in quote.offer.lines]
    order = as_order(quote.request, prices, quote.quote_id, body.web_reference or quote.quote_id)
    return PlaceQuoted(**order, payment=body.payment, payments=body.payments)


def refusal(quote: Quote, now: datetime) -> tuple[str, str] | None:
    """Why the quote cannot be accepted now (the rule and its words), or None."""
    if quote.status is QuoteStatus.requested:
        return "quote-not-priced", f"quote {quote.quote_id} has not been priced yet"
    if quote.status is QuoteStatus.declined:
        return "quote-declined", f"quote {quote.quote_id} was declined: {quote.answer}"
    if quote.status is QuoteStatus.accepted:
        placed = f"order {quote.order_number}" if quote.order_number else "its order is being placed"
        return "quote-accepted", f"quote {quote.quote_id} was already accepted: {placed}"
    assert quote.offer is not None
    if quote.status is QuoteStatus.expired or now >= quote.offer.valid_until:
        return "quote-expired", f"quote {quote.quote_id} expired at {quote.offer.valid_until.isoformat()}"
    return None
