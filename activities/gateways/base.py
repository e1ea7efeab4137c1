"""What every payment gateway adapter offers, and how it fails.

An adapter answers each GatewayRequest with a GatewayResult: `approved=False` is a business decline (card
declined, capture above what is authorised) that the order handles and nobody retries. A transient fault (network,
5xx, rate limit) raises GatewayUnavailable, which the activity records and Temporal retries with the same
idempotency key. Configuration and programming errors raise non-retryable ApplicationErrors with a type.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from temporalio.exceptions import ApplicationError

from models.payments import GatewayOperationKind, GatewayRequest, GatewayResult


class GatewayErrorType(StrEnum):
    """`ApplicationError.type` of a failed call_gateway, as the workflow reads it from `err.cause.type`."""

    unavailable = "gateway_unavailable"  # transient; retried by Temporal
    misconfigured = "gateway_misconfigured"  # wrong key, unknown gateway name; not retried
    invalid_request = "invalid_gateway_request"  # a request no gateway can act on; not retried


class GatewayUnavailable(Exception):
    """A transient fault: the same request may be sent again with the same idempotency key."""


def misconfigured(message: str) -> ApplicationError:
    return ApplicationError(message, type=GatewayErrorType.misconfigured, non_retryable=True)


def invalid_request(message: str) -> ApplicationError:
    return ApplicationError(message, type=GatewayErrorType.invalid_request, non_retryable=True)


class PaymentGateway(Protocol):
    """One payment service provider. Every method is idempotent on `request.operation_id`."""

    name: str

    async def authorise(self, request: GatewayRequest) -> GatewayResult: ...

    async def capture(self, request: GatewayRequest) -> GatewayResult: ...

    async def sale(self, request: GatewayRequest) -> GatewayResult: ...

    async def void(self, request: GatewayRequest) -> GatewayResult: ...

    async def refund(self, request: GatewayRequest) -> GatewayResult: ...


async def perform(gateway: PaymentGateway, request: GatewayRequest) -> GatewayResult:
    """Send the request to the gateway method of its kind, after the checks every gateway needs."""
    if request.amount.amount == 0 and request.kind is not GatewayOperationKind.void:
        raise invalid_request(f"{request.operation_id}: cannot {request.kind} nothing")
    acts_on_reference = request.kind not in (GatewayOperationKind.authorise, GatewayOperationKind.sale)
    if acts_on_reference and not request.reference:
        raise invalid_request(f"{request.operation_id}: a {request.kind} needs the reference it acts on")
    operation = {
        GatewayOperationKind.authorise: gateway.authorise,
        GatewayOperationKind.capture: gateway.capture,
        GatewayOperationKind.sale: gateway.sale,
        GatewayOperationKind.void: gateway.void,
        GatewayOperationKind.refund: gateway.refund,
    }[request.kind]
    return await operation(request)


def declined(request: GatewayRequest, detail: str, at: datetime | None = None) -> GatewayResult:
    return GatewayResult(
        operation_id=request.operation_id,
        kind=request.kind,
        approved=False,
        detail=detail,
        amount=request.amount,
        at=at or datetime.now(UTC),
    )
