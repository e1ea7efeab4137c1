"""How Baton settles payments and which orders need Head Office approval: a setting Head Office edits
(`PUT /settings/payments`). Each order keeps a copy of the policy it was placed under, so a running order is
deterministic and shows why it was treated as it was."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class PaymentPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Card authorisations lapse at the gateway; Baton re-authorises this long before they do.
    authorisation_lifetime: timedelta = Field(default=timedelta(days=7), gt=timedelta(0))
    reauthorise_before: timedelta = Field(default=timedelta(days=1), gt=timedelta(0))
    # How long one gateway call may take before Baton tries it again (same idempotency key, so never twice).
    gateway_timeout: timedelta = Field(default=timedelta(seconds=30), gt=timedelta(0), le=timedelta(minutes=5))
    # A card declined at placement holds the order for Head Office, or cancels it.
    on_decline: Literal["hold", "cancel"] = "hold"
    # Approvals: orders from these channels or customers, or above these amounts (currency -> minor units), wait
    # for Head Office to approve them before anything is charged or sent to a store.
    approval_channels: list[Literal["web", "store", "phone"]] = Field(default_factory=list)
    approval_customers: list[str] = Field(default_factory=list)
    approval_above: dict[str, int] = Field(default_factory=dict, examples=[{"GBP": 100000}])
    # Orders from blocked customers are refused at placement (422 on customer.id).
    blocked_customers: list[str] = Field(default_factory=list)
