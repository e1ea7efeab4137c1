"""B2B accounts (`PUT/GET /b2b/accounts/{id}`): a business customer whose buyers place orders and whose approvers
approve them. Pure rules: which limit an order from a buyer breaks (`block_problem`: refused at placement) or
reaches (`approval_reason`: the order waits for the account's approver), and the B2B references an order carries.

Limits are judged, like Head Office's approval limit (models/placement.py), on the gross before discounts, so a
discount cannot slip an order under them."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from models.money import MAX_AMOUNT, Money
from models.text import Line

CustomerId = Annotated[Line, Field(min_length=1, max_length=64)]
Reference = Annotated[Line, Field(min_length=1, max_length=64)]


class B2BAccount(BaseModel):
    """A B2B customer: who buys for it, who approves, and its limits in its currency (minor units)."""

    model_config = ConfigDict(extra="forbid")

    name: Line = Field(min_length=1, max_length=200)
    buyers: list[CustomerId] = Field(min_length=1, max_length=500, description="Customer ids that order for it")
    approvers: list[CustomerId] = Field(
        default_factory=list, max_length=100, description="Customer ids that approve its buyers' orders"
    )
    approval_above: int | None = Field(
        default=None,
        ge=0,
        le=MAX_AMOUNT,
        description="A buyer's order above this waits for an approver (0: every order); none: no approval",
    )
    block_above: int | None = Field(
        default=None, ge=0, le=MAX_AMOUNT, description="A buyer's order above this is refused outright"
    )
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="The currency its orders and limits are in")

    @field_validator("buyers", "approvers")
    @classmethod
    def _each_once(cls, ids: list[str]) -> list[str]:
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"{', '.join(twice)} given twice")
        return ids

    @model_validator(mode="after")
    def _approvers_can_approve(self) -> Self:
        if self.approval_above is not None and not self.approvers:
            raise ValueError("approvers: an account whose orders need approval needs at least one approver")
        return self


def block_problem(account_id: str, account: B2BAccount, gross: int, currency: str) -> tuple[str, str] | None:
    """(field, message) when a buyer's order may not be placed for the account: in another currency, or above its
    block limit."""
    if currency != account.currency:
        return "customer.id", f"account {account_id} orders in {account.currency}, not {currency}"
    if account.block_above is not None and gross > account.block_above:
        limit = Money(amount=account.block_above, currency=currency)
        given = Money(amount=gross, currency=currency)
        return "lines", f"the order ({given}) is above account {account_id}'s block limit of {limit}"
    return None


def approval_reason(account_id: str, account: B2BAccount, gross: int) -> str | None:
    """Why a buyer's order waits for the account's approver, or None."""
    if account.approval_above is None:
        return None
    if account.approval_above == 0 or gross > account.approval_above:
        return f"needs approval by account {account_id}'s approver"
    return None


class ThirdPartyInvoice(BaseModel):
    """An invoice number another system (ERP, accounting) gave the order."""

    number: Reference
    system: Line = Field(default="", max_length=64)


class B2BOrder(BaseModel):
    """What an order carries for a B2B customer: the account it was placed for (its customer is a buyer), the
    customer's own reference, its purchase order number, and third-party invoice numbers added later."""

    account_id: str | None = None
    customer_reference: str | None = None
    purchase_order_number: str | None = None
    third_party_invoices: list[ThirdPartyInvoice] = Field(default_factory=list)

    def references(self) -> list[str]:
        """Every reference the order is found by (`reference=`)."""
        given = [self.customer_reference, self.purchase_order_number, *(i.number for i in self.third_party_invoices)]
        return [r for r in given if r]
