"""Requests for quote (models/quotes.py): kept, priced and answered here; an accepted quote is placed as any order
(activities/placement.py `prepare`), its quoted prices locked as an estimate's are (models/estimates.py `Locked`).
The order is placed once per quote: its placement is claimed under the holder `quote:<id>`, so a retried or a second
acceptance finds the order the first placed. QuoteActivities.expire_quote is the quote workflow's one activity."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity

from activities.placement import KeyReused, PlacementRefused, check, prepare
from models.db import catalogue
from models.db import quotes as quotes_db
from models.estimates import EstimateRequest, Locked
from models.money import Money
from models.order import OrderState
from models.quotes import (
    ANSWERED,
    AcceptQuote,
    PriceQuote,
    Quote,
    QuoteStatus,
    RequestQuote,
    accepted_order,
    as_order,
    offer_of,
    refusal,
)

ACCEPTANCE_KEY = "accept"  # the one placement a quote ever claims (holder `quote:<id>`)


class QuoteKeyReused(Exception):
    """The Idempotency-Key asked for another quote before."""


class QuoteRefused(Exception):
    """The quote cannot take this step now: `rule` names why (a 409)."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule


def _judged(request: RequestQuote, prices: list[Money]) -> EstimateRequest:
    """The quote's order at these prices, judged as its estimate would be (payments aside)."""
    order = as_order(request, prices, "", "quote")
    order.pop("quote_id")
    return EstimateRequest(**order)


def _catalogue_prices(session: Session, request: RequestQuote) -> list[Money]:
    products = catalogue.products_by_sku(session, {line.sku for line in request.lines})
    currency = next((product.price.currency for product in products.values()), "GBP")
    unknown = Money(amount=0, currency=currency)  # placement's rules name the unknown SKU
    return [products[line.sku].price if line.sku in products else unknown for line in request.lines]


def request_quote(session: Session, holder: str, body: RequestQuote, key: str | None, now: datetime) -> Quote:
    """Keep a request for quote, judged by the placement rules (known SKUs, quantities, fulfilment, sourcing); the
    one this holder's key kept before when retried."""
    if key is not None and (kept := quotes_db.find_by_key(session, holder, key)) is not None:
        if kept.request != body.model_dump(mode="json"):
            raise QuoteKeyReused("this key was already used with a different request body")
        return quotes_db.quote_of(kept)
    check(session, _judged(body, _catalogue_prices(session, body)), None)
    row = quotes_db.QuoteRow(
        quote_id=f"Q{uuid4().hex[:16]}",
        status=QuoteStatus.requested.value,
        requested_by=holder,
        idempotency_key=key,
        requested_at=now,
        request=body.model_dump(mode="json"),
    )
    return quotes_db.quote_of(quotes_db.keep(session, row))


def found(session: Session, quote_id: str) -> Quote | None:
    row = quotes_db.find(session, quote_id)
    return quotes_db.quote_of(row) if row is not None else None


def price_quote(session: Session, quote: Quote, body: PriceQuote, actor: str, now: datetime) -> Quote:
    """Make (or replace) the offer: each line's price, locked with the charges and tax rates of the day as an
    estimate locks them; refused once the quote is answered."""
    if quote.status in ANSWERED:
        raise QuoteRefused("quote-answered", f"quote {quote.quote_id} is {quote.status.value} already")
    offer = offer_of(quote.request, body, actor, now)
    if isinstance(offer, list):
        raise PlacementRefused(offer)
    at_catalogue = check(session, _judged(quote.request, _catalogue_prices(session, quote.request)), None)
    prices = [line.unit_price for line in offer.lines]
    locked = Locked(
        prices={line.sku: price for line, price in zip(quote.request.lines, prices, strict=True)},
        charges=at_catalogue.charges,
        tax=at_catalogue.tax,
    )
    check(session, _judged(quote.request, prices), None, locked)  # at the quoted prices, as it will be placed
    if not quotes_db.price(session, quote.quote_id, offer.model_dump(mode="json"), locked.model_dump(mode="json")):
        raise QuoteRefused("quote-answered", f"quote {quote.quote_id} was answered meanwhile")
    priced = found(session, quote.quote_id)
    assert priced is not None
    return priced


def place_accepted(
    session: Session, quote: Quote, body: AcceptQuote, key: str | None, gateway: str, now: datetime
) -> tuple[OrderState, bool]:
    """Place the accepted quote's order at its quoted prices (whether new: else the order its acceptance placed
    before) and record it on the quote. Refused (QuoteRefused) when declined, expired, not priced, or accepted
    already under another key; PlacementRefused when the payments do not pay it (the offer then stands)."""
    row = quotes_db.find(session, quote.quote_id)
    assert row is not None
    retried = quote.status is QuoteStatus.accepted and key is not None and row.accept_key == key
    claim = key if key is not None else f"once:{uuid4().hex}"
    if not retried:
        if (rule := refusal(quote, now)) is not None:
            raise QuoteRefused(*rule)
        if not quotes_db.claim_acceptance(session, quote.quote_id, claim, now):
            answered = found(session, quote.quote_id)
            assert answered is not None
            raise QuoteRefused(*(refusal(answered, now) or ("quote-answered", "the quote was answered meanwhile")))
    assert row.locked is not None
    try:
        state, created = prepare(
            session, f"quote:{quote.quote_id}", accepted_order(quote, body), ACCEPTANCE_KEY, gateway,
            Locked.model_validate(row.locked),
        )  # fmt: skip
    except KeyReused as reused:
        raise QuoteRefused("quote-accepted", f"quote {quote.quote_id} was accepted with other payments") from reused
    except PlacementRefused:
        if not retried:
            quotes_db.release_acceptance(session, quote.quote_id, claim)
        raise
    quotes_db.record_order(session, quote.quote_id, claim, state.order_number)
    return state, created


def decline_quote(session: Session, quote: Quote, reason: str, now: datetime) -> Quote:
    if quote.status in ANSWERED or not quotes_db.decline(session, quote.quote_id, reason, now):
        raise QuoteRefused("quote-answered", f"quote {quote.quote_id} is {quote.status.value} already")
    declined = found(session, quote.quote_id)
    assert declined is not None
    return declined


class ExpireQuote(BaseModel):
    quote_id: str
    valid_until: datetime


class QuoteNow(BaseModel):
    """The quote as the expiry left it: its status and the validity of its current offer."""

    status: QuoteStatus
    valid_until: datetime | None


class QuoteActivities:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn
    def expire_quote(self, expiring: ExpireQuote) -> QuoteNow:
        """Expire the quote if its offer valid until then is still unanswered; else what it has become (a
        re-pricing gave it a new validity)."""
        with Session(self.engine) as session:
            quotes_db.expire(session, expiring.quote_id, expiring.valid_until, datetime.now(UTC))
            row = quotes_db.find(session, expiring.quote_id)
            if row is None:  # forgotten (a test database reset): nothing left to expire
                return QuoteNow(status=QuoteStatus.expired, valid_until=None)
            valid_until = datetime.fromisoformat(row.offer["valid_until"]) if row.offer else None
            return QuoteNow(status=QuoteStatus(row.status), valid_until=valid_until)
