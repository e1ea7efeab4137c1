"""Customers' balances: account credit and wallet funds Head Office credits, and how an order would be paid from
them (account credit first, then wallet funds, the rest by card). Pure: models/db/balances.py keeps the ledger."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from models.money import Money
from models.text import Line

ACCOUNTS: tuple[Literal["account_credit", "wallet"], ...] = ("account_credit", "wallet")


class BalanceCredit(BaseModel):
    """Money Head Office puts on a customer's account credit or wallet (more than nothing)."""

    model_config = ConfigDict(extra="forbid")

    account: Literal["account_credit", "wallet"]
    amount: Money
    reason: Line = Field(min_length=1, max_length=300)


class Balance(BaseModel):
    account: str
    amount: Money


class BalanceEntry(BaseModel):
    entry_key: str
    account: str
    kind: str
    amount: int = Field(description="Signed minor units: credits and refunds add, debits take")
    currency: str
    order_number: str = ""
    actor: str = ""
    detail: str = ""


class CustomerBalances(BaseModel):
    customer_id: str
    balances: list[Balance]
    entries: list[BalanceEntry] = Field(description="The latest entries, newest first")


class PaymentPlan(BaseModel):
    """How an amount would be paid: account credit first, then wallet funds, the rest by card."""

    account_credit: Money
    wallet: Money
    card: Money


def payment_plan(total: Money, account_credit: int, wallet: int) -> PaymentPlan:
    from_credit = max(0, min(account_credit, total.amount))
    from_wallet = max(0, min(wallet, total.amount - from_credit))
    rest = total.amount - from_credit - from_wallet
    return PaymentPlan(
        account_credit=Money(amount=from_credit, currency=total.currency),
        wallet=Money(amount=from_wallet, currency=total.currency),
        card=Money(amount=rest, currency=total.currency),
    )
