"""The Stripe adapter against localstripe (a stateful fake Stripe API from PyPI), started on a free loopback port:
authorise and capture, sale, void, partial refund, a declined card, error mapping and idempotent retries."""

from __future__ import annotations

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.gateways import GatewayErrorType, GatewayUnavailable, StripeGateway
from activities.payments import PaymentActivities
from models.payments import GatewayOperationKind as Kind
from models.payments import GatewayRequest
from tests.activities.gateway_support import gateway_request, ledger, new_order_number
from tests.localstripe import API_KEY, DECLINED, VISA, free_port


@pytest.fixture
def stripe_gateway(localstripe_url: str) -> StripeGateway:
    return StripeGateway(API_KEY, localstripe_url)


def _request(order: str, kind: Kind, amount: int, **kwargs) -> GatewayRequest:  # type: ignore[no-untyped-def]
    return gateway_request(order, kind, amount, gateway="stripe", **kwargs)


async def test_authorise_then_partial_capture(stripe_gateway):
    order = new_order_number()
    auth = await stripe_gateway.authorise(_request(order, Kind.authorise, 5000, token=VISA))
    capture = await stripe_gateway.capture(_request(order, Kind.capture, 3500, reference=auth.reference))
    assert auth.approved and auth.reference.startswith("pi_")
    assert auth.expires_at is not None and auth.expires_at > auth.at
    assert capture.approved and capture.reference.startswith("ch_")
    assert capture.amount.amount == 3500 and capture.detail == "captured 35.00 GBP"


async def test_sale_then_partial_refunds(stripe_gateway):
    order = new_order_number()
    sale = await stripe_gateway.sale(_request(order, Kind.sale, 2000, token=VISA))
    first = await stripe_gateway.refund(_request(order, Kind.refund, 500, reference=sale.reference))
    second = await stripe_gateway.refund(_request(order, Kind.refund, 700, sequence=2, reference=sale.reference))
    assert sale.approved
    assert first.approved and second.approved
    assert first.reference.startswith("re_") and first.reference != second.reference


async def test_void_releases_the_authorisation_and_a_capture_after_it_is_declined(stripe_gateway):
    order = new_order_number()
    auth = await stripe_gateway.authorise(_request(order, Kind.authorise, 1500, token=VISA))
    void = await stripe_gateway.void(_request(order, Kind.void, 1500, reference=auth.reference))
    capture = await stripe_gateway.capture(_request(order, Kind.capture, 1500, reference=auth.reference))
    assert void.approved and void.reference == auth.reference
    assert not capture.approved and capture.detail == f"authorisation {auth.reference} was voided"


async def test_capture_above_the_authorisation_is_declined(stripe_gateway):
    order = new_order_number()
    auth = await stripe_gateway.authorise(_request(order, Kind.authorise, 1000, token=VISA))
    capture = await stripe_gateway.capture(_request(order, Kind.capture, 1200, reference=auth.reference))
    assert not capture.approved
    assert capture.detail == "capture of 12.00 GBP exceeds the 10.00 GBP authorised"


async def test_declined_card_is_a_decline_not_an_error(stripe_gateway):
    order = new_order_number()
    for kind in (Kind.authorise, Kind.sale):
        result = await stripe_gateway.authorise(_request(order, kind, 2500, token=DECLINED))
        assert not result.approved
        assert result.detail == "Your card was declined. (card_declined)"
        assert result.reference == ""


async def test_retried_capture_void_and_refund_return_the_first_answer(stripe_gateway, localstripe_url):
    order = new_order_number()
    auth = await stripe_gateway.authorise(_request(order, Kind.authorise, 3000, token=VISA))
    capture = _request(order, Kind.capture, 3000, reference=auth.reference)
    first_capture, retried_capture = [await stripe_gateway.capture(capture) for _ in range(2)]
    refund = _request(order, Kind.refund, 1000, reference=first_capture.reference)
    first_refund, retried_refund = [await stripe_gateway.refund(refund) for _ in range(2)]
    voided = await stripe_gateway.authorise(_request(order, Kind.authorise, 900, sequence=2, token=VISA))
    void = _request(order, Kind.void, 900, reference=voided.reference)
    first_void, retried_void = [await stripe_gateway.void(void) for _ in range(2)]
    assert retried_capture.approved and retried_capture.reference == first_capture.reference
    assert retried_refund.approved and retried_refund.reference == first_refund.reference
    assert retried_void.approved and retried_void.reference == first_void.reference
    async with httpx.AsyncClient() as http:  # Stripe's own view: one refund on the charge
        refunds = await http.get(
            f"{localstripe_url}/v1/refunds",
            params={"charge": first_capture.reference},
            headers={"Authorization": f"Bearer {API_KEY}"},
        )
    assert [r["amount"] for r in refunds.json()["data"]] == [1000]


async def test_call_gateway_twice_creates_one_payment_intent(db, localstripe_url):
    """localstripe ignores idempotency keys; the ledger still answers the second call without Stripe."""
    payments = PaymentActivities(db, {"stripe": StripeGateway(API_KEY, localstripe_url)})
    order = new_order_number()
    request = _request(order, Kind.authorise, 4200, token=VISA)
    first = await ActivityEnvironment().run(payments.call_gateway, request)
    second = await ActivityEnvironment().run(payments.call_gateway, request)
    assert first.approved and second == first
    [row] = ledger(db, order).values()
    assert (row.gateway, row.status, row.gateway_reference) == ("stripe", "approved", first.reference)


async def test_wrong_api_key_is_not_retried_and_unreachable_stripe_is(localstripe_url):
    order = new_order_number()
    wrong_key = StripeGateway("not-a-secret-key", localstripe_url)
    with pytest.raises(ApplicationError) as refused:
        await wrong_key.authorise(_request(order, Kind.authorise, 100, token=VISA))
    assert refused.value.type == GatewayErrorType.misconfigured and refused.value.non_retryable
    with pytest.raises(GatewayUnavailable):
        unreachable = StripeGateway(API_KEY, f"http://127.0.0.1:{free_port()}")
        await unreachable.authorise(_request(order, Kind.authorise, 100, token=VISA))
    with pytest.raises(ApplicationError) as unknown:
        await StripeGateway(API_KEY, localstripe_url).capture(_request(order, Kind.capture, 100, reference="pi_nope"))
    assert unknown.value.type == GatewayErrorType.invalid_request and unknown.value.non_retryable
