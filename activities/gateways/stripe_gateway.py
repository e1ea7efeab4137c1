"""Stripe, through the official SDK: PaymentIntents with manual capture, captures, cancels and refunds.

Every call carries `idempotency_key=request.operation_id`, so Stripe answers a retried request as it answered
the first. Retries stay safe where a Stripe-compatible server ignores the key: a capture or void of an intent
that is already captured or cancelled returns what is there, and a refund already made for this operation
(found by its `baton_operation_id` metadata) is returned instead of refunding again.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import stripe
from stripe.params import RefundCreateParams, RefundListParams

from activities.gateways.base import GatewayUnavailable, declined, invalid_request, misconfigured
from models.money import Money
from models.payments import GatewayOperationKind, GatewayRequest, GatewayResult

# Stripe lets an online card authorisation lapse after seven days.
AUTHORISATION_VALIDITY = timedelta(days=7)
REQUEST_TIMEOUT_SECONDS = 30.0
T = TypeVar("T")


class StripeGateway:
    """The `stripe` gateway. References: authorise and sale → the PaymentIntent id (pi_…), capture → the charge
    id (ch_…), void → the PaymentIntent id, refund → the refund id (re_…). Refunds accept a pi_ or a ch_."""

    name = "stripe"

    def __init__(self, api_key: str, api_base: str = stripe.DEFAULT_API_BASE) -> None:
        # No SDK retries: Temporal retries the activity, with the same idempotency key.
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base},
            http_client=stripe.HTTPXClient(timeout=REQUEST_TIMEOUT_SECONDS),
            max_network_retries=0,
        )

    async def authorise(self, request: GatewayRequest) -> GatewayResult:
        return await _declining_card_errors(request, self._create_intent(request, capture_method="manual"))

    async def sale(self, request: GatewayRequest) -> GatewayResult:
        return await _declining_card_errors(request, self._create_intent(request, capture_method="automatic"))

    async def capture(self, request: GatewayRequest) -> GatewayResult:
        return await _declining_card_errors(request, self._capture(request))

    async def void(self, request: GatewayRequest) -> GatewayResult:
        return await _declining_card_errors(request, self._void(request))

    async def refund(self, request: GatewayRequest) -> GatewayResult:
        return await _declining_card_errors(request, self._refund(request))

    async def _capture(self, request: GatewayRequest) -> GatewayResult:
        intents = self._client.v1.payment_intents
        intent = await _call(intents.retrieve_async(_intent_id(request)))
        if intent.status == "requires_capture":
            capturable = _capturable(intent)
            if request.amount.amount > capturable:
                held = _money(capturable, request)
                return declined(request, f"capture of {request.amount} exceeds the {held} authorised")
            try:
                intent = await _call(
                    intents.capture_async(
                        intent.id,
                        {"amount_to_capture": request.amount.amount},
                        {"idempotency_key": request.operation_id},
                    )
                )
            except stripe.InvalidRequestError as error:
                # Captured or cancelled meanwhile (a concurrent retry): answer from what is there now.
                intent = await _call(intents.retrieve_async(intent.id))
                if intent.status not in ("succeeded", "canceled"):
                    return declined(request, _message(error))
        if intent.status == "canceled":
            return declined(request, f"authorisation {intent.id} was voided")
        if intent.status != "succeeded":
            return declined(request, f"payment {intent.id} cannot be captured ({intent.status})")
        # Captured, now or by an earlier attempt of this operation.
        return self._approved(request, _charge_id(intent), f"captured {request.amount}")

    async def _void(self, request: GatewayRequest) -> GatewayResult:
        intents = self._client.v1.payment_intents
        intent = await _call(intents.retrieve_async(_intent_id(request)))
        if intent.status not in ("canceled", "succeeded"):
            try:
                intent = await _call(intents.cancel_async(intent.id, None, {"idempotency_key": request.operation_id}))
            except stripe.InvalidRequestError as error:
                intent = await _call(intents.retrieve_async(intent.id))
                if intent.status != "canceled":
                    return declined(request, _message(error))
        if intent.status == "succeeded":
            return declined(request, f"payment {intent.id} is already captured; refund it instead")
        return self._approved(request, intent.id, "authorisation released")

    async def _refund(self, request: GatewayRequest) -> GatewayResult:
        reference = request.reference or ""
        of_charge = reference.startswith("ch_")
        listing: RefundListParams = {"charge": reference} if of_charge else {"payment_intent": reference}
        listing["limit"] = 100
        existing = await _call(self._client.v1.refunds.list_async(listing))
        for refund in existing.data:
            if _metadata_of(refund).get("baton_operation_id") == request.operation_id:
                return self._approved(request, refund.id, f"refund {refund.status}")
        creating: RefundCreateParams = {"charge": reference} if of_charge else {"payment_intent": reference}
        creating["amount"] = request.amount.amount
        creating["metadata"] = _metadata(request)
        try:
            refund = await _call(
                self._client.v1.refunds.create_async(creating, {"idempotency_key": request.operation_id})
            )
        except stripe.InvalidRequestError as error:
            return declined(request, _message(error))  # more than captured, already refunded
        if refund.status == "failed":
            return declined(request, f"refund {refund.id} failed")
        return self._approved(request, refund.id, f"refund {refund.status}")

    async def _create_intent(self, request: GatewayRequest, capture_method: str) -> GatewayResult:
        if not request.token:
            raise invalid_request(f"{request.operation_id}: a {request.kind} needs a payment method (token)")
        intent = await _call(
            self._client.v1.payment_intents.create_async(
                {
                    "amount": request.amount.amount,
                    "currency": request.amount.currency.lower(),
                    "payment_method": request.token,
                    # Not among stripe 16's typed params: Stripe refuses it from API version 2026-09-30.endive on
                    # (400 payment_method_types_no_longer_supported); localstripe accepts it. Kept until settled.
                    "payment_method_types": ["card"],  # type: ignore[typeddict-unknown-key]
                    "capture_method": capture_method,
                    "confirm": True,
                    "metadata": _metadata(request),
                },
                {"idempotency_key": request.operation_id},
            )
        )
        wanted = "requires_capture" if capture_method == "manual" else "succeeded"
        if intent.status != wanted:
            return declined(request, f"payment {intent.id} is {intent.status}, not {wanted}")
        expires_at = None
        if request.kind is GatewayOperationKind.authorise:
            expires_at = datetime.fromtimestamp(intent.created, UTC) + AUTHORISATION_VALIDITY
        return self._approved(request, intent.id, f"{request.kind} of {request.amount}", expires_at)

    def _approved(
        self, request: GatewayRequest, reference: str, detail: str, expires_at: datetime | None = None
    ) -> GatewayResult:
        return GatewayResult(
            operation_id=request.operation_id,
            kind=request.kind,
            approved=True,
            reference=reference,
            detail=detail,
            amount=request.amount,
            at=datetime.now(UTC),
            expires_at=expires_at,
        )


async def _call(pending: Awaitable[T]) -> T:
    """Await one Stripe call: transient faults become GatewayUnavailable (retried), a refused API key or an
    unknown reference a non-retryable error; card errors and other refusals are left to the operation."""
    try:
        return await pending
    except stripe.InvalidRequestError as error:
        if _is_missing(error):  # a reference Stripe does not know: a bug, not worth a retry
            raise invalid_request(f"stripe: {_message(error)}") from error
        raise  # the operation decides what a refusal means for it
    except stripe.CardError:
        raise
    except (stripe.APIConnectionError, stripe.RateLimitError) as error:
        raise GatewayUnavailable(f"stripe: {_message(error)}") from error
    except (stripe.AuthenticationError, stripe.PermissionError) as error:
        raise misconfigured(f"stripe refused the API key: {_message(error)}") from error
    except stripe.APIError as error:  # Stripe's own 5xx
        raise GatewayUnavailable(f"stripe: {_message(error)}") from error
    except stripe.StripeError as error:
        if (error.http_status or 500) >= 500 or error.http_status in (409, 429):
            raise GatewayUnavailable(f"stripe: {_message(error)}") from error
        raise


def _message(error: stripe.StripeError) -> str:
    return error.user_message or str(error) or type(error).__name__


def _is_missing(error: stripe.StripeError) -> bool:
    return error.http_status == 404 or error.code == "resource_missing"


def _intent_id(request: GatewayRequest) -> str:
    reference = request.reference or ""
    if not reference.startswith("pi_"):
        raise invalid_request(f"{request.operation_id}: {reference!r} is not a Stripe PaymentIntent id")
    return reference


def _charge_id(intent: Any) -> str:
    charge = intent.latest_charge  # an id, or the expanded charge
    return charge if isinstance(charge, str) else charge.id


def _capturable(intent: Any) -> int:
    return int(getattr(intent, "amount_capturable", None) or intent.amount)  # localstripe omits the field


def _metadata(request: GatewayRequest) -> dict[str, str]:
    return {"baton_operation_id": request.operation_id, "order_number": request.order_number}


def _metadata_of(stripe_object: Any) -> dict[str, Any]:
    metadata = getattr(stripe_object, "metadata", None)
    return metadata.to_dict() if metadata is not None else {}


def _money(amount: int, like: GatewayRequest) -> Money:
    return Money(amount=amount, currency=like.amount.currency)


async def _declining_card_errors(request: GatewayRequest, pending: Awaitable[GatewayResult]) -> GatewayResult:
    try:
        return await pending
    except stripe.CardError as error:  # the card was declined: a business outcome, never retried
        return declined(request, f"{_message(error)} ({error.code or 'card_error'})")
    except stripe.InvalidRequestError as error:  # a request Stripe will refuse however often it is sent
        raise invalid_request(f"{request.operation_id}: stripe: {_message(error)}") from error
