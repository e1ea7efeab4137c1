"""The pure rules of a quote: the offer's total is each line's quoted price times its quantity, in integer minor
units; prices, currency and validity are checked field by field; and an acceptance is refused by the rule that
applies (not priced, declined, accepted, expired)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from models.money import Money
from models.quotes import LONGEST_VALIDITY, Offer, PriceQuote, Quote, QuoteStatus, RequestQuote, offer_of, refusal

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
CUSTOMER = {"id": "B2B-7", "name": "Acme", "email": "buyer@acme.example"}
FULFILMENT = {"method": "click_and_collect", "store_id": "S001"}


def _request(lines: list[tuple[str, int]]) -> RequestQuote:
    return RequestQuote.model_validate(
        {"customer": CUSTOMER, "fulfilment": FULFILMENT, "lines": [{"sku": s, "quantity": q} for s, q in lines]}
    )


def _prices(amounts: list[int], currency: str = "GBP", valid_for: timedelta = timedelta(days=7)) -> PriceQuote:
    return PriceQuote.model_validate(
        {
            "lines": [{"unit_price": {"amount": a, "currency": currency}} for a in amounts],
            "valid_until": (NOW + valid_for).isoformat(),
        }
    )


@given(st.lists(st.tuples(st.integers(1, 999), st.integers(0, 1_000_000)), min_size=1, max_size=20))
def test_the_offer_total_is_each_quoted_price_times_its_quantity(lines):
    request = _request([(f"SKU-{i}", quantity) for i, (quantity, _price) in enumerate(lines)])
    offer = offer_of(request, _prices([price for _q, price in lines]), "head_office:alice", NOW)
    assert isinstance(offer, Offer)
    assert offer.total == Money(amount=sum(q * p for q, p in lines), currency="GBP")


def test_each_line_priced_once_in_one_currency_within_the_longest_validity():
    request = _request([("TEE", 2), ("JEANS", 1), ("TEE", 3)])
    problems = offer_of(request, _prices([100, 200]), "ho", NOW)
    assert [p.field for p in problems] == ["lines"]  # type: ignore[union-attr]
    mixed = _prices([100, 200, 150])
    mixed.lines[1].unit_price = Money(amount=200, currency="EUR")
    fields = {p.field for p in offer_of(request, mixed, "ho", NOW)}  # type: ignore[union-attr]
    assert fields == {"lines[1].unit_price.currency", "lines[2].unit_price"}  # one price per SKU
    too_long = offer_of(request, _prices([1, 2, 1], valid_for=LONGEST_VALIDITY + timedelta(seconds=1)), "ho", NOW)
    assert [p.field for p in too_long] == ["valid_until"]  # type: ignore[union-attr]
    past = offer_of(request, _prices([1, 2, 1], valid_for=-timedelta(seconds=1)), "ho", NOW)
    assert [p.field for p in past] == ["valid_until"]  # type: ignore[union-attr]


def test_an_acceptance_is_refused_by_the_rule_that_applies():
    request = _request([("TEE", 2)])
    offer = offer_of(request, _prices([100], valid_for=timedelta(days=1)), "ho", NOW)
    assert isinstance(offer, Offer)

    def quote(status: QuoteStatus, with_offer: bool = True) -> Quote:
        return Quote(
            quote_id="Q1", status=status, requested_by="webstore", requested_at=NOW, request=request,
            offer=offer if with_offer else None, order_number="100001" if status is QuoteStatus.accepted else None,
            answer="too dear" if status is QuoteStatus.declined else None, href="/quotes/Q1",
        )  # fmt: skip

    assert refusal(quote(QuoteStatus.quoted), NOW) is None
    assert refusal(quote(QuoteStatus.requested, with_offer=False), NOW)[0] == "quote-not-priced"  # type: ignore[index]
    assert refusal(quote(QuoteStatus.declined), NOW)[0] == "quote-declined"  # type: ignore[index]
    assert refusal(quote(QuoteStatus.accepted), NOW)[0] == "quote-accepted"  # type: ignore[index]
    assert refusal(quote(QuoteStatus.expired), NOW)[0] == "quote-expired"  # type: ignore[index]
    late = NOW + timedelta(days=1)  # its timer has not fired yet, but its validity is over
    assert refusal(quote(QuoteStatus.quoted), late)[0] == "quote-expired"  # type: ignore[index]
