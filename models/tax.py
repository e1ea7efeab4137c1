"""Tax: rates per product tax class and destination, and how every amount on an order splits into net, tax and gross.

Retail prices include tax, so Baton never adds tax to what the customer pays: it says how much of each amount is
tax. The rule, exact to the minor unit:

- each line is split on its own total (unit price x quantity, less its share of the order's discounts):
  tax = gross x rate / (1 + rate), rounded half up to the minor unit; net = gross - tax. So net + tax = gross on
  every line, and an order's (or invoice's) net, tax and gross are the sums of its lines';
- the rate is looked up once, at placement, from the product's tax class and the destination (the delivery
  address's country for a home delivery, the retailer's `home_country` for a collection or a sale in store), and
  kept on the line (`OrderLine.tax_rate_bp`), so a later change of rates never rewrites an order or its invoices;
- a charge (a delivery fee) is split the same way at its own locked rate (`Charge.tax_rate_bp`).

Rates are basis points: 2000 is 20%, 550 is 5.5%.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.money import BASIS_POINTS
from models.text import Line

TaxClass = Annotated[Line, Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_-]+$")]
Country = Annotated[str, Field(pattern=r"^([A-Z]{2}|\*)$", description="ISO 3166-1 alpha-2, or * for any")]


class TaxRate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tax_class: TaxClass
    country: Country
    rate_bp: int = Field(ge=0, le=BASIS_POINTS, description="Basis points: 2000 is 20%")


class TaxPolicy(BaseModel):
    """`GET/PUT /settings/tax`. A product's class (`Product.tax_class`, "standard" unless the feed says otherwise)
    and the destination choose the rate: the class's rate for that country, else its rate for "*"; a class with
    neither is refused at placement rather than silently taxed at nothing."""

    model_config = ConfigDict(extra="forbid")

    home_country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = Field(
        default="GB", description="Where collections and sales in store are taxed"
    )
    charge_tax_class: TaxClass = Field(default="standard", description="The class charges (fees) are taxed as")
    rates: list[TaxRate] = Field(
        default_factory=lambda: [
            TaxRate(tax_class="standard", country="*", rate_bp=2000),
            TaxRate(tax_class="reduced", country="*", rate_bp=500),
            TaxRate(tax_class="zero", country="*", rate_bp=0),
        ],
        max_length=2000,
    )

    @model_validator(mode="after")
    def _one_rate_per_class_and_country(self) -> Self:
        seen: set[tuple[str, str]] = set()
        for index, rate in enumerate(self.rates):
            key = (rate.tax_class, rate.country)
            if key in seen:
                raise ValueError(f"rates[{index}]: {rate.tax_class} in {rate.country} is given twice")
            seen.add(key)
        return self

    def rate_for(self, tax_class: str, country: str) -> int | None:
        """The rate in basis points, or None when the class has no rate there."""
        by_key = {(rate.tax_class, rate.country): rate.rate_bp for rate in self.rates}
        exact = by_key.get((tax_class, country))
        return exact if exact is not None else by_key.get((tax_class, "*"))


class TaxSplit(BaseModel):
    """One amount split: net + tax = gross, in minor units."""

    model_config = ConfigDict(frozen=True)

    net: int
    tax: int
    gross: int


def split_gross(gross: int, rate_bp: int) -> TaxSplit:
    """The tax inside a tax-inclusive amount, rounded half up to the minor unit; the net is what is left."""
    if gross < 0 or not 0 <= rate_bp <= BASIS_POINTS:
        raise ValueError(f"cannot split {gross} at {rate_bp} basis points")
    divisor = BASIS_POINTS + rate_bp
    tax = (2 * gross * rate_bp + divisor) // (2 * divisor)
    return TaxSplit(net=gross - tax, tax=tax, gross=gross)


def total_of(splits: Iterable[TaxSplit]) -> TaxSplit:
    net = tax = gross = 0
    for split in splits:
        net, tax, gross = net + split.net, tax + split.tax, gross + split.gross
    return TaxSplit(net=net, tax=tax, gross=gross)


def apportion(amount: int, weights: Sequence[int]) -> list[int]:
    """`amount` shared out in proportion to `weights`, in whole minor units that add up to it exactly (largest
    remainder; ties to the earlier weight). An order's discount is shared over its lines this way before they are
    split, so the lines' gross adds up to what the customer pays for them."""
    whole = sum(weights)
    if amount < 0 or any(weight < 0 for weight in weights):
        raise ValueError("cannot apportion negative amounts")
    if whole == 0:
        return [0 for _ in weights]
    amount = min(amount, whole)
    floors = [amount * weight // whole for weight in weights]
    left = amount - sum(floors)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(amount * weights[i] % whole), i))
    for index in by_remainder[:left]:
        floors[index] += 1
    return floors
