"""The payment contract between the order workflow and the payment gateways.

The workflow decides what money moves (rules in models/); the `PaymentActivities.call_gateway` activity moves
it through a `PaymentGateway` adapter and records every attempt, approved or declined, in the payment ledger.
Every request carries an operation id derived from the workflow and the operation (`order-100001:capture:1`):
it is the gateway's idempotency key and the ledger's primary key, so a retried activity, a crashed worker or a
replayed workflow never moves money twice.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from models.money import Money


class GatewayOperationKind(StrEnum):
    authorise = "authorise"  # reserve funds; captured later (or voided, or lapsing at expires_at)
    capture = "capture"  # take authorised funds (reference: the authorisation)
    sale = "sale"  # authorise and capture at once (AUTH_CAPTURE)
    void = "void"  # release an uncaptured authorisation (reference: the authorisation)
    refund = "refund"  # return captured funds (reference: the capture or sale)


class GatewayRequest(BaseModel):
    operation_id: str  # idempotency key: workflow id + operation + sequence
    order_number: str
    kind: GatewayOperationKind
    gateway: str  # "test" | "stripe"
    method: str  # "card", "gift_card", "wallet", ...
    amount: Money
    token: str | None = None  # authorise / sale: the card token (test gateway) or payment method id (Stripe)
    reference: str | None = None  # capture / void / refund: the gateway reference of the authorisation or sale
    actor: str = "system"


class GatewayResult(BaseModel):
    operation_id: str
    kind: GatewayOperationKind
    approved: bool  # False: a business decline (card declined, insufficient funds) — never retried
    reference: str = ""  # the gateway's id for what was created (authorisation, capture, refund); "" if declined
    detail: str = ""  # the decline reason, or a short description
    amount: Money
    at: datetime
    expires_at: datetime | None = None  # authorisations: when the gateway lets them lapse
