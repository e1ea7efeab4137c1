"""Money on an order: its payments, refunds, charges and adjustments, the gateway operations that move money,
and the contract between the order workflow and the payment gateways.

Only money that moved counts as paid: a capture or sale the gateway approved, or money taken outside a gateway
(by the channel before placement, by the store at the till, by Head Office confirming a transfer). A gateway
call that ends without an answer is `unknown`: it is reconciled by its operation id, the gateway's idempotency
key, before anything else touches that payment, so it can never be doubled.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from models.money import Money


class PaymentMode(StrEnum):
    prepaid = "prepaid"  # the channel took the money before placing the order: taken, with the channel's reference
    auth_capture = "auth_capture"  # Baton authorises and captures through the gateway at placement
    authorise = "authorise"  # authorised at placement, captured at handover (collection or dispatch)
    offline = "offline"  # phone or bank transfer: the order waits in awaiting_payment until Head Office confirms
    on_collection = "on_collection"  # paid at the store at handover, confirmed by the store's collected event


GATEWAY_MODES = frozenset({PaymentMode.auth_capture, PaymentMode.authorise})
# Stored-value funds are taken first and at once; a card (or another method) pays the rest.
STORED_VALUE_METHODS = frozenset({"gift_card", "wallet"})
WALLET_GATEWAY = "wallet"  # balance payments through a gateway spend the customer's balance in Baton's ledger
# Methods that spend a customer's balance (models/db/balances.py) through the wallet gateway, taken first like
# stored value. Account credit is only ever spent so (auth_capture); wallet funds may also be the channel's own.
BALANCE_METHODS = frozenset({"wallet", "account_credit"})
FIRST_TAKEN_METHODS = STORED_VALUE_METHODS | BALANCE_METHODS

PaymentStatus = Literal[
    "pending",  # to be authorised or sold at the gateway (an operation is queued, running or unknown)
    "authorised",  # funds reserved at the gateway until authorised_until
    "captured",  # taken through the gateway (a sale, or a capture of the authorisation)
    "taken",  # taken outside a gateway: prepaid by the channel, at the till, or confirmed by Head Office
    "awaiting",  # offline: waiting for Head Office to confirm the money arrived
    "due",  # to be taken at handover (the store's till) or confirmed by Head Office
    "declined",  # the gateway declined the authorisation or sale
    "voided",  # released: an authorisation voided, or a due amount no longer owed
    "capture_failed",  # the capture was declined: Head Office settles it by hand
]
MOVED = frozenset({"captured", "taken"})  # statuses whose money moved in


class PaymentRecord(BaseModel):
    payment_id: str
    mode: str  # a PaymentMode, or "charge" for money Head Office charged later, or "till" taken at handover
    method: str
    amount: Money  # what this payment is for (an authorisation may be captured for less)
    status: PaymentStatus = "taken"
    at: datetime | None = None
    actor: str = ""
    reference: str = ""  # the capture or sale at the gateway, or the channel's / till's / bank's reference
    gateway: str | None = None
    token: str | None = None  # the gateway's token; never leaves the workflow (views, pushes, extracts, SQL)
    authorisation_reference: str = ""
    authorised_until: datetime | None = None
    captured_amount: int | None = None  # minor units actually captured or taken; None means all of `amount`
    renewable: bool = True  # False once a re-authorisation was declined: it lapses, Head Office is alerted
    # Authorised for one delivery's share: captured when that delivery ships or is handed over (None: the order's).
    delivery_id: str | None = None
    detail: str = ""

    @property
    def moved_in(self) -> int:
        """Money that moved in on this payment (minor units)."""
        if self.status not in MOVED:
            return 0
        return self.amount.amount if self.captured_amount is None else self.captured_amount

    @property
    def expected_in(self) -> int:
        """Money still expected on this payment: authorised and not captured, pending, awaiting or due."""
        return self.amount.amount if self.status in ("pending", "authorised", "awaiting", "due") else 0

    @property
    def is_stored_value(self) -> bool:
        # A balance spent through the wallet gateway is stored value too (orders before it never used that gateway).
        return self.method in STORED_VALUE_METHODS or self.gateway == WALLET_GATEWAY

    @property
    def through_gateway(self) -> bool:
        return self.gateway is not None


RefundStatus = Literal[
    "requested",  # a refund operation is queued, running or unknown at the gateway
    "refunded",  # the gateway refunded it
    "instructed",  # taken outside a gateway: the channel (or finance) was instructed to pay it back
    "declined",  # the gateway declined the refund; nothing moved
]


class RefundRecord(BaseModel):
    refund_id: str
    payment_id: str
    amount: Money
    at: datetime
    actor: str
    reason: str
    status: RefundStatus = "requested"
    reference: str = ""  # the gateway's refund, or the payment's reference the instruction points at
    detail: str = ""

    @property
    def moved_out(self) -> int:
        """Counted against the payment: done, instructed, or on its way (so nobody refunds it twice)."""
        return 0 if self.status == "declined" else self.amount.amount


class Charge(BaseModel):
    """Money Head Office adds to what the customer owes (a fee, a price agreed by phone), or a fee the payment
    policy keeps on an uncollected order. Cancelling an order cancels its charges (but not that fee)."""

    charge_id: str
    amount: Money
    reason: str
    actor: str
    at: datetime
    cancelled: bool = False
    tax_rate_bp: int = 0  # the tax inside it, locked when charged (models/tax.py)


class Adjustment(BaseModel):
    """Goodwill: money given back beyond anything overpaid, so the customer owes that much less."""

    amount: Money
    reason: str
    actor: str
    at: datetime


class GatewayOperationKind(StrEnum):
    authorise = "authorise"  # reserve funds; captured later (or voided, or lapsing at expires_at)
    capture = "capture"  # take authorised funds (reference: the authorisation)
    sale = "sale"  # authorise and capture at once (AUTH_CAPTURE)
    void = "void"  # release an uncaptured authorisation (reference: the authorisation)
    refund = "refund"  # return captured funds (reference: the capture or sale)


OperationStatus = Literal["queued", "running", "unknown"]


class MoneyOperation(BaseModel):
    """A gateway operation the order has decided on and not yet seen answered.

    `operation_id` (`order-<n>:<kind>:<seq>`) is the gateway's idempotency key and the ledger's key: an unknown
    operation is reconciled by sending it again under the same id, which a gateway answers from its books."""

    operation_id: str
    payment_id: str
    kind: GatewayOperationKind
    amount: Money
    reference: str | None = None  # what it acts on: the authorisation (capture, void) or the capture (refund)
    refund_id: str | None = None  # refunds: the RefundRecord it settles
    replaces: str | None = None  # re-authorisations: the authorisation to void once the new one is in place
    actor: str = "system"
    status: OperationStatus = "queued"
    since: datetime  # queued at; for unknown ones, when the answer went missing
    checks: int = 0  # reconciliation attempts so far
    check_at: datetime | None = None  # unknown ones: when to ask the gateway again


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


class PaymentView(BaseModel):
    """A payment as anyone outside the workflow sees it: never the token."""

    payment_id: str
    mode: str
    method: str
    amount: Money
    status: PaymentStatus
    at: datetime | None = None
    actor: str = ""
    reference: str = ""
    gateway: str | None = None
    authorisation_reference: str = ""
    authorised_until: datetime | None = None
    captured_amount: int | None = None
    detail: str = ""
    outcome_unknown: bool = Field(default=False, description="A gateway call on it has no answer yet")


class OperationView(BaseModel):
    """A gateway operation the order decided on and has not seen answered: queued, running, or unknown."""

    operation_id: str
    payment_id: str
    kind: GatewayOperationKind
    amount: Money
    status: OperationStatus
    since: datetime
