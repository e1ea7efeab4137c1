"""How Baton settles payments and which orders need Head Office approval: a setting Head Office edits
(`PUT /settings/payments`). Each order keeps a copy of the policy it was placed under, so a running order is
deterministic and shows why it was treated as it was."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.money import MAX_AMOUNT
from models.text import Line

YEAR = timedelta(days=365)
Duration = Annotated[timedelta, Field(gt=timedelta(0), le=YEAR)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Amount = Annotated[int, Field(ge=0, le=MAX_AMOUNT)]
CustomerId = Annotated[Line, Field(max_length=64)]  # as an order's customer.id


class PaymentPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Card authorisations lapse at the gateway; Baton re-authorises this long before they do.
    authorisation_lifetime: Duration = timedelta(days=7)
    reauthorise_before: Duration = timedelta(days=1)
    # How long one gateway call may take before Baton tries it again (same idempotency key, so never twice) ...
    gateway_timeout: timedelta = Field(default=timedelta(seconds=30), gt=timedelta(0), le=timedelta(minutes=5))
    # ... and how long it keeps trying before the outcome counts as unknown (then reconciled every
    # `reconcile_every`, backing off to hourly, under the same operation id).
    gateway_retry_for: timedelta = Field(default=timedelta(minutes=2), gt=timedelta(0), le=timedelta(hours=1))
    reconcile_every: timedelta = Field(default=timedelta(minutes=5), gt=timedelta(0), le=timedelta(days=1))
    # A card declined at placement holds the order for Head Office, or cancels it.
    on_decline: Literal["hold", "cancel"] = "hold"
    # Approvals: orders from these channels or customers, above these gross amounts (before discounts; currency ->
    # minor units), or with a discount above this share of the gross, wait for Head Office to approve them before
    # anything is charged or sent to a store. An order that comes to nothing always needs approval.
    approval_channels: list[Literal["web", "store", "phone"]] = Field(default_factory=list, max_length=3)
    approval_customers: list[CustomerId] = Field(default_factory=list, max_length=10000)
    approval_above: dict[Currency, Amount] = Field(default_factory=dict, max_length=200, examples=[{"GBP": 100000}])
    approval_discount_share: float = Field(default=0.5, ge=0, le=1, description="0.5: discounts over half the gross")
    # Orders from blocked customers are refused at placement (422 on customer.id).
    blocked_customers: list[CustomerId] = Field(default_factory=list, max_length=10000)
    # Kept from what was paid when an order is not collected (or its collection expires); the rest is refunded.
    uncollected_fee: dict[Currency, Amount] = Field(default_factory=dict, max_length=200, examples=[{"GBP": 0}])

    @model_validator(mode="after")
    def _renews_before_it_lapses(self) -> Self:
        if self.reauthorise_before >= self.authorisation_lifetime:
            raise ValueError("reauthorise_before must be shorter than authorisation_lifetime")
        return self
