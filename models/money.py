"""Exact money: integer minor units with an ISO 4217 currency, never float."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

# The largest amount Baton takes anywhere (minor units): 10^11, a billion in a two-decimal currency. Sums of many
# lines stay far below 2^63, so every amount fits the 64-bit columns that store it.
MAX_AMOUNT = 10**11
# Rates and shares (tax, commission, milestones) are whole basis points: 2000 is 20%.
BASIS_POINTS = 10_000

# ISO 4217 minor-unit exponents that differ from the usual 2.
_EXPONENTS = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3}


class Money(BaseModel):
    """An amount in minor units (cents, pence) of one ISO 4217 currency."""

    model_config = ConfigDict(frozen=True)

    amount: int = Field(ge=0, le=MAX_AMOUNT, description="Integer minor units, e.g. 1999 for 19.99")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. GBP")

    def __str__(self) -> str:
        """For people: 1999 GBP minor units reads "19.99 GBP"."""
        exponent = _EXPONENTS.get(self.currency, 2)
        if exponent == 0:
            return f"{self.amount} {self.currency}"
        whole, fraction = divmod(self.amount, 10**exponent)
        return f"{whole}.{fraction:0{exponent}d} {self.currency}"

    def decimal(self) -> Decimal:
        """The amount in major units, exactly: 1999 GBP minor units is Decimal("19.99")."""
        return Decimal(self.amount).scaleb(-_EXPONENTS.get(self.currency, 2))

    def __add__(self, other: Money) -> Money:
        _same_currency(self, other)
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def times(self, quantity: int) -> Money:
        return Money(amount=self.amount * quantity, currency=self.currency)

    def minus(self, other: Money) -> Money:
        """Subtract, floored at zero (a discount never makes an order pay the customer)."""
        _same_currency(self, other)
        return Money(amount=max(0, self.amount - other.amount), currency=self.currency)


def _same_currency(a: Money, b: Money) -> None:
    if a.currency != b.currency:
        raise ValueError(f"cannot combine {a.currency} with {b.currency}")
